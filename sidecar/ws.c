/* The websocket server over libwebsockets (ws.h). Over 1,300 lines: it is
 * the one module that talks to lws, and lws drives it through one
 * protocol callback over one session state (upgrade filters, the send
 * queue and its write once per loop turn, keepalive, close codes, /healthz
 * and /metrics). A session is a hub connection (/ws) or a PeerJS one
 * (/peerjs/peerjs, peerjs.h), with the same queue, limits and closes.
 * Candidates to move out, pure and testable alone: the send queue's cost
 * and coalescing and the Origin checks. */
#include "ws.h"

#include <errno.h>
#include <libwebsockets.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "clock.h"
#include "env.h"
#include "hostport.h"
#include "list.h"
#include "log.h"
#include "metrics.h"
#include "peerjs.h"

_Static_assert(LWS_PRE <= OUT_PRE, "OUT_PRE must leave room for LWS_PRE");

/* lws reads at most this much per callback; longer messages arrive in
 * pieces and are reassembled here. Small, since lws keeps one per
 * connection for its life: 512 rather than 1024 takes an idle joined
 * connection from 3.07 to 2.56 KiB (docs/performance.md); a chat fits in
 * one piece, a 6 KiB offer takes 12. */
#define WS_RX_CHUNK 512
#define WS_CLOSE_FLUSH_MS 2000 /* a closing connection gets this long */
/* lws 4.1 keeps LWS_WRITE_CLOSE (4) private; lws_write() handles it. */
#define WS_WRITE_CLOSE ((enum lws_write_protocol)4)
#define WS_CLOSE_ACK_MS 1000 /* after our close frame */
#define WS_ORIGIN_MAX 256
#define WS_BATCH_BYTES 65536 /* queued messages framed into one write */
#define WS_QNODE_COST 64     /* bytes a queued message costs beyond its text */

struct qnode {
    struct qnode *next;
    struct out_msg *m;
};

/* Per connection. Kept small: an idle joined connection costs this, the
 * lws wsi and lws' rx chunk. */
struct session {
    struct hub_conn hc; /* first: hub_conn * is a session * */
    struct lws *wsi;
    struct session *prev, *next; /* srv.sessions */
    struct qnode *qhead, *qtail;
    size_t qbytes;
    char *rx; /* reassembly buffer, only while a message is incomplete */
    size_t rxlen;
    size_t rxcap;
    int64_t join_deadline;
    int64_t ping_due;
    int64_t pong_deadline;   /* 0: no ping outstanding */
    int64_t kill_at;         /* 0: none */
    int64_t over_since;      /* queue over a soft cap since; 0: not */
    struct addr_entry *addr; /* client address (counted in conns) */
    struct pj_conn *pj;      /* a PeerJS connection (peerjs.h), or NULL */
    const char *close_reason;
    unsigned qcount;
    unsigned dirty_at; /* 1 + its index in srv.dirty, or 0: not listed */
    unsigned short close_code;
    unsigned char end; /* enum hub_end */
    /* One bit each: every idle connection holds a session. */
    bool in_msg : 1;
    bool ping_pending : 1;
    bool closing : 1;
    bool close_sent : 1;
    bool kick_pending : 1;
    bool hangup : 1;
    bool peer_closed : 1; /* the client's close frame came first */
    bool no_pong : 1;     /* hung up for missed pings */
    bool peerjs : 1;      /* upgraded on the PeerJS path */
};

static struct {
    struct lws_context *ctx;
    struct hub *hub;
    struct pj *pj; /* the PeerJS endpoint */
    const struct config *cfg;
    char *origins; /* comma list copy, or NULL */
    bool keep_host;
    const char *public_host;
    const char *trusted;
    long fd_refuse; /* an accepted socket at this fd or above is closed */
    struct addr_table *addrs;
    /* The socket accepted last, counted as an unfinished upgrade of this
     * entry until lws adopts it (then the entry rides on the wsi, see
     * upgrade_done). Still set at the next accept: its adoption failed. */
    struct addr_entry *accepted;
    int64_t refused_log_ms;
    struct session *sessions;
    uv_timer_t sweep;
    bool sweep_started;
    size_t nconns;
    size_t qbytes; /* every session's qbytes added up */
    /* Sessions with something to write since the last flush (flush_dirty,
     * once per loop turn); a closed one leaves a NULL. */
    struct session **dirty;
    size_t ndirty, dirty_cap;
    uv_prepare_t flush;
    bool flush_started;
    bool draining; /* SIGTERM: no new upgrades, clients told 1012 */
    bool destroying;
} srv;

static struct lws_protocols protocols[];

struct pj *ws_peerjs(void)
{
    return srv.pj;
}

size_t ws_connection_count(void)
{
    return srv.nconns;
}

/* Log context of a session: its room and peer id, or "-". */
static const char *s_room(const struct session *s)
{
    return s->hc.peer ? s->hc.peer->room->id : "-";
}

static const char *s_peer(const struct session *s)
{
    return s->hc.peer ? s->hc.peer->id : "-";
}

/* Asks for this connection's LWS_CALLBACK_TIMER at once. lws 4.1 keeps
 * timers in one sorted list and walks it on every insert, so deadlines
 * far ahead (one per connection) would cost O(n) each: keepalive and
 * deadlines are checked by one sweep instead (sweep_one), and the lws
 * timer is only used for "now", which sorts first. */
static void soon(struct session *s)
{
    lws_set_timer_usecs(s->wsi, 1);
}

static void hang_up(struct session *s)
{
    if (s->hangup)
        return;
    s->hangup = true;
    soon(s);
}

static size_t q_cost(const struct out_msg *m)
{
    return m->len + WS_QNODE_COST;
}

/* Over a soft cap: the slow-consumer clock runs while this holds. */
static bool queue_over(const struct session *s)
{
    return s->qcount > (unsigned long)srv.cfg->send_queue_messages ||
           s->qbytes > (size_t)srv.cfg->send_queue_bytes;
}

static void queue_clear(struct session *s)
{
    struct qnode *n = s->qhead;
    while (n != NULL) {
        struct qnode *next = n->next;
        out_msg_unref(n->m);
        free(n);
        n = next;
    }
    srv.qbytes -= s->qbytes;
    s->qhead = s->qtail = NULL;
    s->qcount = 0;
    s->qbytes = 0;
    s->over_since = 0;
}

/* Lists s for the next flush (flush_dirty), once however much is queued
 * before it. Without memory for the list, asks lws for a WRITEABLE
 * instead, which writes the same queue. */
