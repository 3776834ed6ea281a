/* wire: FastCGI (version 1) on one connection, as a responder, with no
 * I/O. wire_feed() reads whole records from the bytes a connection
 * received and appends whole answers to an output buffer, so that the
 * caller sends every answer of a read with one write.
 *
 * What it speaks (the FastCGI specification, as nginx uses it):
 *   - BEGIN_REQUEST, PARAMS, then STDIN: the request is answered when its
 *     PARAMS stream ends, with its STDOUT record(s), an empty STDOUT and
 *     END_REQUEST, all appended at once. STDIN and DATA are never read:
 *     their records are skipped, as are records of a request id that is
 *     not active (the STDIN of a request already answered).
 *   - One request at a time per connection: a BEGIN_REQUEST for another
 *     id while one is active is refused with END_REQUEST
 *     FCGI_CANT_MPX_CONN. Requests that follow one another on a kept
 *     connection (BEGIN_REQUEST with FCGI_KEEP_CONN) are answered in turn.
 *   - A role other than responder: END_REQUEST FCGI_UNKNOWN_ROLE.
 *     ABORT_REQUEST of the active request: END_REQUEST at once.
 *   - GET_VALUES: GET_VALUES_RESULT with FCGI_MPXS_CONNS=0 when asked.
 *     Any other record type: UNKNOWN_TYPE.
 *   - Fatal, logged, then the connection is to be closed (wire_feed
 *     returns WIRE_CLOSE): a version other than 1, a BEGIN_REQUEST of id 0
 *     or of the active id, or of a body shorter than 8 bytes.
 *   - PARAMS over WIRE_PARAMS_MAX bytes, or name-value pairs that do not
 *     add up: the request is answered as one without parameters (a 400
 *     of pages.c), with a log line.
 *
 * Buffers: wire_feed never reads past len and never writes past out's
 * cap. The parameters of the request being received are copied into a
 * buffer the connection owns (wire_conn_free frees it). */
#ifndef HUDDLE_WIRE_H
#define HUDDLE_WIRE_H

#include <stddef.h>

/* Record header, largest record (header, 65535 content, 255 padding). */
#define WIRE_HEADER_LEN 8
#define WIRE_RECORD_MAX (WIRE_HEADER_LEN + 65535 + 255)
/* Bytes of name-value pairs kept for one request (nginx sends about 200). */
#define WIRE_PARAMS_MAX ((size_t)32 * 1024)
/* Largest response a respond callback may write (headers and body). */
#define WIRE_RESPONSE_MAX ((size_t)256 * 1024)
/* Room in out that wire_feed wants before it takes a record: a whole
 * response with its framing (a STDOUT header per 65535 bytes, the empty
 * STDOUT, END_REQUEST), or any smaller answer. A buffer of this size
 * holds any one answer. */
#define WIRE_ANSWER_MAX                                                        \
    (WIRE_RESPONSE_MAX + WIRE_HEADER_LEN * (WIRE_RESPONSE_MAX / 65535 + 3) +   \
     WIRE_HEADER_LEN)

/* Record types and END_REQUEST protocol statuses of the specification. */
enum wire_type {
    WIRE_BEGIN_REQUEST = 1,
    WIRE_ABORT_REQUEST = 2,
    WIRE_END_REQUEST = 3,
    WIRE_PARAMS = 4,
    WIRE_STDIN = 5,
    WIRE_STDOUT = 6,
    WIRE_STDERR = 7,
    WIRE_DATA = 8,
    WIRE_GET_VALUES = 9,
    WIRE_GET_VALUES_RESULT = 10,
    WIRE_UNKNOWN_TYPE = 11,
};

enum wire_status {
    WIRE_REQUEST_COMPLETE = 0,
    WIRE_CANT_MPX_CONN = 1,
    WIRE_OVERLOADED = 2,
    WIRE_UNKNOWN_ROLE = 3,
};

#define WIRE_ROLE_RESPONDER 1
#define WIRE_KEEP_CONN 1

/* Writes the whole CGI-style response ("Status: ...\r\n...\r\n\r\nbody")
 * for method and uri (NUL-terminated; NULL when the request did not carry
 * that parameter) into out, at most cap bytes. Returns its length; it must
 * always answer something that fits (cap is at least WIRE_RESPONSE_MAX). */
typedef size_t (*wire_respond_fn)(void *ctx, const char *method,
                                  const char *uri, char *out, size_t cap);

/* An output buffer the caller owns: wire_feed appends at len. */
struct wire_out {
    char *data;
    size_t len;
    size_t cap;
};

/* The protocol state of one connection; zero it (or wire_conn_init) to
 * start. */
struct wire_conn {
    unsigned id;       /* the active request's id; 0: none */
    int keep;          /* the active request asked for FCGI_KEEP_CONN */
    int closing;       /* answered a request without FCGI_KEEP_CONN */
    int params_over;   /* the active request's PARAMS passed the cap */
    char *params;      /* its name-value pairs so far; owned */
    size_t params_len; /* bytes in params */
    size_t params_cap; /* bytes allocated, one more kept for a NUL */
};

/* Why wire_feed stopped. */
enum wire_stop {
    WIRE_NEED_INPUT, /* every whole record is taken; *used may be < len */
    WIRE_NEED_ROOM,  /* out has less than WIRE_ANSWER_MAX free: send it */
    WIRE_CLOSE,      /* close once out is sent; the rest of in is ignored */
};

void wire_conn_init(struct wire_conn *c);

/* Frees what c owns and leaves it as wire_conn_init does. */
void wire_conn_free(struct wire_conn *c);

/* Takes the whole records at the start of the len bytes at in, answering
 * each request with respond(ctx, ...) into out. Sets *used to the bytes
 * taken (whole records only; the caller keeps the rest for later) and
 * returns why it stopped. */
enum wire_stop wire_feed(struct wire_conn *c, const char *in, size_t len,
                         size_t *used, struct wire_out *out,
                         wire_respond_fn respond, void *ctx);

/* Length of the record whose header starts the len bytes at in, or 0 when
 * fewer than WIRE_HEADER_LEN bytes are there. */
size_t wire_record_len(const char *in, size_t len);

#endif
