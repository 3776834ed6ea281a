#include "pages.h"

#include <stdio.h>
#include <string.h>
#include <uuid/uuid.h>

#include "log.h"
#include "router.h"
#include "tpl.h"

static const char *const pages_room_slots[] = {"room"};

const char pages_error_500[] = "Status: 500 Internal Server Error\r\n"
                               "Content-Type: text/plain; charset=utf-8\r\n"
                               "Cache-Control: no-store\r\n"
                               "Content-Length: 22\r\n\r\n"
                               "internal server error\n";

int pages_load(struct pages *p, const char *views_dir)
{
    char path[4096];

    memset(p, 0, sizeof *p);
    snprintf(path, sizeof path, "%s/room.html", views_dir);
    p->room = tpl_load(path, pages_room_slots, 1);
    snprintf(path, sizeof path, "%s/404.html", views_dir);
    p->not_found = tpl_load(path, NULL, 0);
    if (p->room == NULL || p->not_found == NULL) {
        pages_free(p);
        return -1;
    }
    return 0;
}

void pages_free(struct pages *p)
{
    tpl_free(p->room);
    tpl_free(p->not_found);
    p->room = NULL;
    p->not_found = NULL;
}

/* Writes status line and headers (extra is "" or more header lines, each
 * ending in \r\n). Returns bytes written or -1 when cap is too small. */
static long pages_head(char *out, size_t cap, const char *status,
                       const char *type, const char *extra, size_t body_len)
{
    int n = snprintf(out, cap,
                     "Status: %s\r\nContent-Type: %s\r\n"
                     "Cache-Control: no-store\r\n%sContent-Length: %zu\r\n\r\n",
                     status, type, extra, body_len);
    return (n < 0 || (size_t)n >= cap) ? -1 : n;
}

/* A response with a fixed body (NUL-terminated). */
static long pages_text(char *out, size_t cap, const char *status,
                       const char *extra, const char *body, int head)
{
    size_t blen = strlen(body);
    long n =
        pages_head(out, cap, status, "text/plain; charset=utf-8", extra, blen);

    if (n < 0 || head)
        return n;
    if ((size_t)n + blen > cap)
        return -1;
    /* A body of blen bytes, not a string: the length is returned.
     * NOLINTNEXTLINE(bugprone-not-null-terminated-result) */
    memcpy(out + n, body, blen);
    return n + (long)blen;
}

/* A response whose body is the template rendered with vals. */
static long pages_html(char *out, size_t cap, const char *status,
                       const struct tpl *t, const struct tpl_value *vals,
                       int head)
{
    size_t blen = tpl_size(t, vals);
    long n = pages_head(out, cap, status, "text/html; charset=utf-8", "", blen);
    long b;

    if (n < 0 || head)
        return n;
    b = tpl_render(t, vals, out + n, cap - (size_t)n);
    return b < 0 ? -1 : n + b;
}

/* A redirect to /<room><rest> (rest: "" or the request's "?..."). */
static long pages_redirect(char *out, size_t cap, const char *status,
                           const char *room, size_t room_len, const char *rest,
                           int head)
{
    char extra[ROUTER_URI_MAX + 16];
    int n = snprintf(extra, sizeof extra, "Location: /%.*s%s\r\n",
                     (int)room_len, room, rest);

    if (n < 0 || (size_t)n >= sizeof extra)
        return -1;
    return pages_text(out, cap, status, extra, "", head);
}

static long pages_new_room(char *out, size_t cap, int head)
{
    char id[37];
    uuid_t u;

    uuid_generate_random(u);
    uuid_unparse_lower(u, id);
    return pages_redirect(out, cap, "302 Found", id, strlen(id), "", head);
}

long pages_respond(const struct pages *p, const char *method, const char *uri,
                   char *out, size_t cap, int *status)
{
    struct router_match m = router_resolve(method, uri);
    struct tpl_value room;
    char esc[256];

    switch (m.route) {
    case ROUTE_NEW_ROOM:
        *status = 302;
        return pages_new_room(out, cap, m.head);
    case ROUTE_HEALTH:
        *status = 200;
        return pages_text(out, cap, "200 OK", "", "ok\n", m.head);
    case ROUTE_ROOM:
        *status = 200;
        room = (struct tpl_value){m.arg, m.arg_len};
        return pages_html(out, cap, "200 OK", p->room, &room, m.head);
    case ROUTE_ROOM_SLASH:
        *status = 301;
        return pages_redirect(out, cap, "301 Moved Permanently", m.arg,
                              m.arg_len, m.rest, m.head);
    case ROUTE_NOT_FOUND:
        *status = 404;
        return pages_html(out, cap, "404 Not Found", p->not_found, NULL,
                          m.head);
    case ROUTE_BAD_METHOD:
        *status = 405;
        return pages_text(out, cap, "405 Method Not Allowed",
                          "Allow: " ROUTER_ALLOW "\r\n", "method not allowed\n",
                          0);
    case ROUTE_BAD_REQUEST:
        break;
    }
    *status = 400;
    log_info("bad request: method=\"%s\" uri=\"%s\"",
             log_escape(esc, 96, method ? method : "(none)",
                        method ? strlen(method) : 6, 16),
             log_escape(esc + 96, sizeof esc - 96, uri ? uri : "(none)",
                        uri ? strlen(uri) : 6, 64));
    return pages_text(out, cap, "400 Bad Request", "", "bad request\n", 0);
}
