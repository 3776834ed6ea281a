/* bus: Redis pub/sub and membership for several sidecars (see bus.h and
 * docs/cluster.md).
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
 * - the libuv adapter ignores uv_poll errors, so a refused connect or a
 *   reset can go unnoticed: the handshake deadline and the watchdog catch
 *   both. */
#include "bus.h"

#include <errno.h>
#include <hiredis/adapters/libuv.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <hiredis/sds.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "bus_lua.h"
#include "log.h"
#include "roomid.h"

#define BUS_ID_MAX 80           /* node id with its suffix */
#define BUS_TOKEN_MAX 128       /* peer ids and resume tokens */
#define BUS_MSG_MAX (1 << 20)   /* a published message */
#define BUS_ENV_EXTRA 32        /* envelope bytes around id and message */
#define BUS_OBUF_MAX (32 << 20) /* unsent bytes before sends are refused */
#define BUS_ROOM_CH "huddle:ch:room:"
#define BUS_NODE_CH "huddle:ch:node:"

enum bus_state { ST_DOWN, ST_CONNECTING, ST_UP };

enum bus_script {
    SC_JOIN,
    SC_RESUME,
    SC_LEAVE,
    SC_UPDATE,
    SC_CHAT,
    SC_ROOM,
    SC_REAP,
    SC_DRAIN,
    SC_N
};

static const char *const bus_scripts[SC_N] = {
    bus_lua_join, bus_lua_resume, bus_lua_leave, bus_lua_update,
    bus_lua_chat, bus_lua_room,   bus_lua_reap,  bus_lua_drain,
};

enum req_kind { REQ_ROOM, REQ_DONE };

/* One asynchronous call. The arguments are copied in, so a request can
 * wait for its room's subscription before it is sent. */
struct bus_req {
    struct bus *b;
    struct bus_req *next; /* in bus_sub.waiting */
    enum req_kind kind;
    bus_room_fn *room_cb;
    bus_done_fn *done_cb;
    void *arg;
    int argc;
    const char **argv;
    size_t *argvlen;
};

/* A room channel this node wants. sent/acked count SUBSCRIBEs and their
 * confirmations on the current connection; unsubs counts UNSUBSCRIBEs in
 * flight. An entry lives while wanted or while a reply is outstanding. */
struct bus_sub {
    struct bus_sub *next;
    struct bus_req *waiting, *waiting_tail;
    bool wanted;
    unsigned sent, acked, unsubs;
    char room[ROOMID_MAX + 1];
};

struct bus_load {
    struct bus *b;
    int idx;
};

struct bus {
    uv_loop_t *loop;
    struct bus_config cfg;
    struct bus_callbacks cb;
    void *user;
    struct bus_url url;
    char *url_copy;
    char id[BUS_ID_MAX + 1];
    char node_ch[sizeof BUS_NODE_CH + BUS_ID_MAX];

    enum bus_state state;
    bool freeing;
    redisAsyncContext *cmd, *sub;
    bool hs_cmd, hs_sub; /* handshake done on each connection */
    uint64_t connect_at;
    unsigned attempt;
    char sha[SC_N][41];
    struct bus_load loads[SC_N];

    uint64_t ping_sent, ping_seen, ping_at, last_tick;
    uint64_t rng;

    uv_timer_t t_reconnect, t_watchdog, t_heartbeat, t_reaper;
    int closing;

    struct bus_sub **subs;
    size_t nsubs, nbuckets;

    char *scratch;
    size_t scratch_cap;
    char err[128]; /* why the last connect failed at once */
};

static void bus_drop(struct bus *b, const char *why);
static void on_sub_reply(redisAsyncContext *ac, void *reply, void *privdata);
static void bus_connect(struct bus *b);

/* ---- URL ------------------------------------------------------------- */

static int url_uint(const char *s, size_t n, long max, int *out)
{
    long v = 0;

    if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v > max)
        return -1;
    *out = (int)v;
    return 0;
}

static int url_host(const char *s, size_t n, struct bus_url *out)
{
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']') { /* IPv6 literal */
        s++;
        n -= 2;
        if (n == 0 || strspn(s, "0123456789abcdefABCDEF:.") < n)
            return -1;
    } else if (n == 0 ||
               strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                         "0123456789.-_") < n) {
        return -1;
    }
    if (n > BUS_HOST_MAX)
        return -1;
    memcpy(out->host, s, n);
    out->host[n] = '\0';
    return 0;
}

