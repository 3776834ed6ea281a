#include "route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct route {
    struct htab rooms; /* struct route_room by id */
};

static struct route_room *room_of(struct htab_entry *e)
{
    return e != NULL ? HTAB_ITEM(e, struct route_room, link) : NULL;
}

struct route *route_new(void)
{
    struct route *rt = malloc(sizeof *rt);

    if (rt != NULL && htab_init(&rt->rooms, 64) < 0) {
        free(rt);
        return NULL;
    }
    return rt;
}

static void peer_free(struct route_peer *m)
{
    free(m->node);
    free(m->knowers);
    free(m);
}

static void remote_clear(struct route_room *r)
{
    while (r->remote != NULL) {
        struct route_peer *m = r->remote;
        r->remote = m->next;
        peer_free(m);
    }
}

void route_free(struct route *rt)
{
    struct htab_entry *e, *next;

    if (rt == NULL)
        return;
    for (e = htab_next(&rt->rooms, NULL); e != NULL; e = next) {
        next = htab_next(&rt->rooms, e);
        remote_clear(room_of(e));
        free(room_of(e));
    }
    htab_fini(&rt->rooms);
    free(rt);
}

struct route_room *route_room(struct route *rt, const char *id, bool create)
{
    struct route_room *r = room_of(htab_find(&rt->rooms, id));

    if (r != NULL || !create || strlen(id) >= sizeof r->id)
        return r;
    r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    snprintf(r->id, sizeof r->id, "%s", id);
    htab_add(&rt->rooms, &r->link, r->id);
    return r;
}

void route_room_drop(struct route *rt, struct route_room *r)
{
    htab_del(&rt->rooms, &r->link);
    remote_clear(r);
    free(r);
}

struct route_room *route_next(struct route *rt, const struct route_room *r)
{
    return room_of(htab_next(&rt->rooms, r != NULL ? &r->link : NULL));
}

struct route_peer *route_find(struct route_room *r, const char *id)
{
    for (struct route_peer *m = r ? r->remote : NULL; m != NULL; m = m->next)
        if (strcmp(m->id, id) == 0)
            return m;
    return NULL;
}

void route_set(struct route_room *r, const char *id, const char *node)
{
    if (r == NULL || strlen(id) > PEER_ID_LEN || node[0] == '\0')
        return;
    struct route_peer *m = route_find(r, id);
    char *n = strdup(node);
    if (n == NULL)
        return;
    if (m == NULL && (m = calloc(1, sizeof *m)) != NULL) {
        snprintf(m->id, sizeof m->id, "%s", id);
        m->next = r->remote;
        r->remote = m;
    }
    if (m == NULL) {
        free(n);
        return;
    }
    free(m->node);
    m->node = n;
}

void route_moved(struct route_room *r, const char *id, const char *node,
                 int64_t moves)
{
    struct route_peer *m = route_find(r, id);

    if (m != NULL && m->moves > moves)
        return;
    route_set(r, id, node);
    if ((m = route_find(r, id)) != NULL && moves != INT64_MAX)
        m->moves = moves;
}

void route_del(struct route_room *r, const char *id)
{
    for (struct route_peer **pp = r ? &r->remote : NULL; pp && *pp;
         pp = &(*pp)->next) {
        if (strcmp((*pp)->id, id) == 0) {
            struct route_peer *m = *pp;
            *pp = m->next;
            peer_free(m);
            return;
        }
    }
}

void route_load(struct route_room *r, const struct bus_member *members,
                size_t n, const char *self)
{
    if (r == NULL)
        return;
    remote_clear(r);
    for (size_t i = 0; i < n; i++)
        if (strcmp(members[i].node, self) != 0)
            route_set(r, members[i].peer, members[i].node);
}

/* Forgets knowers that are no longer seated in room (bounded by it). */
static void knowers_prune(struct route_peer *m, struct room *room)
{
    size_t k = 0;
    for (size_t i = 0; i < m->nknowers; i++)
        if (room != NULL && room_peer_find(room, m->knowers[i]) != NULL)
            memmove(m->knowers[k++], m->knowers[i], sizeof *m->knowers);
    m->nknowers = k;
}

void route_merge(struct route_room *r, const struct bus_member *members,
                 size_t n, const char *self, const char *joiner,
                 struct room *room)
{
    for (size_t i = 0; r != NULL && i < n; i++) {
        if (strcmp(members[i].node, self) == 0)
            continue;
        route_set(r, members[i].peer, members[i].node);
        struct route_peer *m = route_find(r, members[i].peer);
        if (m != NULL)
            knowers_prune(m, room);
        if (joiner == NULL)
            continue;
        void *k =
            m ? realloc(m->knowers, (m->nknowers + 1) * sizeof *m->knowers)
              : NULL;
        if (k == NULL)
            continue;
        m->knowers = k;
        snprintf(m->knowers[m->nknowers++], sizeof *m->knowers, "%s", joiner);
    }
}

bool route_lacks(const struct route_room *r, const struct bus_member *members,
                 size_t n)
{
    for (const struct route_peer *rp = r ? r->remote : NULL; rp != NULL;
         rp = rp->next) {
        size_t i = 0;
        while (i < n && strcmp(members[i].peer, rp->id) != 0)
            i++;
        if (i == n)
            return true;
    }
    return false;
}

bool route_knows(const struct route_peer *m, const char *id)
{
    for (size_t i = 0; m != NULL && i < m->nknowers; i++)
        if (strcmp(m->knowers[i], id) == 0)
            return true;
    return false;
}

void route_forget_knowers(struct route_peer *m)
{
    if (m == NULL)
        return;
    free(m->knowers);
    m->knowers = NULL;
    m->nknowers = 0;
}
