/* list: the one reader of the comma-separated lists of the configuration
 * (HUDDLE_ALLOWED_ORIGINS, HUDDLE_TRUSTED_PROXIES, HUDDLE_STUN_URLS,
 * HUDDLE_TURN_URLS). Entries are separated by commas and/or blanks (space,
 * tab): "a, b,c" and "a b" are both two or three entries; empty entries
 * are skipped. No entry holds a blank. Pure: no allocation, no I/O.
 *
 *   const char *p = list, *e;
 *   size_t n;
 *   while ((e = list_next(&p, &n)) != NULL)
 *       use(e, n);   // e is not NUL-terminated: n bytes
 */
#ifndef HUDDLE_LIST_H
#define HUDDLE_LIST_H

#include <stddef.h>

#define LIST_SEPARATORS ", \t"

/* Returns the next entry of the list at *p (NULL p: an empty list), its
 * length in *n, and moves *p past it; NULL when no entry is left. The
 * entry points into the list: the caller owns it. */
const char *list_next(const char **p, size_t *n);

#endif
