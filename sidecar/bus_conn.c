/* bus_conn: the two Redis connections of a bus, their event-loop adapter
 * and their supervision: connect, handshake, watchdog, heartbeat, reaper,
 * reconnect; and bus_create/bus_free (see bus.h and docs/cluster.md).
 *
 * Connection life: DOWN -(reconnect timer)-> CONNECTING -(handshake done on
 * both connections)-> UP -(error, EOF, watchdog)-> DOWN. Any trouble on
 * either connection drops both: one state for the whole bus keeps the
 * callers' picture simple (up: everything works; down: nothing does).
 *
 * hiredis 0.14.1 hazards handled here:
 * - every reply callback may get reply == NULL (the context is being freed);
 * - a failed connect calls onConnect(REDIS_ERR) and frees the context
 *   itself, without onDisconnect;
 * - redisAsyncFree() from inside a callback of the same context is
 *   deferred until the callback returns, and then runs the remaining
 *   callbacks with NULL: we clear ac->data first so that our disconnect
 *   handler ignores a context we dropped on purpose;
 * - PING on a subscribed context never reaches its callback (the "pong"
 *   array is taken for a pattern message), so the watchdog publishes to
 *   this node's own channel instead: one probe covers both connections;
 * - the event-loop adapter (below) ignores uv_poll errors, as hiredis's own
 *   libuv adapter does, so a refused connect or a reset can go unnoticed:
 *   the handshake deadline and the watchdog catch both.
 *
 * The adapter is ours and not hiredis's adapters/libuv.h, which calls
 * uv_poll_start() on every command queued and every write done (libuv 1.44
 * turns each into an epoll_ctl DEL and ADD): a command queued only marks
 * its connection, one write per loop turn sends all that was queued, and
 * replies nobody waits for are read after a wake-up the loop had anyway
 * ("late reads", below; docs/performance.md). */
#include <assert.h>
#include <hiredis/sds.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "bus_lua.h"
#include "bus_priv.h"
#include "bus_reply.h"
#include "log.h"

static const char *const bus_scripts[SC_N] = {
    bus_lua_join,     bus_lua_resume, bus_lua_seat_of,  bus_lua_leave,
    bus_lua_update,   bus_lua_chat,   bus_lua_room,     bus_lua_reap,
    bus_lua_drain,    bus_lua_host,   bus_lua_pj_claim, bus_lua_pj_release,
    bus_lua_pj_route,
};

static void on_sub_reply(redisAsyncContext *ac, void *reply, void *privdata);
static void bus_connect(struct bus *b);

/* ---- small helpers --------------------------------------------------- */

bool bus_can_send(const struct bus *b)
{
    return b->state == ST_UP && sdslen(b->cmd->c.obuf) < BUS_OBUF_MAX;
}

static uint64_t bus_rand(struct bus *b)
{
    /* xorshift64*: jitter only, seeded from getrandom(). */
    b->rng ^= b->rng >> 12;
    b->rng ^= b->rng << 25;
    b->rng ^= b->rng >> 27;
    return b->rng * 2685821657736338717ULL;
}

void bus_log_reply_error(const char *what, const redisReply *r)
{
    char esc[200];

    log_warn("bus: %s: redis answered %s", what,
             log_escape(esc, sizeof esc, r->str, r->len, 120));
}

void bus_on_ignore(redisAsyncContext *ac, void *reply, void *privdata)
{
    const redisReply *r = reply;

    (void)ac;
    if (r != NULL && r->type == REDIS_REPLY_ERROR)
        bus_log_reply_error(privdata, r);
}

int bus_sub_send(struct bus *b, struct bus_sub *s, const char *verb)
{
    char ch[sizeof BUS_ROOM_CH + ROOMID_MAX];
    const char *argv[2] = {verb, ch};
    size_t lens[2] = {strlen(verb), 0};

    lens[1] = (size_t)snprintf(ch, sizeof ch, BUS_ROOM_CH "%s", s->room);
    if (redisAsyncCommandArgv(b->sub, on_sub_reply, b, 2, argv, lens) !=
        REDIS_OK)
        return -1;
    if (verb[0] == 'S')
        s->sent++;
    else
        s->unsubs++;
    return 0;
}

/* ---- subscribe connection -------------------------------------------- */

