#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "msg.h"
#include "room.h"

static const struct msg_limits lim = {49152, 2000, 7};

/* Parses s; returns the error code, or "ok". */
static const char *parse(const char *s)
{
    static struct msg_err err;
    struct msg_in m;
    int r = msg_parse(s, strlen(s), &lim, &m, &err);
    msg_in_clear(&m);
    return r == 0 ? "ok" : msg_code_name(err.code);
}

TEST(parse_accepts_a_plain_join)
{
    struct msg_in m;
    struct msg_err err;
    const char *s = "{\"type\":\"join\",\"room\":\"r1\",\"name\":\"Ann\","
                    "\"audio\":true,\"extra\":[1,2]}";
    CHECK(msg_parse(s, strlen(s), &lim, &m, &err) == 0);
    CHECK(m.type == MSG_JOIN);
    CHECK_STR(m.room, "r1");
    CHECK_STR(m.name, "Ann");
    CHECK(m.audio == 1 && m.video == -1);
    msg_in_clear(&m);
}

TEST(join_reads_the_number_of_a_resume)
{
    struct msg_in m;
    struct msg_err err;
    const char *s = "{\"type\":\"join\",\"room\":\"r1\",\"name\":\"Ann\","
                    "\"resume\":\"t\",\"attempt\":9007199254740991}";
    CHECK(msg_parse(s, strlen(s), &lim, &m, &err) == 0);
    CHECK(m.attempt == 9007199254740991LL);
    msg_in_clear(&m);
    s = "{\"type\":\"join\",\"room\":\"r1\",\"name\":\"Ann\"}";
    CHECK(msg_parse(s, strlen(s), &lim, &m, &err) == 0);
    CHECK(m.attempt == 0);
    msg_in_clear(&m);
    static const char *const bad[] = {
        "0", "-1", "1.5", "\"3\"", "true", "9007199254740992", "1e300"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char j[160];
        snprintf(j, sizeof j,
                 "{\"type\":\"join\",\"room\":\"r\",\"name\":\"A\","
                 "\"attempt\":%s}",
                 bad[i]);
        CHECK_STR(parse(j), "bad-message");
    }
    s = "{\"type\":\"join\",\"room\":\"r\",\"name\":\"A\",\"attempt\":0}";
    CHECK(msg_parse(s, strlen(s), &lim, &m, &err) < 0);
    CHECK(strstr(err.message, "attempt") != NULL);
    msg_in_clear(&m);
}

TEST(parse_rejects_non_json_and_trailing_text)
{
    CHECK_STR(parse("nope"), "bad-json");
    CHECK_STR(parse("{\"type\":\"ping\"} x"), "bad-json");
    CHECK_STR(parse("{\"type\":\"ping\""), "bad-json");
    CHECK_STR(parse("{\"type\":\"ping\"}  \n"), "ok");
}

TEST(parse_rejects_json_that_is_not_an_object)
{
    CHECK_STR(parse("[]"), "bad-message");
    CHECK_STR(parse("\"join\""), "bad-message");
    CHECK_STR(parse("null"), "bad-message");
}

TEST(parse_rejects_missing_or_wrong_typed_type)
{
    CHECK_STR(parse("{}"), "bad-message");
    CHECK_STR(parse("{\"type\":5}"), "bad-message");
    CHECK_STR(parse("{\"type\":null}"), "bad-message");
    CHECK_STR(parse("{\"type\":\"dance\"}"), "unknown-type");
}

TEST(parse_keys_are_case_sensitive)
{
    CHECK_STR(parse("{\"Type\":\"ping\"}"), "bad-message");
    CHECK_STR(parse("{\"type\":\"Ping\"}"), "unknown-type");
    CHECK_STR(parse("{\"type\":\"join\",\"Room\":\"r\",\"name\":\"a\"}"),
              "bad-message");
}

