#include "hub.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "metrics.h"

struct hub {
    const struct config *cfg;
    const struct hub_ops *ops;
    const struct ice *ice;
    const struct hub_cluster *cl; /* NULL: standalone */
    struct room_reg *rooms;
    struct msg_limits lim;
    char *limits_json;
    bool answered_error; /* during one hub_on_text */
};

struct hub *hub_new(const struct config *cfg, const struct hub_ops *ops,
                    const struct ice *ice)
{
    struct hub *h = calloc(1, sizeof *h);
    if (h == NULL)
        return NULL;
    h->cfg = cfg;
    h->ops = ops;
    h->ice = ice;
    h->lim.max_signal_bytes = (size_t)cfg->max_signal_bytes;
    h->lim.max_chat_chars = (size_t)cfg->max_chat_chars;
    struct room_cfg rc = {cfg->max_peers, cfg->chat_history,
                          cfg->chat_history_ttl_ms, cfg->resume_grace_ms,
                          cfg->history_max_bytes};
    h->rooms = room_reg_new(&rc);
    h->limits_json = msg_limits_json(cfg);
    if (h->rooms == NULL || h->limits_json == NULL) {
        hub_free(h);
        return NULL;
    }
    return h;
}

void hub_free(struct hub *h)
{
    if (h == NULL)
        return;
    room_reg_free(h->rooms);
    free(h->limits_json);
    free(h);
}

void hub_set_cluster(struct hub *h, const struct hub_cluster *cl)
{
    h->cl = cl;
}

struct room *hub_room(struct hub *h, const char *id)
{
    return room_find(h->rooms, id);
}

const struct config *hub_config(const struct hub *h)
{
    return h->cfg;
}

size_t hub_room_count(const struct hub *h)
{
    return room_reg_count(h->rooms);
}

void hub_seat_count(const struct hub *h, size_t *seats, size_t *grace)
{
    room_reg_seats(h->rooms, seats, grace);
}

void hub_conn_init(struct hub *h, struct hub_conn *c, int64_t now_ms)
{
    memset(c, 0, sizeof *c);
    bucket_init(&c->chat, h->cfg->chat_burst, now_ms);
    bucket_init(&c->sig, h->cfg->signal_burst, now_ms);
    bucket_init(&c->join, h->cfg->join_burst, now_ms);
    bucket_init(&c->errors, h->cfg->error_run, now_ms);
}

/* A message that could not be built (out of memory) for c: c would see a
 * wrong meeting, so it is closed with 1011 instead; its seat stays in
 * grace and the client resumes to a whole welcome (docs/hardening.md). */
static void missed(struct hub *h, struct hub_conn *c)
{
    if (c->closing)
        return;
    log_warn("out of memory building a message for peer=%s: closing it "
             "(1011)",
             c->peer != NULL ? c->peer->id : "-");
    c->closing = true;
    h->ops->close(c, 1011, "out of memory");
}

void hub_fanout(struct hub *h, struct room *r, struct out_msg *m,
                const struct peer *skip)
{
    for (struct peer *p = r->peers; p != NULL; p = p->next) {
        if (p == skip || p->conn == NULL)
            continue;
        if (m != NULL)
            h->ops->send(p->conn, m);
        else
            missed(h, p->conn);
    }
    out_msg_unref(m);
}

void hub_send(struct hub *h, struct hub_conn *c, struct out_msg *m)
{
    if (m == NULL) {
        missed(h, c);
        return;
    }
    h->ops->send(c, m);
    out_msg_unref(m);
}

/* Announces that p left for reason and frees its seat. */
static void depart(struct hub *h, struct peer *p, const char *reason,
                   int64_t now)
{
    log_info("leave room=%s peer=%s reason=%s", p->room->id, p->id, reason);
    struct out_msg *m = msg_peer_left(p->id, reason);
    if (h->cl != NULL && m != NULL)
        h->cl->left(h->cl->ctx, p, m);
    hub_fanout(h, p->room, m, p);
    room_leave(h->rooms, p, now);
}

