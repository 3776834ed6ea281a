/* Joins waiting for Redis, and the room messages they hold meanwhile
 * (docs/cluster.md, "What the sidecar does with it"). A join's answer (members
 * and chat) and the room's channel come on two Redis connections, in
 * either order: a message published while the join waited may or may not
 * be in the answer. So every room message that comes while a join of that
 * room waits is held, and once the joiner has its welcome, pend_replay
 * delivers what the welcome does not already say, in the order it came:
 *
 * - peer-joined: only for a peer the joiner does not know yet (not in
 *   the answer, not joined earlier in the replay), never about itself;
 * - peer-left and peer-state: only for a peer the joiner knows, never
 *   about itself; a peer-left makes it unknown again;
 * - chat: only when not in the answer's history;
 * - anything else: always.
 *
 * The held messages are bounded by the joiner's send queue soft caps (the
 * replay goes there right after the welcome): past either, the join has
 * overflowed and must fail (unavailable) rather than leave a gap or
 * reorder what the joiner sees. Pure: no I/O. */
#ifndef HUDDLE_PENDING_H
#define HUDDLE_PENDING_H

#include <stdbool.h>
#include <stddef.h>

#include "bus.h"
#include "msg_node.h"
#include "outmsg.h"
#include "room.h"
#include "route.h"

/* A room message that came while a join was waiting for its answer. */
struct pend_held {
    struct out_msg *m; /* a reference */
    enum msg_node_kind kind;
    char about[PEER_ID_LEN + 1]; /* the peer it is about, or "" */
    char *origin;                /* the node that published it */
};

/* A join waiting for Redis (embedded by the cluster in its request). */
struct pend {
    struct route_room *room; /* in room->joins while attached, else NULL */
    struct pend *next;       /* in room->joins */
    struct pend_held *held;
    size_t nheld, capheld;
    size_t held_bytes;
    size_t max_msgs, max_bytes; /* the cap */
    bool overflow; /* more than the cap came (or no memory): held dropped */
};

/* An empty, detached join that holds at most max_msgs messages and
 * max_bytes bytes of them. */
void pend_init(struct pend *p, size_t max_msgs, size_t max_bytes);

/* Starts holding what comes to room r. */
void pend_attach(struct pend *p, struct route_room *r);

/* Stops holding and drops what is held; p can be freed then. Safe to
 * call twice. */
void pend_clear(struct pend *p);

/* Holds m (takes a reference) for p. Returns 0, or -1 when p has
 * overflowed (now or before): then nothing is held any more. */
int pend_hold(struct pend *p, struct out_msg *m, enum msg_node_kind kind,
              const char *about, const char *origin);

/* Holds m for every join attached to r (r NULL: none). */
void pend_hold_room(struct route_room *r, struct out_msg *m,
                    enum msg_node_kind kind, const char *about,
                    const char *origin);

/* After me's welcome (built from answer): calls deliver(ctx, m) (m
 * borrowed) for each held message the rules above let through, in order,
 * and brings the routing table of p's room up to date with the peers that
 * came and went (joined: held by its origin; left: forgotten). Does
 * nothing for a detached or overflowed join. */
void pend_replay(struct pend *p, const struct bus_room *answer, const char *me,
                 void (*deliver)(void *ctx, struct out_msg *m), void *ctx);

#endif