int bus_url_parse(const char *s, struct bus_url *out)
{
    static const char scheme[] = "redis://";
    const char *p, *at, *slash, *colon, *end;

    memset(out, 0, sizeof *out);
    if (s == NULL || strncmp(s, scheme, sizeof scheme - 1) != 0)
        return -1;
    for (p = s; *p; p++)
        if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
            return -1;
    end = p;
    p = s + sizeof scheme - 1;
    at = strchr(p, '@');
    if (at != NULL) {
        size_t n = (size_t)(at - p) - 1;
        if (*p != ':' || n == 0 || n > BUS_PASSWORD_MAX ||
            memchr(p + 1, '/', n) != NULL || strchr(at + 1, '@') != NULL)
            return -1;
        memcpy(out->password, p + 1, n);
        out->password[n] = '\0';
        out->has_password = true;
        p = at + 1;
    }
    slash = strchr(p, '/');
    if (slash == NULL)
        slash = end;
    else if (url_uint(slash + 1, (size_t)(end - slash - 1), 65535, &out->db))
        return -1;
    colon = memrchr(p, ':', (size_t)(slash - p));
    if (colon == NULL || (p[0] == '[' && colon[-1] != ']'))
        return -1;
    if (url_host(p, (size_t)(colon - p), out) < 0 ||
        url_uint(colon + 1, (size_t)(slash - colon - 1), 65535, &out->port) <
            0 ||
        out->port == 0)
        return -1;
    return 0;
}

/* ---- small helpers --------------------------------------------------- */

/* Returns true when the bus is up and Redis keeps up with what we send:
 * the command connection's output buffer is the only unbounded queue. */
static bool can_send(const struct bus *b)
{
    return b->state == ST_UP && sdslen(b->cmd->c.obuf) < BUS_OBUF_MAX;
}

static bool id_chars_ok(const char *s, size_t max, bool dot)
{
    size_t n = 0;

    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '-' ||
              (dot && c == '.')))
            return false;
    }
    return n > 0 && n <= max;
}

static bool room_ok(const char *room)
{
    return room != NULL && roomid_valid(room, strlen(room));
}

static uint64_t bus_rand(struct bus *b)
{
    /* xorshift64*: jitter only, seeded from getrandom(). */
    b->rng ^= b->rng >> 12;
    b->rng ^= b->rng << 25;
    b->rng ^= b->rng >> 27;
    return b->rng * 2685821657736338717ULL;
}

static void log_reply_error(const char *what, const redisReply *r)
{
    char esc[200];

    log_warn("bus: %s: redis answered %s", what,
             log_escape(esc, sizeof esc, r->str, r->len, 120));
}

/* Returns the envelope {"origin":"<id>","msg":<json>} in the scratch
 * buffer (valid until the next call), its length in *n, or NULL. */
static const char *envelope(struct bus *b, const char *json, size_t len,
                            size_t *n)
{
    size_t idlen = strlen(b->id), need = len + idlen + BUS_ENV_EXTRA;

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
    *n = (size_t)sprintf(b->scratch, "{\"origin\":\"%s\",\"msg\":", b->id);
    memcpy(b->scratch + *n, json, len);
    *n += len;
    b->scratch[(*n)++] = '}';
    return b->scratch;
}

/* Finds origin and message in an envelope. Returns 0, or -1 when msg is
 * not exactly the format envelope() writes. origin gets the NUL-terminated
 * node id ("" from the reaper). */
static int envelope_parse(const char *p, size_t n, char *origin,
                          const char **json, size_t *len)
{
    static const char head[] = "{\"origin\":\"", mid[] = "\",\"msg\":";
    size_t i = sizeof head - 1, o = 0;

    if (n < sizeof head + sizeof mid || memcmp(p, head, i) != 0)
        return -1;
    while (i < n && p[i] != '"' && o < BUS_ID_MAX)
        origin[o++] = p[i++];
    origin[o] = '\0';
    if (!(o == 0 || id_chars_ok(origin, BUS_ID_MAX, true)) ||
        n - i < sizeof mid || memcmp(p + i, mid, sizeof mid - 1) != 0)
        return -1;
    i += sizeof mid - 1;
    if (p[n - 1] != '}' || n - 1 <= i)
        return -1;
    *json = p + i;
    *len = n - 1 - i;
    return 0;
}

/* ---- room subscriptions ---------------------------------------------- */

static size_t sub_hash(const char *s, size_t nbuckets)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return (size_t)(h & (nbuckets - 1));
}

static struct bus_sub *sub_find(struct bus *b, const char *room)
{
    struct bus_sub *s = b->subs[sub_hash(room, b->nbuckets)];

    while (s != NULL && strcmp(s->room, room) != 0)
        s = s->next;
    return s;
}

static int sub_grow(struct bus *b)
{
    size_t n = b->nbuckets * 2;
    struct bus_sub **t = calloc(n, sizeof *t);

    if (t == NULL)
        return -1;
    for (size_t i = 0; i < b->nbuckets; i++) {
        struct bus_sub *s = b->subs[i], *next;
        for (; s != NULL; s = next) {
            size_t h = sub_hash(s->room, n);
            next = s->next;
            s->next = t[h];
            t[h] = s;
        }
    }
    free(b->subs);
    b->subs = t;
    b->nbuckets = n;
    return 0;
}

