#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "check.h"
#include "ice.h"
#include "ratelimit.h"

TEST(bucket_allows_the_burst_then_refuses)
{
    struct bucket b;
    bucket_init(&b, 5, 1000);
    for (int i = 0; i < 5; i++)
        CHECK(bucket_take(&b, 2, 5, 1000));
    CHECK(!bucket_take(&b, 2, 5, 1000));
}

TEST(bucket_refills_at_its_rate_up_to_the_burst)
{
    struct bucket b;
    bucket_init(&b, 5, 0);
    for (int i = 0; i < 5; i++)
        bucket_take(&b, 2, 5, 0);
    CHECK(!bucket_take(&b, 2, 5, 499)); /* 0.998 tokens */
    CHECK(bucket_take(&b, 2, 5, 500));  /* one token per 500 ms */
    CHECK(!bucket_take(&b, 2, 5, 500));
    int n = 0;
    while (bucket_take(&b, 2, 5, 100000))
        n++;
    CHECK(n == 5); /* capped at the burst */
}

TEST(turn_credential_matches_rfc2202_hmac_sha1)
{
    char out[64];
    CHECK(ice_turn_credential("Jefe", "what do ya want for nothing?", out,
                              sizeof out) == 0);
    CHECK_STR(out, "7/zfauXrL6LSdBbV8YTfnCWafHk=");
}

TEST(ice_servers_mint_turn_credentials_per_peer)
{
    struct ice ice;
    CHECK(ice_init(&ice, "stun:a.example:3478, stun:b.example",
                   "turn:t.example:3478?transport=udp", "north", 100) == 0);
    char *s = ice_servers_json(&ice, "peerA", 1699999900, NULL);
    CHECK(s != NULL);
    cJSON *j = s ? cJSON_Parse(s) : NULL;
    CHECK(cJSON_GetArraySize(j) == 2);
    cJSON *stun = cJSON_GetArrayItem(j, 0), *turn = cJSON_GetArrayItem(j, 1);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(stun, "urls")) == 2);
    CHECK_STR(
        cJSON_GetArrayItem(cJSON_GetObjectItem(stun, "urls"), 1)->valuestring,
        "stun:b.example");
    CHECK_STR(cJSON_GetObjectItem(turn, "username")->valuestring,
              "1700000000:peerA");
    CHECK_STR(cJSON_GetObjectItem(turn, "credential")->valuestring,
              "lERoVosZqH9mm9y1PfB76zDyNLc=");
    cJSON_Delete(j);
    free(s);
    ice_clear(&ice);
}

TEST(ice_servers_leave_out_turn_without_a_secret)
{
    struct ice ice;
    CHECK(ice_init(&ice, NULL, "turn:t.example", NULL, 100) == 0);
    char *s = ice_servers_json(&ice, "p", 0, NULL);
    CHECK_STR(s, "[]");
    free(s);
    ice_clear(&ice);
}

TEST(ice_init_refuses_urls_with_quotes)
{
    struct ice ice;
    CHECK(ice_init(&ice, "stun:\"x", NULL, NULL, 100) < 0);
}

TEST(ice_init_takes_only_urls_of_each_lists_scheme)
{
    struct ice ice;
    const char *bad_stun[] = {"abc",
                              "stun:",
                              "stun",
                              "turn:t.example",
                              "stunx:s.example",
                              "stun:s.example, s2.example"};
    const char *bad_turn[] = {"abc", "turns:", "t.example:3478",
                              "TURN:t.example"};
    for (size_t i = 0; i < sizeof bad_stun / sizeof *bad_stun; i++)
        CHECK(ice_init(&ice, bad_stun[i], NULL, NULL, 100) < 0);
    for (size_t i = 0; i < sizeof bad_turn / sizeof *bad_turn; i++)
        CHECK(ice_init(&ice, NULL, bad_turn[i], "north", 100) < 0);
    CHECK(ice_init(&ice, "stuns:s.example:5349 stun:[::1]:3478",
                   "turns:t.example:443?transport=tcp,turn:t.example,"
                   "stun:t.example:3478",
                   "north", 100) == 0); /* a TURN server's STUN side too */
    ice_clear(&ice);
}

/* The host ice_host_parse gives for s, or "-" when it refuses. */
static const char *host_of(const char *s, bool with_port)
{
    static char out[ICE_HOST_MAX];
    return ice_host_parse(s, with_port, out, sizeof out) == 0 ? out : "-";
}

