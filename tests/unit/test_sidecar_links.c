/* The links message: its rules and canonical form (sidecar/msg_links.c),
 * through msg_parse as the hub gets it. */
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "msg.h"
#include "msg_links.h"

/* A room of 8: 7 links at most. */
static const struct msg_limits lim = {49152, 2000, 7};

#define A "AAAAAAAAAAAAAAAA"
#define B "Bb0-_bbbbbbbbbbb"

/* Parses {"type":"links","links":[<entries>]}; returns the canonical
 * array, or "error <code>: <message>" (static buffer). */
static const char *links(const char *entries)
{
    static char out[2048];
    char in[4096];
    struct msg_in m;
    struct msg_err err;

    snprintf(in, sizeof in, "{\"type\":\"links\",\"links\":[%s]}", entries);
    if (msg_parse(in, strlen(in), &lim, &m, &err) == 0)
        snprintf(out, sizeof out, "%s", m.links);
    else
        snprintf(out, sizeof out, "error %s: %s", msg_code_name(err.code),
                 err.message);
    msg_in_clear(&m);
    return out;
}

/* The same for a whole message as written. */
static const char *message(const char *in)
{
    static char out[256];
    struct msg_in m;
    struct msg_err err;

    if (msg_parse(in, strlen(in), &lim, &m, &err) == 0)
        snprintf(out, sizeof out, "ok");
    else
        snprintf(out, sizeof out, "error %s: %s", msg_code_name(err.code),
                 err.message);
    msg_in_clear(&m);
    return out;
}

TEST(links_entry_is_written_in_table_order_with_rounded_numbers)
{
    CHECK_STR(links("{ \"limit\":\"cpu\", \"h\":360.4, \"w\":640, "
                    "\"fps\":29.6, \"in\":900.2, \"out\":850.7, "
                    "\"jitter\":3.49, \"loss\":0.54, \"rtt\":12.5, "
                    "\"proto\":\"udp\", \"path\":\"srflx\", "
                    "\"state\":\"connected\", \"peer\":\"" A "\" }"),
              "[{\"peer\":\"" A "\",\"state\":\"connected\",\"path\":\"srflx\","
              "\"proto\":\"udp\",\"rtt\":13,\"loss\":0.5,\"jitter\":3,"
              "\"out\":851,\"in\":900,\"fps\":30,\"w\":640,\"h\":360,"
              "\"limit\":\"cpu\"}]");
}

TEST(links_needs_only_peer_and_state_and_may_be_empty)
{
    CHECK_STR(links(""), "[]");
    CHECK_STR(links("{\"peer\":\"" A "\",\"state\":\"new\"},"
                    "{\"peer\":\"" B "\",\"state\":\"failed\",\"loss\":100}"),
              "[{\"peer\":\"" A "\",\"state\":\"new\"},{\"peer\":\"" B
              "\",\"state\":\"failed\",\"loss\":100}]");
    CHECK_STR(links("{\"state\":\"new\"}"),
              "error bad-message: links[0].peer is missing");
    CHECK_STR(links("{\"peer\":\"" A "\"}"),
              "error bad-message: links[0].state is missing");
}

TEST(links_loss_keeps_one_decimal_and_whole_values_none)
{
    CHECK_STR(links("{\"peer\":\"" A "\",\"state\":\"connected\","
                    "\"loss\":99.96}"),
              "[{\"peer\":\"" A "\",\"state\":\"connected\",\"loss\":100}]");
    CHECK_STR(links("{\"peer\":\"" A "\",\"state\":\"connected\","
                    "\"loss\":0.56}"),
              "[{\"peer\":\"" A "\",\"state\":\"connected\",\"loss\":0.6}]");
    CHECK_STR(links("{\"peer\":\"" A "\",\"state\":\"connected\",\"loss\":-0}"),
              "[{\"peer\":\"" A "\",\"state\":\"connected\",\"loss\":0}]");
}

TEST(links_refuses_each_word_outside_its_list)
{
    const char *bad[] = {
        "\"state\":\"stable\"",   "\"state\":\"Connected\"",
        "\"path\":\"direct\"",    "\"proto\":\"tls\"",
        "\"limit\":\"memory\"",   "\"path\":5",
        "\"limit\":null",         "\"proto\":[\"udp\"]",
        "\"repair\":\"restart\"", "\"repair\":true",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char e[128];
        snprintf(e, sizeof e, "{\"peer\":\"" A "\",\"state\":\"new\",%s}",
                 bad[i]);
        if (strstr(bad[i], "state") != NULL) /* the second one wins: twice */
            snprintf(e, sizeof e, "{\"peer\":\"" A "\",%s}", bad[i]);
        const char *got = links(e);
        CHECK(strncmp(got, "error bad-message: links[0].", 28) == 0);
        CHECK(strstr(got, "is not one of its words") != NULL);
    }
}