static struct bus_sub *sub_add(struct bus *b, const char *room)
{
    struct bus_sub *s;
    size_t h;

    if (b->nsubs >= b->nbuckets && sub_grow(b) < 0)
        return NULL;
    s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    strcpy(s->room, room);
    h = sub_hash(room, b->nbuckets);
    s->next = b->subs[h];
    b->subs[h] = s;
    b->nsubs++;
    return s;
}

static void sub_remove(struct bus *b, struct bus_sub *s)
{
    struct bus_sub **pp = &b->subs[sub_hash(s->room, b->nbuckets)];

    while (*pp != s)
        pp = &(*pp)->next;
    *pp = s->next;
    b->nsubs--;
    free(s);
}

static void req_fail(struct bus_req *q);

/* Fails a detached list of requests. Their callbacks may call back into
 * the bus, so callers detach first and touch no bus_sub afterwards. */
static void reqs_fail(struct bus_req *q)
{
    struct bus_req *next;

    for (; q != NULL; q = next) {
        next = q->next;
        req_fail(q);
    }
}

/* Returns s's waiting requests, now detached from it. */
static struct bus_req *sub_detach(struct bus_sub *s)
{
    struct bus_req *q = s->waiting;

    s->waiting = s->waiting_tail = NULL;
    return q;
}

static void sub_maybe_free(struct bus *b, struct bus_sub *s)
{
    if (!s->wanted && s->sent == s->acked && s->unsubs == 0 &&
        s->waiting == NULL)
        sub_remove(b, s);
}

static int sub_send(struct bus *b, struct bus_sub *s, const char *verb)
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

static void req_send(struct bus_req *q);

static void sub_on_ack(struct bus *b, const char *room, bool subscribed)
{
    struct bus_sub *s = sub_find(b, room);
    struct bus_req *q, *next;

    if (s == NULL)
        return;
    if (!subscribed) {
        if (s->unsubs > 0)
            s->unsubs--;
        sub_maybe_free(b, s);
        return;
    }
    if (s->acked < s->sent)
        s->acked++;
    if (!s->wanted || s->acked != s->sent || b->state != ST_UP)
        return;
    q = s->waiting;
    s->waiting = s->waiting_tail = NULL;
    for (; q != NULL; q = next) {
        next = q->next;
        q->next = NULL;
        req_send(q);
    }
}

int bus_subscribe_room(struct bus *b, const char *room)
{
    struct bus_sub *s;

    if (!room_ok(room))
        return -1;
    s = sub_find(b, room);
    if (s == NULL && (s = sub_add(b, room)) == NULL)
        return -1;
    if (s->wanted)
        return 0;
    s->wanted = true;
    if (b->sub != NULL && sub_send(b, s, "SUBSCRIBE") < 0)
        log_warn("bus: SUBSCRIBE room=%s not sent", room);
    return 0;
}

void bus_unsubscribe_room(struct bus *b, const char *room)
{
    struct bus_sub *s;
    struct bus_req *q;

    if (!room_ok(room) || (s = sub_find(b, room)) == NULL || !s->wanted)
        return;
    s->wanted = false;
    q = sub_detach(s);
    if (b->sub != NULL && sub_send(b, s, "UNSUBSCRIBE") < 0)
        log_warn("bus: UNSUBSCRIBE room=%s not sent", room);
    sub_maybe_free(b, s);
    reqs_fail(q);
}

/* After a drop: nothing is in flight any more. */
static void subs_reset(struct bus *b)
{
    struct bus_req *failed = NULL;

    for (size_t i = 0; i < b->nbuckets; i++) {
        struct bus_sub *s = b->subs[i], *next;
        for (; s != NULL; s = next) {
            struct bus_req *q = sub_detach(s), *qn;
            next = s->next;
            for (; q != NULL; q = qn) {
                qn = q->next;
                q->next = failed;
                failed = q;
            }
            s->sent = s->acked = s->unsubs = 0;
            sub_maybe_free(b, s);
        }
    }
    reqs_fail(failed);
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
        }
    }
    free(q);
}

static bool reply_is(const redisReply *r, const char *s)
{
    return r->type == REDIS_REPLY_STRING && r->len == strlen(s) &&
           memcmp(r->str, s, r->len) == 0;
}

/* Fills members and chat of *out from the script's arrays. Returns 0, or
 * -1 for a malformed reply or no memory (*mem then NULL). */
static int room_parse(const redisReply *flat, const redisReply *chat,
                      struct bus_room *out, void **mem)
{
    size_t nm, nc;
    struct bus_member *m;
    struct bus_text *t;

