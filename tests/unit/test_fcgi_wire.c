#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "wire.h"

/* Input built record by record, as nginx would send it. */
struct bytes {
    unsigned char b[300000];
    size_t len;
};

static void rec(struct bytes *in, unsigned type, unsigned id, const void *p,
                size_t len)
{
    unsigned char *h = in->b + in->len;

    h[0] = 1;
    h[1] = (unsigned char)type;
    h[2] = (unsigned char)(id >> 8);
    h[3] = (unsigned char)id;
    h[4] = (unsigned char)(len >> 8);
    h[5] = (unsigned char)len;
    h[6] = 0;
    h[7] = 0;
    memcpy(h + 8, p, len);
    in->len += 8 + len;
}

static void begin(struct bytes *in, unsigned id, unsigned role, int keep)
{
    unsigned char body[8] = {0, (unsigned char)role, keep ? 1 : 0};

    rec(in, WIRE_BEGIN_REQUEST, id, body, sizeof body);
}

/* One name-value pair, with four-byte lengths past 127. */
static size_t pair(unsigned char *p, const char *name, const char *value)
{
    size_t n = strlen(name), v = strlen(value), off = 0;
    size_t lens[2] = {n, v};

    for (int i = 0; i < 2; i++) {
        if (lens[i] < 128) {
            p[off++] = (unsigned char)lens[i];
        } else {
            p[off++] = (unsigned char)(0x80 | lens[i] >> 24);
            p[off++] = (unsigned char)(lens[i] >> 16);
            p[off++] = (unsigned char)(lens[i] >> 8);
            p[off++] = (unsigned char)lens[i];
        }
    }
    /* Bytes of a pair, not strings: the length is returned.
     * NOLINTNEXTLINE(bugprone-not-null-terminated-result) */
    memcpy(p + off, name, n);
    /* NOLINTNEXTLINE(bugprone-not-null-terminated-result) */
    memcpy(p + off + n, value, v);
    return off + n + v;
}

/* A whole GET request as nginx sends it: BEGIN, PARAMS, empty PARAMS,
 * empty STDIN. */
static void get(struct bytes *in, unsigned id, const char *uri, int keep)
{
    unsigned char p[9000];
    size_t n = pair(p, "SERVER_PROTOCOL", "HTTP/1.1");

    n += pair(p + n, "REQUEST_METHOD", "GET");
    n += pair(p + n, "REQUEST_URI", uri);
    begin(in, id, WIRE_ROLE_RESPONDER, keep);
    rec(in, WIRE_PARAMS, id, p, n);
    rec(in, WIRE_PARAMS, id, "", 0);
    rec(in, WIRE_STDIN, id, "", 0);
}

/* The fake responder: "Status: 200 OK\r\n\r\n<method> <uri>", or, for a uri
 * starting "/big", that many bytes (/big70000). */
static int responded;
static size_t respond(void *ctx, const char *method, const char *uri, char *out,
                      size_t cap)
{
    (void)ctx;
    responded++;
    if (uri != NULL && strncmp(uri, "/big", 4) == 0) {
        size_t n = strtoul(uri + 4, NULL, 10);

        for (size_t i = 0; i < n && i < cap; i++)
            out[i] = (char)('a' + i % 26);
        return n < cap ? n : cap;
    }
    return (size_t)snprintf(out, cap, "Status: 200 OK\r\n\r\n%s %s",
                            method ? method : "(null)", uri ? uri : "(null)");
}

static char outbuf[2 * WIRE_ANSWER_MAX];

/* Feeds all of in (in pieces of step bytes, keeping what wire_feed leaves,
 * as server.c does) and returns why the last call stopped. */