TEST(host_parse_drops_the_port_and_keeps_ipv6_brackets)
{
    CHECK_STR(host_of("meet.example.org", true), "meet.example.org");
    CHECK_STR(host_of("meet.example.org:8443", true), "meet.example.org");
    CHECK_STR(host_of("Meet-1.Example.ORG:80", true), "Meet-1.Example.ORG");
    CHECK_STR(host_of("192.0.2.7:8080", true), "192.0.2.7");
    CHECK_STR(host_of("localhost", true), "localhost");
    CHECK_STR(host_of("[::1]:8080", true), "[::1]");
    CHECK_STR(host_of("[2001:db8::7]", true), "[2001:db8::7]");
    CHECK_STR(host_of("[::ffff:192.0.2.1]:1", true), "[::ffff:192.0.2.1]");
}

TEST(host_parse_refuses_anything_but_a_plain_host)
{
    static const char *const bad[] = {
        "",
        ":8080",
        "a b",
        "host:",
        "host:0",
        "host:65536",
        "host:80x",
        "host:80:81",
        "-host",
        "host-.example",
        "a..b",
        "host.",
        ".host",
        "ho_st",
        "ho\"st",
        "ho\\st",
        "host\n",
        "h\xc3\xa9st",
        "user@host",
        "http://host",
        "host/path",
        "[::1",
        "[::1]x",
        "[::1]]",
        "[]",
        "[x::1]",
        "[1.2.3.4]",
        "[::1\"]",
        "::1", /* bare IPv6 is ambiguous with a port */
        "a23456789012345678901234567890123456789012345678901234567890123x.org",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_STR(host_of(bad[i], true), "-");
        if (strcmp(host_of(bad[i], true), "-") != 0)
            fprintf(stderr, "  accepted: %s\n", bad[i]);
    }
    char long_name[300];
    memset(long_name, 'a', sizeof long_name - 1);
    for (size_t i = 50; i < sizeof long_name - 1; i += 51)
        long_name[i] = '.';
    long_name[sizeof long_name - 1] = '\0';
    CHECK_STR(host_of(long_name, true), "-"); /* over 253 bytes */
}

TEST(public_host_takes_no_port_but_a_bare_ipv6)
{
    CHECK_STR(host_of("turn.example.org", false), "turn.example.org");
    CHECK_STR(host_of("2001:db8::1", false), "[2001:db8::1]");
    CHECK_STR(host_of("[2001:db8::1]", false), "[2001:db8::1]");
    CHECK_STR(host_of("turn.example.org:3478", false), "-");
    CHECK_STR(host_of("[::1]:3478", false), "-");
    CHECK_STR(host_of("turn:turn.example.org", false), "-");
}

/* The "urls" of iceServers entry i of the JSON s, comma-joined. */
static const char *urls_at(const char *s, int i)
{
    static char out[1024];
    cJSON *j = s ? cJSON_Parse(s) : NULL;
    cJSON *urls = cJSON_GetObjectItem(cJSON_GetArrayItem(j, i), "urls");
    out[0] = '\0';
    for (int k = 0; k < cJSON_GetArraySize(urls); k++) {
        if (k)
            strcat(out, ",");
        strncat(out, cJSON_GetArrayItem(urls, k)->valuestring,
                sizeof out - strlen(out) - 2);
    }
    cJSON_Delete(j);
    return out;
}

TEST(turn_urls_are_built_from_the_request_host_with_a_secret_and_no_list)
{
    struct ice ice;
    CHECK(ice_init(&ice, NULL, NULL, "north", 100) == 0);
    CHECK(ice_set_host_urls(&ice, NULL, 3478, 5349) == 0);
    CHECK(ice_wants_request_host(&ice));
    char *s = ice_servers_json(&ice, "peerA", 1699999900, "meet.example.org");
    CHECK_STR(urls_at(s, 0), "stun:meet.example.org:3478");
    CHECK_STR(urls_at(s, 1), "turn:meet.example.org:3478?transport=udp,"
                             "turn:meet.example.org:3478?transport=tcp,"
                             "turns:meet.example.org:5349?transport=tcp");
    cJSON *j = cJSON_Parse(s);
    cJSON *turn = cJSON_GetArrayItem(j, 1);
    CHECK_STR(cJSON_GetObjectItem(turn, "username")->valuestring,
              "1700000000:peerA");
    CHECK_STR(cJSON_GetObjectItem(turn, "credential")->valuestring,
              "lERoVosZqH9mm9y1PfB76zDyNLc=");
    cJSON_Delete(j);
    free(s);
    s = ice_servers_json(&ice, "peerA", 0, "[::1]");
    CHECK_STR(urls_at(s, 0), "stun:[::1]:3478");
    free(s);
    s = ice_servers_json(&ice, "peerA", 0, NULL); /* no Host: nothing */
    CHECK_STR(s, "[]");
    free(s);
    ice_clear(&ice);
}

