#include "router.h"

#include <stdbool.h>
#include <string.h>

#include "roomid.h"

/* One row per route: an exact path, or (path == NULL) a matcher over the
 * single segment after the leading '/'. First match wins. */
struct router_entry {
    const char *path;
    bool (*match)(const char *seg, size_t len);
    enum router_route route;
};

/* A room id and one '/' after it: a link some app or person wrote with a
 * trailing slash, sent on to the room. */
static bool room_slash(const char *seg, size_t len)
{
    return len > 1 && seg[len - 1] == '/' && roomid_valid(seg, len - 1);
}

static const struct router_entry router_table[] = {
    {"/", NULL, ROUTE_NEW_ROOM},
    {"/healthz", NULL, ROUTE_HEALTH},
    {NULL, roomid_valid, ROUTE_ROOM},
    {NULL, room_slash, ROUTE_ROOM_SLASH},
};

long router_path_len(const char *uri)
{
    size_t i;

    if (uri == NULL || uri[0] != '/')
        return -1;
    for (i = 0; uri[i] != '\0'; i++) {
        unsigned char c = (unsigned char)uri[i];
        if (i >= ROUTER_URI_MAX || c <= 0x20 || c >= 0x7f)
            return -1;
    }
    i = strcspn(uri, "?#");
    return (long)i;
}

static bool router_method_ok(const char *method, int *head)
{
    *head = strcmp(method, "HEAD") == 0;
    return *head || strcmp(method, "GET") == 0;
}

struct router_match router_resolve(const char *method, const char *uri)
{
    struct router_match m = {ROUTE_BAD_REQUEST, 0, NULL, 0, NULL};
    long len = router_path_len(uri);
    const struct router_entry *hit = NULL;

    if (len < 0 || method == NULL || method[0] == '\0')
        return m;
    for (size_t i = 0; i < sizeof router_table / sizeof *router_table; i++) {
        const struct router_entry *e = &router_table[i];
        if (e->path != NULL ? (strlen(e->path) == (size_t)len &&
                               memcmp(e->path, uri, (size_t)len) == 0)
                            : e->match(uri + 1, (size_t)len - 1)) {
            hit = e;
            break;
        }
    }
    if (hit == NULL) {
        m.route = ROUTE_NOT_FOUND;
        router_method_ok(method, &m.head);
        return m;
    }
    m.route = router_method_ok(method, &m.head) ? hit->route : ROUTE_BAD_METHOD;
    m.rest = uri + len;
    if (m.route == ROUTE_ROOM || m.route == ROUTE_ROOM_SLASH) {
        m.arg = uri + 1;
        m.arg_len = (size_t)len - (m.route == ROUTE_ROOM ? 1 : 2);
    }
    return m;
}