static void mark_dirty(struct session *s)
{
    if (s->dirty_at)
        return;
    if (srv.ndirty == srv.dirty_cap) {
        size_t cap = srv.dirty_cap ? srv.dirty_cap * 2 : 64;
        struct session **v = realloc(srv.dirty, cap * sizeof *v);
        if (v == NULL) {
            lws_callback_on_writable(s->wsi);
            return;
        }
        srv.dirty = v;
        srv.dirty_cap = cap;
    }
    srv.dirty[srv.ndirty++] = s;
    s->dirty_at = (unsigned)srv.ndirty;
}

/* Closes s after its queue drains (or at once when drop), sending a close
 * frame with code and reason; gives up after WS_CLOSE_FLUSH_MS. */
static void start_close(struct session *s, int code, const char *reason,
                        enum hub_end end, bool drop)
{
    int64_t now = clock_mono_ms();

    if (s->closing)
        return;
    s->closing = true;
    s->close_code = (unsigned short)code;
    s->close_reason = reason;
    s->end = (unsigned char)end;
    s->kill_at = now + WS_CLOSE_FLUSH_MS;
    if (drop)
        queue_clear(s);
    lws_callback_on_writable(s->wsi);
}

/* A drain (SIGTERM): the client is told 1012 "service restart" after what
 * is queued, and its seat goes into grace as after a drop, so that it
 * resumes on another sidecar with the same id; the others are not told it
 * is away, as it is back within a moment and its media never stopped. */
static void drain_one(struct session *s)
{
    start_close(s, 1012, "service restart", HUB_END_DRAIN, false);
}

/* Closes s as a slow consumer. The hub may be iterating a room right now:
 * the seat is given up later, from this connection's timer. */
static void slow_consumer(struct session *s, const char *why)
{
    log_warn("slow consumer room=%s peer=%s queued=%u bytes=%zu: %s", s_room(s),
             s_peer(s), s->qcount, s->qbytes, why);
    s->kick_pending = true;
    start_close(s, 1008, "slow consumer", HUB_END_KICKED, true);
    soon(s);
}

/* Deadlines of one connection: close flush, slow reading, join, pong,
 * next ping. */
static void sweep_one(struct session *s, int64_t now)
{
    if (s->hangup)
        return;
    if (s->kill_at && now >= s->kill_at) {
        hang_up(s); /* the close frame could not be flushed in time */
        return;
    }
    if (s->pong_deadline && now >= s->pong_deadline) {
        log_info("hang-up room=%s peer=%s: no pong", s_room(s), s_peer(s));
        if (!s->closing)
            s->end = HUB_END_GRACE;
        s->no_pong = true;
        hang_up(s);
        return;
    }
    if (s->closing)
        return;
    if (s->over_since && now - s->over_since >= srv.cfg->slow_consumer_ms) {
        slow_consumer(s, "over its send queue cap too long");
        return;
    }
    if (s->pj != NULL && pj_idle(srv.pj, s->pj, now)) {
        log_info("close: peerjs id=%s sent no heartbeat", s->pj->id);
        start_close(s, 1000, "no heartbeat", HUB_END_LEAVE, false);
        return;
    }
    if (s->pj == NULL && s->hc.peer == NULL && !s->hc.closing &&
        now >= s->join_deadline && !hub_on_deadline(srv.hub, &s->hc, now)) {
        log_info("close: no join within %ld ms", srv.cfg->join_timeout_ms);
        start_close(s, 1008, "join timeout", HUB_END_LEAVE, false);
        return;
    }
    if (now >= s->ping_due) {
        /* An older unanswered ping keeps its (earlier) deadline. */
        if (!s->pong_deadline)
            s->pong_deadline = s->ping_due + srv.cfg->ping_timeout_ms;
        s->ping_pending = true;
        s->ping_due += srv.cfg->ping_interval_ms;
        if (s->ping_due <= now)
            s->ping_due = now + srv.cfg->ping_interval_ms;
        mark_dirty(s);
    }
}

/* Nothing here closes or frees a session synchronously, so the list
 * stays valid while it is walked. */
static void on_sweep(uv_timer_t *t)
{
    int64_t now = clock_mono_ms();
    (void)t;
    for (struct session *s = srv.sessions; s != NULL; s = s->next)
        sweep_one(s, now);
    pj_tick(srv.pj, now);
}

/* A peer-left whose peer's peer-joined is still queued here (not yet
 * written): this member never saw that peer, so the peer-joined, any
 * peer-state of it queued after, and the peer-left all go. A burst of
 * join+leave churn then costs the members nothing. Returns whether m was
 * absorbed. */
static bool coalesce_left(struct session *s, const struct out_msg *m)
{
    struct qnode **pp = &s->qhead, *n, *last = NULL;
    bool seen = false;

    while ((n = *pp) != NULL) {
        const struct out_msg *q = n->m;
        bool same = q->kind != OUT_OTHER && strcmp(q->about, m->about) == 0;
        if (same && q->kind == OUT_PEER_JOINED)
            seen = true;
        if (seen && same && q->kind != OUT_PEER_LEFT) {
            *pp = n->next;
            s->qcount--;
            s->qbytes -= q_cost(n->m);
            srv.qbytes -= q_cost(n->m);
            out_msg_unref(n->m);
            free(n);
            continue;
        }
        last = n;
        pp = &n->next;
    }
    s->qtail = last;
    if (seen && s->over_since && !queue_over(s))
        s->over_since = 0;
    return seen;
}

/* Queues m. A queue over a soft cap (HUDDLE_SEND_QUEUE_MESSAGES or
 * _BYTES) starts the slow-consumer clock (sweep_one closes it after
 * HUDDLE_SLOW_CONSUMER_MS still over); a burst that drains in time costs
 * nothing. Only the hard ceiling (HUDDLE_SEND_QUEUE_MAX_BYTES) closes at
 * once, as a memory bound. */
static bool ops_send(struct hub_conn *c, struct out_msg *m)
{
    struct session *s = (struct session *)c;
    const struct config *k = srv.cfg;

    if (s->closing)
        return false;
    if (m->kind == OUT_PEER_LEFT && coalesce_left(s, m))
        return true;
    if (s->qbytes + q_cost(m) > (size_t)k->send_queue_max_bytes) {
        slow_consumer(s, "over the hard queue ceiling");
        return false;
    }
    struct qnode *n = malloc(sizeof *n);
    if (n == NULL) {
        /* A member that misses a message would see a wrong meeting: it
         * is closed instead, resumes, and its welcome is whole again. */
        log_error("out of memory queueing for peer=%s: closing it (1011)",
                  c->peer ? c->peer->id : "-");
        start_close(s, 1011, "out of memory", HUB_END_GRACE, true);
        return false;
    }
    n->next = NULL;
    n->m = out_msg_ref(m);
    if (s->qtail != NULL)
        s->qtail->next = n;
    else
        s->qhead = n;
    s->qtail = n;
    s->qcount++;
    s->qbytes += q_cost(m);
    srv.qbytes += q_cost(m);
    metrics.out[m->type]++;
    if (!s->over_since && queue_over(s))
        s->over_since = clock_mono_ms();
    mark_dirty(s);
    return true;
}

