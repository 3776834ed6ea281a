/* An outgoing websocket message, shared by every recipient of a fan-out:
 * built once, reference-counted, freed by the last queue that sends it.
 * OUT_PRE bytes of headroom precede the payload for the websocket frame
 * header (ws.c checks that LWS_PRE fits). And the string builder every
 * message (and the ICE servers' JSON) is built with. */
#ifndef HUDDLE_OUTMSG_H
#define HUDDLE_OUTMSG_H

#include <stdbool.h>
#include <stddef.h>

#define OUT_PRE 32
#define OUT_ABOUT_MAX 24 /* a peer id (16) with room to spare */

/* What a message says about a peer, so a send queue can coalesce presence:
 * a peer-left that finds its peer-joined still queued drops both. */
enum out_kind { OUT_OTHER, OUT_PEER_JOINED, OUT_PEER_STATE, OUT_PEER_LEFT };

struct out_msg {
    unsigned refs;
    unsigned char type;        /* enum metrics_out, from the text's "type" */
    unsigned char kind;        /* enum out_kind */
    char about[OUT_ABOUT_MAX]; /* the peer id for the presence kinds */
    size_t len;
    unsigned char buf[]; /* OUT_PRE headroom, then len bytes, then NUL */
};

/* Returns a new message holding a copy of the len bytes at s, with one
 * reference owned by the caller; NULL when out of memory. */
struct out_msg *out_msg_new(const char *s, size_t len);

static inline const char *out_msg_text(const struct out_msg *m)
{
    return (const char *)m->buf + OUT_PRE;
}

static inline struct out_msg *out_msg_ref(struct out_msg *m)
{
    m->refs++;
    return m;
}

/* Marks m as a presence message of kind about peer id (cut to fit). */
void out_msg_tag(struct out_msg *m, enum out_kind kind, const char *id);

/* Drops one reference; frees on the last. NULL is a no-op. */
void out_msg_unref(struct out_msg *m);

/* A growable string for building JSON. On allocation failure it sets oom
 * and ignores further appends. */
struct sb {
    char *p;
    size_t len;
    size_t cap;
    bool oom;
};

void sb_putn(struct sb *b, const char *s, size_t n);
void sb_puts(struct sb *b, const char *s);
/* Appends s as a JSON string, quotes included. */
void sb_json_str(struct sb *b, const char *s);
void sb_printf(struct sb *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Returns the text (malloc'd, caller frees) or NULL after an oom. */
char *sb_take(struct sb *b);
/* Returns the text as a message (out_msg_new), or NULL after an oom or
 * when nothing was written; b is emptied either way. */
struct out_msg *sb_take_msg(struct sb *b);

#endif
