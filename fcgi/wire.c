#include "wire.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define WIRE_VERSION 1
#define WIRE_CHUNK 65535 /* most content bytes in one record */
#define WIRE_PARAMS_FIRST ((size_t)1024)

/* One record of the input, its content pointing into it. */
struct wire_record {
    unsigned type;
    unsigned id;
    const unsigned char *content;
    size_t len;
};

/* What every handler needs beside the record. */
struct wire_ctx {
    struct wire_conn *conn;
    struct wire_out *out;
    wire_respond_fn respond;
    void *respond_ctx;
};

static void wire_put_header(struct wire_out *out, unsigned type, unsigned id,
                            size_t len)
{
    unsigned char *h = (unsigned char *)out->data + out->len;

    assert(len <= WIRE_CHUNK && out->cap - out->len >= WIRE_HEADER_LEN);
    h[0] = WIRE_VERSION;
    h[1] = (unsigned char)type;
    h[2] = (unsigned char)(id >> 8);
    h[3] = (unsigned char)id;
    h[4] = (unsigned char)(len >> 8);
    h[5] = (unsigned char)len;
    h[6] = 0; /* no padding */
    h[7] = 0;
    out->len += WIRE_HEADER_LEN;
}

static void wire_put(struct wire_out *out, const void *p, size_t len)
{
    assert(out->cap - out->len >= len);
    memcpy(out->data + out->len, p, len);
    out->len += len;
}

static void wire_end_request(struct wire_out *out, unsigned id,
                             enum wire_status status)
{
    /* appStatus 0 (4 bytes), protocolStatus, 3 reserved. */
    const unsigned char body[8] = {0, 0, 0, 0, (unsigned char)status};

    wire_put_header(out, WIRE_END_REQUEST, id, sizeof body);
    wire_put(out, body, sizeof body);
}

void wire_conn_init(struct wire_conn *c)
{
    memset(c, 0, sizeof *c);
}

void wire_conn_free(struct wire_conn *c)
{
    free(c->params);
    wire_conn_init(c);
}

size_t wire_record_len(const char *in, size_t len)
{
    const unsigned char *h = (const unsigned char *)in;

    if (len < WIRE_HEADER_LEN)
        return 0;
    return WIRE_HEADER_LEN + ((size_t)h[4] << 8 | h[5]) + h[6];
}

/* Reads one name or value length of a name-value pair at *p (before end):
 * one byte below 128, else four with the top bit set. Returns 0 and moves
 * *p past it, or -1 when the bytes run out. */
static int wire_pair_len(const unsigned char **p, const unsigned char *end,
                         size_t *len)
{
    const unsigned char *s = *p;

    if (s >= end)
        return -1;
    if (s[0] < 0x80) {
        *len = s[0];
        *p = s + 1;
        return 0;
    }
    if (end - s < 4)
        return -1;
    *len = (size_t)(s[0] & 0x7f) << 24 | (size_t)s[1] << 16 |
           (size_t)s[2] << 8 | s[3];
    *p = s + 4;
    return 0;
}

/* The parameters huddle-fcgi reads, and where their values go. */
static const char *const wire_wanted[] = {"REQUEST_METHOD", "REQUEST_URI"};
#define WIRE_NWANTED (sizeof wire_wanted / sizeof *wire_wanted)

/* Finds the wanted parameters in the pairs of c->params and NUL-terminates
 * their values in place (the byte after a value is the next pair's first,
 * already read; params_cap keeps one more at the end). vals[i] is NULL for
 * a parameter not sent; the first of repeated names counts. Returns 0, or
 * -1 when the pairs do not add up. */
static int wire_params_find(struct wire_conn *c, char *vals[WIRE_NWANTED])
{
    const unsigned char *p = (const unsigned char *)c->params;
    const unsigned char *end;
    size_t ends[WIRE_NWANTED] = {0};

    for (size_t i = 0; i < WIRE_NWANTED; i++)
        vals[i] = NULL;
    if (p == NULL)
        return 0; /* no PARAMS content yet on this connection */
    end = p + c->params_len;
    while (p < end) {
        size_t nlen, vlen;

        if (wire_pair_len(&p, end, &nlen) < 0 ||
            wire_pair_len(&p, end, &vlen) < 0 || nlen > (size_t)(end - p) ||
            vlen > (size_t)(end - p) - nlen) {
            for (size_t i = 0; i < WIRE_NWANTED; i++)
                vals[i] = NULL;
            return -1;
        }
        for (size_t i = 0; i < WIRE_NWANTED; i++) {
            if (vals[i] == NULL && nlen == strlen(wire_wanted[i]) &&
                memcmp(p, wire_wanted[i], nlen) == 0) {
                vals[i] = (char *)p + nlen;
                ends[i] = (size_t)(p - (const unsigned char *)c->params) +
                          nlen + vlen;
            }
        }
        p += nlen + vlen;
    }
    for (size_t i = 0; i < WIRE_NWANTED; i++) {
        if (vals[i] != NULL)
            c->params[ends[i]] = '\0';
    }
    return 0;
}