static enum wire_stop feed(struct wire_conn *c, const struct bytes *in,
                           size_t step, struct wire_out *out)
{
    static char pending[300000];
    size_t have = 0, off = 0, used;
    enum wire_stop stop = WIRE_NEED_INPUT;

    *out = (struct wire_out){outbuf, 0, sizeof outbuf};
    responded = 0;
    while (off < in->len && stop == WIRE_NEED_INPUT) {
        size_t n = in->len - off < step ? in->len - off : step;

        memcpy(pending + have, in->b + off, n);
        have += n;
        off += n;
        stop = wire_feed(c, pending, have, &used, out, respond, NULL);
        memmove(pending, pending + used, have - used);
        have -= used;
    }
    return stop;
}

/* The records of out, checked for shape. */
struct answer {
    unsigned type[64], id[64];
    const unsigned char *content[64];
    size_t len[64];
    int n;
};

static int parse(const struct wire_out *out, struct answer *a)
{
    const unsigned char *p = (const unsigned char *)out->data;
    size_t off = 0;

    a->n = 0;
    while (off < out->len && a->n < 64) {
        size_t len = (size_t)p[off + 4] << 8 | p[off + 5];

        if (p[off] != 1 || off + 8 + len + p[off + 6] > out->len)
            return -1;
        a->type[a->n] = p[off + 1];
        a->id[a->n] = (unsigned)p[off + 2] << 8 | p[off + 3];
        a->content[a->n] = p + off + 8;
        a->len[a->n] = len;
        a->n++;
        off += 8 + len + p[off + 6];
    }
    return off == out->len ? 0 : -1;
}

static int is_end(const struct answer *a, int i, unsigned id,
                  enum wire_status status)
{
    return i < a->n && a->type[i] == WIRE_END_REQUEST && a->id[i] == id &&
           a->len[i] == 8 && a->content[i][4] == status;
}

static int is_stdout(const struct answer *a, int i, unsigned id,
                     const char *text)
{
    size_t n = strlen(text);

    return i < a->n && a->type[i] == WIRE_STDOUT && a->id[i] == id &&
           a->len[i] == n && memcmp(a->content[i], text, n) == 0;
}

static struct bytes in;

TEST(wire_answers_a_request_from_nginx_with_stdout_and_end_request)
{
    struct wire_conn c;
    struct wire_out out;
    struct answer a;

    wire_conn_init(&c);
    in.len = 0;
    get(&in, 1, "/team-1", 1);
    CHECK(feed(&c, &in, in.len, &out) == WIRE_NEED_INPUT);
    REQUIRE(parse(&out, &a) == 0);
    CHECK(a.n == 3);
    CHECK(is_stdout(&a, 0, 1, "Status: 200 OK\r\n\r\nGET /team-1"));
    CHECK(is_stdout(&a, 1, 1, ""));
    CHECK(is_end(&a, 2, 1, WIRE_REQUEST_COMPLETE));
    CHECK(!c.closing && c.id == 0);
    wire_conn_free(&c);
}

TEST(wire_gives_the_same_answers_whatever_the_pieces_the_bytes_come_in)
{
    struct wire_conn c;
    struct wire_out out;
    static char whole[4096];
    size_t whole_len;

    wire_conn_init(&c);
    in.len = 0;
    get(&in, 1, "/a", 1);
    get(&in, 1, "/b", 1);
    CHECK(feed(&c, &in, in.len, &out) == WIRE_NEED_INPUT);
    REQUIRE(out.len < sizeof whole);
    memcpy(whole, out.data, out.len);
    whole_len = out.len;
    for (size_t step = 1; step < 40; step += 3) {
        CHECK(feed(&c, &in, step, &out) == WIRE_NEED_INPUT);
        CHECK(out.len == whole_len && memcmp(out.data, whole, out.len) == 0);
        CHECK(responded == 2);
    }
    wire_conn_free(&c);
}

