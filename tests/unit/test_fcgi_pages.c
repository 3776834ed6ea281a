#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "pages.h"

/* Pages from a private views dir, so these tests do not depend on the real
 * page's markup. */
static int load(struct pages *p)
{
    char dir[] = "/tmp/huddle-unit-views-XXXXXX";
    char path[64];
    FILE *f;
    int rc;

    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(path, sizeof path, "%s/room.html", dir);
    f = fopen(path, "w");
    if (f != NULL) {
        fputs("<meta name=\"huddle-room\" content=\"{{room}}\">{{room}}\n", f);
        fclose(f);
    }
    snprintf(path, sizeof path, "%s/404.html", dir);
    f = fopen(path, "w");
    if (f != NULL) {
        fputs("<h1>Not found</h1>\n", f);
        fclose(f);
    }
    rc = pages_load(p, dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/room.html", dir);
    unlink(path);
    rmdir(dir);
    return rc;
}

static char out[8192];

/* The response for method and uri, NUL-terminated, or NULL. */
static const char *respond(const struct pages *p, const char *method,
                           const char *uri, int *status)
{
    long n = pages_respond(p, method, uri, out, sizeof out - 1, status);

    if (n < 0)
        return NULL;
    out[n] = '\0';
    return out;
}

TEST(pages_render_the_room_page_with_no_store)
{
    struct pages p;
    int status = 0;
    const char *r;

    CHECK(load(&p) == 0);
    r = respond(&p, "GET", "/team-1?x=\"", &status);
    CHECK(status == 200);
    CHECK(r != NULL && strncmp(r, "Status: 200 OK\r\n", 16) == 0);
    CHECK(r != NULL && strstr(r, "\r\nCache-Control: no-store\r\n") != NULL);
    CHECK(r != NULL &&
          strstr(r, "Content-Type: text/html; charset=utf-8") != NULL);
    CHECK(r != NULL &&
          strstr(r, "\r\nContent-Length: 49\r\n\r\n<meta name=\"huddle-room\" "
                    "content=\"team-1\">team-1\n") != NULL);
    pages_free(&p);
}

TEST(pages_answer_head_with_headers_only_and_the_same_length)
{
    struct pages p;
    int status = 0;
    const char *r;

    CHECK(load(&p) == 0);
    r = respond(&p, "HEAD", "/team-1", &status);
    CHECK(status == 200);
    CHECK(r != NULL && strstr(r, "Content-Length: 49\r\n\r\n") != NULL);
    CHECK(r != NULL && strstr(r, "\r\n\r\n")[4] == '\0');
    pages_free(&p);
}

TEST(pages_redirect_root_to_distinct_v4_uuids)
{
    struct pages p;
    char first[64] = "";
    int status = 0;

    CHECK(load(&p) == 0);
    for (int i = 0; i < 2; i++) {
        const char *r = respond(&p, "GET", "/", &status);
        const char *loc = r ? strstr(r, "\r\nLocation: /") : NULL;
        CHECK(status == 302 && loc != NULL);
        if (loc == NULL)
            break;
        loc += 13;
        CHECK(strspn(loc, "0123456789abcdef-") == 36 && loc[36] == '\r');
        CHECK(loc[14] == '4' && strchr("89ab", loc[19]) != NULL);
        CHECK(strncmp(loc, first, 36) != 0);
        snprintf(first, sizeof first, "%.36s", loc);
        CHECK(strstr(r, "Cache-Control: no-store\r\n") != NULL);
    }
    pages_free(&p);
}

TEST(pages_send_a_trailing_slash_on_to_the_room_with_its_query)
{
    struct pages p;
    int status = 0;
    const char *r;

    CHECK(load(&p) == 0);
    r = respond(&p, "GET", "/team-standup/?t=a.b.c", &status);
    CHECK(status == 301 && r != NULL &&
          strncmp(r, "Status: 301 Moved Permanently\r\n", 31) == 0);
    CHECK(r != NULL && strstr(r, "\r\nLocation: /team-standup?t=a.b.c\r\n"));
    r = respond(&p, "HEAD", "/x/", &status);
    CHECK(status == 301 && r != NULL && strstr(r, "\r\nLocation: /x\r\n"));
    pages_free(&p);
}

TEST(pages_give_404_405_and_400)
{
    struct pages p;
    int status = 0;
    const char *r;

    CHECK(load(&p) == 0);
    r = respond(&p, "GET", "/%00", &status);
    CHECK(status == 404 && r != NULL && strstr(r, "<h1>Not found</h1>"));
    r = respond(&p, "PUT", "/abc", &status);
    CHECK(status == 405 && r != NULL && strstr(r, "\r\nAllow: GET, HEAD\r\n"));
    r = respond(&p, NULL, NULL, &status);
    CHECK(status == 400 && r != NULL &&
          strncmp(r, "Status: 400 Bad Request\r\n", 25) == 0);
    r = respond(&p, "GET", "/\xff", &status);
    CHECK(status == 400 && r != NULL);
    r = respond(&p, "GET", "/healthz", &status);
    CHECK(status == 200 && r != NULL && strstr(r, "\r\n\r\nok\n"));
    pages_free(&p);
}

TEST(pages_report_a_response_that_does_not_fit)
{
    struct pages p;
    char small[64];
    int status = 0;

    CHECK(load(&p) == 0);
    CHECK(pages_respond(&p, "GET", "/abc", small, sizeof small, &status) == -1);
    pages_free(&p);
}

TEST(pages_load_fails_without_templates)
{
    struct pages p;

    CHECK(pages_load(&p, "/nonexistent/huddle/views") == -1);
    CHECK(p.room == NULL && p.not_found == NULL);
}
