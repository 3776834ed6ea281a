/* bus: the calls of bus.h and the requests they become (see bus.h and
 * docs/cluster.md). Each call checks its arguments, wraps its announce in
 * the envelope (bus_wire.h), copies everything into a request and sends it
 * as one EVALSHA on the command connection; a request for a room whose
 * SUBSCRIBE is not yet confirmed waits in the registry (bus_sub.h) and goes
 * when it is. A request fails with BUS_ERR when the bus goes down first.
 * The connections themselves are bus_conn.c's. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus_priv.h"
#include "bus_reply.h"
#include "log.h"

/* Returns the envelope of json in the scratch buffer (valid until the next
 * call), its length in *n, or NULL when json is empty, too long, or there
 * is no memory. */
static const char *envelope(struct bus *b, const char *json, size_t len,
                            size_t *n)
{
    size_t need = bus_envelope_size(b->id, len);

    if (len == 0 || len > BUS_MSG_MAX)
        return NULL;
    if (need > b->scratch_cap) {
        char *p = malloc(need);
        if (p == NULL)
            return NULL;
        free(b->scratch);
        b->scratch = p;
        b->scratch_cap = need;
    }
    *n = bus_envelope_write(b->scratch, b->id, json, len);
    return b->scratch;
}

/* ---- requests -------------------------------------------------------- */

static struct bus_req *req_new(struct bus *b, enum req_kind kind, int argc,
                               const char **argv, const size_t *lens)
{
    size_t total = sizeof(struct bus_req) +
                   (size_t)argc * (sizeof(char *) + sizeof(size_t));
    struct bus_req *q;
    char *p;

    for (int i = 0; i < argc; i++)
        total += lens[i] + 1;
    q = malloc(total);
    if (q == NULL)
        return NULL;
    memset(q, 0, sizeof *q);
    q->b = b;
    q->kind = kind;
    q->argc = argc;
    q->argvlen = (size_t *)(q + 1);
    q->argv = (const char **)(q->argvlen + argc);
    p = (char *)(q->argv + argc);
    for (int i = 0; i < argc; i++) {
        memcpy(p, argv[i], lens[i]);
        p[lens[i]] = '\0';
        q->argv[i] = p;
        q->argvlen[i] = lens[i];
        p += lens[i] + 1;
    }
    return q;
}

static void req_fail(struct bus_req *q)
{
    if (!q->b->freeing) {
        if (q->kind == REQ_ROOM && q->room_cb != NULL) {
            struct bus_room r = {.status = BUS_ERR};
            q->room_cb(q->arg, &r);
        } else if (q->kind == REQ_DONE && q->done_cb != NULL) {
            q->done_cb(q->arg, BUS_ERR);
        } else if (q->kind == REQ_OWNER && q->owner_cb != NULL) {
            q->owner_cb(q->arg, BUS_ERR, NULL);
        }
    }
    free(q);
}

static void req_room_reply(struct bus_req *q, const redisReply *r)
{
    struct bus_room out;
    void *mem;

    bus_reply_room(r, &out, &mem);
    if (q->room_cb != NULL)
        q->room_cb(q->arg, &out);
    free(mem);
}

/* Whether someone waits for q's reply: it has a callback. */
static bool req_awaited(const struct bus_req *q)
{
    return q->room_cb != NULL || q->done_cb != NULL || q->owner_cb != NULL;
}

static void req_on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct bus_req *q = privdata;
    struct bus *b = q->b;
    const redisReply *r = reply;

    (void)ac;
    if (req_awaited(q) && b->awaited > 0)
        b->awaited--;
    if (r == NULL || b->freeing) {
        req_fail(q);
        return;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        bus_log_reply_error(q->argv[0], r);
        if (strncmp(r->str, "NOSCRIPT", 8) == 0)
            bus_drop(b, "scripts flushed"); /* reconnect reloads them */
        req_fail(q);
        return;
    }
    if (q->kind == REQ_ROOM) {
        req_room_reply(q, r);
    } else if (q->kind == REQ_OWNER) {
        bool some = r->type == REDIS_REPLY_STRING && r->len > 0;
        if (q->owner_cb != NULL)
            q->owner_cb(q->arg, some ? BUS_OK : BUS_NONE, some ? r->str : NULL);
    } else if (q->done_cb != NULL) {
        q->done_cb(q->arg, bus_reply_done(r));
    }
    free(q);
}

/* Queues q on the command connection; 0, or -1 when hiredis refused.
 * A request with a callback is awaited: its connection reads at once
 * until the reply came. The others (a chat, a leave nobody waits for)
 * are read when the loop wakes anyway (bus_conn.c, "late reads"). */