TEST(wire_answers_requests_that_follow_one_another_in_order)
{
    struct wire_conn c;
    struct wire_out out;
    struct answer a;

    wire_conn_init(&c);
    in.len = 0;
    get(&in, 1, "/one", 1);
    get(&in, 2, "/two", 1);
    get(&in, 1, "/three", 1);
    CHECK(feed(&c, &in, in.len, &out) == WIRE_NEED_INPUT);
    REQUIRE(parse(&out, &a) == 0);
    CHECK(a.n == 9);
    CHECK(is_stdout(&a, 0, 1, "Status: 200 OK\r\n\r\nGET /one"));
    CHECK(is_end(&a, 2, 1, WIRE_REQUEST_COMPLETE));
    CHECK(is_stdout(&a, 3, 2, "Status: 200 OK\r\n\r\nGET /two"));
    CHECK(is_end(&a, 5, 2, WIRE_REQUEST_COMPLETE));
    CHECK(is_stdout(&a, 6, 1, "Status: 200 OK\r\n\r\nGET /three"));
    wire_conn_free(&c);
}

TEST(wire_refuses_a_second_request_while_one_is_active_and_answers_the_first)
{
    struct wire_conn c;
    struct wire_out out;
    struct answer a;
    unsigned char p[64];
    size_t n = pair(p, "REQUEST_METHOD", "GET");

    n += pair(p + n, "REQUEST_URI", "/first");
    wire_conn_init(&c);
    in.len = 0;
    begin(&in, 1, WIRE_ROLE_RESPONDER, 1);
    begin(&in, 2, WIRE_ROLE_RESPONDER, 1);
    rec(&in, WIRE_PARAMS, 2, p, n); /* id 2 is not active: skipped */
    rec(&in, WIRE_PARAMS, 1, p, n);
    rec(&in, WIRE_PARAMS, 1, "", 0);
    CHECK(feed(&c, &in, in.len, &out) == WIRE_NEED_INPUT);
    REQUIRE(parse(&out, &a) == 0);
    CHECK(a.n == 4);
    CHECK(is_end(&a, 0, 2, WIRE_CANT_MPX_CONN));
    CHECK(is_stdout(&a, 1, 1, "Status: 200 OK\r\n\r\nGET /first"));
    CHECK(is_end(&a, 3, 1, WIRE_REQUEST_COMPLETE));
    CHECK(responded == 1);
    wire_conn_free(&c);
}

TEST(wire_closes_after_answering_a_request_without_keep_conn)
{
    struct wire_conn c;
    struct wire_out out;
    struct answer a;

    wire_conn_init(&c);
    in.len = 0;
    get(&in, 1, "/once", 0);
    get(&in, 1, "/never", 1);
    CHECK(feed(&c, &in, in.len, &out) == WIRE_CLOSE);
    REQUIRE(parse(&out, &a) == 0);
    CHECK(a.n == 3 && is_end(&a, 2, 1, WIRE_REQUEST_COMPLETE));
    CHECK(responded == 1 && c.closing);
    wire_conn_free(&c);
}

TEST(wire_answers_unknown_role_get_values_and_unknown_types)
{
    struct wire_conn c;
    struct wire_out out;
    struct answer a;
    unsigned char q[64];
    size_t n = pair(q, "FCGI_MAX_CONNS", "");

    n += pair(q + n, "FCGI_MPXS_CONNS", "");
    wire_conn_init(&c);
    in.len = 0;
    begin(&in, 3, 2 /* authorizer */, 1);
    rec(&in, WIRE_GET_VALUES, 0, q, n);
    rec(&in, WIRE_STDOUT, 0, "x", 1);
    rec(&in, 200, 5, "", 0);
    CHECK(feed(&c, &in, in.len, &out) == WIRE_NEED_INPUT);
    REQUIRE(parse(&out, &a) == 0);
    REQUIRE(a.n == 4);
    CHECK(is_end(&a, 0, 3, WIRE_UNKNOWN_ROLE));
    CHECK(a.type[1] == WIRE_GET_VALUES_RESULT && a.id[1] == 0);
    CHECK(a.len[1] == 18 &&
          memcmp(a.content[1] + 2, "FCGI_MPXS_CONNS0", 16) == 0);
    CHECK(a.type[2] == WIRE_UNKNOWN_TYPE && a.content[2][0] == WIRE_STDOUT);
    CHECK(a.type[3] == WIRE_UNKNOWN_TYPE && a.content[3][0] == 200);
    CHECK(responded == 0 && !c.closing);
    wire_conn_free(&c);
}

