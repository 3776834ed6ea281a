#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "router.h"

static enum router_route route(const char *method, const char *uri)
{
    return router_resolve(method, uri).route;
}

TEST(router_table_maps_each_path_to_its_route)
{
    CHECK(route("GET", "/") == ROUTE_NEW_ROOM);
    CHECK(route("GET", "/healthz") == ROUTE_HEALTH);
    CHECK(route("GET", "/team-standup") == ROUTE_ROOM);
    CHECK(route("GET", "/0b7e5f43-8c3f-4a57-9d0e-3f2b6c1a9e21") == ROUTE_ROOM);
    CHECK(route("GET", "/favicon.ico") == ROUTE_NOT_FOUND);
}

TEST(router_gives_the_room_id_without_query_string)
{
    struct router_match m = router_resolve("GET", "/abc_9?x=1&y=<b>#frag");

    CHECK(m.route == ROUTE_ROOM);
    CHECK(m.arg_len == 5 && memcmp(m.arg, "abc_9", 5) == 0);
    CHECK(route("GET", "/?utm=1") == ROUTE_NEW_ROOM);
    CHECK(route("GET", "/healthz?") == ROUTE_HEALTH);
}

TEST(router_sends_a_room_with_a_trailing_slash_on_with_its_query)
{
    struct router_match m = router_resolve("GET", "/team-standup/?t=abc");

    CHECK(m.route == ROUTE_ROOM_SLASH);
    CHECK(m.arg_len == 12 && memcmp(m.arg, "team-standup", 12) == 0);
    CHECK(strcmp(m.rest, "?t=abc") == 0);
    CHECK(route("GET", "/a/") == ROUTE_ROOM_SLASH);
    CHECK(strcmp(router_resolve("GET", "/a/").rest, "") == 0);
    CHECK(strcmp(router_resolve("GET", "/a").rest, "") == 0);
    CHECK(route("POST", "/a/") == ROUTE_BAD_METHOD);
}

TEST(router_answers_head_like_get_and_405_for_other_methods)
{
    struct router_match m = router_resolve("HEAD", "/abc");

    CHECK(m.route == ROUTE_ROOM && m.head == 1);
    CHECK(router_resolve("GET", "/abc").head == 0);
    CHECK(route("POST", "/abc") == ROUTE_BAD_METHOD);
    CHECK(route("DELETE", "/") == ROUTE_BAD_METHOD);
    CHECK(route("get", "/healthz") == ROUTE_BAD_METHOD);
    CHECK(route("POST", "/no/such/page") == ROUTE_NOT_FOUND);
}

TEST(router_rejects_missing_params_as_bad_request)
{
    CHECK(route(NULL, "/abc") == ROUTE_BAD_REQUEST);
    CHECK(route("GET", NULL) == ROUTE_BAD_REQUEST);
    CHECK(route("", "/abc") == ROUTE_BAD_REQUEST);
    CHECK(route("GET", "") == ROUTE_BAD_REQUEST);
    CHECK(route("GET", "abc") == ROUTE_BAD_REQUEST);
    CHECK(route("GET", "http://example.org/abc") == ROUTE_BAD_REQUEST);
}

TEST(router_rejects_control_bytes_spaces_and_non_ascii)
{
    CHECK(route("GET", "/ab\x01") == ROUTE_BAD_REQUEST);
    CHECK(route("GET", "/a b") == ROUTE_BAD_REQUEST);
    CHECK(route("GET", "/ab\x7f") == ROUTE_BAD_REQUEST);
    CHECK(route("GET", "/\xff\xfe") == ROUTE_BAD_REQUEST);
    CHECK(route("GET", "/caf\xc3\xa9") == ROUTE_BAD_REQUEST);
    CHECK(route("GET", "/abc?q=\x80") == ROUTE_BAD_REQUEST);
}

TEST(router_rejects_uris_over_the_cap)
{
    char *uri = malloc(ROUTER_URI_MAX + 2);

    REQUIRE(uri != NULL);
    memset(uri, 'a', ROUTER_URI_MAX + 1);
    uri[0] = '/';
    uri[ROUTER_URI_MAX] = '\0';
    CHECK(router_path_len(uri) == ROUTER_URI_MAX);
    uri[ROUTER_URI_MAX] = 'a';
    uri[ROUTER_URI_MAX + 1] = '\0';
    CHECK(router_path_len(uri) == -1);
    CHECK(route("GET", uri) == ROUTE_BAD_REQUEST);
    free(uri);
}

TEST(router_never_takes_encoded_dotted_or_reserved_paths_for_rooms)
{
    CHECK(route("GET", "/%00") == ROUTE_NOT_FOUND);
    CHECK(route("GET", "/%61bc") == ROUTE_NOT_FOUND);
    CHECK(route("GET", "/../etc/passwd") == ROUTE_NOT_FOUND);
    CHECK(route("GET", "/%2e%2e/x") == ROUTE_NOT_FOUND);
    CHECK(route("GET", "/abc//") == ROUTE_NOT_FOUND);
    CHECK(route("GET", "/abc/x") == ROUTE_NOT_FOUND);
    CHECK(route("GET", "/ws/") == ROUTE_NOT_FOUND);
    CHECK(route("GET", "/%61bc/") == ROUTE_NOT_FOUND);
    CHECK(route("GET", "//abc") == ROUTE_NOT_FOUND);
    CHECK(route("GET", "/ws") == ROUTE_NOT_FOUND);
    CHECK(route("GET", "/assets") == ROUTE_NOT_FOUND);
    CHECK(route("GET", "/api") == ROUTE_NOT_FOUND);
    CHECK(route("GET", "/metrics") == ROUTE_NOT_FOUND);
    CHECK(route("GET", "/-abc") == ROUTE_NOT_FOUND);
    CHECK(route("GET", "/a<b>") == ROUTE_NOT_FOUND);
}

TEST(router_takes_64_char_ids_and_not_65)
{
    char uri[67];

    memset(uri, 'a', sizeof uri);
    uri[0] = '/';
    uri[65] = '\0';
    CHECK(route("GET", uri) == ROUTE_ROOM);
    uri[65] = 'a';
    uri[66] = '\0';
    CHECK(route("GET", uri) == ROUTE_NOT_FOUND);
}