/* A room message for the room named room: an envelope on the room's
 * channel, or relayed by a script to this node's channel. */
static void room_message(struct bus *b, const char *room, const char *msg,
                         size_t len)
{
    char origin[BUS_ID_MAX + 1];
    const char *json;
    size_t jlen;

    if (bus_envelope_parse(msg, len, origin, &json, &jlen) < 0) {
        log_warn("bus: room=%s: message not in the envelope format", room);
        return;
    }
    if (strcmp(origin, b->id) == 0)
        return; /* delivered locally by its sender */
    if (b->cb.on_room_message != NULL)
        b->cb.on_room_message(b->user, room, origin, json, jlen);
}

static void on_message(struct bus *b, const redisReply *ch,
                       const redisReply *msg)
{
    char origin[BUS_ID_MAX + 1], room[ROOMID_MAX + 1];
    const char *json;
    size_t len;

    if (ch->len != strlen(b->node_ch) ||
        memcmp(ch->str, b->node_ch, ch->len) != 0) {
        if (bus_channel_room(ch->str, ch->len, room) == 0)
            room_message(b, room, msg->str, msg->len);
        return;
    }
    if (msg->len > 5 && memcmp(msg->str, "ping ", 5) == 0) {
        uint64_t seq = strtoull(msg->str + 5, NULL, 10);
        if (seq == b->ping_sent)
            b->ping_seen = seq;
    } else if (bus_relay_parse(msg->str, msg->len, room, &json, &len) == 0) {
        room_message(b, room, json, len);
    } else if (bus_envelope_parse(msg->str, msg->len, origin, &json, &len) ==
                   0 &&
               b->cb.on_node_message != NULL) {
        b->cb.on_node_message(b->user, origin, json, len);
    }
}

static void on_reaper(uv_timer_t *t); /* below */

static void maybe_up(struct bus *b)
{
    if (b->state != ST_CONNECTING || !b->hs_cmd || !b->hs_sub)
        return;
    b->state = ST_UP;
    b->attempt = 0;
    b->ping_seen = b->ping_sent;
    /* The first reap waits until every live node has had time to come
     * back and refresh its liveness key: after Redis was away longer than
     * the node TTL (a restart that kept its data), every node's key has
     * expired, and a reap at once would take the seats of the nodes still
     * waiting out their reconnect backoff. */
    uv_timer_start(&b->t_reaper, on_reaper,
                   (uint64_t)(b->cfg.node_ttl_ms + b->cfg.backoff_max_ms),
                   (uint64_t)b->cfg.reaper_ms);
    log_info("bus: connected to redis %s as node %s", b->url.where, b->id);
    if (b->cb.on_up != NULL)
        b->cb.on_up(b->user);
}

static void on_sub_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct bus *b = privdata;
    const redisReply *r = reply, *kind, *ch;
    char room[ROOMID_MAX + 1];
    bool up = b->state == ST_UP;

    if (r == NULL || b->freeing || ac != b->sub ||
        r->type != REDIS_REPLY_ARRAY || r->elements < 3)
        return;
    kind = r->element[0];
    ch = r->element[1];
    if (kind->type != REDIS_REPLY_STRING || ch->type != REDIS_REPLY_STRING)
        return;
    if (bus_reply_is(kind, "message")) {
        if (r->element[2]->type == REDIS_REPLY_STRING)
            on_message(b, ch, r->element[2]);
        return;
    }
    if (ch->len == strlen(b->node_ch) &&
        memcmp(ch->str, b->node_ch, ch->len) == 0) {
        if (bus_reply_is(kind, "subscribe")) {
            b->hs_sub = true;
            maybe_up(b);
        }
        return;
    }
    if (bus_channel_room(ch->str, ch->len, room) < 0)
        return;
    if (bus_reply_is(kind, "subscribe"))
        bus_reqs_send(bus_subs_ack(&b->subs, room, true, up));
    else if (bus_reply_is(kind, "unsubscribe"))
        bus_subs_ack(&b->subs, room, false, up);
}

/* ---- event-loop adapter ---------------------------------------------- */

/* Which of the bus' two connections one is. */
enum conn_kind { CONN_CMD, CONN_SUB };

