#include "bus_sub.h"

#include <stdlib.h>
#include <string.h>

int bus_subs_init(struct bus_subs *t)
{
    return htab_init(&t->rooms, 16);
}

static struct bus_sub *sub_of(struct htab_entry *e)
{
    return e != NULL ? HTAB_ITEM(e, struct bus_sub, link) : NULL;
}

void bus_subs_clear(struct bus_subs *t)
{
    struct htab_entry *e, *next;

    for (e = htab_next(&t->rooms, NULL); e != NULL; e = next) {
        next = htab_next(&t->rooms, e);
        free(sub_of(e));
    }
    htab_fini(&t->rooms);
}

struct bus_sub *bus_subs_find(const struct bus_subs *t, const char *room)
{
    return sub_of(htab_find(&t->rooms, room));
}

struct bus_sub *bus_subs_get(struct bus_subs *t, const char *room)
{
    struct bus_sub *s = bus_subs_find(t, room);

    if (s != NULL)
        return s;
    s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    strcpy(s->room, room);
    htab_add(&t->rooms, &s->link, s->room);
    return s;
}

void bus_subs_release(struct bus_subs *t, struct bus_sub *s)
{
    if (s->wanted || s->sent != s->acked || s->unsubs != 0 ||
        s->waiting != NULL)
        return;
    htab_del(&t->rooms, &s->link);
    free(s);
}

bool bus_sub_pending(const struct bus_sub *s)
{
    return s->acked != s->sent;
}

void bus_sub_wait(struct bus_sub *s, struct bus_wait *w)
{
    w->next = NULL;
    if (s->waiting_tail != NULL)
        s->waiting_tail->next = w;
    else
        s->waiting = w;
    s->waiting_tail = w;
}

struct bus_wait *bus_sub_detach(struct bus_sub *s)
{
    struct bus_wait *w = s->waiting;

    s->waiting = s->waiting_tail = NULL;
    return w;
}

struct bus_wait *bus_subs_ack(struct bus_subs *t, const char *room,
                              bool subscribed, bool up)
{
    struct bus_sub *s = bus_subs_find(t, room);

    if (s == NULL)
        return NULL;
    if (!subscribed) {
        if (s->unsubs > 0)
            s->unsubs--;
        bus_subs_release(t, s);
        return NULL;
    }
    if (s->acked < s->sent)
        s->acked++;
    if (!s->wanted || s->acked != s->sent || !up)
        return NULL;
    return bus_sub_detach(s);
}

struct bus_wait *bus_subs_reset(struct bus_subs *t)
{
    struct bus_wait *all = NULL, **tail = &all;

    struct htab_entry *e, *next;

    for (e = htab_next(&t->rooms, NULL); e != NULL; e = next) {
        struct bus_sub *s = sub_of(e);
        next = htab_next(&t->rooms, e);
        *tail = bus_sub_detach(s);
        while (*tail != NULL)
            tail = &(*tail)->next;
        s->sent = s->acked = s->unsubs = 0;
        bus_subs_release(t, s);
    }
    return all;
}

void bus_subs_each_wanted(struct bus_subs *t,
                          void (*f)(struct bus_sub *s, void *arg), void *arg)
{
    for (struct htab_entry *e = htab_next(&t->rooms, NULL); e != NULL;
         e = htab_next(&t->rooms, e))
        if (sub_of(e)->wanted)
            f(sub_of(e), arg);
}
