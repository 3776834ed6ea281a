/* bus_sub: the registry of the room channels a bus wants, and of the
 * requests waiting for a channel's SUBSCRIBE to be confirmed before they
 * are sent (so nothing published after a join is missed). Pure
 * bookkeeping: sending SUBSCRIBE and the requests is the caller's
 * (bus_conn.c, bus.c); no hiredis, no I/O.
 *
 * An entry counts, on the current connection, the SUBSCRIBEs sent and
 * confirmed and the UNSUBSCRIBEs in flight. It lives while wanted or while
 * a reply or a request is outstanding; bus_subs_release frees it then.
 * Entries are kept in common/htab.h's table, by room id. */
#ifndef HUDDLE_BUS_SUB_H
#define HUDDLE_BUS_SUB_H

#include <stdbool.h>
#include <stddef.h>

#include "htab.h"
#include "roomid.h"

/* Link of a waiting request: the first member of the caller's request
 * struct, so a list of them is a list of requests. */
struct bus_wait {
    struct bus_wait *next;
};

struct bus_sub {
    struct htab_entry link; /* in bus_subs, by room */
    struct bus_wait *waiting, *waiting_tail;
    bool wanted;
    unsigned sent, acked, unsubs;
    char room[ROOMID_MAX + 1];
};

struct bus_subs {
    struct htab rooms; /* struct bus_sub by room */
};

/* Sets up an empty registry. Returns 0, or -1 for no memory. */
int bus_subs_init(struct bus_subs *t);

/* Frees every entry and the table. Entries must have no waiting requests
 * left (detach them first). */
void bus_subs_clear(struct bus_subs *t);

/* Returns the entry of room, or NULL. */
struct bus_sub *bus_subs_find(const struct bus_subs *t, const char *room);

/* Returns the entry of room, added (not wanted, nothing sent) when it had
 * none, or NULL for no memory. room must be a valid room id. */
struct bus_sub *bus_subs_get(struct bus_subs *t, const char *room);

/* Frees s when it is neither wanted nor waited for: the caller must not
 * touch s afterwards. */
void bus_subs_release(struct bus_subs *t, struct bus_sub *s);

/* Returns true when requests for s must wait: a SUBSCRIBE is unconfirmed. */
bool bus_sub_pending(const struct bus_sub *s);

/* Appends a request to s's waiting list. */
void bus_sub_wait(struct bus_sub *s, struct bus_wait *w);

/* Returns s's waiting requests, oldest first, now detached from it. */
struct bus_wait *bus_sub_detach(struct bus_sub *s);

/* Counts a confirmation of room's SUBSCRIBE (subscribed true) or
 * UNSUBSCRIBE. Returns the requests that may go now, oldest first and
 * detached (the room is wanted, every SUBSCRIBE confirmed and up is true),
 * or NULL. May free the entry. */
struct bus_wait *bus_subs_ack(struct bus_subs *t, const char *room,
                              bool subscribed, bool up);

/* After the connection dropped: nothing is in flight any more. Zeroes
 * every count, frees the entries no longer wanted, and returns every
 * waiting request, detached, for the caller to fail. */
struct bus_wait *bus_subs_reset(struct bus_subs *t);

/* Calls f(s, arg) for every wanted entry (after a reconnect: subscribe
 * them again). f must not add or free entries. */
void bus_subs_each_wanted(struct bus_subs *t,
                          void (*f)(struct bus_sub *s, void *arg), void *arg);

#endif