/* What hiredis's ev hooks of one connection drive. Freed when its three
 * handles have closed, after hiredis let go of the context (io_cleanup). */
struct bus_io {
    redisAsyncContext *ac; /* NULL once hiredis cleaned up */
    enum conn_kind kind;
    uv_poll_t poll;
    uv_idle_t idle;   /* started while queued commands wait for their write */
    uv_check_t check; /* late reads, after every loop turn */
    int events;       /* what poll is started with: UV_READABLE, UV_WRITABLE */
    bool writing;     /* inside redisAsyncHandleWrite() */
    bool fresh;       /* written in this loop turn: no reply yet, likely */
    int open;         /* handles not closed yet */
};

static void on_io_poll(uv_poll_t *h, int status, int events);

/* Late reads. A reply nobody waits for (a chat's, a publish's) is not
 * worth a wake-up of its own: the command connection polls for reading
 * only while the bus is not up or a request is awaited (b->awaited, see
 * bus.c req_write); otherwise its replies are read after a loop turn that
 * woke for something else (on_io_check). The watchdog's timer wakes the
 * loop every ping_ms, so none waits longer than that. Steady chat then
 * makes no epoll_ctl: the interest changes around awaited requests only
 * (docs/performance.md). */
static bool io_reads_now(const struct bus_io *io)
{
    const struct bus *b = io->ac->data;

    return io->kind == CONN_SUB || b == NULL || b->state != ST_UP ||
           b->awaited > 0;
}

/* Starts poll with events, or stops it; only when they change: each
 * uv_poll_start() costs an epoll_ctl DEL now and an ADD at the next poll. */
static void io_set(struct bus_io *io, int events)
{
    if (io->ac == NULL || events == io->events)
        return;
    io->events = events;
    if (events != 0)
        uv_poll_start(&io->poll, events, on_io_poll);
    else
        uv_poll_stop(&io->poll);
}

static void io_write(struct bus_io *io)
{
    io->fresh = true;
    io->writing = true;
    redisAsyncHandleWrite(io->ac); /* may free the context: io stays */
    io->writing = false;
}

static void on_io_poll(uv_poll_t *h, int status, int events)
{
    struct bus_io *io = h->data;

    if (status != 0) {
        io->events = 0; /* libuv stopped the poll; the watchdog judges */
        return;
    }
    if (io->ac != NULL && (events & UV_READABLE))
        redisAsyncHandleRead(io->ac);
    if (io->ac != NULL && (events & UV_WRITABLE))
        io_write(io);
}

/* Once per loop turn while commands wait: one write of all of them. An
 * idle handle and not a prepare: it also runs when a command was queued
 * after this turn's prepare handles (a websocket closed by ws.c's flush),
 * as libuv does not block in the poll while one is active. */
static void on_io_idle(uv_idle_t *h)
{
    struct bus_io *io = h->data;

    uv_idle_stop(h);
    if (io->ac != NULL)
        io_write(io);
}

/* After each loop turn: on a command connection that does not poll for
 * reading, read what came unless it was written to in this very turn (its
 * replies are most likely not there yet); and stop polling for reading
 * once no reply is awaited. */
static void on_io_check(uv_check_t *h)
{
    struct bus_io *io = h->data;
    bool fresh = io->fresh;

    io->fresh = false;
    if (io->ac == NULL || !(io->ac->c.flags & REDIS_CONNECTED))
        return;
    if (!(io->events & UV_READABLE) && io->ac->replies.head != NULL && !fresh)
        redisAsyncHandleRead(io->ac); /* may free the context */
    if (io->ac != NULL && (io->events & UV_READABLE) && !io_reads_now(io))
        io_set(io, io->events & ~UV_READABLE);
}

static void io_add_read(void *data)
{
    struct bus_io *io = data;

    if (io->ac != NULL && io_reads_now(io))
        io_set(io, io->events | UV_READABLE);
}

void bus_await(struct bus *b)
{
    b->awaited++;
    if (b->cmd != NULL)
        io_add_read(b->cmd->ev.data);
}

static void io_del_read(void *data)
{
    struct bus_io *io = data;

    io_set(io, io->events & ~UV_READABLE);
}

/* hiredis asks for a write: after a command was queued, or when a write
 * left a rest. POLLOUT only for the connect and for a rest the socket did
 * not take; otherwise the write waits for this turn's idle callback. */