/* Appends len bytes of PARAMS content to c->params, growing it up to
 * WIRE_PARAMS_MAX. Past that (or out of memory) the request is marked
 * params_over and the rest is dropped. */
static void wire_params_add(struct wire_conn *c, const unsigned char *s,
                            size_t len)
{
    size_t want = c->params_len + len;

    if (c->params_over)
        return;
    if (want > WIRE_PARAMS_MAX) {
        log_warn("request %u: parameters over %zu bytes", c->id,
                 WIRE_PARAMS_MAX);
        c->params_over = 1;
        return;
    }
    if (want + 1 > c->params_cap) {
        size_t cap = c->params_cap ? c->params_cap - 1 : WIRE_PARAMS_FIRST;
        char *p;

        while (cap < want)
            cap *= 2;
        if (cap > WIRE_PARAMS_MAX)
            cap = WIRE_PARAMS_MAX;
        p = realloc(c->params, cap + 1);
        if (p == NULL) {
            log_error("request %u: out of memory for its parameters", c->id);
            c->params_over = 1;
            return;
        }
        c->params = p;
        c->params_cap = cap + 1;
    }
    memcpy(c->params + c->params_len, s, len);
    c->params_len = want;
}

/* Splits the n bytes at hdr + WIRE_HEADER_LEN (a response) into STDOUT
 * records in place: the first header goes at hdr, and each later chunk
 * moves up by one header, last chunk first. Returns the bytes the records
 * take. */
static size_t wire_frame_stdout(struct wire_out *out, unsigned id, size_t n)
{
    char *hdr = out->data + out->len;
    size_t k = (n + WIRE_CHUNK - 1) / WIRE_CHUNK;

    for (size_t i = k; i-- > 1;) {
        size_t len = i == k - 1 ? n - i * WIRE_CHUNK : WIRE_CHUNK;

        memmove(hdr + i * (WIRE_HEADER_LEN + WIRE_CHUNK) + WIRE_HEADER_LEN,
                hdr + WIRE_HEADER_LEN + i * WIRE_CHUNK, len);
    }
    for (size_t i = 0; i < k; i++) {
        size_t len = i == k - 1 ? n - i * WIRE_CHUNK : WIRE_CHUNK;

        wire_put_header(out, WIRE_STDOUT, id, len);
        out->len += len;
    }
    return k * WIRE_HEADER_LEN + n;
}

/* Answers the active request from its parameters and makes it inactive. */
static void wire_answer(struct wire_ctx *x)
{
    struct wire_conn *c = x->conn;
    struct wire_out *out = x->out;
    char *vals[WIRE_NWANTED] = {NULL, NULL};
    size_t n;

    assert(out->cap - out->len >= WIRE_ANSWER_MAX);
    if (!c->params_over && wire_params_find(c, vals) < 0)
        log_warn("request %u: parameters that do not add up (%zu bytes)", c->id,
                 c->params_len);
    n = x->respond(x->respond_ctx, vals[0], vals[1],
                   out->data + out->len + WIRE_HEADER_LEN, WIRE_RESPONSE_MAX);
    assert(n <= WIRE_RESPONSE_MAX);
    wire_frame_stdout(out, c->id, n);
    wire_put_header(out, WIRE_STDOUT, c->id, 0);
    wire_end_request(out, c->id, WIRE_REQUEST_COMPLETE);
    c->closing = !c->keep;
    c->id = 0;
    c->params_len = 0;
    c->params_over = 0;
}

static enum wire_stop wire_on_begin(struct wire_ctx *x,
                                    const struct wire_record *r)
{
    struct wire_conn *c = x->conn;
    unsigned role;

    if (r->id == 0 || r->len < 8 || r->id == c->id) {
        log_warn("BEGIN_REQUEST with id %u and %zu bytes%s: closing", r->id,
                 r->len,
                 r->id != 0 && r->id == c->id ? " (already active)" : "");
        return WIRE_CLOSE;
    }
    role = (unsigned)r->content[0] << 8 | r->content[1];
    if (c->id != 0 || role != WIRE_ROLE_RESPONDER) {
        log_info("request %u refused: %s", r->id,
                 c->id != 0 ? "another is active" : "not a responder");
        wire_end_request(x->out, r->id,
                         c->id != 0 ? WIRE_CANT_MPX_CONN : WIRE_UNKNOWN_ROLE);
        if (!(r->content[2] & WIRE_KEEP_CONN) && c->id == 0) {
            c->closing = 1;
            return WIRE_CLOSE;
        }
        return WIRE_NEED_INPUT;
    }
    c->id = r->id;
    c->keep = r->content[2] & WIRE_KEEP_CONN;
    c->params_len = 0;
    c->params_over = 0;
    return WIRE_NEED_INPUT;
}

static enum wire_stop wire_on_abort(struct wire_ctx *x,
                                    const struct wire_record *r)
{
    struct wire_conn *c = x->conn;

    if (r->id == 0 || r->id != c->id)
        return WIRE_NEED_INPUT;
    wire_end_request(x->out, c->id, WIRE_REQUEST_COMPLETE);
    c->closing = !c->keep;
    c->id = 0;
    return c->closing ? WIRE_CLOSE : WIRE_NEED_INPUT;
}