/* Closes c for abuse: the others see reason kicked, no grace. */
static void kick(struct hub *h, struct hub_conn *c, const char *reason,
                 int64_t now)
{
    if (c->peer != NULL) {
        depart(h, c->peer, "kicked", now);
        c->peer = NULL;
    }
    c->closing = true;
    h->ops->close(c, 1008, reason);
}

/* The codes that answer a bad message: they count toward the close. */
static const bool counts_toward_run[MSG_CODE_COUNT] = {
    [MSG_E_BAD_JSON] = true,       [MSG_E_BAD_MESSAGE] = true,
    [MSG_E_UNKNOWN_TYPE] = true,   [MSG_E_NOT_JOINED] = true,
    [MSG_E_ALREADY_JOINED] = true, [MSG_E_INVALID_ROOM] = true,
};

/* Counts an error answer of code in the metrics. */
static void count_error(enum msg_code code)
{
    metrics.errors[code]++;
}

void hub_answer_unavailable(struct hub *h, struct hub_conn *c,
                            const char *message, const char *ref, int64_t now)
{
    hub_answer_error(h, c, MSG_E_UNAVAILABLE, message, ref, now);
}

void hub_answer_error(struct hub *h, struct hub_conn *c, enum msg_code code,
                      const char *message, const char *ref, int64_t now)
{
    h->answered_error = true;
    count_error(code);
    hub_send(h, c, msg_error(code, message, ref));
    /* Bad messages count in a sliding window (HUDDLE_ERROR_RUN within
     * HUDDLE_ERROR_WINDOW_MS): a good message between them does not wipe
     * the slate, so one valid message every nine bad ones still closes. The
     * bucket holds error_run tokens; the error that finds it at its last
     * token is the error_run-th within the window. */
    if (counts_toward_run[code]) {
        c->limited_run = 0;
        if (!bucket_take_window(&c->errors, h->cfg->error_run,
                                h->cfg->error_window_ms, now) ||
            c->errors.tokens < 1.0)
            kick(h, c, "too many errors", now);
    } else if (code == MSG_E_RATE_LIMITED) {
        if (++c->limited_run >= h->cfg->rate_limit_run)
            kick(h, c, "rate limited", now);
    } else {
        c->limited_run = 0;
    }
}

/* The welcome for me from the room as it is here (one reference, or
 * NULL). */
static struct out_msg *local_welcome(struct hub *h, const struct peer *me,
                                     const char *ice)
{
    struct room *r = me->room;
    const struct peer **others = calloc(r->npeers, sizeof *others);
    struct out_msg **chat = calloc(r->hist_len + 1, sizeof *chat);
    struct out_msg *m = NULL;
    size_t n = 0;

    if (others != NULL && chat != NULL) {
        for (struct peer *p = r->peers; p != NULL; p = p->next)
            if (p != me)
                others[n++] = p;
        size_t nchat = room_history(r, chat, r->hist_len);
        m = msg_welcome(me, r->id, me->token, others, n, chat, nchat, ice,
                        h->limits_json);
    }
    free(others);
    free(chat);
    return m;
}

/* The welcome for c, seated as me: with the room as Redis has it for a
 * seat decided there (s->id set), else as it is here. One reference, or
 * NULL when out of memory. */
static struct out_msg *welcome(struct hub *h, struct hub_conn *c,
                               struct peer *me, const struct hub_seat *s)
{
    char *ice =
        ice_servers_json(h->ice, me->id, clock_wall_ms() / 1000, c->host);
    struct out_msg *m = NULL;

    if (ice == NULL)
        return NULL;
    if (s->id == NULL)
        m = local_welcome(h, me, ice);
    else if (s->peers_json != NULL && s->chat_json != NULL)
        m = msg_welcome_raw(me, me->room->id, me->token, s->peers_json,
                            s->chat_json, ice, h->limits_json);
    free(ice);
    return m;
}

/* The seat was taken over while old was still open: peer-left replaced,
 * close 1000. */
static void replace_conn(struct hub *h, struct hub_conn *old,
                         const struct peer *p)
{
    hub_send(h, old, msg_peer_left(p->id, "replaced"));
    old->peer = NULL;
    old->closing = true;
    h->ops->close(old, 1000, "replaced");
}

