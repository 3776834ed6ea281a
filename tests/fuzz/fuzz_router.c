/* libFuzzer harness: router_resolve and pages_respond over a method and a
 * raw REQUEST_URI. Input: method, a NUL byte, uri (no NUL: method NULL;
 * a leading 0xff byte: uri NULL). */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pages.h"
#include "router.h"
#include "tpl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct pages pages;

static void pages_init(void)
{
    static const char *const room_slots[] = {"room"};
    static const char room[] = "<title>{{room}}</title><p>{{room}}</p>";
    static const char nf[] = "<p>not found</p>";

    if (pages.room != NULL)
        return;
    pages.room = tpl_parse(room, sizeof room - 1, room_slots, 1, NULL);
    pages.not_found = tpl_parse(nf, sizeof nf - 1, NULL, 0, NULL);
    assert(pages.room != NULL && pages.not_found != NULL);
}

static void check(const char *method, const char *uri)
{
    static char out[16384];
    struct router_match m = router_resolve(method, uri);
    int status = 0;
    long n;

    if (m.route == ROUTE_ROOM) {
        assert(m.arg == uri + 1);
        assert(m.arg_len > 0 && m.arg_len < strlen(uri));
    }
    /* Sent on to the room: nothing can be smuggled into Location. */
    if (m.route == ROUTE_ROOM_SLASH) {
        assert(m.arg == uri + 1 && m.arg[m.arg_len] == '/');
        assert(m.rest == m.arg + m.arg_len + 1);
        assert(strpbrk(m.rest, "\r\n") == NULL);
    }
    n = pages_respond(&pages, method, uri, out, sizeof out, &status);
    assert(n > 0 && (size_t)n <= sizeof out);
    assert(status >= 200 && status < 500);
    /* A small buffer must fail cleanly, never overflow. */
    n = pages_respond(&pages, method, uri, out, 64, &status);
    assert(n <= 64);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    char *uri;

    if (buf == NULL)
        return 0;
    pages_init();
    memcpy(buf, data, size);
    buf[size] = '\0';
    (void)router_path_len(buf);
    uri = memchr(buf, '\0', size);
    if (uri == NULL) {
        check(NULL, buf);
        check("GET", buf);
    } else if (uri[1] == '\xff') {
        check(buf, NULL);
    } else {
        check(buf, uri + 1);
    }
    free(buf);
    return 0;
}