static void io_add_write(void *data)
{
    struct bus_io *io = data;

    if (io->ac == NULL)
        return;
    if (io->writing || !(io->ac->c.flags & REDIS_CONNECTED))
        io_set(io, io->events | UV_WRITABLE);
    else if (!(io->events & UV_WRITABLE))
        uv_idle_start(&io->idle, on_io_idle);
}

static void io_del_write(void *data)
{
    struct bus_io *io = data;

    io_set(io, io->events & ~UV_WRITABLE);
}

static void on_io_closed(uv_handle_t *h)
{
    struct bus_io *io = h->data;

    if (--io->open == 0)
        free(io);
}

/* hiredis is done with the context (it frees it next). */
static void io_cleanup(void *data)
{
    struct bus_io *io = data;

    io->ac = NULL;
    uv_close((uv_handle_t *)&io->poll, on_io_closed);
    uv_close((uv_handle_t *)&io->idle, on_io_closed);
    uv_close((uv_handle_t *)&io->check, on_io_closed);
}

/* Returns 0 with ac's events driven by loop, or -1 (nothing attached).
 * The command connection gets late reads (on_io_check); the subscribe
 * connection always polls for reading. */
static int io_attach(redisAsyncContext *ac, uv_loop_t *loop,
                     enum conn_kind kind)
{
    struct bus_io *io = calloc(1, sizeof *io);

    if (io == NULL)
        return -1;
    if (uv_poll_init(loop, &io->poll, ac->c.fd) != 0) {
        free(io);
        return -1;
    }
    uv_idle_init(loop, &io->idle);
    uv_check_init(loop, &io->check);
    if (kind == CONN_CMD)
        uv_check_start(&io->check, on_io_check);
    io->ac = ac;
    io->kind = kind;
    io->open = 3;
    io->poll.data = io->idle.data = io->check.data = io;
    ac->ev.data = io;
    ac->ev.addRead = io_add_read;
    ac->ev.delRead = io_del_read;
    ac->ev.addWrite = io_add_write;
    ac->ev.delWrite = io_del_write;
    ac->ev.cleanup = io_cleanup;
    return 0;
}

/* ---- connections ----------------------------------------------------- */

static void on_connect(const redisAsyncContext *ac, int status)
{
    struct bus *b = ac->data;

    if (b == NULL || status == REDIS_OK)
        return;
    /* hiredis frees ac itself after this returns. */
    if (ac == b->cmd)
        b->cmd = NULL;
    else if (ac == b->sub)
        b->sub = NULL;
    bus_drop(b, ac->errstr);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    struct bus *b = ac->data;

    (void)status;
    if (b == NULL)
        return;
    if (ac == b->cmd)
        b->cmd = NULL;
    else if (ac == b->sub)
        b->sub = NULL;
    bus_drop(b, ac->err ? ac->errstr : "connection closed");
}

_Static_assert(BUS_PATH_MAX + 2 == sizeof((struct sockaddr_un *)0)->sun_path,
               "bus_wire.h: BUS_PATH_MAX is sun_path less two");

static redisAsyncContext *conn_open(struct bus *b, enum conn_kind kind)
{
    redisAsyncContext *ac = b->url.path[0] != '\0'
                                ? redisAsyncConnectUnix(b->url.path)
                                : redisAsyncConnect(b->url.host, b->url.port);

    if (ac == NULL)
        return NULL;
    if (ac->err) {
        snprintf(b->err, sizeof b->err, "%s", ac->errstr);
        redisAsyncFree(ac);
        return NULL;
    }
    if (io_attach(ac, b->loop, kind) < 0) {
        redisAsyncFree(ac);
        return NULL;
    }
    ac->data = b;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    return ac;
}

/* Handshake replies (and heartbeats): any error drops. */
static void on_hs_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct bus *b = privdata;
    const redisReply *r = reply;

    if (r == NULL || b->freeing || (ac != b->cmd && ac != b->sub))
        return;
    if (r->type == REDIS_REPLY_ERROR) {
        bus_log_reply_error("handshake", r);
        bus_drop(b, "handshake refused");
    }
}