static int req_write(struct bus_req *q)
{
    struct bus *b = q->b;

    if (redisAsyncCommandArgv(b->cmd, req_on_reply, q, q->argc, q->argv,
                              q->argvlen) != REDIS_OK)
        return -1;
    if (req_awaited(q))
        bus_await(b);
    return 0;
}

static void req_send(struct bus_req *q)
{
    if (q->b->state != ST_UP || req_write(q) < 0)
        req_fail(q);
}

void bus_reqs_fail(struct bus_wait *w)
{
    struct bus_wait *next;

    for (; w != NULL; w = next) {
        next = w->next;
        req_fail((struct bus_req *)w);
    }
}

void bus_reqs_send(struct bus_wait *w)
{
    struct bus_wait *next;

    for (; w != NULL; w = next) {
        next = w->next;
        w->next = NULL;
        req_send((struct bus_req *)w);
    }
}

/* The most ARGV a script takes (the join script's). */
#define SCRIPT_ARGS_MAX 22

/* Runs script sc with args (room first) for a request; when room is not
 * NULL, after its subscription is confirmed. Returns 0 or -1. */
static int req_start(struct bus *b, enum bus_script sc, enum req_kind kind,
                     const char *room, int nargs, const char **args,
                     const size_t *lens, void *cb, void *arg)
{
    const char *argv[3 + SCRIPT_ARGS_MAX] = {"EVALSHA", b->sha[sc], "0"};
    size_t argvlen[3 + SCRIPT_ARGS_MAX] = {7, 40, 1};
    struct bus_req *q;
    struct bus_sub *s = NULL;

    if (!bus_can_send(b) || nargs > SCRIPT_ARGS_MAX)
        return -1;
    memcpy(argv + 3, args, (size_t)nargs * sizeof *args);
    memcpy(argvlen + 3, lens, (size_t)nargs * sizeof *lens);
    if (room != NULL) {
        if (bus_subscribe_room(b, room) < 0)
            return -1;
        s = bus_subs_find(&b->subs, room);
    }
    q = req_new(b, kind, nargs + 3, argv, argvlen);
    if (q == NULL)
        return -1;
    if (kind == REQ_ROOM)
        q->room_cb = (bus_room_fn *)cb;
    else if (kind == REQ_OWNER)
        q->owner_cb = (bus_owner_fn *)cb;
    else
        q->done_cb = (bus_done_fn *)cb;
    q->arg = arg;
    if (s != NULL && bus_sub_pending(s)) {
        bus_sub_wait(s, &q->wait);
        return 0;
    }
    if (req_write(q) < 0) {
        free(q);
        return -1;
    }
    return 0;
}

/* ---- public calls ---------------------------------------------------- */

/* s, or "" for NULL. */
static const char *str_or_empty(const char *s)
{
    return s != NULL ? s : "";
}

int bus_join(struct bus *b, const char *room, const char *peer,
             const char *token, const char *json, size_t len,
             const char *announce, size_t announce_len, int flags,
             const struct bus_entry *e, bus_room_fn *cb, void *arg)
{
    char cap[24], chatmax[24], role[24], lobbymax[24], tries[24], window[24];
    char moves[24], attempt[24];
    const struct bus_entry none = {.role = 0};
    const char *env = "";
    size_t envlen = 0;

    if (!bus_room_ok(room) || peer == NULL ||
        !bus_id_ok(peer, BUS_TOKEN_MAX, false) || json == NULL || len == 0 ||
        len > BUS_MSG_MAX ||
        (token != NULL && *token != '\0' &&
         !bus_id_ok(token, BUS_TOKEN_MAX, false)) ||
        (e != NULL && e->ticket != NULL &&
         !bus_id_ok(e->ticket, BUS_TOKEN_MAX, false)))
        return -1;
    if (announce != NULL &&
        (env = envelope(b, announce, announce_len, &envlen)) == NULL)
        return -1;
    if (e == NULL)
        e = &none;
    LONGSTR(cap, b->cfg.max_peers);
    LONGSTR(chatmax, b->cfg.chat_max);
    LONGSTR(role, e->role);
    LONGSTR(lobbymax, b->cfg.lobby_max);
    LONGSTR(tries, b->cfg.password_tries);
    LONGSTR(window, b->cfg.password_window_ms);
    LONGSTR(moves, e->moves);
    LONGSTR(attempt, e->attempt);
    {
        const char *a[] = {room,
                           peer,
                           json,
                           b->id,
                           cap,
                           (flags & BUS_JOIN_FORCE) ? "1" : "0",
                           str_or_empty(token),
                           env,
                           chatmax,
                           role,
                           e->tokens ? "1" : "0",
                           str_or_empty(e->addr),
                           str_or_empty(e->pwhash),
                           e->knocked || e->takes_over ? peer : "",
                           str_or_empty(e->knock),
                           lobbymax,
                           tries,
                           window,
                           str_or_empty(e->ticket),
                           moves,
                           e->takes_over ? "1" : "0",
                           attempt};
        size_t l[sizeof a / sizeof a[0]];
        for (size_t i = 0; i < sizeof a / sizeof a[0]; i++) /* 2, 7: no NUL */
            l[i] = i == 2 ? len : i == 7 ? envlen : strlen(a[i]);
        return req_start(b, SC_JOIN, REQ_ROOM, room,
                         (int)(sizeof a / sizeof a[0]), a, l, (void *)cb, arg);
    }
}