/* A signal sender slows down once its target's queue is half full. */
static bool ops_congested(struct hub_conn *c)
{
    struct session *s = (struct session *)c;
    return s->qbytes >= (size_t)srv.cfg->send_queue_bytes / 2 ||
           s->qcount >= (unsigned long)srv.cfg->send_queue_messages / 2;
}

static void ops_close(struct hub_conn *c, int code, const char *reason)
{
    struct session *s = (struct session *)c;
    /* 1011 (out of memory): the member did nothing wrong, its seat waits
     * for its resume as after a drop. */
    enum hub_end end = code == 1000   ? HUB_END_LEAVE
                       : code == 1011 ? HUB_END_GRACE
                                      : HUB_END_KICKED;
    start_close(s, code, reason, end, false);
}

static void ops_rearm(struct hub_conn *c, int64_t ms)
{
    struct session *s = (struct session *)c;
    s->join_deadline = clock_mono_ms() + ms;
}

const struct hub_ops ws_hub_ops = {ops_send, ops_close, ops_rearm,
                                   ops_congested};

/* ---- upgrade filter: path, capacity, Origin ------------------------- */

static bool origin_in_list(const char *origin, const char *list)
{
    size_t olen = strlen(origin), n;
    const char *p;
    while ((p = list_next(&list, &n)) != NULL) {
        while (n > 0 && p[n - 1] == '/')
            n--;
        if (n > 0 && n == olen && strncasecmp(p, origin, n) == 0)
            return true;
    }
    return false;
}

/* Whether o names its scheme's default port, which a browser leaves out
 * of an origin (so http://h:80 in a list would never match). */
static bool origin_default_port(const struct origin *o)
{
    return (strcmp(o->scheme, "http") == 0 && o->hp.port == 80) ||
           (strcmp(o->scheme, "https") == 0 && o->hp.port == 443);
}

/* Without HUDDLE_ALLOWED_ORIGINS: an http or https Origin whose host is
 * HUDDLE_PUBLIC_HOST or a local one. Never the request's own Host: a
 * DNS-rebinding page sends Host and Origin both of its own name. */
static bool origin_default_ok(const char *origin)
{
    char host[HOSTPORT_URL_HOST_MAX];
    struct origin o;

    if (hostport_origin(origin, strlen(origin), &o) < 0 ||
        (strcmp(o.scheme, "http") != 0 && strcmp(o.scheme, "https") != 0))
        return false;
    if (addr_host_local(o.hp.host))
        return true;
    return srv.public_host != NULL &&
           hostport_url_host(&o.hp, host, sizeof host) == 0 &&
           strcasecmp(host, srv.public_host) == 0;
}

/* Whether the n bytes at p are one origin as a browser sends it
 * (hostport_origin), without its scheme's default port. */
static bool origin_entry_ok(const char *p, size_t n)
{
    struct origin o;
    return hostport_origin(p, n, &o) == 0 && !origin_default_port(&o);
}

bool ws_origins_valid(const char *list)
{
    const char *p;
    size_t n;
    int count = 0;

    while ((p = list_next(&list, &n)) != NULL) {
        if (!origin_entry_ok(p, n))
            return false;
        count++;
    }
    return count > 0;
}

static bool origin_allowed(struct lws *wsi)
{
    char origin[WS_ORIGIN_MAX];

    if (lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) <= 0)
        return true; /* not a browser */
    if (lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN) < 0)
        return false;
    if (srv.origins != NULL)
        return origin_in_list(origin, srv.origins);
    return origin_default_ok(origin);
}

/* The entry of the client address of wsi: X-Forwarded-For when the
 * socket peer is a trusted proxy, else the peer. NULL (no per-address
 * limits) for a trusted proxy that sends no header: the operator on
 * loopback, or a proxy that forgot the header, which then fails open
 * rather than putting all its users under one address' limits. NULL too
 * when out of memory. A header there is, however long, is read whole (its
 * last entry names the client): one cut short never counts as none. When
 * it cannot be read, the peer's own address counts. */
static struct addr_entry *client_addr(struct lws *wsi)
{
    char peer[ADDR_MAX] = "", key[ADDR_MAX];
    int len = lws_hdr_total_length(wsi, WSI_TOKEN_X_FORWARDED_FOR);
    char *xff = NULL;

    lws_get_peer_simple(wsi, peer, sizeof peer);
    if (len <= 0 && addr_trusted(peer, srv.trusted))
        return NULL;
    if (len > 0) {
        xff = malloc((size_t)len + 1);
        if (xff == NULL)
            return NULL;
        if (lws_hdr_copy(wsi, xff, len + 1, WSI_TOKEN_X_FORWARDED_FOR) < 0)
            xff[0] = '\0'; /* no address in it: the peer counts */
    }
    addr_client(peer, xff, srv.trusted, key);
    free(xff);
    return addr_get(srv.addrs, key, srv.cfg->addr_join_burst, clock_mono_ms());
}

/* Returns 0 to accept the upgrade (s->addr set), else answers with a
 * status and returns 1. */
static int filter_upgrade(struct lws *wsi, struct session *s)
{
    char uri[64], esc[80];
    unsigned status = 0;
    struct addr_entry *a = NULL;

    if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) < 0 ||
        (strcmp(uri, "/ws") != 0 && !pj_ws_path(uri)))
        status = HTTP_STATUS_NOT_FOUND;
    else if (srv.draining || srv.nconns >= (size_t)srv.cfg->max_connections)
        status = HTTP_STATUS_SERVICE_UNAVAILABLE;
    else if (!origin_allowed(wsi))
        status = HTTP_STATUS_FORBIDDEN;
    else if ((a = client_addr(wsi)) != NULL &&
             a->conns >= (unsigned long)srv.cfg->addr_connections) {
        log_warn("refused connection from %s: %u open from there", a->key,
                 a->conns);
        addr_release(srv.addrs, a);
        lws_return_http_status(wsi, HTTP_STATUS_SERVICE_UNAVAILABLE, NULL);
        return 1;
    }
    if (status == 0) {
        /* Counted from here: lws may still refuse the handshake (a bad
         * Sec-WebSocket-Key), and then only WSI_DESTROY comes
         * (never_established). */
        if (a != NULL)
            a->conns++;
        s->addr = a;
        s->peerjs = pj_ws_path(uri);
        return 0;
    }
    if (status == HTTP_STATUS_FORBIDDEN) {
        char origin[WS_ORIGIN_MAX] = "";
        lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN);
        log_warn("refused origin=%s",
                 log_escape(esc, sizeof esc, origin, strlen(origin), 64));
    } else if (status == HTTP_STATUS_SERVICE_UNAVAILABLE && !srv.draining) {
        log_warn("refused connection: %zu open", srv.nconns);
    }
    lws_return_http_status(wsi, status, NULL);
    return 1;
}