static void on_hs_load(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct bus_load *l = privdata;
    struct bus *b = l->b;
    const redisReply *r = reply;

    if (r == NULL || b->freeing || ac != b->cmd)
        return;
    if (r->type != REDIS_REPLY_STRING || r->len != 40) {
        if (r->type == REDIS_REPLY_ERROR)
            bus_log_reply_error("SCRIPT LOAD", r);
        bus_drop(b, "SCRIPT LOAD failed");
        return;
    }
    memcpy(b->sha[l->idx], r->str, 40);
    b->sha[l->idx][40] = '\0';
}

static void on_hs_done(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct bus *b = privdata;
    const redisReply *r = reply;

    if (r == NULL || b->freeing || ac != b->cmd ||
        r->type == REDIS_REPLY_ERROR || b->state != ST_CONNECTING)
        return;
    b->hs_cmd = true;
    maybe_up(b);
}

/* The PEXPIRE of a heartbeat sent while up answers whether the liveness
 * key was still there. 0: it expired, as this process stalled or was cut
 * off from Redis longer than the node TTL (the SET after it sets it
 * again); the caller re-asserts this node's seats (on_lapsed) before their
 * grace ends. The connections stay: dropping them would lose what Redis
 * holds for this node's pages since the stall. */
static void on_heartbeat_reply(redisAsyncContext *ac, void *reply,
                               void *privdata)
{
    struct bus *b = privdata;
    const redisReply *r = reply;

    if (r == NULL || b->freeing || ac != b->cmd)
        return;
    if (r->type == REDIS_REPLY_INTEGER && r->integer == 0 &&
        b->state == ST_UP) {
        log_warn("bus: this node's liveness key had expired (it stalled or "
                 "was cut off): re-asserting its seats");
        if (b->cb.on_lapsed != NULL)
            b->cb.on_lapsed(b->user);
        return;
    }
    on_hs_reply(ac, reply, privdata);
}

/* The handshake's heartbeat (judge false) sets a key that may well be
 * gone; the periodic one (judge true) first finds out whether it was. */
static void send_heartbeat(struct bus *b, bool judge)
{
    char key[sizeof BUS_NODE_KEY + BUS_ID_MAX], ttl[24];
    const char *refresh[] = {"PEXPIRE", key, ttl};
    const char *set[] = {"SET", key, "1", "PX", ttl};
    const char *add[] = {"SADD", BUS_NODES_KEY, b->id};
    size_t refreshl[3], setl[5];
    size_t addl[] = {4, sizeof BUS_NODES_KEY - 1, strlen(b->id)};

    setl[0] = 3;
    setl[1] = (size_t)snprintf(key, sizeof key, BUS_NODE_KEY "%s", b->id);
    setl[2] = 1;
    setl[3] = 2;
    setl[4] = (size_t)LONGSTR(ttl, b->cfg.node_ttl_ms);
    refreshl[0] = 7;
    refreshl[1] = setl[1];
    refreshl[2] = setl[4];
    if (judge)
        redisAsyncCommandArgv(b->cmd, on_heartbeat_reply, b, 3, refresh,
                              refreshl);
    redisAsyncCommandArgv(b->cmd, on_hs_reply, b, 5, set, setl);
    redisAsyncCommandArgv(b->cmd, on_hs_reply, b, 3, add, addl);
}

/* GET of the epoch key (after our SET NX): lost_data when it is not the
 * one of the previous connection. */
static void on_hs_epoch(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct bus *b = privdata;
    const redisReply *r = reply;

    if (r == NULL || b->freeing || ac != b->cmd)
        return;
    if (r->type != REDIS_REPLY_STRING || r->len > BUS_EPOCH_MAX) {
        bus_drop(b, "no epoch key");
        return;
    }
    b->lost_data =
        b->epoch[0] != '\0' &&
        (strlen(b->epoch) != r->len || memcmp(b->epoch, r->str, r->len) != 0);
    memcpy(b->epoch, r->str, r->len);
    b->epoch[r->len] = '\0';
    if (b->lost_data)
        log_warn("bus: redis lost its data since the last connection "
                 "(epoch %s)",
                 b->epoch);
}

