/* peerjs: the PeerJS server protocol (docs/peerjs.md), as the `peerjs` npm
 * client 1.x speaks it, beside protocol v1 on the same sidecar. ws.c
 * routes the websocket /peerjs/peerjs?key=&id=&token= and the HTTP paths
 * under /peerjs here; this module decides: who holds which id, what is
 * relayed to whom, what is held for a peer not connected yet and when it
 * expires.
 *
 * No I/O: it sends through struct hub_ops (hub.h), so a PeerJS connection
 * has the same send queue, slow-consumer rule and close path as a v1 one,
 * and ws.c's message size cap, binary and UTF-8 checks run before
 * pj_on_text. With several sidecars (struct pj_net, below, which
 * cluster.c implements on the Redis bus) an id is claimed cluster-wide
 * before OPEN, and a message for an id held by another node goes there. */
#ifndef HUDDLE_PEERJS_H
#define HUDDLE_PEERJS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "htab.h"
#include "hub.h"
#include "ratelimit.h"

#define PJ_ID_MAX 64    /* an id's characters */
#define PJ_TOKEN_MAX 64 /* a token's characters */
/* Messages kept from a socket whose id is being claimed (several
 * sidecars), at most this many and PJ_EARLY_BYTES in all: the client
 * sends what it queued as soon as its socket opens, before OPEN. */
#define PJ_EARLY_MAX 8
#define PJ_EARLY_BYTES 16384
#define PJ_UUID_LEN 36 /* a minted id: a random UUID, as peerjs-server's */

/* ---- the parser: pure, fuzzed (tests/fuzz/fuzz_peerjs.c) ------------ */

/* The message types a client may send; the table in peerjs.c says which
 * are relayed and which may be held. */
enum pj_type {
    PJ_HEARTBEAT,
    PJ_OFFER,
    PJ_ANSWER,
    PJ_CANDIDATE,
    PJ_LEAVE,
    PJ_EXPIRE,
    PJ_TYPE_COUNT
};

/* One client message. dst points into the parsed tree; payload is the
 * client's payload printed again as compact JSON (malloc'd), or NULL when
 * the message had none. Free with pj_msg_free. */
struct pj_msg {
    enum pj_type type;
    const char *dst; /* NULL when absent */
    bool dst_bad;    /* dst is no PeerJS id: nobody can have it */
    char *payload;
    void *root; /* the cJSON tree dst lives in */
};

/* Parses len bytes at buf. Returns 0 with *m filled (a string dst that is
 * no valid id too: dst_bad), or -1 with *why set to a static reason (not
 * JSON, not an object, no type, unknown type, a dst not a string, out of
 * memory); m then holds nothing to free. */
int pj_parse(const char *buf, size_t len, struct pj_msg *m, const char **why);

void pj_msg_free(struct pj_msg *m);

/* Whether id is a PeerJS id: 1 to PJ_ID_MAX of [A-Za-z0-9] in runs joined
 * by one of " ", "_", "-" (the client's own rule). */
bool pj_id_valid(const char *id);

/* Fills out (PJ_UUID_LEN chars + NUL) with a random version 4 UUID. */
void pj_uuid(char *out);

/* What an HTTP GET under /peerjs asks for: uri is the path without the
 * query. */
enum pj_http {
    PJ_HTTP_NONE,  /* not ours: 404 */
    PJ_HTTP_INFO,  /* /peerjs or /peerjs/: the server's name */
    PJ_HTTP_ID,    /* /peerjs/<key>/id: a new id */
    PJ_HTTP_PEERS, /* /peerjs/<key>/peers: refused, 401 */
};

enum pj_http pj_http_route(const char *uri);

/* Whether uri (path without the query) is the websocket's. */
bool pj_ws_path(const char *uri);

/* ---- the server ----------------------------------------------------- */

/* ERROR's text for an open while this sidecar has no Redis (several
 * sidecars: an id cannot be claimed), as protocol v1's `unavailable`. */
#define PJ_UNAVAILABLE "Server unavailable, try again later"

/* Per connection, made by the transport with pj_conn_new. */
struct pj_conn {
    struct htab_entry link; /* in the registry by id, while registered */
    struct hub_conn *tc;    /* the transport's handle, for hub_ops */
    struct bucket rate;     /* relayed messages */
    struct bucket errors;   /* bad messages within the error window */
    int64_t last_beat;      /* last HEARTBEAT (or the open) */
    unsigned short limited_run;
    bool registered;
    void *claim; /* struct pj_net's request while a claim waits, or NULL */
    char id[PJ_ID_MAX + 1];
    char token[PJ_TOKEN_MAX + 1];
    struct {
        char *buf;
        size_t len;
    } early[PJ_EARLY_MAX]; /* sent while the claim waited, in order */
    unsigned n_early;
    size_t early_bytes;
};