/* A socket just accepted, before any byte is read. One at the top of the
 * fd range is closed at once, so the process keeps the fds it needs
 * (WS_FD_RESERVE) and accept() never runs into EMFILE, where lws 4.1 would
 * log and retry in a busy loop. fds are handed out lowest first, so fd >=
 * N means N are open. Returns nonzero to refuse. */
static int filter_fd_limit(int fd)
{
    if (fd < srv.fd_refuse)
        return 0;
    int64_t now = clock_mono_ms();
    if (now - srv.refused_log_ms >= 1000) { /* once a second is plenty */
        srv.refused_log_ms = now;
        log_warn("refused connection: at the fd limit (fd %d, %zu open)", fd,
                 srv.nconns);
    }
    return 1;
}

/* Counts the socket fd as an unfinished upgrade of its peer address, or
 * refuses it (nonzero) when that address already has
 * HUDDLE_ADDRESS_PENDING_UPGRADES: slow requests from one address cannot
 * take all of lws' header slots. Only the socket peer is known here, so a
 * proxy of ours (addr_trusted) is exempt: nginx reads the whole request
 * before it connects (client_header_timeout is its slow-client defence). */
static int filter_pending(int fd)
{
    char peer[ADDR_MAX] = "";

    if (srv.accepted != NULL) { /* lws did not adopt the last one */
        addr_upgrade_end(srv.addrs, srv.accepted);
        srv.accepted = NULL;
    }
    if (lws_get_peer_simple_fd(fd, peer, sizeof peer) == NULL ||
        addr_trusted(peer, srv.trusted))
        return 0;
    srv.accepted = addr_upgrade_begin(
        srv.addrs, peer, (unsigned long)srv.cfg->addr_upgrades,
        srv.cfg->addr_join_burst, clock_mono_ms());
    if (srv.accepted != NULL)
        return 0;
    log_warn("refused connection from %s: %ld unfinished upgrades from there",
             peer, srv.cfg->addr_upgrades);
    return 1;
}

static int filter_accept(int fd)
{
    return filter_fd_limit(fd) || filter_pending(fd);
}

/* lws adopted the socket just accepted: its count rides on the wsi. */
static void on_adopted(struct lws *wsi)
{
    lws_set_opaque_user_data(wsi, srv.accepted);
    srv.accepted = NULL;
}

/* The connection became a websocket or is gone (WSI_DESTROY, which lws
 * 4.1 sends for every wsi; CLOSED and CLOSED_HTTP are not sent for a
 * request never parsed): its unfinished upgrade, if counted, ends. A
 * plain HTTP connection (keep-alive: its next request takes a header slot
 * again) stays counted until it closes. */
static void upgrade_done(struct lws *wsi)
{
    struct addr_entry *e = lws_get_opaque_user_data(wsi);

    if (e == NULL || srv.addrs == NULL)
        return; /* not counted, or after ws_stop */
    lws_set_opaque_user_data(wsi, NULL);
    addr_upgrade_end(srv.addrs, e);
}

/* ---- plain HTTP: GET /healthz ------------------------------------ */

/* Answers status with body (headers and body written at once: lws keeps
 * what the socket does not take and completes the transaction after it).
 * cors: any origin may read it (the PeerJS id, fetched cross-origin). */
static int http_reply(struct lws *wsi, unsigned status, const char *type,
                      const char *body, size_t len, bool cors)
{
    unsigned char hbuf[LWS_PRE + 512];
    unsigned char *start = hbuf + LWS_PRE, *p = start;
    unsigned char *end = hbuf + sizeof hbuf - 1;
    unsigned char *out = malloc(LWS_PRE + len + 1);
    int rc = -1;

    if (out == NULL)
        return -1;
    memcpy(out + LWS_PRE, body, len);
    if (lws_add_http_common_headers(wsi, status, type, (lws_filepos_t)len, &p,
                                    end) == 0 &&
        (!cors || lws_add_http_header_by_token(
                      wsi, WSI_TOKEN_HTTP_ACCESS_CONTROL_ALLOW_ORIGIN,
                      (const unsigned char *)"*", 1, &p, end) == 0) &&
        lws_finalize_write_http_header(wsi, start, &p, end) == 0 &&
        lws_write(wsi, out + LWS_PRE, len, LWS_WRITE_HTTP_FINAL) == (int)len)
        rc = lws_http_transaction_completed(wsi) ? -1 : 0;
    free(out);
    return rc;
}

/* GET /metrics: the counters and the gauges read now. */
static int on_metrics(struct lws *wsi)
{
    struct metrics_gauges g = {0};
    size_t seats, grace, len;

    hub_seat_count(srv.hub, &seats, &grace);
    g.connections = srv.nconns;
    g.peers = seats - grace;
    g.grace = grace;
    g.rooms = hub_room_count(srv.hub);
    g.queued_bytes = srv.qbytes;
    g.addresses = addr_count(srv.addrs);
    g.redis = metrics.clustered ? metrics.redis_up : -1;
    g.draining = srv.draining;
    char *text = metrics_render(&metrics, &g, &len);
    if (text == NULL)
        return -1;
    int rc = http_reply(wsi, HTTP_STATUS_OK, "text/plain; version=0.0.4", text,
                        len, false);
    free(text);
    return rc;
}

/* GET under /peerjs (pj_http_route): a new id, the server's name, or the
 * peer list refused (it is never enabled). */
static int on_peerjs_http(struct lws *wsi, enum pj_http what)
{
    static const char info[] =
        "{\"name\":\"PeerJS Server\",\"description\":\"huddle's PeerJS "
        "endpoint\",\"website\":\"https://peerjs.com/\"}";
    char id[PJ_UUID_LEN + 1];

    switch (what) {
    case PJ_HTTP_ID:
        pj_uuid(id);
        return http_reply(wsi, HTTP_STATUS_OK, "text/plain", id, PJ_UUID_LEN,
                          true);
    case PJ_HTTP_INFO:
        return http_reply(wsi, HTTP_STATUS_OK, "application/json", info,
                          sizeof info - 1, true);
    default:
        return http_reply(wsi, HTTP_STATUS_UNAUTHORIZED, "text/plain",
                          "Unauthorized\n", 13, true);
    }
}