/* Sets Redis' epoch if it has none, and reads it (on_hs_epoch). */
static void epoch_check(struct bus *b)
{
    char mine[BUS_EPOCH_MAX + 1];
    const char *set[] = {"SET", BUS_EPOCH_KEY, mine, "NX"};
    const char *get[] = {"GET", BUS_EPOCH_KEY};
    size_t setl[] = {3, sizeof BUS_EPOCH_KEY - 1, 0, 2};
    size_t getl[] = {3, sizeof BUS_EPOCH_KEY - 1};

    setl[2] = (size_t)snprintf(mine, sizeof mine, "%s.%016llx", b->id,
                               (unsigned long long)bus_rand(b));
    redisAsyncCommandArgv(b->cmd, on_hs_reply, b, 4, set, setl);
    redisAsyncCommandArgv(b->cmd, on_hs_epoch, b, 2, get, getl);
}

static void resubscribe(struct bus_sub *s, void *arg)
{
    if (bus_sub_send(arg, s, "SUBSCRIBE") < 0)
        log_warn("bus: SUBSCRIBE room=%s not sent", s->room);
}

static void handshake(struct bus *b)
{
    const char *auth[] = {"AUTH", b->url.password};
    size_t authl[] = {4, strlen(b->url.password)};
    const char *subv[] = {"SUBSCRIBE", b->node_ch};
    size_t subl[] = {9, strlen(b->node_ch)};

    if (b->url.has_password) {
        redisAsyncCommandArgv(b->cmd, on_hs_reply, b, 2, auth, authl);
        redisAsyncCommandArgv(b->sub, on_hs_reply, b, 2, auth, authl);
    }
    if (b->url.db != 0)
        redisAsyncCommand(b->cmd, on_hs_reply, b, "SELECT %d", b->url.db);
    for (int i = 0; i < SC_N; i++) {
        const char *a[] = {"SCRIPT", "LOAD", bus_scripts[i]};
        size_t l[] = {6, 4, strlen(bus_scripts[i])};
        redisAsyncCommandArgv(b->cmd, on_hs_load, &b->loads[i], 3, a, l);
    }
    send_heartbeat(b, false);
    epoch_check(b);
    redisAsyncCommand(b->cmd, on_hs_done, b, "PING");
    redisAsyncCommandArgv(b->sub, on_sub_reply, b, 2, subv, subl);
    bus_subs_each_wanted(&b->subs, resubscribe, b);
}

static void bus_connect(struct bus *b)
{
    b->state = ST_CONNECTING;
    b->hs_cmd = b->hs_sub = false;
    b->connect_at = uv_now(b->loop);
    b->err[0] = '\0';
    log_debug("bus: connecting to redis %s (attempt %u)", b->url.where,
              b->attempt + 1);
    b->cmd = conn_open(b, CONN_CMD);
    if (b->cmd != NULL)
        b->sub = conn_open(b, CONN_SUB);
    if (b->cmd == NULL || b->sub == NULL) {
        bus_drop(b, b->err[0] ? b->err : "cannot open a connection");
        return;
    }
    handshake(b);
}

static void free_conn(redisAsyncContext *ac)
{
    if (ac != NULL) {
        ac->data = NULL; /* our disconnect callback ignores it now */
        redisAsyncFree(ac);
    }
}

static void on_reconnect_timer(uv_timer_t *t)
{
    struct bus *b = t->data;

    if (b->state == ST_DOWN)
        bus_connect(b);
}

void bus_drop(struct bus *b, const char *why)
{
    bool was_up = b->state == ST_UP;
    redisAsyncContext *cmd, *sub;
    uint64_t delay;

    if (b->state == ST_DOWN)
        return;
    b->state = ST_DOWN;
    if (was_up || b->attempt == 0)
        log_warn("bus: redis %s down: %s", b->url.where, why ? why : "?");
    cmd = b->cmd;
    sub = b->sub;
    b->cmd = b->sub = NULL; /* callbacks run by the frees see us down */
    free_conn(cmd);
    free_conn(sub);
    bus_reqs_fail(bus_subs_reset(&b->subs));
    delay = (uint64_t)b->cfg.backoff_min_ms
            << (b->attempt < 20 ? b->attempt : 20);
    if (delay > (uint64_t)b->cfg.backoff_max_ms)
        delay = (uint64_t)b->cfg.backoff_max_ms;
    delay = delay / 2 + bus_rand(b) % (delay / 2 + 1);
    b->attempt++;
    if (!b->freeing)
        uv_timer_start(&b->t_reconnect, on_reconnect_timer, delay, 0);
    if (was_up && b->cb.on_down != NULL)
        b->cb.on_down(b->user);
}