void hub_drop_seat(struct hub *h, struct peer *p, int64_t now)
{
    log_info("moved room=%s peer=%s", p->room->id, p->id);
    if (p->conn != NULL)
        replace_conn(h, p->conn, p);
    room_leave(h->rooms, p, now);
}

struct peer *hub_seat(struct hub *h, struct hub_conn *c,
                      const struct hub_seat *s, int64_t now)
{
    struct room_seat rs = {s->name,   s->audio, s->video,
                           s->resume, s->id,    s->token};
    struct peer *p;
    void *old;
    enum room_join_result res =
        room_join(h->rooms, s->room, c, &rs, now, &p, &old);
    bool resumed = res == ROOM_RESUMED || s->resumed;

    if (res == ROOM_FULL && s->id == NULL) {
        hub_answer_error(h, c, MSG_E_ROOM_FULL, "the room is full", "join",
                         now);
        return NULL;
    }
    if (res == ROOM_FULL || res == ROOM_NOMEM) {
        hub_answer_unavailable(h, c,
                               s->id == NULL ? "out of memory" : "no room here",
                               "join", now);
        return NULL;
    }
    if (s->peer_json != NULL)
        msg_peer_apply(p, s->peer_json, s->peer_json_len);
    struct out_msg *w = welcome(h, c, p, s);
    bool built = w != NULL, sent = built && h->ops->send(c, w);
    out_msg_unref(w);
    if (!sent && !resumed) {
        /* Nobody could ever resume a seat whose id and token were never
         * sent: it goes, unannounced, and the join may be tried again. */
        room_leave(h->rooms, p, now);
        if (!built)
            hub_answer_unavailable(h, c, "out of memory", "join", now);
        return NULL;
    }
    c->peer = p;
    if (resumed)
        metrics.resumes++;
    else
        metrics.joins++;
    if (old != NULL)
        replace_conn(h, old, p);
    if (!built) /* a resume: closed 1011, it comes back with its token */
        missed(h, c);
    log_info("%s room=%s peer=%s peers=%zu", resumed ? "resume" : "join",
             p->room->id, p->id, s->id != NULL ? s->members : p->room->npeers);
    if (!resumed)
        hub_fanout(h, p->room, msg_peer_joined(p), p);
    return p;
}

enum hub_bucket { BUCKET_CHAT, BUCKET_SIGNAL, BUCKET_JOIN, BUCKET_ROOM };

/* Takes a token from room id's presence budget: every join into a room
 * (and so its leave) is told to each member, whoever sends it, so
 * HUDDLE_ROOM_JOIN_BURST/RATE bound what all joiners together make one
 * room's members receive. A room not here yet has nothing to protect. */
static bool room_presence_take(struct hub *h, const char *id, int64_t now)
{
    const struct config *k = h->cfg;
    struct room *r = room_find(h->rooms, id);

    if (r == NULL)
        return true;
    if (!r->presence_ready) {
        bucket_init(&r->presence, k->room_join_burst, now);
        r->presence_ready = true;
    }
    return bucket_take(&r->presence, k->room_join_rate, k->room_join_burst,
                       now);
}

/* Takes a token from c's bucket of that kind; answers rate-limited (which
 * counts toward the kick after HUDDLE_RATE_LIMIT_RUN in a row) and returns
 * false when it is empty. */
static bool take(struct hub *h, struct hub_conn *c, enum hub_bucket kind,
                 const char *room, const char *ref, int64_t now)
{
    const struct config *k = h->cfg;
    bool ok = false;

    switch (kind) {
    case BUCKET_CHAT:
        ok = bucket_take(&c->chat, k->chat_rate, k->chat_burst, now);
        break;
    case BUCKET_SIGNAL:
        ok = bucket_take(&c->sig, k->signal_rate, k->signal_burst, now);
        break;
    case BUCKET_JOIN: /* this connection's, then its address' */
        ok = bucket_take(&c->join, k->join_rate, k->join_burst, now) &&
             (c->addr_join == NULL ||
              bucket_take(c->addr_join, k->addr_join_rate, k->addr_join_burst,
                          now));
        break;
    case BUCKET_ROOM:
        ok = room_presence_take(h, room, now);
        break;
    }
    if (!ok)
        hub_answer_error(h, c, MSG_E_RATE_LIMITED, "slow down", ref, now);
    return ok;
}