TEST(parse_rejects_wrong_field_types)
{
    CHECK_STR(parse("{\"type\":\"join\",\"room\":5,\"name\":\"a\"}"),
              "bad-message");
    CHECK_STR(parse("{\"type\":\"join\",\"room\":\"r\",\"name\":\"a\","
                    "\"audio\":1}"),
              "bad-message");
    CHECK_STR(parse("{\"type\":\"signal\",\"to\":\"x\",\"data\":\"sdp\"}"),
              "bad-message");
    CHECK_STR(parse("{\"type\":\"signal\",\"to\":\"x\"}"), "bad-message");
    CHECK_STR(parse("{\"type\":\"chat\",\"text\":true}"), "bad-message");
    CHECK_STR(parse("{\"type\":\"state\",\"hand\":\"yes\"}"), "bad-message");
}

TEST(parse_rejects_nul_in_strings)
{
    CHECK_STR(parse("{\"type\":\"chat\",\"text\":\"a\\u0000b\"}"),
              "bad-message");
    /* An escaped backslash before u0000 is plain text. */
    CHECK_STR(parse("{\"type\":\"chat\",\"text\":\"a\\\\u0000b\"}"), "ok");
    static const char raw[] = "{\"type\":\"chat\",\"text\":\"a\0b\"}";
    struct msg_in m;
    struct msg_err err;
    CHECK(msg_parse(raw, sizeof raw - 1, &lim, &m, &err) < 0);
    CHECK_STR(msg_code_name(err.code), "bad-json");
    msg_in_clear(&m);
}

TEST(join_rejects_hostile_room_ids)
{
    CHECK_STR(parse("{\"type\":\"join\",\"room\":\"ws\",\"name\":\"a\"}"),
              "invalid-room");
    CHECK_STR(parse("{\"type\":\"join\",\"room\":\"../x\",\"name\":\"a\"}"),
              "invalid-room");
    CHECK_STR(parse("{\"type\":\"join\",\"room\":\"\",\"name\":\"a\"}"),
              "invalid-room");
    CHECK_STR(parse("{\"type\":\"join\",\"room\":\"<b>\",\"name\":\"a\"}"),
              "invalid-room");
}

static const char *join_named(const char *name_json)
{
    static char buf[512];
    snprintf(buf, sizeof buf, "{\"type\":\"join\",\"room\":\"r\",\"name\":%s}",
             name_json);
    return parse(buf);
}

TEST(name_is_1_to_64_bytes_without_control_chars)
{
    CHECK_STR(join_named("\"a\""), "ok");
    CHECK_STR(join_named("\"\""), "bad-message");
    CHECK_STR(join_named("\""
                         "0123456789012345678901234567890123456789"
                         "012345678901234567890123\""),
              "ok"); /* 64 */
    CHECK_STR(join_named("\""
                         "0123456789012345678901234567890123456789"
                         "0123456789012345678901234\""),
              "bad-message"); /* 65 */
    CHECK_STR(join_named("\"a\\tb\""), "bad-message");
    CHECK_STR(join_named("\"a\\u007fb\""), "bad-message");
    CHECK_STR(join_named("\"a\\u0085b\""), "bad-message");
    CHECK_STR(join_named("\"a\\u009fb\""), "bad-message");
    CHECK_STR(join_named("\"J\\u00f6rg \\ud83d\\ude00\""), "ok");
}

TEST(name_counts_utf8_bytes_not_characters)
{
    /* 22 x U+00E9 (2 bytes) = 44 bytes ok; 33 x = 66 bytes too long. */
    char name[256] = "\"";
    for (int i = 0; i < 33; i++)
        strcat(name, "\xc3\xa9");
    strcat(name, "\"");
    CHECK_STR(join_named(name), "bad-message");
    name[1 + 44] = '"';
    name[2 + 44] = '\0';
    CHECK_STR(join_named(name), "ok");
}

