/* HUDDLE_REDIS_URL parsing (bus_url_parse): pure, no Redis. */
#include "bus.h"
#include "check.h"

TEST(url_with_host_and_port_parses)
{
    struct bus_url u;

    CHECK(bus_url_parse("redis://127.0.0.1:6379", &u) == 0);
    CHECK_STR(u.host, "127.0.0.1");
    CHECK(u.port == 6379);
    CHECK(!u.has_password);
    CHECK(u.db == 0);
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

TEST(bus_create_refuses_bad_config)
{
    uv_loop_t loop;
    struct bus_config cfg;
    struct bus_callbacks cb = {0};

    uv_loop_init(&loop);
    bus_config_default(&cfg);
    cfg.url = "redis://127.0.0.1:1";
    cfg.node_id = "bad id";
    CHECK(bus_create(&loop, &cfg, &cb, NULL) == NULL);
    cfg.node_id = "n1";
    cfg.url = "redis://127.0.0.1";
    CHECK(bus_create(&loop, &cfg, &cb, NULL) == NULL);
    cfg.url = "redis://127.0.0.1:1";
    cfg.heartbeat_ms = cfg.node_ttl_ms;
    CHECK(bus_create(&loop, &cfg, &cb, NULL) == NULL);
    bus_config_default(&cfg);
    cfg.url = "redis://127.0.0.1:1";
    cfg.node_id = "n1";
    cfg.max_peers = 0;
    CHECK(bus_create(&loop, &cfg, &cb, NULL) == NULL);
    CHECK(uv_loop_close(&loop) == 0);
}
