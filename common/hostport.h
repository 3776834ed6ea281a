/* hostport: the one parser of a host with or without a port, as written in
 * HUDDLE_LISTEN, HUDDLE_FCGI_LISTEN, the authority of HUDDLE_REDIS_URL,
 * HUDDLE_PUBLIC_HOST, a request's Host header, and an origin
 * (HUDDLE_ALLOWED_ORIGINS, the Origin header). Pure: no I/O, no name
 * resolution.
 *
 * Rules, the same for every caller:
 * - an IPv6 host is written in brackets, "[::1]:8081": inside them an
 *   address as inet_pton reads it (45 bytes at most); the result holds it
 *   without brackets in its canonical form (RFC 5952: lower case, the
 *   longest run of zero groups as "::"), so that two spellings of one
 *   address compare equal;
 * - any other host is 1..255 of [A-Za-z0-9.-_] (a name or an IPv4
 *   address); with HOSTPORT_DNS, a DNS name as browsers put it in a URL:
 *   labels of [A-Za-z0-9-], 1..63 bytes each, not starting or ending with
 *   '-', 253 bytes in all, no trailing dot;
 * - the host ends at its first ':' (after the ']' of an IPv6 one); then
 *   ":port", the port 1 to 5 decimal digits without a leading zero,
 *   1..65535;
 * - with HOSTPORT_PORT_OPTIONAL, the port may be left out (port 0);
 * - with HOSTPORT_NO_PORT, there is no port, and an IPv6 address may be
 *   written without brackets too (HUDDLE_PUBLIC_HOST);
 * - with HOSTPORT_ANY, ":port" and "*:port" are taken too, as host "",
 *   meaning every address (HUDDLE_FCGI_LISTEN). */
#ifndef HUDDLE_HOSTPORT_H
#define HUDDLE_HOSTPORT_H

#include <stdbool.h>
#include <stddef.h>

#define HOSTPORT_HOST_MAX 255
#define HOSTPORT_SCHEME_MAX 32
/* bytes of a host as a URL names it (hostport_url_host), NUL included */
#define HOSTPORT_URL_HOST_MAX (HOSTPORT_HOST_MAX + 3)

/* flags */
#define HOSTPORT_ANY 1           /* an empty host or "*": every address */
#define HOSTPORT_PORT_OPTIONAL 2 /* "host" alone: port 0 */
#define HOSTPORT_NO_PORT 4       /* no port; a bare IPv6 address allowed */
#define HOSTPORT_DNS 8           /* a name must be a DNS name */

struct hostport {
    char host[HOSTPORT_HOST_MAX + 1]; /* NUL-terminated, no brackets */
    int port;                         /* 1..65535, or 0 when left out */
    bool v6;                          /* an IPv6 address */
};

/* An origin: scheme "://" host [":" port]. */
struct origin {
    char scheme[HOSTPORT_SCHEME_MAX + 1]; /* lower-cased */
    struct hostport hp;                   /* port 0 when left out */
};

/* Parses the n bytes at s (no NUL needed) by the rules above. Returns 0
 * and fills *out, or -1 (*out then zeroed) when they break one. */
int hostport_parse(const char *s, size_t n, int flags, struct hostport *out);

/* Parses the n bytes at s as one origin as a browser sends it: scheme
 * "://" host [":" port], and a trailing '/' (as written in configuration).
 * The scheme is a letter, then letters, digits, '+', '-' and '.' (an
 * app's capacitor:// too), at most HOSTPORT_SCHEME_MAX bytes; the host
 * and port as above, the port optional. Returns 0 and fills *out, or -1
 * (*out then zeroed). */
int hostport_origin(const char *s, size_t n, struct origin *out);

/* Writes hp's host as a URL names it (an IPv6 address in brackets) to out.
 * Returns 0, or -1 when out is too small. */
int hostport_url_host(const struct hostport *hp, char *out, size_t outsz);

/* Parses the n bytes at s as 1 to 5 decimal digits without a leading zero
 * (the port rule), at most max, 0 only when zero is true (a Redis URL's db
 * number uses it so). Returns 0 and sets *out, or -1. */
int hostport_uint(const char *s, size_t n, long max, bool zero, int *out);

#endif