TEST(chat_text_is_1_to_2000_code_points)
{
    char *buf = malloc(3 * 2001 + 64);
    CHECK(buf != NULL);
    if (buf == NULL)
        return;
    strcpy(buf, "{\"type\":\"chat\",\"text\":\"");
    for (int i = 0; i < 2000; i++)
        strcat(buf, "\xe2\x82\xac"); /* euro sign, 3 bytes */
    strcat(buf, "\"}");
    CHECK_STR(parse(buf), "ok");
    strcpy(buf + strlen(buf) - 2, "x\"}");
    CHECK_STR(parse(buf), "bad-message");
    CHECK_STR(parse("{\"type\":\"chat\",\"text\":\"\"}"), "bad-message");
    free(buf);
}

TEST(signal_data_over_48_kib_is_refused)
{
    size_t n = 49152;
    char *buf = malloc(n + 128);
    CHECK(buf != NULL);
    if (buf == NULL)
        return;
    /* data = {"s":"xxx..."}: 8 bytes of JSON around the string */
    int k =
        sprintf(buf, "{\"type\":\"signal\",\"to\":\"p\",\"data\":{\"s\":\"");
    memset(buf + k, 'x', n - 8);
    strcpy(buf + k + n - 8, "\"}}");
    CHECK_STR(parse(buf), "ok");
    memset(buf + k, 'x', n - 7);
    strcpy(buf + k + n - 7, "\"}}");
    CHECK_STR(parse(buf), "bad-message");
    free(buf);
}

TEST(state_needs_a_known_field)
{
    CHECK_STR(parse("{\"type\":\"state\"}"), "bad-message");
    CHECK_STR(parse("{\"type\":\"state\",\"hand\":true}"), "ok");
    CHECK_STR(parse("{\"type\":\"state\",\"name\":\"\\u0001\"}"),
              "bad-message");
}

TEST(ping_echoes_any_t)
{
    struct msg_in m;
    struct msg_err err;
    const char *s = "{\"type\":\"ping\",\"t\":{\"a\":[1,\"x\"]}}";
    CHECK(msg_parse(s, strlen(s), &lim, &m, &err) == 0);
    struct out_msg *o = msg_pong(m.t);
    CHECK(o != NULL);
    if (o != NULL)
        CHECK_STR(out_msg_text(o),
                  "{\"type\":\"pong\",\"t\":{\"a\":[1,\"x\"]}}");
    out_msg_unref(o);
    msg_in_clear(&m);
}

TEST(utf8_check_rejects_overlongs_surrogates_and_truncation)
{
    CHECK(msg_utf8_valid((const unsigned char *)"h\xc3\xa9", 3));
    CHECK(!msg_utf8_valid((const unsigned char *)"\xc0\xaf", 2));
    CHECK(!msg_utf8_valid((const unsigned char *)"\xed\xa0\x80", 3));
    CHECK(!msg_utf8_valid((const unsigned char *)"\xe2\x82", 2));
    CHECK(!msg_utf8_valid((const unsigned char *)"\xf4\x90\x80\x80", 4));
    CHECK(!msg_utf8_valid((const unsigned char *)"\xff", 1));
}

TEST(built_messages_escape_untrusted_text)
{
    struct out_msg *o = msg_chat("id1", "a\"b", "<i>\n\x01", 5, NULL);
    CHECK(o != NULL);
    if (o == NULL)
        return;
    cJSON *j = cJSON_Parse(out_msg_text(o));
    CHECK(j != NULL);
    CHECK_STR(cJSON_GetObjectItem(j, "name")->valuestring, "a\"b");
    CHECK_STR(cJSON_GetObjectItem(j, "text")->valuestring, "<i>\n\x01");
    CHECK(cJSON_GetObjectItem(j, "to") == NULL);
    cJSON_Delete(j);
    out_msg_unref(o);
}

TEST(nul_in_a_room_id_is_an_invalid_room_not_a_shorter_one)
{
    CHECK_STR(parse("{\"type\":\"join\",\"room\":\"abc\\u0000x\","
                    "\"name\":\"a\"}"),
              "invalid-room");
    CHECK_STR(
        parse("{\"type\":\"join\",\"room\":\"abc\",\"name\":\"a\\u0000\"}"),
        "bad-message");
    CHECK_STR(parse("{\"type\":\"ping\\u0000\"}"), "unknown-type");
}

