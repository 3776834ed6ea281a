/* hub.c is longer than the rest (about 1,200 lines) for a reason: it is
 * the one place where every decision about a room's seats is made (joins,
 * leaves, chat, state, signals, and who may enter and what hosts may do,
 * docs/access.md), and those decisions share the room state, the delivery
 * and the error accounting below. Split in two, the halves would have to
 * reach into each other's insides, as the cluster once did through a
 * private header. With several sidecars the same rules are decided in
 * Redis (cluster.c) and applied here through the functions of hub.h. It
 * reads top to bottom in sections: delivery and errors, the join, who may
 * enter, the messages, the host actions, dispatch, ends of connections
 * and the clock. */
#include "hub.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "jwt.h"
#include "log.h"
#include "metrics.h"
#include "msg_links.h"

/* Bans kept at once, and return tickets (docs/access.md). */
#define HUB_MARKS_MAX 100000

struct hub {
    const struct config *cfg;
    const struct hub_ops *ops;
    const struct ice *ice;
    const struct hub_cluster *cl; /* NULL: standalone */
    const struct jwt_keys *jwt;   /* NULL: no join tokens */
    struct room_reg *rooms;
    struct marks *bans;     /* addresses removed from a room, for a while */
    struct marks *tickets;  /* resume tokens of members who left: a way
                               back for a while (docs/access.md) */
    struct marks *pw_wrong; /* per room and client address, its wrong
                               passwords in their window */
    int64_t next_marks_sweep;
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
    h->lim.max_links = (size_t)cfg->max_peers - 1;
    struct room_cfg rc = {cfg->max_peers, cfg->chat_history,
                          cfg->chat_history_ttl_ms, cfg->resume_grace_ms,
                          cfg->history_max_bytes};
    h->rooms = room_reg_new(&rc);
    h->bans = marks_new(HUB_MARKS_MAX);
    h->tickets = marks_new(HUB_MARKS_MAX);
    h->pw_wrong = marks_new(HUB_MARKS_MAX);
    h->limits_json = msg_limits_json(cfg);
    if (h->rooms == NULL || h->bans == NULL || h->tickets == NULL ||
        h->pw_wrong == NULL || h->limits_json == NULL) {
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
    marks_free(h->bans);
    marks_free(h->tickets);
    marks_free(h->pw_wrong);
    free(h->limits_json);
    free(h);
}

void hub_set_tokens(struct hub *h, const struct jwt_keys *keys)
{
    h->jwt = keys;
}

bool hub_tokens_on(const struct hub *h)
{
    return h->jwt != NULL;
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
    bucket_init(&c->hosting, h->cfg->host_burst, now_ms);
    bucket_init(&c->react, h->cfg->reaction_burst, now_ms);
    bucket_init(&c->links, h->cfg->links_burst, now_ms);
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

/* Sends m (consumed) to every connected member of r but skip, or only to
 * its hosts. */
static void fanout(struct hub *h, struct room *r, struct out_msg *m,
                   const struct peer *skip, bool hosts_only)
{
    for (struct peer *p = r->peers; p != NULL; p = p->next) {
        if (p == skip || p->conn == NULL || (hosts_only && !p->host))
            continue;
        if (m != NULL)
            h->ops->send(p->conn, m);
        else
            missed(h, p->conn);
    }
    out_msg_unref(m);
}

void hub_fanout(struct hub *h, struct room *r, struct out_msg *m,
                const struct peer *skip)
{
    fanout(h, r, m, skip, false);
}

void hub_fanout_hosts(struct hub *h, struct room *r, struct out_msg *m)
{
    fanout(h, r, m, NULL, true);
}

/* Tells p's peer object (peer-state) to everyone here but except, and to
 * the other nodes unless Redis decided the change (from_redis). */
static void tell_state(struct hub *h, struct peer *p, const struct peer *except,
                       bool from_redis)
{
    struct out_msg *m = msg_peer_state(p);
    if (h->cl != NULL && m != NULL && !from_redis)
        h->cl->state(h->cl->ctx, p, m);
    hub_fanout(h, p->room, m, except);
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

static void handover(struct hub *h, struct room *r, const struct peer *gone,
                     int64_t now);

/* A return ticket's value: whether its member was a host, and the room's
 * access generation when they left (a lock or password set since voids
 * it: a host may have meant to keep them out). */
static int64_t ticket_value(const struct room *r, bool host)
{
    return (r != NULL ? r->access_gen : 0) * 2 + (host ? 1 : 0);
}

/* Announces that p left for reason and frees its seat. A member who left
 * of their own will (ticket) may come back for a while, as they were:
 * their resume token becomes a return ticket (docs/access.md, "Coming
 * back"), here or, with a cluster, in Redis. */
static void depart(struct hub *h, struct peer *p, const char *reason,
                   bool ticket, int64_t now)
{
    struct out_msg *m = msg_peer_left(p->id, reason);
    int64_t keep = ticket && p->token[0] != '\0' ? h->cfg->return_s * 1000 : 0;

    log_info("leave room=%s peer=%s reason=%s", p->room->id, p->id, reason);
    if (h->cl != NULL && m != NULL)
        h->cl->left(h->cl->ctx, p, m, keep);
    else if (keep > 0 &&
             marks_add(h->tickets, p->room->id, p->token,
                       ticket_value(p->room, p->host), now, now + keep) < 0)
        log_warn("ticket not kept room=%s: %zu tickets already", p->room->id,
                 marks_count(h->tickets));
    hub_fanout(h, p->room, m, p);
    handover(h, p->room, p, now);
    room_leave(h->rooms, p, now);
}

/* Closes c for abuse: the others see reason kicked, no grace. */
static void kick(struct hub *h, struct hub_conn *c, const char *reason,
                 int64_t now)
{
    if (c->peer != NULL) {
        depart(h, c->peer, "kicked", false, now);
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
    [MSG_E_FORBIDDEN] = true,
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

/* Answers error code to c, with message and reason (msg_error); counts it
 * toward a close as its code says. */
static void answer_error(struct hub *h, struct hub_conn *c, enum msg_code code,
                         const char *message, const char *reason,
                         const char *ref, int64_t now)
{
    h->answered_error = true;
    count_error(code);
    hub_send(h, c, msg_error(code, message, reason, ref));
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

void hub_answer_error(struct hub *h, struct hub_conn *c, enum msg_code code,
                      const char *message, const char *ref, int64_t now)
{
    answer_error(h, c, code, message, NULL, ref, now);
}

void hub_refuse_token(struct hub *h, struct hub_conn *c, enum jwt_result why,
                      int64_t now)
{
    if (why == JWT_NOMEM)
        hub_answer_unavailable(h, c, "out of memory", "join", now);
    else
        answer_error(h, c, MSG_E_BAD_TOKEN, jwt_result_text(why),
                     jwt_result_code(why), "join", now);
}

static const struct {
    enum msg_code code;
    const char *text;
    const char *reason; /* the error's reason, for a program (or NULL) */
} refusals[HUB_REFUSAL_COUNT] = {
    [HUB_NOT_HOST] = {MSG_E_FORBIDDEN, "only a host can do that", NULL},
    [HUB_LAST_HOST] = {MSG_E_FORBIDDEN, "a room keeps at least one host", NULL},
    [HUB_SELF] = {MSG_E_FORBIDDEN, "not to yourself", NULL},
    [HUB_NO_PEER] = {MSG_E_NO_SUCH_PEER, "no such peer in this room", NULL},
    [HUB_NO_KNOCK] = {MSG_E_NO_SUCH_PEER, "nobody waits with that id", NULL},
    [HUB_BANNED] = {MSG_E_BANNED,
                    "a host removed you from this room: try later", NULL},
    [HUB_ROOM_FULL] = {MSG_E_ROOM_FULL, "the room is full", NULL},
    [HUB_LOBBY_FULL] = {MSG_E_ROOM_FULL, "the lobby is full", NULL},
    [HUB_PW_REQUIRED] = {MSG_E_PASSWORD_REQUIRED, "this room needs a password",
                         NULL},
    [HUB_PW_LIMITED] = {MSG_E_RATE_LIMITED,
                        "too many wrong passwords: wait a minute", "passwords"},
    [HUB_PW_ROOM_LIMITED] = {MSG_E_RATE_LIMITED,
                             "too many wrong passwords into this room: wait "
                             "a minute",
                             "room-passwords"},
    [HUB_TOKEN_NAME] = {MSG_E_FORBIDDEN, "the name comes from the join token",
                        NULL},
};

void hub_refuse(struct hub *h, struct hub_conn *c, enum hub_refusal why,
                const char *ref, int64_t now)
{
    answer_error(h, c, refusals[why].code, refusals[why].text,
                 refusals[why].reason, ref, now);
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
        struct msg_access a = {r->locked, r->pw.set};
        m = msg_welcome(me, r->id, me->token, others, n, chat, nchat, &a, ice,
                        h->limits_json);
    }
    free(others);
    free(chat);
    return m;
}

/* The iceServers for c, seated as id: TURN credentials minted now for id,
 * built URLs on the host c's request named. Malloc'd JSON text, or NULL
 * when out of memory. */
static char *ice_now(const struct hub *h, const struct hub_conn *c,
                     const char *id)
{
    return ice_servers_json(h->ice, id, clock_wall_ms() / 1000, c->host);
}

/* The welcome for c, seated as me: with the room as Redis has it for a
 * seat decided there (s->id set), else as it is here. One reference, or
 * NULL when out of memory. */
static struct out_msg *welcome(struct hub *h, struct hub_conn *c,
                               struct peer *me, const struct hub_seat *s)
{
    char *ice = ice_now(h, c, me->id);
    struct out_msg *m = NULL;

    if (ice == NULL)
        return NULL;
    if (s->id == NULL)
        m = local_welcome(h, me, ice);
    else if (s->peers_json != NULL && s->chat_json != NULL)
        m = msg_welcome_raw(me, me->room->id, me->token, s->peers_json,
                            s->chat_json, &s->access, ice, h->limits_json);
    free(ice);
    return m;
}

/* Seat id was taken over while old was still open, or old's resume of it
 * came too late: peer-left replaced, close 1000. */
static void replace_conn(struct hub *h, struct hub_conn *old, const char *id)
{
    hub_send(h, old, msg_peer_left(id, "replaced"));
    old->peer = NULL;
    old->closing = true;
    h->ops->close(old, 1000, "replaced");
}

void hub_drop_seat(struct hub *h, struct peer *p, int64_t now)
{
    log_info("moved room=%s peer=%s", p->room->id, p->id);
    if (p->conn != NULL)
        replace_conn(h, p->conn, p->id);
    room_leave(h->rooms, p, now);
}

void hub_stale(struct hub *h, struct hub_conn *c, const char *room,
               const char *id)
{
    log_info("stale resume room=%s peer=%s: a later one took it back", room,
             id);
    if (c != NULL)
        replace_conn(h, c, id);
}

void hub_knock_taken(struct hub *h, struct hub_conn *old, const char *room,
                     const char *id)
{
    log_info("knock room=%s knock=%s: taken over by a new connection", room,
             id);
    old->knocking = false;
    replace_conn(h, old, id);
}

/* A host just seated or made host sees who waits in the lobby, if anyone. */
static void show_lobby(struct hub *h, struct peer *p)
{
    if (p->host && p->conn != NULL && p->room->lobby.n > 0)
        hub_send(h, p->conn, msg_lobby(p->room->lobby.head));
}

/* p's seat waits in its grace with nobody behind it: the others hear it
 * is away, unless they had. */
static void went_away(struct hub *h, struct peer *p)
{
    struct out_msg *m;

    if (p->away)
        return;
    p->away = true;
    /* Out of memory, nobody is told: the seat is not away for anyone,
     * rather than everyone here closed to catch up. */
    if ((m = msg_peer_state(p)) == NULL)
        p->away = false;
    else if (h->cl != NULL)
        h->cl->away(h->cl->ctx, p, m); /* tells the members here */
    else
        hub_fanout(h, p->room, out_msg_ref(m), p);
    out_msg_unref(m);
}

struct peer *hub_seat(struct hub *h, struct hub_conn *c,
                      const struct hub_seat *s, int64_t now)
{
    struct room_seat rs = {s->name,
                           s->audio,
                           s->video,
                           s->resume,
                           s->id != NULL ? s->id : s->knock,
                           s->token,
                           s->attempt};
    struct peer *p;
    void *old;
    enum room_join_result res =
        room_join(h->rooms, s->room, c, &rs, now, &p, &old);
    bool resumed = res == ROOM_RESUMED || s->resumed;

    if (res == ROOM_STALE) {
        hub_stale(h, c, p->room->id, p->id);
        return NULL;
    }
    if (res == ROOM_FULL && s->id == NULL) {
        hub_refuse(h, c, HUB_ROOM_FULL, "join", now);
        return NULL;
    }
    if (res == ROOM_FULL || res == ROOM_NOMEM) {
        hub_answer_unavailable(h, c,
                               s->id == NULL ? "out of memory" : "no room here",
                               "join", now);
        return NULL;
    }
    /* A seat taken back from its grace is no longer away: the welcome's
     * self says so, and so does a peer-state to the others once it went,
     * if this node or Redis had it away. */
    bool back = p->away;
    if (s->peer_json != NULL)
        msg_peer_apply(p, s->peer_json, s->peer_json_len);
    back = back || p->away;
    p->away = false;
    if (res == ROOM_JOINED) /* a seat from Redis comes with its role */
        p->host = s->role == 1 || (s->role < 0 && p->room->npeers == 1);
    if (res == ROOM_JOINED && c->addr != NULL)
        snprintf(p->addr, sizeof p->addr, "%s", c->addr);
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
        replace_conn(h, old, p->id);
    if (!built) { /* a resume: closed 1011, it comes back with its token */
        p->away = back;
        missed(h, c);
    } else if (back) {
        tell_state(h, p, p, false);
    }
    log_info("%s room=%s peer=%s peers=%zu", resumed ? "resume" : "join",
             p->room->id, p->id, s->id != NULL ? s->members : p->room->npeers);
    if (!resumed)
        hub_fanout(h, p->room, msg_peer_joined(p), p);
    show_lobby(h, p);
    return p;
}

struct peer *hub_seat_away(struct hub *h, const struct hub_seat *s, int64_t now)
{
    struct room_seat rs = {.name = s->name,
                           .audio = s->audio,
                           .video = s->video,
                           .id = s->id,
                           .token = s->token};
    struct peer *p;
    void *old;

    if (room_join(h->rooms, s->room, NULL, &rs, now, &p, &old) != ROOM_JOINED)
        return NULL;
    if (s->peer_json != NULL) /* with its role */
        msg_peer_apply(p, s->peer_json, s->peer_json_len);
    else
        p->host = s->role == 1;
    log_info("grace room=%s peer=%s: its page never got the resume's answer",
             p->room->id, p->id);
    went_away(h, p);
    return p;
}

enum hub_bucket {
    BUCKET_CHAT,
    BUCKET_SIGNAL,
    BUCKET_JOIN,
    BUCKET_ROOM,
    BUCKET_REACT,
    BUCKET_LINKS
};

/* A room's bucket b, set up full (burst) the first time it is used: a
 * room is made by room.c, which knows nothing of the hub's limits. */
static struct bucket *room_bucket(struct bucket *b, bool *ready, long burst,
                                  int64_t now)
{
    if (!*ready) {
        bucket_init(b, burst, now);
        *ready = true;
    }
    return b;
}

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
    return bucket_take(
        room_bucket(&r->presence, &r->presence_ready, k->room_join_burst, now),
        k->room_join_rate, k->room_join_burst, now);
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
    case BUCKET_REACT:
        ok = bucket_take(&c->react, k->reaction_rate, k->reaction_burst, now);
        break;
    case BUCKET_LINKS:
        ok = bucket_take_every(&c->links, k->links_interval_ms, k->links_burst,
                               now);
        break;
    }
    if (!ok)
        hub_answer_error(h, c, MSG_E_RATE_LIMITED, "slow down", ref, now);
    return ok;
}

/* ---- who may enter (docs/access.md) -------------------------------- */

/* Sends the lobby's list to every connected host of r. */
static void lobby_changed(struct hub *h, struct room *r)
{
    hub_fanout_hosts(h, r, msg_lobby(r->lobby.head));
}

static const struct {
    const char *word;   /* what the log says */
    enum msg_code code; /* MSG_CODE_COUNT: no answer */
    const char *reason; /* the error's reason, for a program */
    const char *text;   /* its message, for people */
} knock_ends[HUB_KNOCK_END_COUNT] = {
    [HUB_KNOCK_QUIET] = {"ends", MSG_CODE_COUNT, NULL, NULL},
    [HUB_KNOCK_ADMITTED] = {"admitted", MSG_CODE_COUNT, NULL, NULL},
    [HUB_KNOCK_HOST] = {"denied", MSG_E_DENIED, MSG_DENIED_HOST,
                        "a host did not let you in"},
    [HUB_KNOCK_EMPTY] = {"denied", MSG_E_DENIED, MSG_DENIED_EMPTY,
                         "everyone left while you waited"},
    [HUB_KNOCK_ENDED] = {"denied", MSG_E_DENIED, MSG_DENIED_ENDED,
                         "a host ended the meeting while you waited"},
    [HUB_KNOCK_DENIED] = {"denied", MSG_E_DENIED, NULL, "you were not let in"},
    [HUB_KNOCK_TIMEOUT] = {"timed out", MSG_E_KNOCK_TIMEOUT, NULL,
                           "no host answered"},
};

const char *hub_knock_reason(enum hub_knock_end end)
{
    return knock_ends[end].reason;
}

enum hub_knock_end hub_knock_denial(const char *reason)
{
    for (int e = 0; reason != NULL && e < HUB_KNOCK_END_COUNT; e++)
        if (knock_ends[e].code == MSG_E_DENIED &&
            knock_ends[e].reason != NULL &&
            strcmp(knock_ends[e].reason, reason) == 0)
            return (enum hub_knock_end)e;
    return HUB_KNOCK_DENIED;
}

/* Ends knock k as end says (docs/protocol.md); its connection may join
 * again. */
static void end_knock(struct hub *h, struct knock *k, enum hub_knock_end end,
                      int64_t now)
{
    struct hub_conn *c = k->conn;
    struct room *r = k->room;

    hub_knock_log(r->id, k->id, end);
    c->knock = NULL;
    lobby_remove(&r->lobby, k);
    hub_knock_over(h, c, end, now);
    lobby_changed(h, r);
}

void hub_knock_log(const char *room, const char *knock, enum hub_knock_end end)
{
    const char *why = knock_ends[end].reason;

    log_info("knock room=%s knock=%s %s%s%s", room, knock, knock_ends[end].word,
             why ? " " : "", why ? why : "");
}

void hub_knock_over(struct hub *h, struct hub_conn *c, enum hub_knock_end end,
                    int64_t now)
{
    c->knocking = false;
    if (knock_ends[end].code != MSG_CODE_COUNT)
        answer_error(h, c, knock_ends[end].code, knock_ends[end].text,
                     knock_ends[end].reason, "join", now);
    if (!c->closing && c->peer == NULL)
        h->ops->rearm(c, h->cfg->join_timeout_ms);
}

void hub_knocking(struct hub *h, struct hub_conn *c, const char *id,
                  const char *token, int64_t since)
{
    int64_t left = since + h->cfg->knock_timeout_s * 1000 - clock_wall_ms();

    c->knocking = true;
    hub_send(h, c, msg_knocking(id, token));
    h->ops->rearm(c, left > 0 ? left : 0);
}

/* c stops waiting for a seat (in a lobby here, or for Redis: a join
 * pending or knocking there), answered as end says. */
static void stop_waiting(struct hub *h, struct hub_conn *c,
                         enum hub_knock_end end, int64_t now)
{
    if (c->knock != NULL) {
        end_knock(h, c->knock, end, now);
        return;
    }
    if (c->pending != NULL && h->cl != NULL)
        h->cl->cancel(h->cl->ctx, c);
    c->pending = NULL; /* without a cluster (freed first), nothing waits */
    hub_knock_over(h, c, end, now);
}

/* Seats the knocker k: answered welcome, or room-full. */
static void admit(struct hub *h, struct knock *k, int64_t now)
{
    struct hub_conn *c = k->conn;
    struct hub_seat s = {.room = k->room->id,
                         .name = k->name,
                         .audio = k->audio,
                         .video = k->video,
                         .role = 0,
                         .knock = k->id,
                         .token = k->token,
                         .attempt = k->attempt};

    /* A full room answered room-full: the knock only ends. */
    bool seated = hub_seat(h, c, &s, now) != NULL;
    end_knock(h, k, seated ? HUB_KNOCK_ADMITTED : HUB_KNOCK_QUIET, now);
}

/* Empties r's lobby: everyone waiting is admitted (HUB_KNOCK_ADMITTED)
 * or answered as end says. */
static void empty_lobby(struct hub *h, struct room *r, enum hub_knock_end end,
                        int64_t now)
{
    while (r->lobby.head != NULL) {
        if (end == HUB_KNOCK_ADMITTED)
            admit(h, r->lobby.head, now);
        else
            end_knock(h, r->lobby.head, end, now);
    }
}

/* Everyone in r hears of its lock and password. */
static void access_changed(struct hub *h, struct room *r)
{
    struct msg_access a = {r->locked, r->pw.set};

    r->access_gen = clock_wall_ms();
    hub_fanout(h, r, msg_access(&a), NULL);
}

/* Makes p a host or a guest; everyone here hears it, the other nodes too
 * unless Redis decided it (from_redis), and a new host gets the lobby. */
static void apply_role(struct hub *h, struct peer *p, bool host,
                       bool from_redis)
{
    if (p->host == host)
        return;
    log_info("role room=%s peer=%s role=%s%s", p->room->id, p->id,
             host ? "host" : "guest", from_redis ? " (from redis)" : "");
    p->host = host;
    tell_state(h, p, NULL, from_redis);
    show_lobby(h, p);
}

void hub_take_role(struct hub *h, struct peer *p, bool host)
{
    apply_role(h, p, host, true);
}

/* Seat gone is about to leave r: when it is the last, those waiting in
 * the lobby are denied (room_leave then drops the lock and password); when
 * it is the last host, the member present longest (connected, if any is)
 * becomes host. With a cluster, Redis does this. */
static void handover(struct hub *h, struct room *r, const struct peer *gone,
                     int64_t now)
{
    struct peer *heir = NULL;

    if (h->cl != NULL) /* Redis hands over (bus_lua.h, remove) */
        return;
    if (r->npeers == 1) {
        empty_lobby(h, r, HUB_KNOCK_EMPTY, now);
        return;
    }
    if (!gone->host || hub_tokens_on(h)) /* with tokens, tokens make hosts */
        return;
    for (struct peer *p = r->peers; p != NULL; p = p->next) {
        if (p == gone)
            continue;
        if (p->host)
            return;
        if (heir == NULL || (heir->conn == NULL && p->conn != NULL))
            heir = p;
    }
    if (heir != NULL)
        apply_role(h, heir, true, false);
}

/* The wrong passwords into room from c's client address in the window
 * that began with the first of them (0 when the address is unknown: then
 * only the room's count applies). By address and room: a new connection
 * does not start afresh, and someone guessing behind a shared address
 * (an office) holds up only the others of that address in that room. */
static int64_t pw_wrong_count(struct hub *h, const struct hub_conn *c,
                              const char *room, int64_t now)
{
    int64_t n = 0;

    if (c->addr != NULL)
        marks_hit(h->pw_wrong, room, c->addr, now, &n);
    return n;
}

bool hub_password_gate(struct hub *h, struct hub_conn *c, const char *room,
                       const char *password, bool room_limited, int64_t now)
{
    if (password == NULL) {
        hub_refuse(h, c, HUB_PW_REQUIRED, "join", now);
        return false;
    }
    if (room_limited) {
        hub_refuse(h, c, HUB_PW_ROOM_LIMITED, "join", now);
        return false;
    }
    if (pw_wrong_count(h, c, room, now) >= h->cfg->password_tries) {
        hub_refuse(h, c, HUB_PW_LIMITED, "join", now);
        return false;
    }
    return true;
}

void hub_password_wrong(struct hub *h, struct hub_conn *c, const char *room,
                        int64_t now)
{
    int64_t n = pw_wrong_count(h, c, room, now);

    /* The first opens the window; later ones leave its end (0 never
     * moves it). Not kept (the table full): the room's count holds. */
    if (c->addr != NULL &&
        marks_add(h->pw_wrong, room, c->addr, n + 1, now,
                  n == 0 ? now + h->cfg->password_window_s * 1000 : 0) < 0)
        log_warn("wrong passwords of room=%s not counted by address: %zu "
                 "kept",
                 room, marks_count(h->pw_wrong));
    hub_answer_error(h, c, MSG_E_WRONG_PASSWORD, "wrong password", "join", now);
}

/* A room password try by c: true when right; else answered
 * password-required, wrong-password or, past the tries (c's or the
 * room's), rate-limited. */
static bool password_ok(struct hub *h, struct hub_conn *c, struct room *r,
                        const char *password, int64_t now)
{
    const struct config *k = h->cfg;
    long window = k->password_window_s * 1000;
    struct bucket *room_tries = room_bucket(&r->pw_tries, &r->pw_tries_ready,
                                            k->room_password_tries, now);

    if (!hub_password_gate(h, c, r->id, password,
                           !bucket_ready_window(
                               room_tries, k->room_password_tries, window, now),
                           now))
        return false;
    if (access_pw_check(&r->pw, password))
        return true;
    bucket_take_window(room_tries, k->room_password_tries, window, now);
    log_info("wrong password room=%s", r->id);
    hub_password_wrong(h, c, r->id, now);
    return false;
}

/* c waits in r's lobby for a host. */
static void knock(struct hub *h, struct hub_conn *c, struct room *r,
                  const struct hub_seat *s, int64_t now)
{
    struct knock *k;

    if (r->lobby.n >= (size_t)h->cfg->lobby_max) {
        hub_refuse(h, c, HUB_LOBBY_FULL, "join", now);
        return;
    }
    k = lobby_add(&r->lobby, r, s->name, s->audio, s->video, c,
                  clock_wall_ms());
    if (k == NULL) {
        hub_answer_unavailable(h, c, "out of memory", "join", now);
        return;
    }
    c->knock = k;
    log_info("knock room=%s knock=%s waiting=%zu", r->id, k->id, r->lobby.n);
    hub_knocking(h, c, k->id, k->token, k->since);
    lobby_changed(h, r);
}

/* c comes with the token of knock k, which its page holds on an older
 * connection the server has not seen drop (a network blink): c takes its
 * place, keeping its place in the line and its deadline, and the hosts
 * see nothing change; the older connection is told `replaced`. A resume
 * numbered no higher than the one that took k last is older than it
 * (room.h, peer.attempt): refused the same way. */
static void take_knock(struct hub *h, struct hub_conn *c, struct knock *k,
                       int64_t attempt)
{
    if (attempt > 0 && attempt <= k->attempt) {
        hub_stale(h, c, k->room->id, k->id);
        return;
    }
    if (attempt > 0)
        k->attempt = attempt;
    ((struct hub_conn *)k->conn)->knock = NULL;
    hub_knock_taken(h, k->conn, k->room->id, k->id);
    k->conn = c;
    c->knock = k;
    hub_knocking(h, c, k->id, k->token, k->since);
}

/* The rules of docs/access.md for a join decided here that takes no seat
 * back. Returns true when c may take a seat now; else c was answered
 * (banned, a password answer, or knocking). A return ticket (the resume
 * token of a member who left a moment ago, unless a host locked the room
 * or set its password since; *ticket says it was one) lets its holder
 * past the ban, the password and the lock, and gives back a
 * host's role where the first in makes the host (no join tokens); the
 * caller uses it up once the seat is taken. */
static bool may_enter(struct hub *h, struct hub_conn *c, const struct msg_in *m,
                      struct hub_seat *s, bool *ticket, int64_t now)
{
    struct room *r = room_find(h->rooms, m->room);
    int64_t v = -1;

    *ticket = m->resume != NULL &&
              marks_hit(h->tickets, m->room, m->resume, now, &v) &&
              v / 2 == ticket_value(r, false) / 2;
    if (*ticket) {
        if (s->role < 0 && v % 2 == 1)
            s->role = 1;
        return true;
    }
    if (c->addr != NULL && marks_hit(h->bans, m->room, c->addr, now, NULL)) {
        hub_refuse(h, c, HUB_BANNED, "join", now);
        return false;
    }
    if (r == NULL || r->npeers == 0 || s->role == 1)
        return true;
    if (r->pw.set && !password_ok(h, c, r, m->password, now))
        return false;
    if (r->locked) {
        knock(h, c, r, s, now);
        return false;
    }
    return true;
}

/* With join tokens (docs/tokens.md): checks m's token for m's room. On
 * success its name wins over m's (m->name points into claims) and *role
 * is the token's (1 host, 0 guest). Returns JWT_OK, or why it was
 * refused. Without tokens returns JWT_OK and leaves *role. */
static enum jwt_result token_check(struct hub *h, struct msg_in *m,
                                   struct jwt_claims *claims, int *role)
{
    enum jwt_result r;

    if (h->jwt == NULL)
        return JWT_OK;
    r = jwt_verify(h->jwt, m->token, m->room, clock_wall_ms() / 1000, claims);
    if (r != JWT_OK)
        return r;
    log_info("token room=%s sub=%s role=%s", m->room,
             claims->sub[0] != '\0' ? claims->sub : "-",
             claims->host ? "host" : "guest");
    m->name = claims->name;
    *role = claims->host ? 1 : 0;
    return JWT_OK;
}

bool hub_takes_seat_back(struct hub *h, const struct msg_in *m)
{
    struct room *r = m->resume != NULL ? room_find(h->rooms, m->room) : NULL;
    return r != NULL && room_token_seat(r, m->resume) != NULL;
}

static void on_join(struct hub *h, struct hub_conn *c, struct msg_in *m,
                    int64_t now)
{
    struct jwt_claims claims;
    int role = -1;

    /* Every join (and so every leave) is told to the whole room: a bucket
     * keeps one connection's churn from filling the others' queues. */
    if (!take(h, c, BUCKET_JOIN, NULL, "join", now) ||
        !take(h, c, BUCKET_ROOM, m->room, "join", now))
        return;
    enum jwt_result why = token_check(h, m, &claims, &role);
    if (why == JWT_NOMEM) {
        hub_refuse_token(h, c, why, now);
        return;
    }
    if (h->cl != NULL) { /* Redis decides, with the same rules */
        h->cl->join(h->cl->ctx, c, m, why, role, now);
        return;
    }
    bool back = hub_takes_seat_back(h, m);
    if (why != JWT_OK && !back) {
        hub_refuse_token(h, c, why, now);
        return;
    }
    struct room *r =
        back || m->resume == NULL ? NULL : room_find(h->rooms, m->room);
    struct knock *k = r != NULL ? lobby_find_token(&r->lobby, m->resume) : NULL;
    if (k != NULL) {
        take_knock(h, c, k, m->attempt);
        return;
    }
    struct hub_seat s = {.room = m->room,
                         .name = m->name,
                         .audio = m->audio == 1,
                         .video = m->video == 1,
                         .resume = m->resume,
                         .attempt = m->attempt,
                         .role = role};
    bool ticket = false;
    if ((back || may_enter(h, c, m, &s, &ticket, now)) &&
        hub_seat(h, c, &s, now) != NULL && ticket) {
        marks_take(h->tickets, m->room, m->resume, now, NULL);
        log_info("back room=%s peer=%s role=%s", m->room, c->peer->id,
                 c->peer->host ? "host" : "guest");
    }
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
        hub_refuse(h, c, HUB_NO_PEER, ref, now);
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
                           NULL, "signal"));
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
    /* A member's lines have strictly increasing ts: two in one
     * millisecond would look alike to a page (same sender, time, text).
     * A clock stepped back more than a second is followed. */
    int64_t ts = clock_wall_ms();
    me->chat_ts =
        ts > me->chat_ts || me->chat_ts - ts > 1000 ? ts : me->chat_ts + 1;
    struct out_msg *out =
        msg_chat(me->id, me->name, m->text, me->chat_ts, m->to);
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
    /* With join tokens every seat's name is its token's (a resume keeps
     * it): the application vouched for it, nobody may take another. The
     * whole message is refused, so that nothing of it half applies. */
    if (m->name != NULL && h->jwt != NULL && strcmp(m->name, p->name) != 0) {
        hub_refuse(h, c, HUB_TOKEN_NAME, "state", now);
        return;
    }
    if (m->name != NULL && room_peer_set_name(p, m->name) < 0)
        return;
    if (m->audio >= 0)
        p->audio = m->audio;
    if (m->video >= 0)
        p->video = m->video;
    if (m->screen >= 0)
        p->screen = m->screen;
    /* A hand going up is stamped, and its page hears the stamp too. */
    bool raised = m->hand == 1 && !p->hand;
    if (m->hand >= 0) {
        p->hand_at = m->hand == 1 ? (raised ? clock_wall_ms() : p->hand_at) : 0;
        p->hand = m->hand;
    }
    tell_state(h, p, raised ? NULL : p, false);
}

/* A reaction goes to everyone in the room, the sender too (its page shows
 * it when it comes back, as the others see it); nothing is kept. */
static void on_react(struct hub *h, struct hub_conn *c, struct msg_in *m,
                     int64_t now)
{
    struct room *r = c->peer->room;
    struct out_msg *out;

    if (!take(h, c, BUCKET_REACT, NULL, "react", now))
        return;
    out = msg_reaction(c->peer->id, m->emoji);
    if (h->cl != NULL && out != NULL)
        h->cl->publish(h->cl->ctx, r, out);
    hub_fanout(h, r, out, NULL);
}

/* A member's link summaries (msg_links.h) go to everyone else in the room,
 * as msg_parse wrote them again; nothing is kept. */
static void on_links(struct hub *h, struct hub_conn *c, struct msg_in *m,
                     int64_t now)
{
    struct peer *p = c->peer;
    struct out_msg *out;

    if (msg_links_about(m->links, p->id)) {
        hub_answer_error(h, c, MSG_E_BAD_MESSAGE, "links may not name yourself",
                         "links", now);
        return;
    }
    if (!take(h, c, BUCKET_LINKS, NULL, "links", now))
        return;
    out = msg_links(p->id, m->links);
    if (h->cl != NULL && out != NULL)
        h->cl->publish(h->cl->ctx, p->room, out);
    hub_fanout(h, p->room, out, p);
}

/* leave: from a seat, or from a lobby (stop waiting). */
static void on_leave(struct hub *h, struct hub_conn *c, struct msg_in *m,
                     int64_t now)
{
    (void)m;
    if (c->knock != NULL || c->pending != NULL) {
        stop_waiting(h, c, HUB_KNOCK_QUIET, now);
        return;
    }
    if (c->peer == NULL) {
        hub_answer_error(h, c, MSG_E_NOT_JOINED, "join a room first", "leave",
                         now);
        return;
    }
    depart(h, c->peer, "left", true, now);
    c->peer = NULL;
    h->ops->rearm(c, h->cfg->join_timeout_ms);
}

/* ---- host actions (docs/access.md) ---------------------------------- */

/* The member of c's room named to for a host action (c's own seat when
 * self is allowed), or NULL after answering. */
static struct peer *host_target(struct hub *h, struct hub_conn *c,
                                const char *to, bool self, const char *ref,
                                int64_t now)
{
    if (strcmp(to, c->peer->id) != 0)
        return target(h, c, to, ref, NULL, now);
    if (self)
        return c->peer;
    hub_refuse(h, c, HUB_SELF, ref, now);
    return NULL;
}

static void on_role(struct hub *h, struct hub_conn *c, struct msg_in *m,
                    int64_t now)
{
    struct peer *t = host_target(h, c, m->to, true, "role", now);
    bool host = strcmp(m->role, "host") == 0;
    size_t hosts = 0;

    if (t == NULL)
        return;
    for (struct peer *p = t->room->peers; p != NULL; p = p->next)
        hosts += p->host;
    if (!host && t->host && hosts == 1) {
        hub_refuse(h, c, HUB_LAST_HOST, "role", now);
        return;
    }
    apply_role(h, t, host, false);
}

/* Closes the connection of seat p with an ended message (reason, by) and
 * close 1000 reason; the seat itself is the caller's. */
static void dismiss(struct hub *h, struct peer *p, struct out_msg *ended,
                    const char *close_reason)
{
    struct hub_conn *pc = p->conn;

    if (pc == NULL || pc->closing)
        return;
    if (ended != NULL)
        h->ops->send(pc, ended);
    pc->peer = NULL;
    pc->closing = true;
    h->ops->close(pc, 1000, close_reason);
}

void hub_removed(struct hub *h, struct peer *p, const char *by, int64_t now)
{
    struct out_msg *bye = msg_ended("removed", by);

    log_info("removed room=%s peer=%s by=%s", p->room->id, p->id, by);
    if (bye == NULL && p->conn != NULL)
        missed(h, p->conn);
    dismiss(h, p, bye, "removed");
    out_msg_unref(bye);
    room_leave(h->rooms, p, now);
}

static void on_kick(struct hub *h, struct hub_conn *c, struct msg_in *m,
                    int64_t now)
{
    struct peer *t = host_target(h, c, m->to, false, "kick", now);
    const struct config *k = h->cfg;

    if (t == NULL)
        return;
    log_info("kick room=%s peer=%s by=%s", t->room->id, t->id, c->peer->id);
    if (k->kick_ban_s > 0 && t->addr[0] != '\0' &&
        marks_add(h->bans, t->room->id, t->addr, 1, now,
                  now + k->kick_ban_s * 1000) < 0)
        log_warn("ban not kept room=%s: %zu bans already", t->room->id,
                 marks_count(h->bans));
    hub_fanout(h, t->room, msg_peer_removed(t->id, c->peer->id), t);
    hub_removed(h, t, c->peer->id, now);
}

/* A mute request to one member (here or, with a cluster, elsewhere) or
 * to everyone but the host. Asking needs no room state that could be
 * stale, so even with a cluster it is decided here. */
static void on_mute(struct hub *h, struct hub_conn *c, struct msg_in *m,
                    int64_t now)
{
    struct room *r = c->peer->room;
    struct out_msg *ask;
    struct peer *t;

    if (m->to != NULL && strcmp(m->to, c->peer->id) == 0) {
        hub_refuse(h, c, HUB_SELF, "mute", now);
        return;
    }
    if ((ask = msg_mute_request(c->peer->id)) == NULL)
        return; /* out of memory: nobody is asked */
    if (m->to == NULL) {
        if (h->cl != NULL)
            h->cl->publish(h->cl->ctx, r, ask);
        hub_fanout(h, r, out_msg_ref(ask), c->peer);
    } else if ((t = target(h, c, m->to, "mute", ask, now)) != NULL &&
               t->conn != NULL) { /* in grace: nothing to mute */
        hub_send(h, t->conn, out_msg_ref(ask));
    }
    out_msg_unref(ask);
}

void hub_end_room(struct hub *h, struct room *r, struct out_msg *m, int64_t now)
{
    log_info("end room=%s peers=%zu", r->id, r->npeers);
    empty_lobby(h, r, HUB_KNOCK_ENDED, now);
    while (r->peers != NULL) {
        struct peer *p = r->peers;
        if (m == NULL && p->conn != NULL)
            missed(h, p->conn);
        dismiss(h, p, m, "meeting ended");
        room_leave(h->rooms, p, now);
    }
    out_msg_unref(m);
    room_forget(h->rooms, r);
}

static void on_end(struct hub *h, struct hub_conn *c, struct msg_in *m,
                   int64_t now)
{
    (void)m;
    log_info("end room=%s by=%s", c->peer->room->id, c->peer->id);
    hub_end_room(h, c->peer->room, msg_ended("ended", c->peer->id), now);
}

static void on_lock(struct hub *h, struct hub_conn *c, struct msg_in *m,
                    int64_t now)
{
    struct room *r = c->peer->room;

    log_info("lock room=%s locked=%d by=%s", r->id, m->locked, c->peer->id);
    r->locked = m->locked == 1;
    access_changed(h, r);
    if (!r->locked) /* the door is open: those waiting come in */
        empty_lobby(h, r, HUB_KNOCK_ADMITTED, now);
}

static void on_password(struct hub *h, struct hub_conn *c, struct msg_in *m,
                        int64_t now)
{
    struct room *r = c->peer->room;

    if (access_pw_set(&r->pw, m->password) < 0) {
        hub_answer_unavailable(h, c, "could not hash the password", "password",
                               now);
        return;
    }
    log_info("password room=%s set=%d by=%s", r->id, r->pw.set, c->peer->id);
    access_changed(h, r);
}

/* The knock id of c's room, or NULL after answering no-such-peer. */
static struct knock *knock_of(struct hub *h, struct hub_conn *c, const char *id,
                              const char *ref, int64_t now)
{
    struct knock *k = lobby_find(&c->peer->room->lobby, id);
    if (k == NULL)
        hub_refuse(h, c, HUB_NO_KNOCK, ref, now);
    return k;
}

static void on_admit(struct hub *h, struct hub_conn *c, struct msg_in *m,
                     int64_t now)
{
    struct knock *k = knock_of(h, c, m->id, "admit", now);
    if (k != NULL && k->room->npeers >= (size_t)h->cfg->max_peers)
        hub_refuse(h, c, HUB_ROOM_FULL, "admit", now); /* it waits on */
    else if (k != NULL)
        admit(h, k, now);
}

static void on_deny(struct hub *h, struct hub_conn *c, struct msg_in *m,
                    int64_t now)
{
    struct knock *k = knock_of(h, c, m->id, "deny", now);
    if (k != NULL)
        end_knock(h, k, HUB_KNOCK_HOST, now);
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

/* The iceServers anew, with TURN credentials minted now: a page in a
 * meeting longer than their lifetime (HUDDLE_TURN_TTL_S) asks before they
 * expire, so that links it makes or repairs later can still be relayed.
 * It draws on the signal bucket: each answer costs an HMAC and a write. */
static void on_ice(struct hub *h, struct hub_conn *c, struct msg_in *m,
                   int64_t now)
{
    char *ice;

    (void)m;
    if (!take(h, c, BUCKET_SIGNAL, NULL, "ice", now))
        return;
    ice = ice_now(h, c, c->peer->id);
    if (ice != NULL)
        hub_send(h, c, msg_ice(ice));
    free(ice);
}

/* What a message needs of its sender: HOST is JOINED as a host, and
 * draws on the host actions' bucket. */
enum join_need { ANY, JOINED, NOT_JOINED, HOST };

/* fn, need, and in_redis: with a cluster the action changes the room's
 * shared state, so Redis decides it (host_in_redis), not fn. */
static const struct handler {
    void (*fn)(struct hub *h, struct hub_conn *c, struct msg_in *m,
               int64_t now);
    enum join_need need;
    bool in_redis;
} handlers[MSG_TYPE_COUNT] = {
    [MSG_JOIN] = {on_join, NOT_JOINED, false},
    [MSG_SIGNAL] = {on_signal, JOINED, false},
    [MSG_CHAT] = {on_chat, JOINED, false},
    [MSG_STATE] = {on_state, JOINED, false},
    [MSG_LEAVE] = {on_leave, ANY, false},
    [MSG_PING] = {on_ping, ANY, false},
    [MSG_REACT] = {on_react, JOINED, false},
    [MSG_LINKS] = {on_links, JOINED, false},
    [MSG_ICE] = {on_ice, JOINED, false},
    [MSG_ROLE] = {on_role, HOST, true},
    [MSG_KICK] = {on_kick, HOST, true},
    [MSG_MUTE] = {on_mute, HOST, false}, /* changes nothing shared */
    [MSG_END] = {on_end, HOST, true},
    [MSG_LOCK] = {on_lock, HOST, true},
    [MSG_PASSWORD] = {on_password, HOST, true},
    [MSG_ADMIT] = {on_admit, HOST, true},
    [MSG_DENY] = {on_deny, HOST, true},
};

/* With a cluster, a host action that changes the room is decided in Redis
 * (cluster.c, the host script of bus_lua.h); what needs no room state is
 * checked here first. */
static void host_in_redis(struct hub *h, struct hub_conn *c, struct msg_in *m,
                          int64_t now)
{
    /* allowed() saw to c->peer; the analyzer cannot follow it there. */
    // NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker)
    bool self = m->to != NULL && strcmp(m->to, c->peer->id) == 0;

    if (m->type == MSG_KICK && self)
        hub_refuse(h, c, HUB_SELF, "kick", now);
    else
        h->cl->host(h->cl->ctx, c, m, now);
}

/* Returns true when c may send a message that needs need; else answers. */
static bool allowed(struct hub *h, struct hub_conn *c, enum join_need need,
                    const char *ref, int64_t now)
{
    const struct config *k = h->cfg;

    if ((need == JOINED || need == HOST) && c->peer == NULL)
        hub_answer_error(h, c, MSG_E_NOT_JOINED, "join a room first", ref, now);
    else if (need == NOT_JOINED &&
             (c->peer != NULL || c->pending != NULL || c->knock != NULL))
        hub_answer_error(h, c, MSG_E_ALREADY_JOINED, "already in a room", ref,
                         now);
    else if (need == HOST && !c->peer->host)
        hub_refuse(h, c, HUB_NOT_HOST, ref, now);
    else if (need == HOST &&
             !bucket_take(&c->hosting, k->host_rate, k->host_burst, now))
        hub_answer_error(h, c, MSG_E_RATE_LIMITED, "slow down", ref, now);
    else
        return true;
    return false;
}

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
        if (!allowed(h, c, hd->need, msg_type_name(m.type), now))
            ; /* answered */
        else if (hd->in_redis && h->cl != NULL)
            host_in_redis(h, c, &m, now);
        else
            hd->fn(h, c, &m, now);
    }
    if (!h->answered_error)
        c->limited_run = 0;
    msg_in_clear(&m);
}