int bus_resume(struct bus *b, const char *room, const char *token,
               const char *new_token, int64_t attempt, bus_room_fn *cb,
               void *arg)
{
    char chatmax[24], att[24];

    if (!bus_room_ok(room) || token == NULL || new_token == NULL ||
        !bus_id_ok(token, BUS_TOKEN_MAX, false) ||
        !bus_id_ok(new_token, BUS_TOKEN_MAX, false))
        return -1;
    LONGSTR(chatmax, b->cfg.chat_max);
    LONGSTR(att, attempt);
    {
        const char *a[] = {room, token, new_token, b->id, chatmax, att};
        size_t l[] = {strlen(room),  strlen(token),   strlen(new_token),
                      strlen(b->id), strlen(chatmax), strlen(att)};
        return req_start(b, SC_RESUME, REQ_ROOM, room, 6, a, l, (void *)cb,
                         arg);
    }
}

int bus_seat_of(struct bus *b, const char *room, const char *token,
                bus_owner_fn *cb, void *arg)
{
    if (!bus_room_ok(room) || token == NULL ||
        !bus_id_ok(token, BUS_TOKEN_MAX, false))
        return -1;
    {
        const char *a[] = {room, token, b->id};
        size_t l[] = {strlen(room), strlen(token), strlen(b->id)};
        return req_start(b, SC_SEAT_OF, REQ_OWNER, room, 3, a, l, (void *)cb,
                         arg);
    }
}

int bus_leave(struct bus *b, const char *room, const char *peer,
              const char *announce, size_t announce_len, int64_t ticket_ms,
              bus_done_fn *cb, void *arg)
{
    char ttl[24], ticket[24];
    const char *env = "";
    size_t envlen = 0;

    if (!bus_room_ok(room) || peer == NULL ||
        !bus_id_ok(peer, BUS_TOKEN_MAX, false))
        return -1;
    if (announce != NULL &&
        (env = envelope(b, announce, announce_len, &envlen)) == NULL)
        return -1;
    LONGSTR(ttl, b->cfg.room_ttl_ms);
    LONGSTR(ticket, ticket_ms);
    {
        const char *a[] = {room, peer, b->id, ttl, env, ticket};
        size_t l[] = {strlen(room), strlen(peer), strlen(b->id),
                      strlen(ttl),  envlen,       strlen(ticket)};
        return req_start(b, SC_LEAVE, REQ_DONE, NULL, 6, a, l, (void *)cb, arg);
    }
}

int bus_update(struct bus *b, const char *room, const char *peer,
               const char *json, size_t len, const char *announce,
               size_t announce_len, bus_done_fn *cb, void *arg)
{
    const char *env = "";
    size_t envlen = 0;

    if (!bus_room_ok(room) || peer == NULL ||
        !bus_id_ok(peer, BUS_TOKEN_MAX, false) || json == NULL || len == 0 ||
        len > BUS_MSG_MAX)
        return -1;
    if (announce != NULL &&
        (env = envelope(b, announce, announce_len, &envlen)) == NULL)
        return -1;
    {
        const char *a[] = {room, peer, b->id, json, env};
        size_t l[] = {strlen(room), strlen(peer), strlen(b->id), len, envlen};
        return req_start(b, SC_UPDATE, REQ_DONE, NULL, 5, a, l, (void *)cb,
                         arg);
    }
}