    *mem = NULL;
    if (flat->type != REDIS_REPLY_ARRAY || chat->type != REDIS_REPLY_ARRAY ||
        flat->elements % 3 != 0)
        return -1;
    nm = flat->elements / 3;
    nc = chat->elements;
    for (size_t i = 0; i < flat->elements; i++)
        if (flat->element[i]->type != REDIS_REPLY_STRING)
            return -1;
    for (size_t i = 0; i < nc; i++)
        if (chat->element[i]->type != REDIS_REPLY_STRING)
            return -1;
    *mem = malloc(nm * sizeof *m + nc * sizeof *t + 1);
    if (*mem == NULL)
        return -1;
    m = *mem;
    t = (struct bus_text *)(m + nm);
    for (size_t i = 0; i < nm; i++) {
        m[i].peer = flat->element[3 * i]->str;
        m[i].node = flat->element[3 * i + 1]->str;
        m[i].json = flat->element[3 * i + 2]->str;
        m[i].json_len = flat->element[3 * i + 2]->len;
    }
    for (size_t i = 0; i < nc; i++) { /* LRANGE gives newest first */
        const redisReply *e = chat->element[nc - 1 - i];
        t[i].s = e->str;
        t[i].len = e->len;
    }
    out->members = m;
    out->n_members = nm;
    out->chat = t;
    out->n_chat = nc;
    return 0;
}

static enum bus_status status_of(const redisReply *r)
{
    static const struct {
        const char *name;
        enum bus_status st;
    } tab[] = {{"ok", BUS_OK},
               {"exists", BUS_EXISTS},
               {"full", BUS_FULL},
               {"moved", BUS_MOVED},
               {"none", BUS_NONE}};

    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (reply_is(r, tab[i].name))
            return tab[i].st;
    return BUS_ERR;
}

static void req_room_reply(struct bus_req *q, const redisReply *r)
{
    struct bus_room out = {.status = BUS_ERR};
    void *mem = NULL;

    if (r->type == REDIS_REPLY_ARRAY && r->elements >= 1)
        out.status = status_of(r->element[0]);
    if ((out.status == BUS_OK || out.status == BUS_EXISTS) &&
        (r->elements < 3 ||
         room_parse(r->element[1], r->element[2], &out, &mem) < 0))
        out.status = BUS_ERR;
    if (out.status == BUS_OK && r->elements == 6) { /* resume */
        for (int i = 3; i < 6; i++)
            if (r->element[i]->type != REDIS_REPLY_STRING)
                out.status = BUS_ERR;
        out.peer = r->element[3]->str;
        out.old_node = r->element[4]->str;
        out.peer_json = r->element[5]->str;
        out.peer_json_len = r->element[5]->len;
    }
    if (out.status == BUS_ERR)
        log_warn("bus: malformed script reply");
    if (q->room_cb != NULL)
        q->room_cb(q->arg, &out);
    free(mem);
}

static void req_on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct bus_req *q = privdata;
    struct bus *b = q->b;
    const redisReply *r = reply;

    (void)ac;
    if (r == NULL || b->freeing) {
        req_fail(q);
        return;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        log_reply_error(q->argv[0], r);
        if (strncmp(r->str, "NOSCRIPT", 8) == 0)
            bus_drop(b, "scripts flushed"); /* reconnect reloads them */
        req_fail(q);
        return;
    }
    if (q->kind == REQ_ROOM) {
        req_room_reply(q, r);
    } else if (q->done_cb != NULL) {
        q->done_cb(q->arg, r->type != REDIS_REPLY_INTEGER ? BUS_ERR
                           : r->integer == 1              ? BUS_OK
                                                          : BUS_NONE);
    }
    free(q);
}

static void req_send(struct bus_req *q)
{
    struct bus *b = q->b;

    if (b->state != ST_UP ||
        redisAsyncCommandArgv(b->cmd, req_on_reply, q, q->argc, q->argv,
                              q->argvlen) != REDIS_OK)
        req_fail(q);
}

/* Runs script sc with args (room first) for a request; when room is not
 * NULL, after its subscription is confirmed. Returns 0 or -1. */
static int req_start(struct bus *b, enum bus_script sc, enum req_kind kind,
                     const char *room, int nargs, const char **args,
                     const size_t *lens, void *cb, void *arg)
{
    const char *argv[16] = {"EVALSHA", b->sha[sc], "0"};
    size_t argvlen[16] = {7, 40, 1};
    struct bus_req *q;
    struct bus_sub *s = NULL;

    if (!can_send(b) || nargs > 13)
        return -1;
    memcpy(argv + 3, args, (size_t)nargs * sizeof *args);
    memcpy(argvlen + 3, lens, (size_t)nargs * sizeof *lens);
    if (room != NULL) {
        if (bus_subscribe_room(b, room) < 0)
            return -1;
        s = sub_find(b, room);
    }
    q = req_new(b, kind, nargs + 3, argv, argvlen);
    if (q == NULL)
        return -1;
    if (kind == REQ_ROOM)
        q->room_cb = (bus_room_fn *)cb;
    else
        q->done_cb = (bus_done_fn *)cb;
    q->arg = arg;
    if (s != NULL && s->acked != s->sent) {
        if (s->waiting_tail != NULL)
            s->waiting_tail->next = q;
        else
            s->waiting = q;
        s->waiting_tail = q;
        return 0;
    }
    if (redisAsyncCommandArgv(b->cmd, req_on_reply, q, q->argc, q->argv,
                              q->argvlen) != REDIS_OK) {
        free(q);
        return -1;
    }
    return 0;
}