bool hub_on_deadline(struct hub *h, struct hub_conn *c, int64_t now)
{
    if (!c->knocking)
        return false;
    stop_waiting(h, c, HUB_KNOCK_TIMEOUT, now);
    return true;
}

void hub_on_end(struct hub *h, struct hub_conn *c, enum hub_end how,
                int64_t now)
{
    struct peer *p = c->peer;

    c->closing = true;
    stop_waiting(h, c, HUB_KNOCK_QUIET, now);
    if (p == NULL)
        return;
    c->peer = NULL;
    if ((how == HUB_END_GRACE || how == HUB_END_DRAIN) &&
        h->cfg->resume_grace_ms > 0) {
        log_info("grace room=%s peer=%s", p->room->id, p->id);
        room_grace(h->rooms, p, now);
        if (how == HUB_END_GRACE) /* a drain is not announced */
            went_away(h, p);
        return;
    }
    depart(h, p,
           how == HUB_END_LEAVE    ? "left"
           : how == HUB_END_KICKED ? "kicked"
                                   : "timeout",
           how == HUB_END_LEAVE, now);
}

struct expiry {
    struct hub *h;
    int64_t now;
};

static void on_expired(struct peer *p, void *ctx)
{
    struct hub *h = ((struct expiry *)ctx)->h;
    log_info("leave room=%s peer=%s reason=timeout", p->room->id, p->id);
    struct out_msg *m = msg_peer_left(p->id, "timeout");
    if (h->cl != NULL && m != NULL) {
        h->cl->expired(h->cl->ctx, p, m);
        out_msg_unref(m);
    } else {
        hub_fanout(h, p->room, m, p);
    }
    handover(h, p->room, p, ((struct expiry *)ctx)->now);
}

void hub_tick(struct hub *h, int64_t now)
{
    struct expiry e = {h, now};

    room_expire(h->rooms, now, on_expired, &e);
    if (now >= h->next_marks_sweep) { /* marks_hit drops ended ones it meets */
        marks_sweep(h->bans, now);
        marks_sweep(h->tickets, now);
        marks_sweep(h->pw_wrong, now);
        h->next_marks_sweep = now + 10000;
    }
    if (h->cl != NULL)
        h->cl->tick(h->cl->ctx, now);
}
