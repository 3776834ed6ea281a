/* libFuzzer harness: wire_feed over the bytes a FastCGI connection sends.
 * Input: one selector byte (the size of the pieces the rest arrives in,
 * 1 to 256), then the stream. It is fed once whole and once in pieces,
 * keeping what wire_feed leaves as server.c does: both must give the same
 * answers, every answer must be a sequence of well-formed records of the
 * types a responder sends, and nothing may be read or written out of
 * bounds. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OUT_CAP (2 * (size_t)WIRE_ANSWER_MAX)

/* Answers with the method and uri, or for "/big<n>" with n bytes (at
 * most 140000: three STDOUT records). */
static size_t respond(void *ctx, const char *method, const char *uri, char *out,
                      size_t cap)
{
    size_t n = 0;

    (void)ctx;
    if (uri != NULL && strncmp(uri, "/big", 4) == 0) {
        n = strtoul(uri + 4, NULL, 10) % 140001;
        memset(out, 'b', n);
        return n;
    }
    for (const char *s = method ? method : "-"; *s && n < cap; s++)
        out[n++] = *s;
    for (const char *s = uri ? uri : "-"; *s && n < cap; s++)
        out[n++] = *s;
    return n;
}

/* Checks that out holds whole records only; returns their count. */
static size_t check_records(const struct wire_out *out)
{
    const unsigned char *p = (const unsigned char *)out->data;
    size_t off = 0, n = 0;

    while (off < out->len) {
        size_t len;

        assert(out->len - off >= WIRE_HEADER_LEN && p[off] == 1);
        len = (size_t)p[off + 4] << 8 | p[off + 5];
        assert(out->len - off >= WIRE_HEADER_LEN + len + p[off + 6]);
        assert(p[off + 1] == WIRE_STDOUT || p[off + 1] == WIRE_END_REQUEST ||
               p[off + 1] == WIRE_GET_VALUES_RESULT ||
               p[off + 1] == WIRE_UNKNOWN_TYPE);
        off += WIRE_HEADER_LEN + len + p[off + 6];
        n++;
    }
    return n;
}

/* Appends out's records to *all (*all_len bytes) and empties out. */
static void take(struct wire_out *out, char **all, size_t *all_len)
{
    char *p;

    check_records(out);
    p = realloc(*all, *all_len + out->len + 1);
    assert(p != NULL);
    memcpy(p + *all_len, out->data, out->len);
    *all = p;
    *all_len += out->len;
    out->len = 0;
}

/* Feeds in (len bytes) in pieces of step bytes, each answer going to
 * *all (allocated; *all_len bytes), as server.c sends them. */
static void feed(const uint8_t *in, size_t len, size_t step, char **all,
                 size_t *all_len)
{
    static char out_buf[OUT_CAP];
    struct wire_out out = {out_buf, 0, OUT_CAP};
    struct wire_conn c;
    char *pending = malloc(len + 1);
    size_t have = 0, off = 0, used;
    enum wire_stop stop = WIRE_NEED_INPUT;

    assert(pending != NULL);
    wire_conn_init(&c);
    *all = NULL;
    *all_len = 0;
    for (;;) {
        if (stop == WIRE_NEED_INPUT) {
            size_t n = len - off < step ? len - off : step;

            if (n == 0)
                break;
            memcpy(pending + have, in + off, n);
            have += n;
            off += n;
        }
        stop = wire_feed(&c, pending, have, &used, &out, respond, NULL);
        assert(used <= have);
        memmove(pending, pending + used, have - used);
        have -= used;
        take(&out, all, all_len);
        if (stop == WIRE_CLOSE)
            break;
    }
    assert(have < WIRE_RECORD_MAX || stop == WIRE_CLOSE);
    wire_conn_free(&c);
    free(pending);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *a, *b;
    size_t alen, blen;

    if (size < 1)
        return 0;
    feed(data + 1, size - 1, size - 1 ? size - 1 : 1, &a, &alen);
    feed(data + 1, size - 1, (size_t)data[0] + 1, &b, &blen);
    assert(alen == blen && (alen == 0 || memcmp(a, b, alen) == 0));
    free(a);
    free(b);
    return 0;
}