/* ---- timers ---------------------------------------------------------- */

/* Returns true when the socket of ac has a pending error (a refused
 * connect, a reset): the adapter drops those on the floor. */
static bool conn_broken(struct bus *b, const redisAsyncContext *ac)
{
    int err = 0;
    socklen_t len = sizeof err;

    if (ac == NULL || ac->c.fd < 0 ||
        getsockopt(ac->c.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err == 0)
        return false;
    snprintf(b->err, sizeof b->err, "%s", strerror(err));
    return true;
}

/* Every ping_ms: drop a connection whose socket failed; while connecting,
 * enforce the handshake deadline; while up, check that the last ping came back
 * within ping_timeout_ms, else publish the next one to our own channel. */
static void on_watchdog(uv_timer_t *t)
{
    struct bus *b = t->data;
    uint64_t now = uv_now(b->loop);
    char ch_ping[32];
    const char *argv[3] = {"PUBLISH", b->node_ch, ch_ping};
    size_t lens[3] = {7, strlen(b->node_ch), 0};

    if (b->last_tick != 0 &&
        now - b->last_tick > 2 * (uint64_t)b->cfg.ping_ms) {
        /* The loop stalled (process stopped, a long callback): replies may
         * sit unread in the sockets. Restart the clocks, do not judge. */
        b->ping_at = now;
        b->connect_at = now;
    }
    b->last_tick = now;
    if (b->state != ST_DOWN &&
        (conn_broken(b, b->cmd) || conn_broken(b, b->sub))) {
        bus_drop(b, b->err);
        return;
    }
    if (b->state == ST_CONNECTING &&
        now - b->connect_at >= (uint64_t)b->cfg.ping_timeout_ms) {
        bus_drop(b, "no handshake within the ping timeout");
        return;
    }
    if (b->state != ST_UP)
        return;
    if (b->ping_seen != b->ping_sent) {
        if (now - b->ping_at >= (uint64_t)b->cfg.ping_timeout_ms)
            bus_drop(b, "watchdog: no ping back within the timeout");
        return;
    }
    b->ping_sent++;
    b->ping_at = now;
    lens[2] = (size_t)snprintf(ch_ping, sizeof ch_ping, "ping %llu",
                               (unsigned long long)b->ping_sent);
    redisAsyncCommandArgv(b->cmd, bus_on_ignore, (void *)"watchdog PUBLISH", 3,
                          argv, lens);
}

static void on_heartbeat(uv_timer_t *t)
{
    struct bus *b = t->data;

    if (b->state == ST_UP)
        send_heartbeat(b, true);
}

static void on_reap_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct bus *b = privdata;
    const redisReply *r = reply;

    (void)ac;
    if (r == NULL || b->freeing)
        return;
    if (r->type == REDIS_REPLY_ERROR) {
        bus_log_reply_error("reaper", r);
        return;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_INTEGER ||
        r->element[1]->type != REDIS_REPLY_INTEGER) {
        log_warn("bus: the reaper's answer is not two counts (type %d)",
                 r->type);
        return;
    }
    if (r->element[1]->integer > 0)
        log_info("bus: %lld seat(s) of dead nodes wait %ld ms for their "
                 "members to come back",
                 r->element[1]->integer, b->cfg.resume_grace_ms);
    if (r->element[0]->integer > 0)
        log_info("bus: reaped %lld member(s) of dead nodes",
                 r->element[0]->integer);
}

static void on_reaper(uv_timer_t *t)
{
    struct bus *b = t->data;
    char ttl[24], grace[24];
    const char *argv[6] = {"EVALSHA", b->sha[SC_REAP], "0", ttl, grace, b->id};
    size_t lens[6] = {7, 40, 1, 0, 0, 0};

    if (b->state != ST_UP)
        return;
    lens[3] = (size_t)LONGSTR(ttl, b->cfg.room_ttl_ms);
    lens[4] = (size_t)LONGSTR(grace, b->cfg.resume_grace_ms);
    lens[5] = strlen(b->id);
    redisAsyncCommandArgv(b->cmd, on_reap_reply, b, 6, argv, lens);
}

