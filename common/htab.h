/* htab: the one hash table of huddle, keyed by NUL-terminated strings
 * (room ids, addresses). The registry of rooms (room.c), the routing
 * table of the cluster (route.c), the bus's subscriptions (bus_sub.c) and
 * the client addresses (addr.c) all use it.
 *
 * Intrusive: an entry embeds a struct htab_entry and owns its key (an id
 * array in the same struct); the table allocates only its bucket array and
 * never frees an entry. FNV-1a, chains, a power-of-two bucket count that
 * doubles when the table holds as many entries as buckets. Pure: no I/O.
 *
 *   struct room { struct htab_entry link; char id[65]; ... };
 *   htab_add(&t, &r->link, r->id);
 *   struct htab_entry *e = htab_find(&t, "abc");
 *   struct room *r = e ? HTAB_ITEM(e, struct room, link) : NULL;
 */
#ifndef HUDDLE_HTAB_H
#define HUDDLE_HTAB_H

#include <stddef.h>

struct htab_entry {
    struct htab_entry *next; /* in its bucket */
    size_t hash;
    const char *key;
};

struct htab {
    struct htab_entry **buckets;
    size_t n, nbuckets;
};

/* The struct of type holding entry e as its field member. */
#define HTAB_ITEM(e, type, member)                                             \
    ((type *)(void *)((char *)(e)-offsetof(type, member)))

/* Sets up an empty table of nbuckets buckets (a power of two). Returns 0,
 * or -1 for no memory. */
int htab_init(struct htab *t, size_t nbuckets);

/* Frees the bucket array (the entries are the caller's). */
void htab_fini(struct htab *t);

/* The entry whose key is key, or NULL. */
struct htab_entry *htab_find(const struct htab *t, const char *key);

/* Adds e under key, which must live as long as e stays in the table and
 * must not be in it already. Never fails: when the table cannot grow for
 * lack of memory, its chains get longer. */
void htab_add(struct htab *t, struct htab_entry *e, const char *key);

/* Removes e, which must be in the table. */
void htab_del(struct htab *t, struct htab_entry *e);

/* The entry after e (NULL: the first) in no particular order, or NULL
 * after the last. e must be in the table; the entry returned may be
 * fetched before e is removed or freed, so a loop may drop what it
 * visits:
 *
 *   for (e = htab_next(t, NULL); e != NULL; e = next) {
 *       next = htab_next(t, e);
 *       htab_del(t, e);
 *       free(HTAB_ITEM(e, struct x, link));
 *   }
 *
 * Adding entries during such a loop is not allowed (the table may grow). */
struct htab_entry *htab_next(const struct htab *t, const struct htab_entry *e);

#endif