TEST(unknown_type_is_echoed_in_ref_cut_at_a_character)
{
    struct msg_in m;
    struct msg_err err;
    char buf[256] = "{\"type\":\"";
    for (int i = 0; i < 40; i++)
        strcat(buf, "\xc3\xa9"); /* 80 bytes */
    strcat(buf, "\"}");
    CHECK(msg_parse(buf, strlen(buf), &lim, &m, &err) < 0);
    CHECK_STR(msg_code_name(err.code), "unknown-type");
    CHECK(strlen(err.ref) == 64);
    CHECK(msg_utf8_valid((const unsigned char *)err.ref, strlen(err.ref)));
    msg_in_clear(&m);
    const char *s = "{\"type\":\"dance\"}";
    CHECK(msg_parse(s, strlen(s), &lim, &m, &err) < 0);
    CHECK_STR(err.ref, "dance");
    msg_in_clear(&m);
}

TEST(name_refuses_bidi_controls_and_needs_a_visible_character)
{
    CHECK_STR(join_named("\"a\\u202eb\""), "bad-message"); /* RLO */
    CHECK_STR(join_named("\"a\\u202ab\""), "bad-message"); /* LRE */
    CHECK_STR(join_named("\"\\u2066ab\""), "bad-message"); /* LRI */
    CHECK_STR(join_named("\"ab\\u2069\""), "bad-message"); /* PDI */
    CHECK_STR(join_named("\" \""), "bad-message");
    CHECK_STR(join_named("\"\\u200b\\u200b\""), "bad-message"); /* ZWSP */
    CHECK_STR(join_named("\"\\u00a0\\u3000\\ufeff\""), "bad-message");
    CHECK_STR(join_named("\"\\u2800\""), "bad-message"); /* braille blank */
    CHECK_STR(join_named("\" a \""), "ok");
    CHECK_STR(join_named("\"\\u05e9\\u05dc\\u05d5\\u05dd\""),
              "ok");                              /* Hebrew */
    CHECK_STR(join_named("\"a\\u200db\""), "ok"); /* ZWJ beside letters */
}

TEST(raw_control_characters_in_json_are_bad_json)
{
    CHECK_STR(parse("{\"type\":\"ping\",\"t\":\"a\x01"
                    "b\"}"),
              "bad-json");
    CHECK_STR(parse("{\"type\":\"ping\",\"t\":\"a\tb\"}"), "bad-json");
    CHECK_STR(parse("{\"type\":\"ping\",\"t\":\"a\nb\"}"), "bad-json");
    CHECK_STR(parse("{\"type\":\"ping\",\x01\"t\":1}"), "bad-json");
    CHECK_STR(parse("{\"type\":\"ping\",\n\t\"t\":\"a\\u0001b\"}\r\n"), "ok");
    CHECK(msg_json_controls_ok("\"a\\\"\\n\"", 7));
    CHECK(!msg_json_controls_ok("\"a\\\"\n\"", 6));
}

/* The t echoed for ping s, or the error code. */
static const char *pong_t(const char *s)
{
    static char buf[256];
    struct msg_in m;
    struct msg_err err;
    if (msg_parse(s, strlen(s), &lim, &m, &err) < 0) {
        snprintf(buf, sizeof buf, "%s", msg_code_name(err.code));
    } else {
        snprintf(buf, sizeof buf, "%s", m.t ? m.t : "(none)");
    }
    msg_in_clear(&m);
    return buf;
}