TEST(wire_closes_on_a_bad_version_or_a_bad_begin_request)
{
    struct wire_conn c;
    struct wire_out out;
    const unsigned char v2[8] = {2, WIRE_STDIN, 0, 1, 0, 0, 0, 0};

    wire_conn_init(&c);
    in.len = 0;
    memcpy(in.b, v2, sizeof v2);
    in.len = sizeof v2;
    CHECK(feed(&c, &in, in.len, &out) == WIRE_CLOSE && out.len == 0);
    wire_conn_free(&c);

    in.len = 0;
    begin(&in, 0, WIRE_ROLE_RESPONDER, 1);
    CHECK(feed(&c, &in, in.len, &out) == WIRE_CLOSE);
    wire_conn_free(&c);

    in.len = 0;
    rec(&in, WIRE_BEGIN_REQUEST, 1, "\0\1", 2);
    CHECK(feed(&c, &in, in.len, &out) == WIRE_CLOSE);
    wire_conn_free(&c);

    in.len = 0;
    begin(&in, 4, WIRE_ROLE_RESPONDER, 1);
    begin(&in, 4, WIRE_ROLE_RESPONDER, 1);
    CHECK(feed(&c, &in, in.len, &out) == WIRE_CLOSE);
    /* Once closing, nothing more is taken. */
    get(&in, 5, "/late", 1);
    CHECK(feed(&c, &in, in.len, &out) == WIRE_CLOSE && responded == 0);
    wire_conn_free(&c);
}

TEST(wire_answers_parameters_over_the_cap_or_broken_as_none)
{
    struct wire_conn c;
    struct wire_out out;
    struct answer a;
    static unsigned char big[60000];
    unsigned char broken[] = {14,  3,   'R', 'E', 'Q', 'U', 'E',
                              'S', 'T', '_', 'M', 'E', 'T', 'H',
                              'O', 'D', 'G', 'E', 'T', 11,  120};

    memset(big, 'x', sizeof big);
    wire_conn_init(&c);
    in.len = 0;
    begin(&in, 1, WIRE_ROLE_RESPONDER, 1);
    rec(&in, WIRE_PARAMS, 1, big, 30000);
    rec(&in, WIRE_PARAMS, 1, big, 30000);
    rec(&in, WIRE_PARAMS, 1, "", 0);
    begin(&in, 1, WIRE_ROLE_RESPONDER, 1);
    rec(&in, WIRE_PARAMS, 1, broken, sizeof broken);
    rec(&in, WIRE_PARAMS, 1, "", 0);
    get(&in, 1, "/fine", 1);
    CHECK(feed(&c, &in, in.len, &out) == WIRE_NEED_INPUT);
    REQUIRE(parse(&out, &a) == 0);
    CHECK(a.n == 9);
    CHECK(is_stdout(&a, 0, 1, "Status: 200 OK\r\n\r\n(null) (null)"));
    CHECK(is_stdout(&a, 3, 1, "Status: 200 OK\r\n\r\n(null) (null)"));
    CHECK(is_stdout(&a, 6, 1, "Status: 200 OK\r\n\r\nGET /fine"));
    wire_conn_free(&c);
}