static void on_join(struct hub *h, struct hub_conn *c, struct msg_in *m,
                    int64_t now)
{
    /* Every join (and so every leave) is told to the whole room: a bucket
     * keeps one connection's churn from filling the others' queues. */
    if (!take(h, c, BUCKET_JOIN, NULL, "join", now) ||
        !take(h, c, BUCKET_ROOM, m->room, "join", now))
        return;
    if (h->cl != NULL) {
        h->cl->join(h->cl->ctx, c, m, now);
        return;
    }
    struct hub_seat s = {.room = m->room,
                         .name = m->name,
                         .audio = m->audio == 1,
                         .video = m->video == 1,
                         .resume = m->resume};
    hub_seat(h, c, &s, now);
}

/* The member of c's room named to, or NULL after answering no-such-peer.
 * With a cluster, a member on another node gets remote (when not NULL)
 * through Redis and NULL is returned without an answer. */
static struct peer *target(struct hub *h, struct hub_conn *c, const char *to,
                           const char *ref, struct out_msg *remote, int64_t now)
{
    struct peer *t = room_peer_find(c->peer->room, to);
    if (t == NULL && h->cl != NULL && remote != NULL &&
        h->cl->send_remote(h->cl->ctx, c, to, remote, ref, now))
        return NULL;
    if (t == NULL || t == c->peer) {
        hub_answer_error(h, c, MSG_E_NO_SUCH_PEER, "no such peer in this room",
                         ref, now);
        return NULL;
    }
    return t;
}

static void on_signal(struct hub *h, struct hub_conn *c, struct msg_in *m,
                      int64_t now)
{
    if (!take(h, c, BUCKET_SIGNAL, NULL, "signal", now))
        return;
    struct out_msg *out = msg_signal(c->peer->id, m->data);
    if (out == NULL)
        return;
    struct peer *t = target(h, c, m->to, "signal", out, now);
    if (t != NULL && t->conn != NULL && h->ops->congested != NULL &&
        h->ops->congested(t->conn)) {
        /* The target cannot take more now: the sender slows down, the
         * target (maybe only reading slower) is not closed for it. Not
         * the sender's fault either: this answer counts toward no close. */
        h->answered_error = true;
        count_error(MSG_E_RATE_LIMITED);
        hub_send(h, c,
                 msg_error(MSG_E_RATE_LIMITED, "the peer is not keeping up",
                           "signal"));
    } else if (t != NULL && t->conn != NULL) { /* in grace: dropped */
        h->ops->send(t->conn, out);
    }
    out_msg_unref(out);
}

static void on_chat(struct hub *h, struct hub_conn *c, struct msg_in *m,
                    int64_t now)
{
    struct peer *me = c->peer, *t = NULL;

    if (!take(h, c, BUCKET_CHAT, NULL, "chat", now))
        return;
    struct out_msg *out =
        msg_chat(me->id, me->name, m->text, clock_wall_ms(), m->to);
    if (out == NULL)
        return;
    if (m->to != NULL && (t = target(h, c, m->to, "chat", out, now)) == NULL) {
        out_msg_unref(out);
        return;
    }
    if (t != NULL) {
        if (t->conn != NULL)
            h->ops->send(t->conn, out);
        h->ops->send(c, out);
        out_msg_unref(out);
        return;
    }
    room_history_add(h->rooms, me->room, out);
    if (h->cl != NULL)
        h->cl->chat(h->cl->ctx, c, out, now);
    hub_fanout(h, me->room, out, NULL);
}

static void on_state(struct hub *h, struct hub_conn *c, struct msg_in *m,
                     int64_t now)
{
    struct peer *p = c->peer;

    if (!take(h, c, BUCKET_SIGNAL, NULL, "state", now))
        return;
    if (m->name != NULL && room_peer_set_name(p, m->name) < 0)
        return;
    if (m->audio >= 0)
        p->audio = m->audio;
    if (m->video >= 0)
        p->video = m->video;
    if (m->screen >= 0)
        p->screen = m->screen;
    if (m->hand >= 0)
        p->hand = m->hand;
    struct out_msg *out = msg_peer_state(p);
    if (h->cl != NULL && out != NULL)
        h->cl->state(h->cl->ctx, p, out);
    hub_fanout(h, p->room, out, p);
}