int bus_chat(struct bus *b, const char *room, const char *json, size_t len,
             const char *announce, size_t announce_len, bus_done_fn *cb,
             void *arg)
{
    char chatmax[24], ttl[24], maxbytes[24];
    const char *env = "";
    size_t envlen = 0;

    if (!bus_room_ok(room) || json == NULL || len == 0 || len > BUS_MSG_MAX)
        return -1;
    if (announce != NULL &&
        (env = envelope(b, announce, announce_len, &envlen)) == NULL)
        return -1;
    LONGSTR(chatmax, b->cfg.chat_max);
    LONGSTR(ttl, b->cfg.room_ttl_ms);
    LONGSTR(maxbytes, b->cfg.history_max_bytes);
    {
        const char *a[] = {room, json, chatmax, ttl, env, maxbytes, b->id};
        size_t l[] = {strlen(room), len,    strlen(chatmax),
                      strlen(ttl),  envlen, strlen(maxbytes),
                      strlen(b->id)};
        return req_start(b, SC_CHAT, REQ_DONE, NULL, 7, a, l, (void *)cb, arg);
    }
}

int bus_host(struct bus *b, enum bus_action act, const char *room,
             const char *by, const char *a, const char *b2, bus_done_fn *cb,
             void *arg)
{
    static const char *const names[] = {
        [BUS_DO_ROLE] = "role",         [BUS_DO_KICK] = "kick",
        [BUS_DO_END] = "end",           [BUS_DO_LOCK] = "lock",
        [BUS_DO_PASSWORD] = "password", [BUS_DO_ADMIT] = "admit",
        [BUS_DO_DENY] = "deny",         [BUS_DO_WITHDRAW] = "withdraw",
        [BUS_DO_ACCESS] = "access",
    };
    char ttl[24], cap[24];

    if ((unsigned)act >= sizeof names / sizeof names[0] || !bus_room_ok(room) ||
        by == NULL || !bus_id_ok(by, BUS_TOKEN_MAX, false) ||
        strlen(str_or_empty(a)) > BUS_MSG_MAX ||
        strlen(str_or_empty(b2)) > BUS_MSG_MAX)
        return -1;
    LONGSTR(ttl, b->cfg.room_ttl_ms);
    LONGSTR(cap, b->cfg.max_peers);
    if (act == BUS_DO_ADMIT) /* an admission past the cap is refused */
        b2 = cap;
    if (act == BUS_DO_WITHDRAW) /* only this node's knock or answer */
        a = b->id;
    {
        const char *v[] = {names[act],      room, by, ttl, str_or_empty(a),
                           str_or_empty(b2)};
        size_t l[sizeof v / sizeof v[0]];
        for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
            l[i] = strlen(v[i]);
        return req_start(b, SC_HOST, REQ_DONE, NULL, 6, v, l, (void *)cb, arg);
    }
}

int bus_room(struct bus *b, const char *room, bus_room_fn *cb, void *arg)
{
    char chatmax[24];

    if (!bus_room_ok(room))
        return -1;
    LONGSTR(chatmax, b->cfg.chat_max);
    {
        const char *a[] = {room, chatmax};
        size_t l[] = {strlen(room), strlen(chatmax)};
        return req_start(b, SC_ROOM, REQ_ROOM, NULL, 2, a, l, (void *)cb, arg);
    }
}

