/* Client addresses: who a connection is, for limits that one address must
 * not pass however many connections it opens (connections, unfinished
 * upgrades, joins). No I/O: ws.c hands in the socket peer and the
 * X-Forwarded-For header, and keeps one entry per address while that
 * address has a websocket open or an upgrade unfinished. */
#ifndef HUDDLE_ADDR_H
#define HUDDLE_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "htab.h"
#include "ratelimit.h"

#define ADDR_MAX 64 /* an IPv6 text address fits with room to spare */

/* Returns true when peer (the socket peer, as text) is a proxy of ours: it
 * may set the client address through X-Forwarded-For and its sockets are
 * not held to the unfinished-upgrade cap. That is loopback's own address
 * (127.0.0.1, ::1, ::ffff:127.0.0.1: where nginx on this host connects
 * from, as Linux picks 127.0.0.1 as the source for all of 127.0.0.0/8) or
 * one in trusted: a comma/space separated list (may be NULL) of addresses
 * and networks ("10.0.0.5", "172.30.42.0/24", "fd00::/8"). Other 127.x
 * addresses are ordinary clients. */
bool addr_trusted(const char *peer, const char *trusted);

/* Returns true when every entry of list (as for addr_trusted; NULL or
 * empty is valid) is an address or address/bits. */
bool addr_list_valid(const char *list);

/* The client address of a connection: the last entry of xff (what the
 * nearest proxy appended) when peer is trusted and xff holds one that
 * looks like an address, else peer. Writes it (cut to ADDR_MAX - 1) to
 * out. */
void addr_client(const char *peer, const char *xff, const char *trusted,
                 char out[ADDR_MAX]);

/* Returns true when host (an Origin's host, without port or brackets) is
 * local: localhost, 127.0.0.0/8 or ::1. */
bool addr_host_local(const char *host);

struct addr_entry {
    char key[ADDR_MAX];
    unsigned conns;    /* websocket connections open */
    unsigned upgrades; /* sockets accepted, upgrade not finished */
    struct bucket join;
    struct htab_entry link; /* in the table, by key */
};

struct addr_table;

/* Returns a new table (free with addr_table_free) or NULL. */
struct addr_table *addr_table_new(void);
void addr_table_free(struct addr_table *t);

/* The entry of key, created (join bucket full at join_burst) when absent;
 * NULL when out of memory. The caller counts what it holds in conns or
 * upgrades and calls addr_release when it lets go. */
struct addr_entry *addr_get(struct addr_table *t, const char *key,
                            long join_burst, int64_t now_ms);

/* Frees e when it holds neither connections nor upgrades. */
void addr_release(struct addr_table *t, struct addr_entry *e);

/* Counts one more unfinished upgrade (a socket accepted, not yet a
 * websocket) of key. Returns its entry, or NULL when key already holds cap
 * of them (or out of memory): the socket is to be refused. Each non-NULL
 * return is ended by exactly one addr_upgrade_end. */
struct addr_entry *addr_upgrade_begin(struct addr_table *t, const char *key,
                                      unsigned long cap, long join_burst,
                                      int64_t now_ms);

/* The upgrade counted by addr_upgrade_begin finished or its socket closed:
 * counts it off e (and frees e when nothing else holds it). */
void addr_upgrade_end(struct addr_table *t, struct addr_entry *e);

size_t addr_count(const struct addr_table *t);

#endif