static int on_http(struct lws *wsi, const char *uri)
{
    enum pj_http pj = pj_http_route(uri);

    if (strcmp(uri, "/metrics") == 0)
        return on_metrics(wsi);
    if (strcmp(uri, "/healthz") == 0)
        return srv.draining ? http_reply(wsi, HTTP_STATUS_SERVICE_UNAVAILABLE,
                                         "text/plain", "draining\n", 9, false)
                            : http_reply(wsi, HTTP_STATUS_OK, "text/plain",
                                         "ok\n", 3, false);
    if (pj != PJ_HTTP_NONE)
        return on_peerjs_http(wsi, pj);
    lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL);
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* ---- websocket connection ------------------------------------------ */

/* The host of the request's Host header without its port (a copy), or
 * NULL when absent or not a plain host name or address (ice_host_parse):
 * nothing a client sends reaches the iceServers JSON unchecked. */
static char *request_host(struct lws *wsi)
{
    char hdr[WS_ORIGIN_MAX], host[ICE_HOST_MAX];

    if (lws_hdr_total_length(wsi, WSI_TOKEN_HOST) <= 0 ||
        lws_hdr_copy(wsi, hdr, sizeof hdr, WSI_TOKEN_HOST) <= 0 ||
        ice_host_parse(hdr, true, host, sizeof host) < 0)
        return NULL;
    return strdup(host);
}

/* A PeerJS websocket opens with its query's key, id and token (lws keeps
 * them urldecoded, "name=value"). Returns 0, or -1 when out of memory. */
static int peerjs_open(struct session *s, struct lws *wsi, int64_t now)
{
    /* Room for values longer than any valid one, so that an id or token
     * too long is refused as invalid (pj_open), not as missing: a value
     * too long for its buffer reads as absent, and so do those after it
     * (lws_get_urlarg_by_name stops there). */
    char key[512], id[512], token[512];

    if ((s->pj = pj_conn_new(&s->hc)) == NULL)
        return -1;
    pj_open(srv.pj, s->pj, lws_get_urlarg_by_name(wsi, "key=", key, sizeof key),
            lws_get_urlarg_by_name(wsi, "id=", id, sizeof id),
            lws_get_urlarg_by_name(wsi, "token=", token, sizeof token), now);
    return 0;
}

static void on_established(struct session *s, struct lws *wsi)
{
    int64_t now = clock_mono_ms();
    struct addr_entry *a = s->addr; /* from filter_upgrade */
    bool peerjs = s->peerjs;

    memset(s, 0, sizeof *s);
    s->wsi = wsi;
    s->addr = a;            /* counted since filter_upgrade */
    s->end = HUB_END_GRACE; /* unless a close frame says otherwise */
    hub_conn_init(srv.hub, &s->hc, now);
    if (srv.keep_host)
        s->hc.host = request_host(wsi);
    s->hc.addr_join = a != NULL ? &a->join : NULL;
    s->hc.addr = a != NULL ? a->key : NULL;
    s->join_deadline = now + srv.cfg->join_timeout_ms;
    s->ping_due = now + srv.cfg->ping_interval_ms;
    srv.nconns++;
    s->next = srv.sessions;
    if (srv.sessions != NULL)
        srv.sessions->prev = s;
    srv.sessions = s;
    if (peerjs && peerjs_open(s, wsi, now) < 0)
        start_close(s, 1011, "out of memory", HUB_END_LEAVE, true);
    else if (srv.draining)
        drain_one(s);
}

/* A protocol violation: drops what is queued, ignores further input and
 * sends the close frame from WRITEABLE (see send_close). */
static int close_now(struct session *s, int code, const char *reason,
                     enum hub_end end)
{
    free(s->rx);
    s->rx = NULL;
    s->in_msg = false;
    s->rxlen = 0;
    start_close(s, code, reason, end, true);
    return 0;
}

static int deliver(struct session *s, const char *buf, size_t len)
{
    if (!msg_utf8_valid((const unsigned char *)buf, len))
        return close_now(s, 1007, "invalid UTF-8", HUB_END_KICKED);
    if (s->pj != NULL)
        pj_on_text(srv.pj, s->pj, buf, len, clock_mono_ms());
    else
        hub_on_text(srv.hub, &s->hc, buf, len, clock_mono_ms());
    return 0;
}

/* Makes room for need bytes in the reassembly buffer, doubling from 4 KiB
 * up to max, so a sender stalled mid-message holds only what it sent. */
static int rx_reserve(struct session *s, size_t need, size_t max)
{
    if (need <= s->rxcap)
        return 0;
    size_t cap = s->rxcap ? s->rxcap : 4096;
    while (cap < need)
        cap *= 2;
    if (cap > max)
        cap = max;
    char *p = realloc(s->rx, cap);
    if (p == NULL)
        return -1;
    s->rx = p;
    s->rxcap = cap;
    return 0;
}

static int on_receive(struct session *s, const char *in, size_t len)
{
    size_t max = (size_t)srv.cfg->max_message_bytes;
    size_t have = s->in_msg ? s->rxlen : 0;
    bool final = lws_is_final_fragment(s->wsi);

    if (s->closing)
        return 0; /* input after our decision to close is ignored */
    if (lws_frame_is_binary(s->wsi))
        return close_now(s, 1003, "binary frames are not accepted",
                         HUB_END_KICKED);
    if (have + len + lws_remaining_packet_payload(s->wsi) > max)
        return close_now(s, 1009, "message too big", HUB_END_KICKED);
    if (!s->in_msg && final)
        return deliver(s, in, len); /* the common case: no copy */
    if (!s->in_msg) {
        s->rxlen = 0;
        s->rxcap = 0;
        s->in_msg = true;
    }
    if (rx_reserve(s, s->rxlen + len, max) < 0)
        return close_now(s, 1011, "out of memory", HUB_END_GRACE);
    memcpy(s->rx + s->rxlen, in, len);
    s->rxlen += len;
    if (!final)
        return 0;
    s->in_msg = false;
    int r = deliver(s, s->rx, s->rxlen);
    free(s->rx);
    s->rx = NULL;
    s->rxlen = 0;
    return r;
}

/* Sends our close frame from WRITEABLE. Returning -1 with
 * lws_close_reason() here would lose the frame: with the libuv event lib
 * lws 4.1 closes the socket again at once ("uv repeat test"). So the
 * frame is written as data, and the client's answering close (or the
 * kill timer) ends the connection. */
