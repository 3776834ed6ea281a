/* Request routing for huddle-fcgi: which page a method and a raw request
 * URI (nginx's $request_uri) ask for. Pure logic, no I/O.
 *
 * The router works on the raw, undecoded path. A room id never needs
 * percent-encoding, so a path holding '%' (or "..", or any byte outside
 * printable ASCII) is never a room: it is 404, or 400 when it is not even
 * a plausible path. The query string is ignored. */
#ifndef HUDDLE_ROUTER_H
#define HUDDLE_ROUTER_H

#include <stddef.h>

/* Longest raw request URI accepted; longer ones are 400. It holds a room
 * link with the longest join token, "/<room>?token=" and 4096 bytes
 * (docs/tokens.md), and is the longest request line nginx takes by
 * default (large_client_header_buffers 8k). */
#define ROUTER_URI_MAX 8192

/* The methods every route answers; anything else is 405 with this Allow. */
#define ROUTER_ALLOW "GET, HEAD"

enum router_route {
    ROUTE_NEW_ROOM,    /* GET /          -> 302 to a fresh room */
    ROUTE_HEALTH,      /* GET /healthz   -> 200 */
    ROUTE_ROOM,        /* GET /<room>    -> 200 room page */
    ROUTE_ROOM_SLASH,  /* GET /<room>/   -> 301 to /<room>, query kept */
    ROUTE_NOT_FOUND,   /* a path that is no route -> 404 */
    ROUTE_BAD_METHOD,  /* a route, but not GET or HEAD -> 405 */
    ROUTE_BAD_REQUEST, /* missing or implausible method or URI -> 400 */
};

struct router_match {
    enum router_route route;
    int head;        /* 1 for HEAD: answer headers only */
    const char *arg; /* the room id inside the uri, for both room routes */
    size_t arg_len;
    const char *rest; /* what follows the path in the uri: "", "?..." */
};

/* Length of the path part of uri (up to '?' or '#'), or -1 when uri is not
 * a plausible origin-form request target: empty, not starting with '/',
 * longer than ROUTER_URI_MAX, or holding a byte outside printable ASCII
 * (control bytes, space, DEL, any non-ASCII byte). */
long router_path_len(const char *uri);

/* Resolves method and uri (either may be NULL when the web server did not
 * send the parameter). The returned arg points into uri. */
struct router_match router_resolve(const char *method, const char *uri);

#endif