/* ---- create and free ------------------------------------------------- */

/* The values main.c's config table cannot check alone. */
static void config_assert(const struct bus_config *c)
{
    (void)c; /* without asserts (NDEBUG) */
    assert(c->node_ttl_ms >= 100 && c->heartbeat_ms >= 10 &&
           c->heartbeat_ms < c->node_ttl_ms);
    assert(c->reaper_ms >= 10 && c->ping_ms >= 10 && c->ping_timeout_ms >= 10);
    assert(c->backoff_min_ms >= 1 && c->backoff_max_ms >= c->backoff_min_ms);
    assert(c->max_peers >= 1 && c->room_ttl_ms >= 1 && c->chat_max >= 1 &&
           c->history_max_bytes >= 0 && c->resume_grace_ms >= 0);
}

static void on_timer_closed(uv_handle_t *h)
{
    struct bus *b = h->data;

    if (--b->closing == 0) {
        free(b->url_copy);
        bus_subs_clear(&b->subs);
        free(b->scratch);
        free(b);
    }
}

struct bus *bus_create(uv_loop_t *loop, const struct bus_config *cfg,
                       const struct bus_callbacks *cb, void *user)
{
    uv_timer_t *timers[4];
    struct bus *b;
    struct bus_url url;
    uint32_t suffix;
    char err[160];

    config_assert(cfg);
    if (bus_config_check(cfg->url, cfg->node_id, &url, err, sizeof err) < 0) {
        log_error("bus: %s", err);
        return NULL;
    }
    b = calloc(1, sizeof *b);
    if (b == NULL)
        return NULL;
    b->url = url;
    b->loop = loop;
    b->cfg = *cfg;
    b->cb = *cb;
    b->user = user;
    b->url_copy = strdup(cfg->url);
    if (bus_subs_init(&b->subs) < 0 || b->url_copy == NULL ||
        getrandom(&suffix, sizeof suffix, 0) != sizeof suffix ||
        getrandom(&b->rng, sizeof b->rng, 0) != sizeof b->rng) {
        bus_subs_clear(&b->subs);
        free(b->url_copy);
        free(b);
        return NULL;
    }
    b->rng |= 1;
    b->cfg.url = b->url_copy;
    b->cfg.node_id = NULL; /* b->id holds it */
    snprintf(b->id, sizeof b->id, "%s.%08x", cfg->node_id, suffix);
    snprintf(b->node_ch, sizeof b->node_ch, BUS_NODE_CH "%s", b->id);
    for (int i = 0; i < SC_N; i++)
        b->loads[i] = (struct bus_load){b, i};
    timers[0] = &b->t_reconnect;
    timers[1] = &b->t_watchdog;
    timers[2] = &b->t_heartbeat;
    timers[3] = &b->t_reaper;
    for (int i = 0; i < 4; i++) {
        uv_timer_init(loop, timers[i]);
        timers[i]->data = b;
    }
    uv_timer_start(&b->t_watchdog, on_watchdog, (uint64_t)cfg->ping_ms,
                   (uint64_t)cfg->ping_ms);
    uv_timer_start(&b->t_heartbeat, on_heartbeat, (uint64_t)cfg->heartbeat_ms,
                   (uint64_t)cfg->heartbeat_ms);
    /* t_reaper starts when the bus is up (maybe_up). */
    bus_connect(b);
    return b;
}

void bus_free(struct bus *b)
{
    uv_timer_t *timers[4];

    if (b == NULL)
        return;
    b->freeing = true;
    free_conn(b->cmd);
    free_conn(b->sub);
    b->cmd = b->sub = NULL;
    /* No callbacks: freeing. The entries go with the last timer. */
    bus_reqs_fail(bus_subs_reset(&b->subs));
    timers[0] = &b->t_reconnect;
    timers[1] = &b->t_watchdog;
    timers[2] = &b->t_heartbeat;
    timers[3] = &b->t_reaper;
    b->closing = 4;
    for (int i = 0; i < 4; i++)
        uv_close((uv_handle_t *)timers[i], on_timer_closed);
}