int bus_drain(struct bus *b, const struct bus_seat *seats, size_t n,
              bus_done_fn *cb, void *arg)
{
    size_t argc = 5 + 3 * n;
    const char **argv = calloc(argc, sizeof *argv);
    size_t *lens = calloc(argc, sizeof *lens);
    char(*ms)[24] = calloc(n + 1, sizeof *ms);
    char ttl[24];
    struct bus_req *q = NULL;

    if (argv == NULL || lens == NULL || ms == NULL || !bus_can_send(b) ||
        argc > INT_MAX)
        goto fail;
    argv[0] = "EVALSHA";
    argv[1] = b->sha[SC_DRAIN];
    argv[2] = "0";
    argv[3] = b->id;
    LONGSTR(ttl, b->cfg.room_ttl_ms);
    argv[4] = ttl;
    for (size_t i = 0; i < n; i++) {
        if (!bus_room_ok(seats[i].room) ||
            !bus_id_ok(seats[i].peer, BUS_TOKEN_MAX, false))
            goto fail;
        LONGSTR(ms[i], seats[i].grace_ms > 0 ? seats[i].grace_ms : 0);
        argv[5 + 3 * i] = seats[i].room;
        argv[6 + 3 * i] = seats[i].peer;
        argv[7 + 3 * i] = ms[i];
    }
    for (size_t i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    q = req_new(b, REQ_DONE, (int)argc, argv, lens);
    if (q == NULL)
        goto fail;
    q->done_cb = cb;
    q->arg = arg;
    if (req_write(q) < 0)
        goto fail;
    uv_timer_stop(&b->t_heartbeat); /* the script deletes the liveness key */
    free(argv);
    free(lens);
    free(ms);
    return 0;
fail:
    free(q);
    free(argv);
    free(lens);
    free(ms);
    return -1;
}

static int publish(struct bus *b, const char *ch, size_t chlen,
                   const char *json, size_t len)
{
    const char *argv[3] = {"PUBLISH", ch, NULL};
    size_t lens[3] = {7, chlen, 0};

    if (!bus_can_send(b) ||
        (argv[2] = envelope(b, json, len, &lens[2])) == NULL)
        return -1;
    return redisAsyncCommandArgv(b->cmd, bus_on_ignore, (void *)"PUBLISH", 3,
                                 argv, lens) == REDIS_OK
               ? 0
               : -1;
}

int bus_publish_room(struct bus *b, const char *room, const char *json,
                     size_t len)
{
    char ch[sizeof BUS_ROOM_CH + ROOMID_MAX];

    if (!bus_room_ok(room) || json == NULL)
        return -1;
    return publish(b, ch,
                   (size_t)snprintf(ch, sizeof ch, BUS_ROOM_CH "%s", room),
                   json, len);
}

int bus_publish_node(struct bus *b, const char *node, const char *json,
                     size_t len)
{
    char ch[sizeof BUS_NODE_CH + BUS_ID_MAX];

    if (node == NULL || !bus_id_ok(node, BUS_ID_MAX, true) || json == NULL)
        return -1;
    return publish(b, ch,
                   (size_t)snprintf(ch, sizeof ch, BUS_NODE_CH "%s", node),
                   json, len);
}

bool bus_is_up(const struct bus *b)
{
    return b->state == ST_UP;
}

bool bus_lost_data(const struct bus *b)
{
    return b->lost_data;
}

const char *bus_node_id(const struct bus *b)
{
    return b->id;
}

/* ---- room subscriptions ---------------------------------------------- */

int bus_subscribe_room(struct bus *b, const char *room)
{
    struct bus_sub *s;

    if (!bus_room_ok(room) || (s = bus_subs_get(&b->subs, room)) == NULL)
        return -1;
    if (s->wanted)
        return 0;
    s->wanted = true;
    if (b->sub != NULL && bus_sub_send(b, s, "SUBSCRIBE") < 0)
        log_warn("bus: SUBSCRIBE room=%s not sent", room);
    return 0;
}

void bus_unsubscribe_room(struct bus *b, const char *room)
{
    struct bus_sub *s;
    struct bus_wait *w;

    if (!bus_room_ok(room) || (s = bus_subs_find(&b->subs, room)) == NULL ||
        !s->wanted)
        return;
    s->wanted = false;
    w = bus_sub_detach(s);
    if (b->sub != NULL && bus_sub_send(b, s, "UNSUBSCRIBE") < 0)
        log_warn("bus: UNSUBSCRIBE room=%s not sent", room);
    bus_subs_release(&b->subs, s);
    bus_reqs_fail(w);
}

/* ---- PeerJS ids ------------------------------------------------------ */

/* Whether id is a PeerJS id (peerjs.h): only these reach the scripts,
 * which put it in JSON unescaped. */
static bool pj_id_ok(const char *id)
{
    size_t n = id != NULL ? strlen(id) : 0;

    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == ' ' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* Runs one of the PeerJS scripts with id, this node and third. */
static int pj_call(struct bus *b, enum bus_script sc, enum req_kind kind,
                   const char *id, const char *third, void *cb, void *arg)
{
    if (!pj_id_ok(id) || third == NULL || strlen(third) > 64)
        return -1;
    const char *a[] = {id, b->id, third};
    size_t l[] = {strlen(id), strlen(b->id), strlen(third)};
    return req_start(b, sc, kind, NULL, 3, a, l, cb, arg);
}

int bus_pj_claim(struct bus *b, const char *id, const char *token,
                 bus_done_fn *cb, void *arg)
{
    return pj_call(b, SC_PJ_CLAIM, REQ_DONE, id, token, (void *)cb, arg);
}

int bus_pj_release(struct bus *b, const char *id, const char *token,
                   bus_done_fn *cb, void *arg)
{
    return pj_call(b, SC_PJ_RELEASE, REQ_DONE, id, token, (void *)cb, arg);
}

int bus_pj_route(struct bus *b, const char *id, long wait_ms, bus_owner_fn *cb,
                 void *arg)
{
    char ms[24];

    LONGSTR(ms, wait_ms > 0 ? wait_ms : 1);
    return pj_call(b, SC_PJ_ROUTE, REQ_OWNER, id, ms, (void *)cb, arg);
}