struct pj;

/* Returns a new server (free with pj_free) or NULL. cfg, ops and key (the
 * one API key accepted) are borrowed and must outlive it. */
struct pj *pj_new(const struct config *cfg, const struct hub_ops *ops,
                  const char *key);
void pj_free(struct pj *p);

/* Returns a new connection for transport handle tc (caller frees with
 * free() after pj_on_end), or NULL when out of memory. */
struct pj_conn *pj_conn_new(struct hub_conn *tc);

/* The websocket of c opened with the query's key, id and token (each NULL
 * when absent). Answers OPEN and delivers what was held for the id;
 * ID-TAKEN or ERROR, then closes, as peerjs-server does. */
void pj_open(struct pj *p, struct pj_conn *c, const char *key, const char *id,
             const char *token, int64_t now_ms);

/* Handles one complete, UTF-8-valid text message from c. */
void pj_on_text(struct pj *p, struct pj_conn *c, const char *buf, size_t len,
                int64_t now_ms);

/* c's connection ended or is being closed: its id is free again. Safe to
 * call twice. */
void pj_on_end(struct pj *p, struct pj_conn *c);

/* Whether c sent no HEARTBEAT for HUDDLE_PEERJS_ALIVE_MS: the transport
 * then closes it. */
bool pj_idle(const struct pj *p, const struct pj_conn *c, int64_t now_ms);

/* Expires held messages: each sender of one held longer than
 * HUDDLE_PEERJS_EXPIRE_MS gets EXPIRE, once per target. */
void pj_tick(struct pj *p, int64_t now_ms);

/* Messages held now, all targets together. */
size_t pj_held_count(const struct pj *p);

/* ---- several sidecars ------------------------------------------------ */

/* What the cluster does for PeerJS (cluster.c, on the bus): each call
 * that answers later answers with the pj_* entry named. Not set: one
 * sidecar, ids unique here. */
struct pj_net {
    void *ctx;
    /* Claims c->id with c->token cluster-wide; the answer comes as
     * pj_claimed, unless cancel comes first. Sets c->claim. Returns 0, or
     * -1 (Redis down: c->claim stays NULL). */
    int (*claim)(void *ctx, struct pj_conn *c);
    /* c ends while its claim waits: the answer must not reach it. Clears
     * c->claim. */
    void (*cancel)(void *ctx, struct pj_conn *c);
    /* Frees id in the cluster if this node still holds it with token. */
    void (*release)(void *ctx, const char *id, const char *token);
    /* Finds the node holding dst for m (src's, a message for dst); the
     * answer comes as pj_routed, in the order of the calls (so a sender's
     * messages keep their order). Returns 0, or -1 (Redis down). */
    int (*route)(void *ctx, const char *src, const char *dst,
                 struct out_msg *m);
    /* Sends m, a message for dst, to node's channel (at most once). */
    void (*forward)(void *ctx, const char *node, const char *dst,
                    const struct out_msg *m);
    /* Whether route calls for dst wait for their answers: a message for
     * dst goes behind them, even to dst connected here. */
    bool (*routing)(void *ctx, const char *dst);
};

/* Plugs net in (NULL: unplugs; pending answers must not come after).
 * net is borrowed. */
void pj_set_net(struct pj *p, const struct pj_net *net);

/* The answer to net->claim for c: claimed (1), held elsewhere (0), or
 * Redis failed (-1). A new socket then gets OPEN, ID-TAKEN or ERROR; an
 * open one re-claimed after a Redis reconnect (pj_reclaim) is closed with
 * ID-TAKEN when another node took its id meanwhile. */
void pj_claimed(struct pj *p, struct pj_conn *c, int result, int64_t now);

/* Whether id is open here for token (the claim in the cluster is its). */
bool pj_holds(const struct pj *p, const char *id, const char *token);

/* The answer to net->route: node holds dst (NULL: nobody; self: node is
 * this one). m is delivered here, forwarded to node, or held for dst as
 * a message from src (or, not holdable, dropped). */
void pj_routed(struct pj *p, const char *src, const char *dst,
               struct out_msg *m, const char *node, bool self, int64_t now);

/* A message for dst that another node sent here (len bytes of JSON, as
 * the client gets it): to dst when connected here, else held or EXPIREd
 * as a relay from this node would be. */
void pj_deliver(struct pj *p, const char *dst, const char *json, size_t len,
                int64_t now);

/* id opened on node (the claim script's pj-open): what is held here for
 * it goes there. */
void pj_opened(struct pj *p, const char *id, const char *node);

/* After a Redis reconnect: every open id is claimed again (its key may be
 * gone with a Redis restart). */
void pj_reclaim(struct pj *p);

#endif
