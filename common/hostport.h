/* hostport: the one parser of "host:port", as written in HUDDLE_LISTEN,
 * HUDDLE_FCGI_LISTEN and the authority of HUDDLE_REDIS_URL. Pure: no I/O,
 * no name resolution.
 *
 * Rules, the same for every caller:
 * - the last ':' separates host and port;
 * - the port is 1 to 5 decimal digits without a leading zero, 1..65535;
 * - an IPv6 host is written in brackets, "[::1]:8081": inside them hex
 *   digits, ':' and '.' only (an IPv4-mapped tail); the brackets are
 *   dropped from the result;
 * - any other host is 1..255 of [A-Za-z0-9.-_] (a name or an IPv4
 *   address);
 * - with HOSTPORT_ANY, ":port" and "*:port" are taken too, as host "",
 *   meaning every address (HUDDLE_FCGI_LISTEN). */
#ifndef HUDDLE_HOSTPORT_H
#define HUDDLE_HOSTPORT_H

#include <stdbool.h>
#include <stddef.h>

#define HOSTPORT_HOST_MAX 255
#define HOSTPORT_ANY 1 /* flag: an empty host or "*" means every address */

struct hostport {
    char host[HOSTPORT_HOST_MAX + 1]; /* NUL-terminated, no brackets */
    int port;                         /* 1..65535 */
    bool v6;                          /* the host was in brackets */
};

/* Parses the n bytes at s (no NUL needed) by the rules above. Returns 0
 * and fills *out, or -1 (*out then zeroed) when they break one. */
int hostport_parse(const char *s, size_t n, int flags, struct hostport *out);

/* Parses the n bytes at s as 1 to 5 decimal digits without a leading zero
 * (the port rule), at most max, 0 only when zero is true (a Redis URL's db
 * number uses it so). Returns 0 and sets *out, or -1. */
int hostport_uint(const char *s, size_t n, long max, bool zero, int *out);

#endif