TEST(links_repair_step_is_optional_and_written_last)
{
    const char *steps[] = {"ice-restart", "relay",   "reoffer",
                           "repaired",    "gave-up", "retry"};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        char e[128];
        char want[160];
        snprintf(e, sizeof e,
                 "{\"repair\":\"%s\",\"peer\":\"" A
                 "\",\"state\":\"disconnected\",\"limit\":\"none\"}",
                 steps[i]);
        snprintf(want, sizeof want,
                 "[{\"peer\":\"" A "\",\"state\":\"disconnected\","
                 "\"limit\":\"none\",\"repair\":\"%s\"}]",
                 steps[i]);
        CHECK_STR(links(e), want);
    }
}

TEST(links_udp_is_true_or_false_written_after_proto)
{
    CHECK_STR(links("{\"udp\":true,\"proto\":\"tcp\",\"peer\":\"" A
                    "\",\"state\":\"connected\",\"path\":\"relay\"}"),
              "[{\"peer\":\"" A "\",\"state\":\"connected\",\"path\":\"relay\","
              "\"proto\":\"tcp\",\"udp\":true}]");
    CHECK_STR(links("{\"peer\":\"" A "\",\"state\":\"new\",\"udp\":false}"),
              "[{\"peer\":\"" A "\",\"state\":\"new\",\"udp\":false}]");
    const char *bad[] = {"\"true\"", "1", "0", "null", "[true]"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char e[128];
        snprintf(e, sizeof e,
                 "{\"peer\":\"" A "\",\"state\":\"new\",\"udp\":%s}", bad[i]);
        CHECK_STR(links(e),
                  "error bad-message: links[0].udp must be true or false");
    }
}

TEST(links_refuses_numbers_out_of_range_infinite_or_not_numbers)
{
    const char *bad[] = {
        "\"rtt\":-0.01",    "\"rtt\":60000.5",   "\"rtt\":1e999",
        "\"rtt\":-1e999",   "\"loss\":100.01",   "\"jitter\":1e308",
        "\"out\":10000001", "\"in\":-1",         "\"fps\":1001",
        "\"w\":16385",      "\"h\":\"360\"",     "\"rtt\":true",
        "\"loss\":null",    "\"out\":{\"a\":1}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char e[128];
        snprintf(e, sizeof e, "{\"peer\":\"" A "\",\"state\":\"new\",%s}",
                 bad[i]);
        const char *got = links(e);
        CHECK(strncmp(got, "error bad-message: links[0].", 28) == 0);
        CHECK(strstr(got, "is out of range") != NULL ||
              strstr(got, "must be a number") != NULL);
    }
    CHECK_STR(links("{\"peer\":\"" A "\",\"state\":\"new\",\"rtt\":60000,"
                    "\"out\":1e7,\"w\":16384}"),
              "[{\"peer\":\"" A "\",\"state\":\"new\",\"rtt\":60000,"
              "\"out\":10000000,\"w\":16384}]");
}

TEST(links_peer_is_16_characters_of_base64url)
{
    const char *bad[] = {
        "\"AAAAAAAAAAAAAAA\"",
        "\"AAAAAAAAAAAAAAAAA\"",
        "\"AAAAAAAAAAAAAAA+\"",
        "\"AAAAAAAAAAAAAA\\u00e9\"",
        "\"AAAAAAAA AAAAAAA\"",
        "\"\"",
        "16",
        "null",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char e[128];
        snprintf(e, sizeof e, "{\"peer\":%s,\"state\":\"new\"}", bad[i]);
        CHECK_STR(links(e),
                  "error bad-message: links[0].peer must be a peer id");
    }
}