static enum wire_stop wire_on_params(struct wire_ctx *x,
                                     const struct wire_record *r)
{
    if (r->id == 0 || r->id != x->conn->id)
        return WIRE_NEED_INPUT; /* not the active request: skipped */
    if (r->len > 0) {
        wire_params_add(x->conn, r->content, r->len);
        return WIRE_NEED_INPUT;
    }
    wire_answer(x);
    return x->conn->closing ? WIRE_CLOSE : WIRE_NEED_INPUT;
}

/* STDIN and DATA: a responder that never reads a body skips them. */
static enum wire_stop wire_on_skip(struct wire_ctx *x,
                                   const struct wire_record *r)
{
    (void)x;
    (void)r;
    return WIRE_NEED_INPUT;
}

/* Answers FCGI_MPXS_CONNS=0 when the query names it; other names are
 * left out of the result, as the specification allows. */
static enum wire_stop wire_on_get_values(struct wire_ctx *x,
                                         const struct wire_record *r)
{
    static const char name[] = "FCGI_MPXS_CONNS";
    static const unsigned char pair[] = {sizeof name - 1,
                                         1,
                                         'F',
                                         'C',
                                         'G',
                                         'I',
                                         '_',
                                         'M',
                                         'P',
                                         'X',
                                         'S',
                                         '_',
                                         'C',
                                         'O',
                                         'N',
                                         'N',
                                         'S',
                                         '0'};
    const unsigned char *p = r->content, *end = p + r->len;
    int asked = 0;

    while (p < end) {
        size_t nlen, vlen;

        if (wire_pair_len(&p, end, &nlen) < 0 ||
            wire_pair_len(&p, end, &vlen) < 0 || nlen > (size_t)(end - p) ||
            vlen > (size_t)(end - p) - nlen) {
            log_info("GET_VALUES with pairs that do not add up");
            break;
        }
        if (nlen == sizeof name - 1 && memcmp(p, name, nlen) == 0)
            asked = 1;
        p += nlen + vlen;
    }
    wire_put_header(x->out, WIRE_GET_VALUES_RESULT, 0, asked ? sizeof pair : 0);
    if (asked)
        wire_put(x->out, pair, sizeof pair);
    return WIRE_NEED_INPUT;
}

typedef enum wire_stop (*wire_handler)(struct wire_ctx *x,
                                       const struct wire_record *r);

/* The records a responder receives, by type; the others get UNKNOWN_TYPE. */
static const wire_handler wire_handlers[] = {
    [WIRE_BEGIN_REQUEST] = wire_on_begin,
    [WIRE_ABORT_REQUEST] = wire_on_abort,
    [WIRE_PARAMS] = wire_on_params,
    [WIRE_STDIN] = wire_on_skip,
    [WIRE_DATA] = wire_on_skip,
    [WIRE_GET_VALUES] = wire_on_get_values,
};
#define WIRE_NHANDLERS (sizeof wire_handlers / sizeof *wire_handlers)

static enum wire_stop wire_unknown(struct wire_ctx *x,
                                   const struct wire_record *r)
{
    const unsigned char body[8] = {(unsigned char)r->type};

    log_info("record of unknown type %u (id %u, %zu bytes)", r->type, r->id,
             r->len);
    wire_put_header(x->out, WIRE_UNKNOWN_TYPE, 0, sizeof body);
    wire_put(x->out, body, sizeof body);
    return WIRE_NEED_INPUT;
}

enum wire_stop wire_feed(struct wire_conn *c, const char *in, size_t len,
                         size_t *used, struct wire_out *out,
                         wire_respond_fn respond, void *ctx)
{
    struct wire_ctx x = {c, out, respond, ctx};
    enum wire_stop stop = WIRE_NEED_INPUT;
    size_t off = 0;

    while (stop == WIRE_NEED_INPUT && !c->closing) {
        const unsigned char *h = (const unsigned char *)in + off;
        size_t rlen = wire_record_len(in + off, len - off);
        struct wire_record r;

        if (rlen == 0 || rlen > len - off)
            break;
        if (out->cap - out->len < WIRE_ANSWER_MAX) {
            stop = WIRE_NEED_ROOM;
            break;
        }
        if (h[0] != WIRE_VERSION) {
            log_warn("record of version %u: closing", h[0]);
            stop = WIRE_CLOSE;
            break;
        }
        r = (struct wire_record){h[1], (unsigned)h[2] << 8 | h[3],
                                 h + WIRE_HEADER_LEN, (size_t)h[4] << 8 | h[5]};
        off += rlen;
        stop = r.type < WIRE_NHANDLERS && wire_handlers[r.type] != NULL
                   ? wire_handlers[r.type](&x, &r)
                   : wire_unknown(&x, &r);
    }
    *used = off;
    if (stop == WIRE_CLOSE)
        c->closing = 1; /* and stays so: nothing more is taken */
    return c->closing ? WIRE_CLOSE : stop;
}