TEST(public_host_and_ports_override_the_request_host)
{
    struct ice ice;
    CHECK(ice_init(&ice, "stun:stun.example.net", NULL, "north", 100) == 0);
    CHECK(ice_set_host_urls(&ice, "turn.example.org", 3479, 443) == 0);
    CHECK(!ice_wants_request_host(&ice));
    char *s = ice_servers_json(&ice, "p", 0, "evil.example");
    CHECK_STR(urls_at(s, 0), "stun:stun.example.net"); /* STUN list kept */
    CHECK_STR(urls_at(s, 1), "turn:turn.example.org:3479?transport=udp,"
                             "turn:turn.example.org:3479?transport=tcp,"
                             "turns:turn.example.org:443?transport=tcp");
    free(s);
    ice_clear(&ice);
}

TEST(turns_port_0_leaves_the_tls_url_out)
{
    struct ice ice;
    CHECK(ice_init(&ice, NULL, NULL, "north", 100) == 0);
    CHECK(ice_set_host_urls(&ice, "turn.example.org", 3478, 0) == 0);
    char *s = ice_servers_json(&ice, "p", 0, NULL);
    CHECK_STR(urls_at(s, 0), "stun:turn.example.org:3478");
    CHECK_STR(urls_at(s, 1), "turn:turn.example.org:3478?transport=udp,"
                             "turn:turn.example.org:3478?transport=tcp");
    free(s);
    ice_clear(&ice);
}

TEST(built_urls_need_a_secret_and_no_turn_list)
{
    struct ice ice;
    CHECK(ice_init(&ice, NULL, NULL, NULL, 100) == 0);
    CHECK(ice_set_host_urls(&ice, "turn.example.org", 3478, 5349) == 0);
    char *s = ice_servers_json(&ice, "p", 0, "meet.example.org");
    CHECK_STR(s, "[]"); /* no secret: no TURN, no STUN */
    free(s);
    ice_clear(&ice);
    CHECK(ice_init(&ice, NULL, "turn:listed.example", "north", 100) == 0);
    CHECK(ice_set_host_urls(&ice, NULL, 3478, 5349) == 0);
    CHECK(!ice_wants_request_host(&ice));
    s = ice_servers_json(&ice, "p", 0, "meet.example.org");
    CHECK_STR(urls_at(s, 0), "turn:listed.example");
    free(s);
    ice_clear(&ice);
    CHECK(ice_init(&ice, NULL, NULL, "north", 100) == 0);
    CHECK(ice_set_host_urls(&ice, "bad host", 3478, 5349) < 0);
    ice_clear(&ice);
}

TEST(window_bucket_allows_count_per_window)
{
    struct bucket b;
    bucket_init(&b, 10, 0);
    for (int i = 0; i < 10; i++)
        CHECK(bucket_take_window(&b, 10, 10000, 0));
    CHECK(!bucket_take_window(&b, 10, 10000, 999));
    CHECK(bucket_take_window(&b, 10, 10000, 1000)); /* one per second */
}

TEST(client_address_comes_from_x_forwarded_for_only_behind_a_trusted_proxy)
{
    char out[ADDR_MAX];
    addr_client("127.0.0.1", "10.9.9.9, 203.0.113.7", NULL, out);
    CHECK_STR(out, "203.0.113.7");
    addr_client("::1", "2001:db8::1", NULL, out);
    CHECK_STR(out, "2001:db8::1");
    addr_client("198.51.100.2", "203.0.113.7", NULL, out);
    CHECK_STR(out, "198.51.100.2"); /* not a proxy of ours */
    addr_client("198.51.100.2", "203.0.113.7", "192.0.2.1, 198.51.100.2", out);
    CHECK_STR(out, "203.0.113.7");
    addr_client("127.0.0.1", "evil<script>", NULL, out);
    CHECK_STR(out, "127.0.0.1"); /* not an address: the peer counts */
    addr_client("127.0.0.1", NULL, NULL, out);
    CHECK_STR(out, "127.0.0.1");
    addr_client("127.0.0.2", "203.0.113.7", NULL, out);
    CHECK_STR(out, "127.0.0.2"); /* other loopback addresses are clients */
}

TEST(trusted_proxies_are_loopback_own_address_and_the_list)
{
    CHECK(addr_trusted("127.0.0.1", NULL));
    CHECK(addr_trusted("::1", NULL));
    CHECK(addr_trusted("::FFFF:127.0.0.1", NULL));
    CHECK(!addr_trusted("127.0.0.2", NULL));
    CHECK(!addr_trusted("::ffff:127.0.0.2", NULL));
    CHECK(!addr_trusted("127.0.0.10", NULL));
    CHECK(addr_trusted("10.0.0.5", "192.0.2.1, 10.0.0.5"));
    CHECK(!addr_trusted("10.0.0.50", "192.0.2.1, 10.0.0.5"));
    CHECK(!addr_trusted("not-an-address", "0.0.0.0/0"));
}