TEST(ping_t_is_echoed_as_written_up_to_64_bytes)
{
    CHECK_STR(pong_t("{\"type\":\"ping\",\"t\":1E5}"), "1E5");
    CHECK_STR(pong_t("{\"type\":\"ping\",\"t\":\"\\u0041\"}"), "\"\\u0041\"");
    CHECK_STR(pong_t("{\"t\" : [1, {\"x\":\"]\"}] ,\"type\":\"ping\"}"),
              "[1, {\"x\":\"]\"}]");
    CHECK_STR(pong_t("{\"type\":\"ping\",\"\\u0074\":true}"), "true");
    CHECK_STR(pong_t("{\"type\":\"ping\",\"t\":1,\"t\":2}"), "1");
    CHECK_STR(pong_t("{\"type\":\"ping\"}"), "(none)");
    char s[200];
    snprintf(s, sizeof s, "{\"type\":\"ping\",\"t\":\"%062d\"}", 0); /* 64 */
    CHECK(strlen(pong_t(s)) == 64);
    snprintf(s, sizeof s, "{\"type\":\"ping\",\"t\":\"%063d\"}", 0); /* 65 */
    CHECK_STR(pong_t(s), "bad-message");
}

TEST(member_raw_finds_members_as_written)
{
    const char *v;
    size_t n;
    const char *s = "{ \"a\" :\"x,}\" , \"b\":{\"c\":[]} ,\"d\":-1.5e3 }";
    CHECK(msg_member_raw(s, strlen(s), "b", &v, &n) == 0);
    CHECK(n == 8 && memcmp(v, "{\"c\":[]}", 8) == 0);
    CHECK(msg_member_raw(s, strlen(s), "d", &v, &n) == 0);
    CHECK(n == 6 && memcmp(v, "-1.5e3", 6) == 0);
    CHECK(msg_member_raw(s, strlen(s), "e", &v, &n) == -1);
}

TEST(every_error_code_has_its_wire_name)
{
    static const char *const want[MSG_CODE_COUNT] = {
        "bad-json",       "bad-message",  "unknown-type", "not-joined",
        "already-joined", "invalid-room", "room-full",    "no-such-peer",
        "rate-limited",   "unavailable",  "forbidden",    "password-required",
        "wrong-password", "banned",       "bad-token",    "denied",
        "knock-timeout"};
    for (int c = 0; c < MSG_CODE_COUNT; c++)
        CHECK_STR(msg_code_name((enum msg_code)c), want[c]);
    struct out_msg *m = msg_error(MSG_E_ROOM_FULL, "full", NULL, "join");
    REQUIRE(m != NULL);
    CHECK_STR(out_msg_text(m), "{\"type\":\"error\",\"code\":\"room-full\","
                               "\"message\":\"full\",\"ref\":\"join\"}");
    out_msg_unref(m);
    m = msg_error(MSG_E_BAD_TOKEN, "the token has expired", "expired", "join");
    REQUIRE(m != NULL);
    CHECK_STR(out_msg_text(m),
              "{\"type\":\"error\",\"code\":\"bad-token\","
              "\"message\":\"the token has expired\",\"reason\":\"expired\","
              "\"ref\":\"join\"}");
    out_msg_unref(m);
}

TEST(a_raised_hand_carries_when_it_went_up_and_comes_back_from_json)
{
    struct peer p = {.id = "p1", .hand = true, .hand_at = 1765000000123};
    char name[] = "Ann";
    p.name = name;
    char *json = msg_peer_json(&p);
    REQUIRE(json != NULL);
    CHECK(strstr(json, "\"hand\":true,\"role\":\"guest\",\"handAt\":"
                       "1765000000123") != NULL);
    struct peer q = {.id = "p1"};
    msg_peer_apply(&q, json, strlen(json));
    CHECK(q.hand && q.hand_at == 1765000000123);
    free(json);
    /* Down: no handAt, and one read back is 0 whatever the text says. */
    p.hand = false;
    json = msg_peer_json(&p);
    REQUIRE(json != NULL);
    CHECK(strstr(json, "handAt") == NULL);
    free(json);
    const char *odd = "{\"name\":\"B\",\"hand\":false,\"handAt\":5}";
    msg_peer_apply(&q, odd, strlen(odd));
    CHECK(!q.hand && q.hand_at == 0);
    odd = "{\"name\":\"B\",\"hand\":true,\"handAt\":\"soon\"}";
    msg_peer_apply(&q, odd, strlen(odd));
    CHECK(q.hand && q.hand_at == 0);
    free(q.name);
}