static int send_close(struct session *s)
{
    unsigned char buf[LWS_PRE + 125];
    size_t n = strlen(s->close_reason);

    log_info("close room=%s peer=%s code=%d reason=%s", s_room(s), s_peer(s),
             s->close_code, s->close_reason);
    if (n > 123)
        n = 123;
    buf[LWS_PRE] = (unsigned char)(s->close_code >> 8);
    buf[LWS_PRE + 1] = (unsigned char)(s->close_code & 0xff);
    memcpy(buf + LWS_PRE + 2, s->close_reason, n);
    s->close_sent = true;
    s->kill_at = clock_mono_ms() + WS_CLOSE_ACK_MS;
    if (lws_write(s->wsi, buf + LWS_PRE, n + 2, WS_WRITE_CLOSE) < 0)
        return -1;
    return 0;
}

static struct out_msg *queue_pop(struct session *s)
{
    struct qnode *n = s->qhead;
    struct out_msg *m = n->m;
    s->qhead = n->next;
    if (s->qhead == NULL)
        s->qtail = NULL;
    s->qcount--;
    s->qbytes -= q_cost(m);
    srv.qbytes -= q_cost(m);
    if (s->over_since && !queue_over(s))
        s->over_since = 0;
    free(n);
    return m;
}

/* Bytes of the header of an unmasked server frame of len payload bytes. */
static size_t frame_header(unsigned char *h, size_t len)
{
    h[0] = 0x81; /* FIN, text */
    if (len < 126) {
        h[1] = (unsigned char)len;
        return 2;
    }
    if (len < 65536) {
        h[1] = 126;
        h[2] = (unsigned char)(len >> 8);
        h[3] = (unsigned char)len;
        return 4;
    }
    h[1] = 127;
    for (int i = 0; i < 8; i++)
        h[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
    return 10;
}

/* Writes the head of the queue, up to WS_BATCH_BYTES, with one lws_write.
 * Several small messages are framed here and go out as one raw write (one
 * send() for all a recipient got in a loop turn); a lone or large message
 * goes out as an ordinary text frame from its own headroom. lws keeps
 * whatever the socket did not take and sends it before the next
 * WRITEABLE. */
static int write_queued(struct session *s)
{
    static unsigned char batch[LWS_PRE + WS_BATCH_BYTES];
    size_t used = 0;

    if (s->qhead->next == NULL || s->qhead->m->len + 10 > WS_BATCH_BYTES) {
        struct out_msg *m = queue_pop(s);
        int w = lws_write(s->wsi, m->buf + OUT_PRE, m->len, LWS_WRITE_TEXT);
        out_msg_unref(m);
        return w < 0 ? -1 : 0;
    }
    while (s->qhead != NULL && used + s->qhead->m->len + 10 <= WS_BATCH_BYTES) {
        struct out_msg *m = queue_pop(s);
        used += frame_header(batch + LWS_PRE + used, m->len);
        memcpy(batch + LWS_PRE + used, out_msg_text(m), m->len);
        used += m->len;
        out_msg_unref(m);
    }
    return lws_write(s->wsi, batch + LWS_PRE, used, LWS_WRITE_RAW) < 0 ? -1 : 0;
}

/* Writes s' ping, if one is due, and its queue until the queue is empty
 * or the socket took only part of a write: lws keeps the rest, asks for
 * WRITEABLE itself and sends it before calling on_writeable, which goes
 * on from there. Returns 0, or -1 when a write failed. */
static int write_pending(struct session *s)
{
    struct lws *wsi = s->wsi;

    if (s->ping_pending) {
        /* lws 4.1 drops an empty pong before the callback: say "hb". */
        unsigned char buf[LWS_PRE + 2];
        s->ping_pending = false;
        memcpy(buf + LWS_PRE, "hb", 2);
        if (lws_write(wsi, buf + LWS_PRE, 2, LWS_WRITE_PING) < 0)
            return -1;
    }
    while (s->qhead != NULL && !lws_partial_buffered(wsi))
        if (write_queued(s) < 0)
            return -1;
    return 0;
}

/* WRITEABLE: lws asks for it after a partial write (write_pending) and
 * start_close asks for it; an open connection's writes otherwise go out
 * from flush_dirty, with no change of the socket's poll events. */
static int on_writeable(struct session *s)
{
    struct lws *wsi = s->wsi;

    if (lws_partial_buffered(wsi)) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    if (s->ping_pending || s->qhead != NULL) {
        if (write_pending(s) < 0)
            return -1;
        if (s->closing) /* the close frame in a WRITEABLE of its own */
            lws_callback_on_writable(wsi);
        return 0;
    }
    if (s->closing && !s->close_sent)
        return send_close(s);
    return 0;
}

/* Writes what one listed session has, unless it is closing (its queue
 * and close frame go out from WRITEABLE), its client has sent its close
 * (lws answers it; nothing more is sent), or lws still holds part of an
 * earlier write (WRITEABLE goes on after it). A failed write hangs up. */
static void flush_one(struct session *s)
{
    if (s->closing || s->hangup || s->peer_closed ||
        lws_partial_buffered(s->wsi))
        return;
    if (write_pending(s) < 0)
        hang_up(s);
}

/* Once per loop turn, before the loop waits for events (a uv_prepare):
 * every connection something was queued for since the last turn gets one
 * write of all of it. The frames of a fan-out leave in one send() per
 * recipient and a turn, and the socket's poll events are not touched:
 * asking lws for WRITEABLE instead costs epoll_ctl calls on the libuv
 * loop (uv_poll_start deletes and re-adds the fd each time, and lws turns
 * POLLOUT off again after each WRITEABLE). */
static void flush_dirty(uv_prepare_t *h)
{
    (void)h;
    for (size_t i = 0; i < srv.ndirty; i++) {
        struct session *s = srv.dirty[i];
        if (s == NULL)
            continue; /* closed since it was listed */
        s->dirty_at = 0;
        flush_one(s);
    }
    srv.ndirty = 0;
}

/* The wsi's own lws timer, used only to act from inside its callback
 * soon: giving up a kicked seat, hanging up. */
static int on_timer(struct session *s)
{
    if (s->kick_pending) {
        s->kick_pending = false;
        if (s->pj != NULL)
            pj_on_end(srv.pj, s->pj);
        else
            hub_on_end(srv.hub, &s->hc, HUB_END_KICKED, clock_mono_ms());
    }
    return s->hangup ? -1 : 0;
}

/* lws 4.1 echoes a client's close frame as it came, having replaced a
 * code out of range (below 1000, 1004-1006, 1012-2999) with 1002 but kept
 * the reason text. The echo is rewritten here in place (lws sends these
 * very bytes): codes of 5000 and up become 1002 too, and a 1002's reason
 * is blanked, so what a client sent is never reflected back. */
static void close_echo_fix(unsigned char *in, size_t len)
{
    static const char why[] = "bad close code";
    int code = in[0] << 8 | in[1];

    if (code >= 5000) {
        in[0] = 1002 >> 8;
        in[1] = 1002 & 0xff;
        code = 1002;
    }
    if (code != 1002)
        return;
    for (size_t i = 2; i < len; i++)
        in[i] = i - 2 < sizeof why - 1 ? (unsigned char)why[i - 2] : ' ';
}

/* Returns -1 when the close answers ours (nothing to echo) or is a
 * one-byte payload (a protocol error: hang up without an echo). */
static int on_peer_close(struct session *s, unsigned char *in, size_t len)
{
    int code = len >= 2 ? (in[0] << 8 | in[1]) : 0;

    if (len == 1)
        return -1;
    if (len >= 2)
        close_echo_fix(in, len);
    log_debug("peer close code=%d peer=%s", code,
              s->hc.peer ? s->hc.peer->id : "-");
    if (s->close_sent)
        return -1;
    if (s->closing)
        return 0;
    s->peer_closed = true;
    s->end = (code == 0 || code == 1000 || code == 1001) ? HUB_END_LEAVE
                                                         : HUB_END_GRACE;
    return 0;
}

/* Why s ended, for the closes counter. */
static enum metrics_close close_kind(const struct session *s)
{
    if (!s->closing)
        return s->no_pong       ? MET_CLOSE_NO_PONG
               : s->peer_closed ? MET_CLOSE_CLIENT
                                : MET_CLOSE_DROPPED;
    switch (s->close_code) {
    case 1012:
        return MET_CLOSE_DRAIN;
    case 1000:
        return MET_CLOSE_REPLACED;
    case 1003:
    case 1007:
    case 1009:
        return MET_CLOSE_PROTOCOL;
    case 1008:
        if (strcmp(s->close_reason, "slow consumer") == 0)
            return MET_CLOSE_SLOW_CONSUMER;
        if (strcmp(s->close_reason, "join timeout") == 0)
            return MET_CLOSE_JOIN_TIMEOUT;
        return MET_CLOSE_KICKED;
    default:
        return MET_CLOSE_OTHER;
    }
}

/* s no longer holds its client address (counted since filter_upgrade). */
static void let_go_of_addr(struct session *s)
{
    if (s->addr == NULL || srv.addrs == NULL)
        return;
    s->addr->conns--;
    addr_release(srv.addrs, s->addr);
    s->addr = NULL;
}

static void on_closed(struct session *s)
{
    if (s->wsi == NULL)
        return; /* never established */
    metrics.closes[close_kind(s)]++;
    if (s->pj != NULL) {
        pj_on_end(srv.pj, s->pj);
        free(s->pj);
        s->pj = NULL;
    } else if (!srv.destroying) {
        hub_on_end(srv.hub, &s->hc, (enum hub_end)s->end, clock_mono_ms());
    }
    queue_clear(s);
    /* After hub_on_end, which may have queued for s too: lws frees s. */
    if (s->dirty_at && srv.dirty != NULL)
        srv.dirty[s->dirty_at - 1] = NULL;
    s->dirty_at = 0;
    free(s->rx);
    s->rx = NULL;
    free(s->hc.host);
    s->hc.host = NULL;
    s->wsi = NULL;
    if (s->prev != NULL)
        s->prev->next = s->next;
    else
        srv.sessions = s->next;
    if (s->next != NULL)
        s->next->prev = s->prev;
    srv.nconns--;
    let_go_of_addr(s);
}

/* A websocket upgrade filter_upgrade let through that never became one
 * (lws refused its handshake, or the client went): its client address
 * holds it no more. An established one let go of it in on_closed. */
static void never_established(struct session *s)
{
    if (s != NULL && s->wsi == NULL)
        let_go_of_addr(s);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason,
                    void *user, void *in, size_t len)
{
    struct session *s = user;

    switch (reason) {
    case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
        return filter_accept((int)(intptr_t)in);
    case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED:
        on_adopted(wsi);
        return 0;
    case LWS_CALLBACK_WSI_DESTROY:
        upgrade_done(wsi);
        never_established(s);
        return 0;
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return filter_upgrade(wsi, s);
    case LWS_CALLBACK_HTTP:
        return on_http(wsi, in ? (const char *)in : "");
    case LWS_CALLBACK_ESTABLISHED:
        on_established(s, wsi);
        upgrade_done(wsi); /* after on_established counted it in conns */
        return 0;
    case LWS_CALLBACK_RECEIVE:
        return on_receive(s, in, len);
    case LWS_CALLBACK_RECEIVE_PONG:
        /* No re-arm: the timer is already set for the next ping (lws
         * keeps timers in a sorted list; each re-arm walks it). */
        s->pong_deadline = 0;
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return on_writeable(s);
    case LWS_CALLBACK_TIMER:
        return on_timer(s);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        return on_peer_close(s, in, len);
    case LWS_CALLBACK_CLOSED:
        on_closed(s);
        return 0;
    case LWS_CALLBACK_USER: /* ws_begin_drain, for each connection */
        if (s != NULL && s->wsi != NULL)
            drain_one(s);
        return 0;
    default:
        return 0;
    }
}

/* The first protocol is the default: a client offering no subprotocol
 * (or only unknown ones) lands here too, with none selected. */
static struct lws_protocols protocols[] = {
    {"huddle.v1", callback, sizeof(struct session), WS_RX_CHUNK, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* ---- context ------------------------------------------------------- */

static void lws_log(int level, const char *line)
{
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    if (level & LLL_ERR)
        log_error("lws: %.*s", (int)n, line);
    else
        log_warn("lws: %.*s", (int)n, line);
}

int ws_listen_parse(const char *listen, struct hostport *hp)
{
    if (hostport_parse(listen, strlen(listen), 0, hp) < 0) {
        log_error("HUDDLE_LISTEN=%s: want host:port", listen);
        return -1;
    }
    if (strcmp(hp->host, "localhost") == 0)
        snprintf(hp->host, sizeof hp->host, "127.0.0.1");
    return 0;
}

/* Whether hp (HUDDLE_LISTEN as listen) can be bound: tried on a socket of
 * our own, with lws' SO_REUSEADDR, before lws binds. lws 4.1.6 turns a
 * failed bind into a context without its vhost, and destroying that one
 * unloads its libuv plugin while handles of it are still closing on our
 * loop, which then crashes. Returns 0, or -1 after saying why not. */
static int can_bind(const struct hostport *hp, const char *listen)
{
    struct addrinfo hints = {.ai_family = hp->v6 ? AF_INET6 : AF_INET,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE},
                    *ai = NULL;
    char port[8];
    int err = 0, one = 1;

    snprintf(port, sizeof port, "%d", hp->port);
    int rc = getaddrinfo(hp->host, port, &hints, &ai);
    if (rc != 0) {
        log_error("HUDDLE_LISTEN=%s: %s", listen, gai_strerror(rc));
        return -1;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) < 0)
        err = errno;
    if (fd >= 0)
        close(fd);
    freeaddrinfo(ai);
    if (err != 0) {
        log_error("HUDDLE_LISTEN=%s: cannot listen there: %s", listen,
                  strerror(err));
        return -1;
    }
    return 0;
}

/* Sweeps often enough for the shortest configured deadline: every second
 * by default, down to 10 ms for tests with short timeouts. */
static void start_sweep(uv_loop_t *loop, const struct config *cfg)
{
    long ms = cfg->join_timeout_ms;
    if (cfg->ping_interval_ms < ms)
        ms = cfg->ping_interval_ms;
    if (cfg->ping_timeout_ms < ms)
        ms = cfg->ping_timeout_ms;
    ms /= 4;
    ms = ms < 10 ? 10 : ms > 1000 ? 1000 : ms;
    uv_timer_init(loop, &srv.sweep);
    uv_timer_start(&srv.sweep, on_sweep, (uint64_t)ms, (uint64_t)ms);
    srv.sweep_started = true;
}

int ws_start(uv_loop_t *loop, const struct config *cfg, struct hub *hub,
             const struct ws_opts *opts)
{
    struct lws_context_creation_info info;
    static void *foreign[1];
    static struct hostport hp; /* lws keeps info.iface */

    srv.hub = hub;
    srv.cfg = cfg;
    if (ws_listen_parse(opts->listen, &hp) < 0 ||
        can_bind(&hp, opts->listen) < 0)
        return -1;
    if (opts->origins != NULL && (srv.origins = strdup(opts->origins)) == NULL)
        return -1;
    srv.keep_host = opts->keep_host;
    srv.public_host = opts->public_host;
    srv.trusted = opts->trusted_proxies;
    srv.fd_refuse = opts->fd_limit - WS_FD_RESERVE / 2;
    if ((srv.addrs = addr_table_new()) == NULL ||
        (srv.pj = pj_new(cfg, &ws_hub_ops, opts->peerjs_key)) == NULL)
        return -1;
    lws_set_log_level((int)cfg->lws_log, lws_log); /* HUDDLE_LWS_LOG */
    protocols[0].tx_packet_size = (size_t)cfg->max_message_bytes + 1024;
    foreign[0] = loop;
    memset(&info, 0, sizeof info);
    info.port = hp.port;
    info.iface = strcmp(hp.host, "0.0.0.0") == 0 ? NULL : hp.host;
    info.protocols = protocols;
    /* A port in use or an address not this machine's fails the vhost
     * (lws would otherwise keep retrying an absent address). */
    info.options =
        LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND;
    if (!hp.v6)
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    info.foreign_loops = foreign;
    /* No lws "validity" keepalive (ours is in sweep_one): its per-wsi
     * timer, re-inserted at every establish and pong, walks lws' sorted
     * timer list, O(connections) each time. */
    static const lws_retry_bo_t no_validity = {0};
    info.retry_and_idle_policy = &no_validity;
    info.pt_serv_buf_size = 16384;
    /* Unfinished upgrades each hold a header slot until they finish or
     * HUDDLE_UPGRADE_TIMEOUT_S passes; the rest wait for a slot. One
     * address holds at most HUDDLE_ADDRESS_PENDING_UPGRADES (filter_pending).
     */
    info.max_http_header_pool = WS_HEADER_SLOTS;
    info.timeout_secs = 10;
    info.timeout_secs_ah_idle = (unsigned)cfg->upgrade_timeout_s;
    /* info.fd_limit_per_thread stays 0: lws then sizes its tables to the
     * process' descriptor limit (main.c raised it) and finds a socket's
     * wsi by indexing with its fd. Set, lws 4.1.6 scans its whole table
     * on every socket event instead: a 19,000-join storm cost 285 us of
     * CPU per join with it, 68 us without (docs/performance.md).
     * filter_accept refuses new sockets well before the limit. */
    info.user = &srv;
    srv.ctx = lws_create_context(&info);
    if (srv.ctx == NULL) {
        log_error("cannot listen on %s (lws_create_context failed)",
                  opts->listen);
        return -1;
    }
    /* The port taken since can_bind looked: lws made a context without
     * its vhost. It is left undestroyed, as the process ends (can_bind
     * says why). */
    if (lws_get_vhost_by_name(srv.ctx, "default") == NULL) {
        log_error("HUDDLE_LISTEN=%s: cannot listen there (taken a moment "
                  "ago?)",
                  opts->listen);
        srv.ctx = NULL;
        return -1;
    }
    log_info("listening on %s path /ws", opts->listen);
    start_sweep(loop, cfg);
    uv_prepare_init(loop, &srv.flush);
    uv_prepare_start(&srv.flush, flush_dirty);
    uv_unref((uv_handle_t *)&srv.flush); /* the loop's life is the sockets' */
    srv.flush_started = true;
    return 0;
}

void ws_begin_drain(void)
{
    if (srv.ctx == NULL || srv.draining)
        return;
    srv.draining = true;
    /* The vhost holds its own copy of the protocols array. */
    struct lws_vhost *vh = lws_get_vhost_by_name(srv.ctx, "default");
    const struct lws_protocols *p =
        vh ? lws_vhost_name_to_protocol(vh, protocols[0].name) : NULL;
    if (p != NULL)
        lws_callback_all_protocol(srv.ctx, p, LWS_CALLBACK_USER);
}

void ws_stop(void)
{
    srv.destroying = true;
    if (srv.sweep_started) {
        uv_timer_stop(&srv.sweep);
        uv_close((uv_handle_t *)&srv.sweep, NULL);
        srv.sweep_started = false;
    }
    if (srv.flush_started) {
        uv_prepare_stop(&srv.flush);
        uv_close((uv_handle_t *)&srv.flush, NULL);
        srv.flush_started = false;
    }
    if (srv.ctx != NULL)
        lws_context_destroy(srv.ctx);
    srv.ctx = NULL;
    free(srv.dirty);
    srv.dirty = NULL;
    srv.ndirty = srv.dirty_cap = 0;
    free(srv.origins);
    srv.origins = NULL;
    srv.accepted = NULL;
    addr_table_free(srv.addrs);
    srv.addrs = NULL;
    pj_free(srv.pj);
    srv.pj = NULL;
}