TEST(links_refuses_unknown_or_repeated_members_and_repeated_peers)
{
    CHECK_STR(links("{\"peer\":\"" A "\",\"state\":\"new\",\"name\":\"x\"}"),
              "error bad-message: links[0] has an unknown member");
    CHECK_STR(links("{\"peer\":\"" A "\",\"state\":\"new\",\"Rtt\":1}"),
              "error bad-message: links[0] has an unknown member");
    CHECK_STR(links("{\"peer\":\"" A "\",\"state\":\"new\",\"rtt\":1,"
                    "\"rtt\":2}"),
              "error bad-message: links[0] has a member twice");
    CHECK_STR(links("{\"peer\":\"" A "\",\"state\":\"new\"},"
                    "{\"peer\":\"" B "\",\"state\":\"new\"},"
                    "{\"peer\":\"" A "\",\"state\":\"connected\"}"),
              "error bad-message: links[2].peer is named twice");
    CHECK_STR(links("[]"), "error bad-message: links[0] must be an object");
    CHECK_STR(links("{\"peer\":\"" A "\",\"state\":\"new\"},5"),
              "error bad-message: links[1] must be an object");
}

TEST(links_is_a_required_array)
{
    CHECK_STR(message("{\"type\":\"links\"}"),
              "error bad-message: links is missing");
    CHECK_STR(message("{\"type\":\"links\",\"links\":{}}"),
              "error bad-message: links must be an array");
    CHECK_STR(message("{\"type\":\"links\",\"links\":null}"),
              "error bad-message: links must be an array");
    CHECK_STR(message("{\"type\":\"links\",\"links\":[],\"from\":\"x\"}"),
              "ok"); /* unknown top-level members: ignored, as elsewhere */
}

/* n entries about distinct peers, comma-separated. */
static void entries(char *buf, size_t max, int n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(buf + len, max - len,
                                "%s{\"peer\":\"AAAAAAAAAAAAAA%02d\","
                                "\"state\":\"connected\"}",
                                i ? "," : "", i);
}

TEST(links_holds_at_most_the_room_cap_minus_one_entries)
{
    char buf[2048];
    entries(buf, sizeof buf, 7);
    CHECK(links(buf)[0] == '[');
    entries(buf, sizeof buf, 8);
    CHECK_STR(links(buf), "error bad-message: links has over 7 entries");
}

TEST(links_message_over_its_byte_cap_is_refused)
{
    size_t cap = msg_links_max_bytes(7);
    char *in = malloc(cap + 2);
    REQUIRE(in != NULL);
    const char *head = "{\"type\":\"links\",\"links\":[]";
    size_t n = strlen(head);
    memcpy(in, head, n);
    memset(in + n, ' ', cap - n - 1);
    in[cap - 1] = '}';
    in[cap] = '\0';
    CHECK(cap == 64 + 256 * 7);
    CHECK_STR(message(in), "ok");
    in[cap - 1] = ' ';
    in[cap] = '}';
    in[cap + 1] = '\0';
    CHECK_STR(message(in),
              "error bad-message: links message is over maxLinksBytes");
    free(in);
}

TEST(links_cap_holds_the_room_cap_minus_one_longest_entries)
{
    char in[4096];
    size_t len =
        (size_t)snprintf(in, sizeof in, "{\"type\":\"links\",\"links\":[");
    for (int i = 0; i < 7; i++)
        len += (size_t)snprintf(
            in + len, sizeof in - len,
            "%s{\"peer\":\"AAAAAAAAAAAAAA%02d\",\"state\":\"disconnected\","
            "\"path\":\"relay\",\"proto\":\"udp\",\"udp\":false,"
            "\"rtt\":60000,\"loss\":99.9,\"jitter\":60000,"
            "\"out\":10000000,\"in\":10000000,\"fps\":1000,\"w\":16384,"
            "\"h\":16384,\"limit\":\"bandwidth\",\"repair\":\"ice-restart\"}",
            i ? "," : "", i);
    snprintf(in + len, sizeof in - len, "]}");
    CHECK(strlen(in) <= msg_links_max_bytes(7));
    CHECK_STR(message(in), "ok");
}

TEST(links_about_finds_an_entry_by_its_peer)
{
    const char *c = "[{\"peer\":\"" A "\",\"state\":\"new\"}]";
    CHECK(msg_links_about(c, A));
    CHECK(!msg_links_about(c, B));
    CHECK(!msg_links_about("[]", A));
}

TEST(links_message_names_its_sender)
{
    struct out_msg *m = msg_links(B, "[]");
    REQUIRE(m != NULL);
    CHECK_STR(out_msg_text(m),
              "{\"type\":\"links\",\"from\":\"" B "\",\"links\":[]}");
    out_msg_unref(m);
}