static void on_leave(struct hub *h, struct hub_conn *c, struct msg_in *m,
                     int64_t now)
{
    (void)m;
    depart(h, c->peer, "left", now);
    c->peer = NULL;
    h->ops->rearm(c);
}

/* ping draws on the signal bucket, joined or not: each answer costs the
 * server a write like a signal does. */
static void on_ping(struct hub *h, struct hub_conn *c, struct msg_in *m,
                    int64_t now)
{
    if (!take(h, c, BUCKET_SIGNAL, NULL, "ping", now))
        return;
    hub_send(h, c, msg_pong(m->t));
}

enum join_need { ANY, JOINED, NOT_JOINED };

static const struct handler {
    enum join_need need;
    void (*fn)(struct hub *h, struct hub_conn *c, struct msg_in *m,
               int64_t now);
} handlers[MSG_TYPE_COUNT] = {
    [MSG_JOIN] = {NOT_JOINED, on_join}, [MSG_SIGNAL] = {JOINED, on_signal},
    [MSG_CHAT] = {JOINED, on_chat},     [MSG_STATE] = {JOINED, on_state},
    [MSG_LEAVE] = {JOINED, on_leave},   [MSG_PING] = {ANY, on_ping},
};

void hub_on_text(struct hub *h, struct hub_conn *c, const char *buf, size_t len,
                 int64_t now)
{
    struct msg_in m;
    struct msg_err err;

    if (c->closing)
        return;
    h->answered_error = false;
    if (msg_parse(buf, len, &h->lim, &m, &err) < 0) {
        metrics.in[METRICS_IN_INVALID]++;
        hub_answer_error(h, c, err.code, err.message, err.ref, now);
    } else {
        metrics.in[m.type]++;
        const struct handler *hd = &handlers[m.type];
        const char *ref = msg_type_name(m.type);
        if (hd->need == JOINED && c->peer == NULL)
            hub_answer_error(h, c, MSG_E_NOT_JOINED, "join a room first", ref,
                             now);
        else if (hd->need == NOT_JOINED &&
                 (c->peer != NULL || c->pending != NULL))
            hub_answer_error(h, c, MSG_E_ALREADY_JOINED, "already in a room",
                             ref, now);
        else
            hd->fn(h, c, &m, now);
    }
    if (!h->answered_error)
        c->limited_run = 0;
    msg_in_clear(&m);
}

void hub_on_end(struct hub *h, struct hub_conn *c, enum hub_end how,
                int64_t now)
{
    struct peer *p = c->peer;

    c->closing = true;
    if (c->pending != NULL && h->cl != NULL)
        h->cl->cancel(h->cl->ctx, c);
    c->pending = NULL; /* without a cluster (freed first), nothing waits */
    if (p == NULL)
        return;
    c->peer = NULL;
    if (how == HUB_END_GRACE && h->cfg->resume_grace_ms > 0) {
        log_info("grace room=%s peer=%s", p->room->id, p->id);
        room_grace(h->rooms, p, now);
        return;
    }
    depart(h, p,
           how == HUB_END_LEAVE    ? "left"
           : how == HUB_END_KICKED ? "kicked"
                                   : "timeout",
           now);
}

static void on_expired(struct peer *p, void *ctx)
{
    struct hub *h = ctx;
    log_info("leave room=%s peer=%s reason=timeout", p->room->id, p->id);
    struct out_msg *m = msg_peer_left(p->id, "timeout");
    if (h->cl != NULL && m != NULL) {
        h->cl->expired(h->cl->ctx, p, m);
        out_msg_unref(m);
        return;
    }
    hub_fanout(h, p->room, m, p);
}

void hub_tick(struct hub *h, int64_t now)
{
    room_expire(h->rooms, now, on_expired, h);
    if (h->cl != NULL)
        h->cl->tick(h->cl->ctx, now);
}
