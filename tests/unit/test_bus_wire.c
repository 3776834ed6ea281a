/* The pure wire of the bus (sidecar/bus_wire.h): HUDDLE_REDIS_URL, ids,
 * channel names and the envelope. No Redis, no socket. */
#include <stdlib.h>

#include "bus_wire.h"
#include "check.h"

TEST(url_with_host_and_port_parses)
{
    struct bus_url u;

    CHECK(bus_url_parse("redis://127.0.0.1:6379", &u) == 0);
    CHECK_STR(u.host, "127.0.0.1");
    CHECK(u.port == 6379);
    CHECK_STR(u.path, "");
    CHECK(!u.has_password);
    CHECK(u.db == 0);
    CHECK_STR(u.where, "127.0.0.1:6379");
}

TEST(url_with_unix_socket_parses)
{
    struct bus_url u;

    CHECK(bus_url_parse("unix:///run/redis/redis.sock", &u) == 0);
    CHECK_STR(u.path, "/run/redis/redis.sock");
    CHECK_STR(u.host, "");
    CHECK(u.port == 0);
    CHECK(!u.has_password);
    CHECK(u.db == 0);
    CHECK_STR(u.where, "/run/redis/redis.sock");
    CHECK(bus_url_parse("unix://:s3cr-t!x@/tmp/r.sock?db=7", &u) == 0);
    CHECK_STR(u.path, "/tmp/r.sock");
    CHECK(u.has_password);
    CHECK_STR(u.password, "s3cr-t!x");
    CHECK(u.db == 7);
}

TEST(url_unix_path_fits_sun_path)
{
    char s[200];
    struct bus_url u;

    memcpy(s, "unix://", 7);
    s[7] = '/';
    memset(s + 8, 'a', BUS_PATH_MAX - 1);
    s[7 + BUS_PATH_MAX] = '\0';
    CHECK(bus_url_parse(s, &u) == 0);
    CHECK(strlen(u.path) == BUS_PATH_MAX);
    strcpy(s + 7 + BUS_PATH_MAX, "a");
    CHECK(bus_url_parse(s, &u) < 0);
}

TEST(url_with_password_and_db_parses)
{
    struct bus_url u;

    CHECK(bus_url_parse("redis://:s3cr-t!x@redis:6380/3", &u) == 0);
    CHECK_STR(u.host, "redis");
    CHECK(u.port == 6380);
    CHECK(u.has_password);
    CHECK_STR(u.password, "s3cr-t!x");
    CHECK(u.db == 3);
}

TEST(url_with_ipv6_literal_parses)
{
    struct bus_url u;

    CHECK(bus_url_parse("redis://[::1]:7000/0", &u) == 0);
    CHECK_STR(u.host, "::1");
    CHECK(u.port == 7000);
    CHECK_STR(u.where, "[::1]:7000");
}

TEST(url_rejects_malformed_forms)
{
    static const char *const bad[] = {
        "",
        "redis://",
        "rediss://h:1",
        "http://h:1",
        "redis://h",
        "redis://h:",
        "redis://h:0",
        "redis://h:65536",
        "redis://h:6379x",
        "redis://h:+6379",
        "redis://h:06379",
        "redis://h:6379/",
        "redis://h:6379/x",
        "redis://h:6379/1/2",
        "redis://h:6379/99999",
        "redis://user:pw@h:6379",
        "redis://pw@h:6379",
        "redis://:@h:6379",
        "redis://:a@b@h:6379",
        "redis://:a/b@h:6379",
        "redis://:6379",
        "redis://h h:6379",
        "redis://h:6379 ",
        "redis://h\n:6379",
        "redis://h;x:6379",
        "redis://[::1:6379",
        "redis://[]:6379",
        "redis://[zz]:6379",
        " redis://h:6379",
        "unix://",
        "unix:///",
        "unix://tmp/r.sock",
        "unix:/tmp/r.sock",
        "unix:///tmp/r.sock?",
        "unix:///tmp/r.sock?db=",
        "unix:///tmp/r.sock?db=x",
        "unix:///tmp/r.sock?db=99999",
        "unix:///tmp/r.sock?database=1",
        "unix:///tmp/r.sock?db=1&x=2",
        "unix:///tmp/r sock",
        "unix:///tmp/a@b.sock",
        "unix://pw@/tmp/r.sock",
        "unix://:@/tmp/r.sock",
        "unix://:p/w@/tmp/r.sock",
        "UNIX:///tmp/r.sock",
    };

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct bus_url u;
        if (bus_url_parse(bad[i], &u) == 0) {
            fprintf(stderr, "accepted \"%s\"\n", bad[i]);
            check_failed = 1;
        }
    }
    CHECK(bus_url_parse(NULL, &(struct bus_url){0}) < 0);
}

TEST(url_rejects_host_over_255_bytes)
{
    char s[400];
    struct bus_url u;

    memcpy(s, "redis://", 8);
    memset(s + 8, 'a', 256);
    strcpy(s + 8 + 256, ":1");
    CHECK(bus_url_parse(s, &u) < 0);
    strcpy(s + 8 + 255, ":1");
    CHECK(bus_url_parse(s, &u) == 0);
}

TEST(node_and_peer_ids_take_their_characters_only)
{
    CHECK(bus_id_ok("sidecar-1.abcdef01", BUS_ID_MAX, true));
    CHECK(!bus_id_ok("sidecar-1.abcdef01", BUS_ID_MAX, false));
    CHECK(bus_id_ok("Peer_9-x", BUS_TOKEN_MAX, false));
    CHECK(!bus_id_ok("", BUS_TOKEN_MAX, false));
    CHECK(!bus_id_ok("a b", BUS_TOKEN_MAX, false));
    CHECK(!bus_id_ok("a\"b", BUS_TOKEN_MAX, true));
    CHECK(!bus_id_ok("abcd", 3, false));
    CHECK(bus_room_ok("room-1"));
    CHECK(!bus_room_ok(NULL));
    CHECK(!bus_room_ok("healthz"));
}

