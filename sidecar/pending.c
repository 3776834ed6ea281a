#include "pending.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pend_init(struct pend *p, size_t max_msgs, size_t max_bytes)
{
    memset(p, 0, sizeof *p);
    p->max_msgs = max_msgs;
    p->max_bytes = max_bytes;
}

void pend_attach(struct pend *p, struct route_room *r)
{
    p->room = r;
    p->next = r->joins;
    r->joins = p;
}

static void detach(struct pend *p)
{
    if (p->room == NULL)
        return;
    for (struct pend **pp = &p->room->joins; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    }
    p->room = NULL;
    p->next = NULL;
}

static void drop_held(struct pend *p)
{
    for (size_t i = 0; i < p->nheld; i++) {
        out_msg_unref(p->held[i].m);
        free(p->held[i].origin);
    }
    free(p->held);
    p->held = NULL;
    p->nheld = p->capheld = p->held_bytes = 0;
}

void pend_clear(struct pend *p)
{
    detach(p);
    drop_held(p);
}

/* Room for one more held message; false when out of memory. */
static bool grow(struct pend *p)
{
    if (p->nheld < p->capheld)
        return true;
    size_t cap = p->capheld ? p->capheld * 2 : 8;
    struct pend_held *n = realloc(p->held, cap * sizeof *n);
    if (n == NULL)
        return false;
    p->held = n;
    p->capheld = cap;
    return true;
}

int pend_hold(struct pend *p, struct out_msg *m, enum msg_node_kind kind,
              const char *about, const char *origin)
{
    char *o = NULL;

    if (p->overflow)
        return -1;
    if (p->nheld >= p->max_msgs || m->len > p->max_bytes - p->held_bytes ||
        !grow(p) || (o = strdup(origin)) == NULL) {
        p->overflow = true; /* a gap would reorder what the joiner sees */
        drop_held(p);
        return -1;
    }
    struct pend_held *h = &p->held[p->nheld++];
    h->m = out_msg_ref(m);
    h->kind = kind;
    h->origin = o;
    snprintf(h->about, sizeof h->about, "%s", about ? about : "");
    p->held_bytes += m->len;
    return 0;
}

void pend_hold_room(struct route_room *r, struct out_msg *m,
                    enum msg_node_kind kind, const char *about,
                    const char *origin)
{
    for (struct pend *p = r ? r->joins : NULL; p != NULL; p = p->next)
        pend_hold(p, m, kind, about, origin);
}

/* Who the joiner knows of while its held messages are replayed. */
struct known {
    char (*ids)[PEER_ID_LEN + 1];
    size_t n;
};

static size_t known_find(const struct known *kn, const char *id)
{
    for (size_t i = 0; i < kn->n; i++)
        if (strcmp(kn->ids[i], id) == 0)
            return i;
    return SIZE_MAX;
}

static bool in_history(const struct bus_room *r, const struct out_msg *m)
{
    for (size_t i = 0; i < r->n_chat; i++)
        if (r->chat[i].len == m->len &&
            memcmp(r->chat[i].s, out_msg_text(m), m->len) == 0)
            return true;
    return false;
}

/* Whether h goes to the joiner me, given who it knows (updated). */
static bool replay_one(struct pend *p, struct known *kn,
                       const struct pend_held *h, const struct bus_room *r,
                       const char *me)
{
    size_t at = known_find(kn, h->about);
    bool self = strcmp(h->about, me) == 0;

    switch (h->kind) {
    case MSG_NODE_JOINED:
        route_set(p->room, h->about, h->origin);
        if (at != SIZE_MAX)
            return false;
        snprintf(kn->ids[kn->n++], sizeof *kn->ids, "%s", h->about);
        return !self;
    case MSG_NODE_LEFT:
        route_del(p->room, h->about);
        if (at == SIZE_MAX)
            return false;
        memcpy(kn->ids[at], kn->ids[--kn->n], sizeof *kn->ids);
        return !self;
    case MSG_NODE_STATE:
        return at != SIZE_MAX && !self;
    case MSG_NODE_CHAT:
        return !in_history(r, h->m);
    default:
        return true;
    }
}

void pend_replay(struct pend *p, const struct bus_room *answer, const char *me,
                 void (*deliver)(void *ctx, struct out_msg *m), void *ctx)
{
    if (p->room == NULL || p->overflow)
        return;
    struct known kn = {calloc(answer->n_members + p->nheld + 1, sizeof *kn.ids),
                       0};
    if (kn.ids == NULL)
        return;
    for (size_t i = 0; i < answer->n_members; i++)
        snprintf(kn.ids[kn.n++], sizeof *kn.ids, "%s", answer->members[i].peer);
    for (size_t i = 0; i < p->nheld; i++)
        if (replay_one(p, &kn, &p->held[i], answer, me))
            deliver(ctx, p->held[i].m);
    free(kn.ids);
}
