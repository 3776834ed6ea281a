/* The cluster's routing table (docs/cluster.md): for each room this node
 * serves, the members held by other nodes (peer id -> node), so a signal
 * or private chat to one of them goes to its node's channel. A remote
 * member may have knowers: local members whose welcome listed it while its
 * peer-joined may still be on the way (the join's answer and the room's
 * messages come on two Redis connections, in either order); they must not
 * get that peer-joined a second time. Pure: no I/O. It uses only the
 * types of bus.h (members as Redis lists them). */
#ifndef HUDDLE_ROUTE_H
#define HUDDLE_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus.h"
#include "htab.h"
#include "room.h"

struct pend;

/* A member of a room held by another node. */
struct route_peer {
    char id[PEER_ID_LEN + 1];
    char *node;
    int64_t moves; /* the seat's moves when an x-moved set node (route_moved) */
    char (*knowers)[PEER_ID_LEN + 1];
    size_t nknowers;
    struct route_peer *next;
};

/* A room this node serves (subscribed to its channel). */
struct route_room {
    char id[65];
    struct route_peer *remote;
    unsigned pending;       /* joins and resyncs waiting for Redis */
    int64_t roster_again;   /* cluster.c: when to send the roster once more
                               after a resync (0: not) */
    bool roster_waiting;    /* cluster.c: roster_again ends a wait for
                               members of other nodes (another follows) */
    bool guarded;           /* cluster.c: locked or with a password, as
                               this node last heard (a join's answer, an
                               access message) */
    struct pend *joins;     /* joins waiting (pending.h): they hold messages */
    struct htab_entry link; /* in the table, by id */
};

struct route;

/* Returns an empty table (free with route_free) or NULL. */
struct route *route_new(void);

/* Frees the table and every room in it (their joins must be gone). */
void route_free(struct route *rt);

/* The room id, created (empty) when absent and create is set. NULL when
 * absent, or out of memory. */
struct route_room *route_room(struct route *rt, const char *id, bool create);

/* Removes room r from the table and frees it. */
void route_room_drop(struct route *rt, struct route_room *r);

/* The room after r (NULL: the first) in no particular order, or NULL
 * after the last. r must still be in the table: to drop r, fetch the next
 * room first (as htab_next). */
struct route_room *route_next(struct route *rt, const struct route_room *r);

/* The member id of r held elsewhere, or NULL (also when r is NULL). */
struct route_peer *route_find(struct route_room *r, const char *id);

/* Records that node holds member id of r (r NULL, an id too long or an
 * empty node: nothing; out of memory: nothing, the routing is best
 * effort). */
void route_set(struct route_room *r, const char *id, const char *node);

/* route_set for an x-moved: node took the seat by its moves-th move
 * between nodes. Ignored when an x-moved of a later move set the entry
 * already: two nodes' x-moved may come out of order. moves INT64_MAX (an
 * x-moved with no count, msg_node_moves) is always taken and leaves the
 * entry's count as it was. */
void route_moved(struct route_room *r, const char *id, const char *node,
                 int64_t moves);

/* Forgets member id of r (r NULL: nothing). */
void route_del(struct route_room *r, const char *id);

/* Replaces r's members elsewhere by the n members not on node self. */
void route_load(struct route_room *r, const struct bus_member *members,
                size_t n, const char *self);

/* The n members not on node self are held elsewhere, added to what r
 * routes (nobody is forgotten): a join's answer, whose joiner had them in
 * its welcome and is recorded as knowing them, or (joiner NULL) Redis'
 * members while a roster waits. Knowers no longer seated in room (NULL:
 * none is) are forgotten first, so the lists stay bounded by the room. */
void route_merge(struct route_room *r, const struct bus_member *members,
                 size_t n, const char *self, const char *joiner,
                 struct room *room);

/* Whether r routes to a member that is not among the n members (r NULL:
 * false). */
bool route_lacks(const struct route_room *r, const struct bus_member *members,
                 size_t n);

/* Whether local member id had m in its welcome (m NULL: false). */
bool route_knows(const struct route_peer *m, const char *id);

/* m's peer-joined came: nobody waits for it any more (m NULL: nothing). */
void route_forget_knowers(struct route_peer *m);

#endif