TEST(trusted_proxies_may_be_networks)
{
    const char *list = "172.30.42.0/24,fd00:abcd::/32 192.0.2.7/32";
    CHECK(addr_trusted("172.30.42.1", list));
    CHECK(addr_trusted("172.30.42.254", list));
    CHECK(addr_trusted("::ffff:172.30.42.9", list)); /* IPv4-mapped */
    CHECK(!addr_trusted("172.30.43.1", list));
    CHECK(addr_trusted("fd00:abcd:1::5", list));
    CHECK(!addr_trusted("fd00:abce::5", list));
    CHECK(addr_trusted("192.0.2.7", list));
    CHECK(!addr_trusted("192.0.2.8", list));
    CHECK(addr_trusted("10.1.2.3", "10.0.0.0/9"));
    CHECK(!addr_trusted("10.128.0.1", "10.0.0.0/9"));
}

TEST(trusted_proxy_lists_are_checked_at_start)
{
    CHECK(addr_list_valid(NULL));
    CHECK(addr_list_valid(""));
    CHECK(addr_list_valid("10.0.0.5, 172.30.42.0/24,fd00::/8"));
    CHECK(!addr_list_valid("10.0.0.0/33"));
    CHECK(!addr_list_valid("10.0.0.0/"));
    CHECK(!addr_list_valid("10.0.0.0/-1"));
    CHECK(!addr_list_valid("nginx"));
    CHECK(!addr_list_valid("10.0.0.5,example.org"));
}

TEST(local_hosts_are_localhost_loopback_v4_and_v6)
{
    CHECK(addr_host_local("localhost"));
    CHECK(addr_host_local("LOCALHOST"));
    CHECK(addr_host_local("127.0.0.1"));
    CHECK(addr_host_local("127.1.2.3"));
    CHECK(addr_host_local("::1"));
    CHECK(!addr_host_local("127.0.0.1.evil.example"));
    CHECK(!addr_host_local("evil"));
    CHECK(!addr_host_local("localhost.evil"));
}

TEST(address_entries_live_while_something_holds_them)
{
    struct addr_table *t = addr_table_new();
    struct addr_entry *a = addr_get(t, "203.0.113.7", 3, 0);
    REQUIRE(a != NULL);
    CHECK(addr_get(t, "203.0.113.7", 3, 0) == a);
    a->conns++;
    addr_release(t, a);
    CHECK(addr_count(t) == 1);
    a->conns--;
    addr_release(t, a);
    CHECK(addr_count(t) == 0);
    addr_table_free(t);
}

TEST(unfinished_upgrades_are_capped_per_address_and_all_released)
{
    struct addr_table *t = addr_table_new();
    struct addr_entry *held[4];

    for (int i = 0; i < 4; i++) {
        held[i] = addr_upgrade_begin(t, "203.0.113.7", 4, 3, 0);
        CHECK(held[i] != NULL && held[i] == held[0]);
    }
    CHECK(addr_upgrade_begin(t, "203.0.113.7", 4, 3, 0) == NULL);
    CHECK(held[0]->upgrades == 4);
    /* Another address is not affected, and a refusal keeps nothing. */
    struct addr_entry *other = addr_upgrade_begin(t, "203.0.113.8", 4, 3, 0);
    CHECK(other != NULL && addr_count(t) == 2);
    CHECK(addr_upgrade_begin(t, "198.51.100.1", 0, 3, 0) == NULL);
    CHECK(addr_count(t) == 2);
    /* One ends (its socket closed): room for one more, not two. */
    addr_upgrade_end(t, held[3]);
    held[3] = addr_upgrade_begin(t, "203.0.113.7", 4, 3, 0);
    CHECK(held[3] == held[0]);
    CHECK(addr_upgrade_begin(t, "203.0.113.7", 4, 3, 0) == NULL);
    /* One becomes a websocket: counted in conns, no longer pending. */
    held[0]->conns++;
    addr_upgrade_end(t, held[0]);
    CHECK(held[1]->upgrades == 3 && held[1]->conns == 1);
    for (int i = 1; i < 4; i++)
        addr_upgrade_end(t, held[i]);
    CHECK(addr_count(t) == 2); /* the websocket still holds it */
    struct addr_entry *a = addr_get(t, "203.0.113.7", 3, 0);
    CHECK(a->upgrades == 0);
    a->conns--;
    addr_release(t, a);
    addr_upgrade_end(t, other);
    CHECK(addr_count(t) == 0);
    addr_table_free(t);
}
