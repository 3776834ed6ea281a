#include "bus_sub.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static size_t sub_hash(const char *s, size_t nbuckets)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return (size_t)(h & (nbuckets - 1));
}

int bus_subs_init(struct bus_subs *t)
{
    t->n = 0;
    t->nbuckets = 16;
    t->buckets = calloc(t->nbuckets, sizeof *t->buckets);
    return t->buckets != NULL ? 0 : -1;
}

void bus_subs_clear(struct bus_subs *t)
{
    for (size_t i = 0; i < t->nbuckets; i++) {
        struct bus_sub *s = t->buckets[i], *next;
        for (; s != NULL; s = next) {
            next = s->next;
            free(s);
        }
    }
    free(t->buckets);
    t->buckets = NULL;
    t->n = t->nbuckets = 0;
}

struct bus_sub *bus_subs_find(const struct bus_subs *t, const char *room)
{
    struct bus_sub *s = t->buckets[sub_hash(room, t->nbuckets)];

    while (s != NULL && strcmp(s->room, room) != 0)
        s = s->next;
    return s;
}

static int sub_grow(struct bus_subs *t)
{
    size_t n = t->nbuckets * 2;
    struct bus_sub **nb = calloc(n, sizeof *nb);

    if (nb == NULL)
        return -1;
    for (size_t i = 0; i < t->nbuckets; i++) {
        struct bus_sub *s = t->buckets[i], *next;
        for (; s != NULL; s = next) {
            size_t h = sub_hash(s->room, n);
            next = s->next;
            s->next = nb[h];
            nb[h] = s;
        }
    }
    free(t->buckets);
    t->buckets = nb;
    t->nbuckets = n;
    return 0;
}

struct bus_sub *bus_subs_get(struct bus_subs *t, const char *room)
{
    struct bus_sub *s = bus_subs_find(t, room);
    size_t h;

    if (s != NULL)
        return s;
    if (t->n >= t->nbuckets && sub_grow(t) < 0)
        return NULL;
    s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    strcpy(s->room, room);
    h = sub_hash(room, t->nbuckets);
    s->next = t->buckets[h];
    t->buckets[h] = s;
    t->n++;
    return s;
}

void bus_subs_release(struct bus_subs *t, struct bus_sub *s)
{
    struct bus_sub **pp;

    if (s->wanted || s->sent != s->acked || s->unsubs != 0 ||
        s->waiting != NULL)
        return;
    pp = &t->buckets[sub_hash(s->room, t->nbuckets)];
    while (*pp != s)
        pp = &(*pp)->next;
    *pp = s->next;
    t->n--;
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

    for (size_t i = 0; i < t->nbuckets; i++) {
        struct bus_sub *s = t->buckets[i], *next;
        for (; s != NULL; s = next) {
            struct bus_wait *w = bus_sub_detach(s);
            next = s->next;
            *tail = w;
            while (*tail != NULL)
                tail = &(*tail)->next;
            s->sent = s->acked = s->unsubs = 0;
            bus_subs_release(t, s);
        }
    }
    return all;
}

void bus_subs_each_wanted(struct bus_subs *t,
                          void (*f)(struct bus_sub *s, void *arg), void *arg)
{
    for (size_t i = 0; i < t->nbuckets; i++)
        for (struct bus_sub *s = t->buckets[i]; s != NULL; s = s->next)
            if (s->wanted)
                f(s, arg);
}