/* ---- public calls ---------------------------------------------------- */

#define LONGSTR(buf, v) snprintf((buf), sizeof(buf), "%ld", (long)(v))

int bus_join(struct bus *b, const char *room, const char *peer,
             const char *token, const char *json, size_t len,
             const char *announce, size_t announce_len, int flags,
             bus_room_fn *cb, void *arg)
{
    char cap[24], chatmax[24];
    const char *env = "";
    size_t envlen = 0;

    if (!room_ok(room) || peer == NULL ||
        !id_chars_ok(peer, BUS_TOKEN_MAX, false) || json == NULL || len == 0 ||
        len > BUS_MSG_MAX ||
        (token != NULL && *token != '\0' &&
         !id_chars_ok(token, BUS_TOKEN_MAX, false)))
        return -1;
    if (announce != NULL &&
        (env = envelope(b, announce, announce_len, &envlen)) == NULL)
        return -1;
    LONGSTR(cap, b->cfg.max_peers);
    LONGSTR(chatmax, b->cfg.chat_max);
    {
        const char *a[] = {room,
                           peer,
                           json,
                           b->id,
                           cap,
                           (flags & BUS_JOIN_FORCE) ? "1" : "0",
                           token ? token : "",
                           env,
                           chatmax};
        size_t l[] = {strlen(room),
                      strlen(peer),
                      len,
                      strlen(b->id),
                      strlen(cap),
                      1,
                      token ? strlen(token) : 0,
                      envlen,
                      strlen(chatmax)};
        return req_start(b, SC_JOIN, REQ_ROOM, room, 9, a, l, (void *)cb, arg);
    }
}

int bus_resume(struct bus *b, const char *room, const char *token,
               const char *new_token, bus_room_fn *cb, void *arg)
{
    char chatmax[24];

    if (!room_ok(room) || token == NULL || new_token == NULL ||
        !id_chars_ok(token, BUS_TOKEN_MAX, false) ||
        !id_chars_ok(new_token, BUS_TOKEN_MAX, false))
        return -1;
    LONGSTR(chatmax, b->cfg.chat_max);
    {
        const char *a[] = {room, token, new_token, b->id, chatmax};
        size_t l[] = {strlen(room), strlen(token), strlen(new_token),
                      strlen(b->id), strlen(chatmax)};
        return req_start(b, SC_RESUME, REQ_ROOM, room, 5, a, l, (void *)cb,
                         arg);
    }
}

int bus_leave(struct bus *b, const char *room, const char *peer,
              const char *announce, size_t announce_len, bus_done_fn *cb,
              void *arg)
{
    char ttl[24];
    const char *env = "";
    size_t envlen = 0;

    if (!room_ok(room) || peer == NULL ||
        !id_chars_ok(peer, BUS_TOKEN_MAX, false))
        return -1;
    if (announce != NULL &&
        (env = envelope(b, announce, announce_len, &envlen)) == NULL)
        return -1;
    LONGSTR(ttl, b->cfg.room_ttl_ms);
    {
        const char *a[] = {room, peer, b->id, ttl, env};
        size_t l[] = {strlen(room), strlen(peer), strlen(b->id), strlen(ttl),
                      envlen};
        return req_start(b, SC_LEAVE, REQ_DONE, NULL, 5, a, l, (void *)cb, arg);
    }
}