TEST(wire_reads_parameters_split_across_records_and_long_lengths)
{
    struct wire_conn c;
    struct wire_out out;
    struct answer a;
    static char uri[6001];
    static char want[7000];
    unsigned char p[7000];
    size_t n;

    uri[0] = '/';
    memset(uri + 1, 'r', sizeof uri - 2);
    n = pair(p, "REQUEST_URI", uri);
    n += pair(p + n, "REQUEST_METHOD", "HEAD");
    n += pair(p + n, "REQUEST_METHOD", "POST"); /* the first one counts */
    wire_conn_init(&c);
    in.len = 0;
    begin(&in, 7, WIRE_ROLE_RESPONDER, 1);
    for (size_t off = 0; off < n; off += 1000)
        rec(&in, WIRE_PARAMS, 7, p + off, n - off < 1000 ? n - off : 1000);
    rec(&in, WIRE_PARAMS, 7, "", 0);
    CHECK(feed(&c, &in, in.len, &out) == WIRE_NEED_INPUT);
    REQUIRE(parse(&out, &a) == 0);
    snprintf(want, sizeof want, "Status: 200 OK\r\n\r\nHEAD %s", uri);
    CHECK(a.n == 3 && is_stdout(&a, 0, 7, want));
    wire_conn_free(&c);
}

TEST(wire_ends_the_active_request_on_abort)
{
    struct wire_conn c;
    struct wire_out out;
    struct answer a;

    wire_conn_init(&c);
    in.len = 0;
    begin(&in, 9, WIRE_ROLE_RESPONDER, 1);
    rec(&in, WIRE_ABORT_REQUEST, 8, "", 0); /* not active: nothing */
    rec(&in, WIRE_ABORT_REQUEST, 9, "", 0);
    rec(&in, WIRE_PARAMS, 9, "", 0); /* after the abort: skipped */
    CHECK(feed(&c, &in, in.len, &out) == WIRE_NEED_INPUT);
    REQUIRE(parse(&out, &a) == 0);
    CHECK(a.n == 1 && is_end(&a, 0, 9, WIRE_REQUEST_COMPLETE));
    CHECK(responded == 0 && c.id == 0);
    wire_conn_free(&c);
}

TEST(wire_splits_a_response_over_65535_bytes_into_several_records)
{
    struct wire_conn c;
    struct wire_out out;
    struct answer a;
    size_t total = 0;
    int ok = 1;

    wire_conn_init(&c);
    in.len = 0;
    get(&in, 1, "/big200000", 1);
    CHECK(feed(&c, &in, in.len, &out) == WIRE_NEED_INPUT);
    REQUIRE(parse(&out, &a) == 0);
    REQUIRE(a.n == 6);
    for (int i = 0; i < 4; i++) {
        CHECK(a.type[i] == WIRE_STDOUT && a.id[i] == 1);
        CHECK(a.len[i] == (i < 3 ? 65535 : 200000 - 3 * 65535));
        for (size_t k = 0; k < a.len[i]; k++)
            ok &= a.content[i][k] == 'a' + (total + k) % 26;
        total += a.len[i];
    }
    CHECK(ok && total == 200000);
    CHECK(is_stdout(&a, 4, 1, "") && is_end(&a, 5, 1, WIRE_REQUEST_COMPLETE));
    wire_conn_free(&c);
}

TEST(wire_asks_for_room_before_a_record_when_the_output_is_short)
{
    struct wire_conn c;
    struct wire_out out = {outbuf, 0, WIRE_ANSWER_MAX - 1};
    size_t used = 1;

    wire_conn_init(&c);
    in.len = 0;
    responded = 0;
    get(&in, 1, "/x", 1);
    CHECK(wire_feed(&c, (const char *)in.b, in.len, &used, &out, respond,
                    NULL) == WIRE_NEED_ROOM);
    CHECK(used == 0 && out.len == 0);
    /* Room for one answer: the empty STDIN after it waits for more. */
    out.cap = WIRE_ANSWER_MAX;
    CHECK(wire_feed(&c, (const char *)in.b, in.len, &used, &out, respond,
                    NULL) == WIRE_NEED_ROOM);
    CHECK(used == in.len - 8 && out.len > 0 && responded == 1);
    CHECK(wire_record_len((const char *)in.b, 7) == 0);
    CHECK(wire_record_len((const char *)in.b, 8) == 16);
    wire_conn_free(&c);
}