TEST(envelope_round_trips_origin_and_message)
{
    static const char msg[] = "{\"type\":\"chat\",\"text\":\"hi\"}";
    size_t cap = bus_envelope_size("n1.0000abcd", sizeof msg - 1), n, len;
    char *buf = malloc(cap), origin[BUS_ID_MAX + 1];
    const char *json;

    CHECK(buf != NULL);
    n = bus_envelope_write(buf, "n1.0000abcd", msg, sizeof msg - 1);
    CHECK(n <= cap);
    CHECK(n ==
          strlen("{\"origin\":\"n1.0000abcd\",\"msg\":}") + sizeof msg - 1);
    CHECK(bus_envelope_parse(buf, n, origin, &json, &len) == 0);
    CHECK_STR(origin, "n1.0000abcd");
    CHECK(len == sizeof msg - 1 && memcmp(json, msg, len) == 0);
    free(buf);
}

TEST(envelope_from_the_reaper_has_an_empty_origin)
{
    static const char env[] = "{\"origin\":\"\",\"msg\":{\"type\":\"x\"}}";
    char origin[BUS_ID_MAX + 1];
    const char *json;
    size_t len;

    CHECK(bus_envelope_parse(env, sizeof env - 1, origin, &json, &len) == 0);
    CHECK_STR(origin, "");
    CHECK(len == strlen("{\"type\":\"x\"}"));
}

TEST(envelope_parse_rejects_an_origin_holding_a_nul_byte)
{
    /* found by fuzz_bus_url: "2\0\0..." passed as the node id "2" */
    static const char env[] = "{\"origin\":\"2\0\0\",\"msg\":{\"type\":\"x\"}}";
    char origin[BUS_ID_MAX + 1];
    const char *json;
    size_t len;

    CHECK(bus_envelope_parse(env, sizeof env - 1, origin, &json, &len) < 0);
}

TEST(envelope_parse_rejects_other_shapes)
{
    static const char *const bad[] = {
        "",
        "{}",
        "{\"origin\":\"n1\",\"msg\":}",
        "{\"origin\":\"n 1\",\"msg\":1}",
        "{\"origin\":\"n1\",\"message\":1}",
        "{\"msg\":1,\"origin\":\"n1\"}",
        "{\"origin\":\"n1\",\"msg\":1",
    };
    char origin[BUS_ID_MAX + 1];
    const char *json;
    size_t len;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(bus_envelope_parse(bad[i], strlen(bad[i]), origin, &json, &len) <
              0);
}

TEST(channel_room_takes_room_channels_only)
{
    char room[ROOMID_MAX + 1], longch[128];

    CHECK(bus_channel_room("huddle:ch:room:abc", 18, room) == 0);
    CHECK_STR(room, "abc");
    CHECK(bus_channel_room("huddle:ch:room:", 15, room) < 0);
    CHECK(bus_channel_room("huddle:ch:node:abc", 18, room) < 0);
    memset(longch, 'a', sizeof longch);
    memcpy(longch, "huddle:ch:room:", 15);
    CHECK(bus_channel_room(longch, 15 + ROOMID_MAX, room) == 0);
    CHECK(bus_channel_room(longch, 15 + ROOMID_MAX + 1, room) < 0);
    /* Only names a member could join: a NUL would name room "a" in C. */
    CHECK(bus_channel_room("huddle:ch:room:a\0b", 18, room) < 0);
    CHECK(bus_channel_room("huddle:ch:room:\0ab", 18, room) < 0);
    CHECK(bus_channel_room("huddle:ch:room:a b", 18, room) < 0);
    CHECK(bus_channel_room("huddle:ch:room:api", 18, room) < 0); /* reserved */
}

TEST(relay_names_its_room_before_the_envelope)
{
    static const char ok[] =
        "huddle:ch:room:abc {\"origin\":\"n.1\",\"msg\":{}}";
    static const char *const bad[] = {
        "huddle:ch:room:abc",    /* no space, no envelope */
        "huddle:ch:room: {}",    /* no room */
        "huddle:ch:node:abc {}", /* a node's channel */
        "{\"origin\":\"n.1\",\"msg\":{\"t\":\"a b\"}}", /* an envelope */
        "ping 7",
    };
    char room[ROOMID_MAX + 1], msg[256];
    const char *env;
    size_t len;

    CHECK(bus_relay_parse(ok, strlen(ok), room, &env, &len) == 0);
    CHECK_STR(room, "abc");
    CHECK(len == strlen(ok) - 19 && memcmp(env, ok + 19, len) == 0);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(bus_relay_parse(bad[i], strlen(bad[i]), room, &env, &len) < 0);
    /* the longest room fits; one byte more is not a room channel */
    memset(msg, 'a', sizeof msg);
    memcpy(msg, "huddle:ch:room:", 15);
    msg[15 + ROOMID_MAX] = ' ';
    CHECK(bus_relay_parse(msg, sizeof msg, room, &env, &len) == 0);
    CHECK(strlen(room) == ROOMID_MAX && len == sizeof msg - 16 - ROOMID_MAX);
    msg[15 + ROOMID_MAX] = 'a';
    msg[16 + ROOMID_MAX] = ' ';
    CHECK(bus_relay_parse(msg, sizeof msg, room, &env, &len) < 0);
}