int bus_update(struct bus *b, const char *room, const char *peer,
               const char *json, size_t len, const char *announce,
               size_t announce_len, bus_done_fn *cb, void *arg)
{
    const char *env = "";
    size_t envlen = 0;

    if (!room_ok(room) || peer == NULL ||
        !id_chars_ok(peer, BUS_TOKEN_MAX, false) || json == NULL || len == 0 ||
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
    char chatmax[24], ttl[24];
    const char *env = "";
    size_t envlen = 0;

    if (!room_ok(room) || json == NULL || len == 0 || len > BUS_MSG_MAX)
        return -1;
    if (announce != NULL &&
        (env = envelope(b, announce, announce_len, &envlen)) == NULL)
        return -1;
    LONGSTR(chatmax, b->cfg.chat_max);
    LONGSTR(ttl, b->cfg.room_ttl_ms);
    {
        const char *a[] = {room, json, chatmax, ttl, env};
        size_t l[] = {strlen(room), len, strlen(chatmax), strlen(ttl), envlen};
        return req_start(b, SC_CHAT, REQ_DONE, NULL, 5, a, l, (void *)cb, arg);
    }
}

int bus_room(struct bus *b, const char *room, bus_room_fn *cb, void *arg)
{
    char chatmax[24];

    if (!room_ok(room))
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

    if (argv == NULL || lens == NULL || ms == NULL || !can_send(b) ||
        argc > INT_MAX)
        goto fail;
    argv[0] = "EVALSHA";
    argv[1] = b->sha[SC_DRAIN];
    argv[2] = "0";
    argv[3] = b->id;
    LONGSTR(ttl, b->cfg.room_ttl_ms);
    argv[4] = ttl;
    for (size_t i = 0; i < n; i++) {
        if (!room_ok(seats[i].room) ||
            !id_chars_ok(seats[i].peer, BUS_TOKEN_MAX, false))
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
    if (redisAsyncCommandArgv(b->cmd, req_on_reply, q, q->argc, q->argv,
                              q->argvlen) != REDIS_OK)
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

static void on_ignore(redisAsyncContext *ac, void *reply, void *privdata)
{
    const redisReply *r = reply;

    (void)ac;
    if (r != NULL && r->type == REDIS_REPLY_ERROR)
        log_reply_error(privdata, r);
}

static int publish(struct bus *b, const char *ch, size_t chlen,
                   const char *json, size_t len)
{
    const char *argv[3] = {"PUBLISH", ch, NULL};
    size_t lens[3] = {7, chlen, 0};

    if (!can_send(b) || (argv[2] = envelope(b, json, len, &lens[2])) == NULL)
        return -1;
    return redisAsyncCommandArgv(b->cmd, on_ignore, (void *)"PUBLISH", 3, argv,
                                 lens) == REDIS_OK
               ? 0
               : -1;
}

int bus_publish_room(struct bus *b, const char *room, const char *json,
                     size_t len)
{
    char ch[sizeof BUS_ROOM_CH + ROOMID_MAX];

    if (!room_ok(room) || json == NULL)
        return -1;
    return publish(b, ch,
                   (size_t)snprintf(ch, sizeof ch, BUS_ROOM_CH "%s", room),
                   json, len);
}

int bus_publish_node(struct bus *b, const char *node, const char *json,
                     size_t len)
{
    char ch[sizeof BUS_NODE_CH + BUS_ID_MAX];

    if (node == NULL || !id_chars_ok(node, BUS_ID_MAX, true) || json == NULL)
        return -1;
    return publish(b, ch,
                   (size_t)snprintf(ch, sizeof ch, BUS_NODE_CH "%s", node),
                   json, len);
}

bool bus_is_up(const struct bus *b)
{
    return b->state == ST_UP;
}

const char *bus_node_id(const struct bus *b)
{
    return b->id;
}

const char *bus_status_name(enum bus_status st)
{
    static const char *const names[] = {"ok",    "exists", "full",
                                        "moved", "none",   "error"};

    return (unsigned)st < sizeof names / sizeof names[0] ? names[st] : "?";
}

/* ---- subscribe connection -------------------------------------------- */

static void on_message(struct bus *b, const redisReply *ch,
                       const redisReply *msg)
{
    char origin[BUS_ID_MAX + 1], room[ROOMID_MAX + 1];
    const char *json;
    size_t len, rl = sizeof BUS_ROOM_CH - 1;

    if (ch->len == strlen(b->node_ch) &&
        memcmp(ch->str, b->node_ch, ch->len) == 0) {
        if (msg->len > 5 && memcmp(msg->str, "ping ", 5) == 0) {
            uint64_t seq = strtoull(msg->str + 5, NULL, 10);
            if (seq == b->ping_sent)
                b->ping_seen = seq;
        } else if (envelope_parse(msg->str, msg->len, origin, &json, &len) ==
                       0 &&
                   b->cb.on_node_message != NULL) {
            b->cb.on_node_message(b->user, origin, json, len);
        }
        return;
    }
    if (ch->len <= rl || ch->len - rl > ROOMID_MAX ||
        memcmp(ch->str, BUS_ROOM_CH, rl) != 0)
        return;
    memcpy(room, ch->str + rl, ch->len - rl);
    room[ch->len - rl] = '\0';
    if (envelope_parse(msg->str, msg->len, origin, &json, &len) < 0) {
        log_warn("bus: room=%s: message not in the envelope format", room);
        return;
    }
    if (strcmp(origin, b->id) == 0)
        return; /* delivered locally by its sender */
    if (b->cb.on_room_message != NULL)
        b->cb.on_room_message(b->user, room, origin, json, len);
}

static void maybe_up(struct bus *b)
{
    if (b->state != ST_CONNECTING || !b->hs_cmd || !b->hs_sub)
        return;
    b->state = ST_UP;
    b->attempt = 0;
    b->ping_seen = b->ping_sent;
    log_info("bus: connected to redis %s:%d as node %s", b->url.host,
             b->url.port, b->id);
    if (b->cb.on_up != NULL)
        b->cb.on_up(b->user);
}

static void on_sub_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct bus *b = privdata;
    const redisReply *r = reply, *kind, *ch;
    char room[ROOMID_MAX + 1];
    size_t rl = sizeof BUS_ROOM_CH - 1;

    if (r == NULL || b->freeing || ac != b->sub ||
        r->type != REDIS_REPLY_ARRAY || r->elements < 3)
        return;
    kind = r->element[0];
    ch = r->element[1];
    if (kind->type != REDIS_REPLY_STRING || ch->type != REDIS_REPLY_STRING)
        return;
    if (reply_is(kind, "message")) {
        if (r->element[2]->type == REDIS_REPLY_STRING)
            on_message(b, ch, r->element[2]);
        return;
    }
    if (ch->len == strlen(b->node_ch) &&
        memcmp(ch->str, b->node_ch, ch->len) == 0) {
        if (reply_is(kind, "subscribe")) {
            b->hs_sub = true;
            maybe_up(b);
        }
        return;
    }
    if (ch->len <= rl || ch->len - rl > ROOMID_MAX)
        return;
    memcpy(room, ch->str + rl, ch->len - rl);
    room[ch->len - rl] = '\0';
    if (reply_is(kind, "subscribe"))
        sub_on_ack(b, room, true);
    else if (reply_is(kind, "unsubscribe"))
        sub_on_ack(b, room, false);
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

static redisAsyncContext *conn_open(struct bus *b)
{
    redisAsyncContext *ac = redisAsyncConnect(b->url.host, b->url.port);

    if (ac == NULL)
        return NULL;
    if (ac->err) {
        snprintf(b->err, sizeof b->err, "%s", ac->errstr);
        redisAsyncFree(ac);
        return NULL;
    }
    if (redisLibuvAttach(ac, b->loop) != REDIS_OK) {
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
        log_reply_error("handshake", r);
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
            log_reply_error("SCRIPT LOAD", r);
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

static void send_heartbeat(struct bus *b)
{
    char key[sizeof "huddle:node:" + BUS_ID_MAX], ttl[24];
    const char *set[] = {"SET", key, "1", "PX", ttl};
    const char *add[] = {"SADD", "huddle:nodes", b->id};
    size_t setl[5], addl[] = {4, 12, strlen(b->id)};

    setl[0] = 3;
    setl[1] = (size_t)snprintf(key, sizeof key, "huddle:node:%s", b->id);
    setl[2] = 1;
    setl[3] = 2;
    setl[4] = (size_t)LONGSTR(ttl, b->cfg.node_ttl_ms);
    redisAsyncCommandArgv(b->cmd, on_hs_reply, b, 5, set, setl);
    redisAsyncCommandArgv(b->cmd, on_hs_reply, b, 3, add, addl);
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
    send_heartbeat(b);
    redisAsyncCommand(b->cmd, on_hs_done, b, "PING");
    redisAsyncCommandArgv(b->sub, on_sub_reply, b, 2, subv, subl);
    for (size_t i = 0; i < b->nbuckets; i++)
        for (struct bus_sub *s = b->subs[i]; s != NULL; s = s->next)
            if (s->wanted && sub_send(b, s, "SUBSCRIBE") < 0)
                log_warn("bus: SUBSCRIBE room=%s not sent", s->room);
}

static void bus_connect(struct bus *b)
{
    b->state = ST_CONNECTING;
    b->hs_cmd = b->hs_sub = false;
    b->connect_at = uv_now(b->loop);
    b->err[0] = '\0';
    log_debug("bus: connecting to redis %s:%d (attempt %u)", b->url.host,
              b->url.port, b->attempt + 1);
    b->cmd = conn_open(b);
    if (b->cmd != NULL)
        b->sub = conn_open(b);
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

static void bus_drop(struct bus *b, const char *why)
{
    bool was_up = b->state == ST_UP;
    redisAsyncContext *cmd, *sub;
    uint64_t delay;

    if (b->state == ST_DOWN)
        return;
    b->state = ST_DOWN;
    if (was_up || b->attempt == 0)
        log_warn("bus: redis %s:%d down: %s", b->url.host, b->url.port,
                 why ? why : "?");
    cmd = b->cmd;
    sub = b->sub;
    b->cmd = b->sub = NULL; /* callbacks run by the frees see us down */
    free_conn(cmd);
    free_conn(sub);
    subs_reset(b);
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
 * connect, a reset): the libuv adapter drops those on the floor. */
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
    redisAsyncCommandArgv(b->cmd, on_ignore, (void *)"watchdog PUBLISH", 3,
                          argv, lens);
}

static void on_heartbeat(uv_timer_t *t)
{
    struct bus *b = t->data;

    if (b->state == ST_UP)
        send_heartbeat(b);
}

static void on_reap_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    const redisReply *r = reply;

    (void)ac;
    (void)privdata;
    if (r == NULL)
        return;
    if (r->type == REDIS_REPLY_ERROR)
        log_reply_error("reaper", r);
    else if (r->type == REDIS_REPLY_INTEGER && r->integer > 0)
        log_info("bus: reaped %lld member(s) of dead nodes", r->integer);
}

static void on_reaper(uv_timer_t *t)
{
    struct bus *b = t->data;
    char ttl[24];
    const char *argv[4] = {"EVALSHA", b->sha[SC_REAP], "0", ttl};
    size_t lens[4] = {7, 40, 1, 0};

    if (b->state != ST_UP)
        return;
    lens[3] = (size_t)LONGSTR(ttl, b->cfg.room_ttl_ms);
    redisAsyncCommandArgv(b->cmd, on_reap_reply, NULL, 4, argv, lens);
}

/* ---- create and free ------------------------------------------------- */

void bus_config_default(struct bus_config *cfg)
{
    *cfg = (struct bus_config){
        .node_ttl_ms = 10000,
        .heartbeat_ms = 3000,
        .reaper_ms = 5000,
        .ping_ms = 1000,
        .ping_timeout_ms = 3000,
        .backoff_min_ms = 100,
        .backoff_max_ms = 5000,
        .max_peers = 8,
        .room_ttl_ms = 600000,
        .chat_max = 50,
    };
}

static int config_check(const struct bus_config *c)
{
    const char *bad = NULL;

    if (c->node_id == NULL || !id_chars_ok(c->node_id, BUS_NODE_ID_MAX, true))
        bad = "node id must be 1..64 of [A-Za-z0-9_.-]";
    else if (c->node_ttl_ms < 100 || c->heartbeat_ms < 10 ||
             c->heartbeat_ms >= c->node_ttl_ms)
        bad = "need node TTL >= 100 ms and 10 ms <= heartbeat < node TTL";
    else if (c->reaper_ms < 10 || c->ping_ms < 10 || c->ping_timeout_ms < 10)
        bad = "reaper, ping and ping timeout must be >= 10 ms";
    else if (c->backoff_min_ms < 1 || c->backoff_max_ms < c->backoff_min_ms)
        bad = "need 1 <= backoff min <= backoff max";
    else if (c->max_peers < 1 || c->room_ttl_ms < 1 || c->chat_max < 1)
        bad = "max peers, room TTL and chat history must be >= 1";
    if (bad != NULL) {
        log_error("bus: %s", bad);
        return -1;
    }
    return 0;
}

static void on_timer_closed(uv_handle_t *h)
{
    struct bus *b = h->data;

    if (--b->closing == 0) {
        free(b->url_copy);
        free(b->subs);
        free(b->scratch);
        free(b);
    }
}

struct bus *bus_create(uv_loop_t *loop, const struct bus_config *cfg,
                       const struct bus_callbacks *cb, void *user)
{
    uv_timer_t *timers[4];
    struct bus *b;
    uint32_t suffix;

    if (config_check(cfg) < 0)
        return NULL;
    b = calloc(1, sizeof *b);
    if (b == NULL)
        return NULL;
    if (bus_url_parse(cfg->url, &b->url) < 0) {
        log_error("bus: HUDDLE_REDIS_URL is not "
                  "redis://[:password@]host:port[/db]");
        free(b);
        return NULL;
    }
    b->loop = loop;
    b->cfg = *cfg;
    b->cb = *cb;
    b->user = user;
    b->nbuckets = 16;
    b->subs = calloc(b->nbuckets, sizeof *b->subs);
    b->url_copy = strdup(cfg->url);
    if (b->subs == NULL || b->url_copy == NULL ||
        getrandom(&suffix, sizeof suffix, 0) != sizeof suffix ||
        getrandom(&b->rng, sizeof b->rng, 0) != sizeof b->rng) {
        free(b->subs);
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
    uv_timer_start(&b->t_reaper, on_reaper, (uint64_t)cfg->reaper_ms,
                   (uint64_t)cfg->reaper_ms);
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
    for (size_t i = 0; i < b->nbuckets; i++) {
        struct bus_sub *s = b->subs[i], *next;
        for (; s != NULL; s = next) {
            next = s->next;
            reqs_fail(sub_detach(s)); /* no callbacks: freeing */
            free(s);
        }
        b->subs[i] = NULL;
    }
    timers[0] = &b->t_reconnect;
    timers[1] = &b->t_watchdog;
    timers[2] = &b->t_heartbeat;
    timers[3] = &b->t_reaper;
    b->closing = 4;
    for (int i = 0; i < 4; i++)
        uv_close((uv_handle_t *)timers[i], on_timer_closed);
}
