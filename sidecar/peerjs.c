#include "peerjs.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "log.h"

/* ---- the parser ----------------------------------------------------- */

/* The names of the types a client may send, and whether a message of
 * one is held for a dst not connected yet (the handlers are in the table
 * of pj_on_text, below). */
static const struct {
    const char *name;
    bool hold;
} types[PJ_TYPE_COUNT] = {
    [PJ_HEARTBEAT] = {"HEARTBEAT", false}, [PJ_OFFER] = {"OFFER", true},
    [PJ_ANSWER] = {"ANSWER", true},        [PJ_CANDIDATE] = {"CANDIDATE", true},
    [PJ_LEAVE] = {"LEAVE", false},         [PJ_EXPIRE] = {"EXPIRE", false},
};

static int type_of(const char *s)
{
    for (int i = 0; i < PJ_TYPE_COUNT; i++)
        if (strcmp(types[i].name, s) == 0)
            return i;
    return -1;
}

/* Whether m, built by build() below, is of a type held for a dst not
 * connected yet. */
static bool holdable(const struct out_msg *m)
{
    static const char pre[] = "{\"type\":\"";
    const char *t = out_msg_text(m);
    size_t n;

    if (m->len < sizeof pre || memcmp(t, pre, sizeof pre - 1) != 0)
        return false;
    t += sizeof pre - 1;
    for (int i = 0; i < PJ_TYPE_COUNT; i++) {
        n = strlen(types[i].name);
        if (m->len >= sizeof pre + n && memcmp(t, types[i].name, n) == 0 &&
            t[n] == '"')
            return types[i].hold;
    }
    return false;
}

bool pj_id_valid(const char *id)
{
    size_t n = 0;
    bool after_sep = true; /* a separator may not start or repeat */

    for (; id[n] != '\0'; n++) {
        char ch = id[n];
        bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                     (ch >= '0' && ch <= '9');
        if (alnum)
            after_sep = false;
        else if ((ch == ' ' || ch == '_' || ch == '-') && !after_sep)
            after_sep = true;
        else
            return false;
        if (n + 1 > PJ_ID_MAX)
            return false;
    }
    return n > 0 && !after_sep;
}

/* The value of the 4 hex digits at s, or -1. */
static long hex4(const char *s)
{
    long v = 0;

    for (int i = 0; i < 4; i++) {
        char ch = s[i];
        int d = ch >= '0' && ch <= '9'   ? ch - '0'
                : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                         : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* cJSON refuses a lone UTF-16 surrogate escape (JSON.stringify writes one
 * for a name cut in the middle of an emoji; JSON.parse takes it) and ends
 * a string at an escaped NUL. Both become U+FFFD in the len bytes at s,
 * in place (an escape of the same length), so that such a message is
 * relayed rather than refused (the client would drop its Peer) or cut
 * short (a dst "bob\u0000x" would reach bob). */
static void mend_escapes(char *s, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++) {
        if (s[i] != '\\')
            continue;
        long v = s[i + 1] == 'u' && i + 6 <= len ? hex4(s + i + 2) : -1;
        if (v < 0) {
            i++; /* an escaped character, or no escape cJSON takes */
            continue;
        }
        bool high = v >= 0xD800 && v <= 0xDBFF;
        if (high && i + 12 <= len && s[i + 6] == '\\' && s[i + 7] == 'u') {
            long w = hex4(s + i + 8);
            if (w >= 0xDC00 && w <= 0xDFFF) {
                i += 11; /* a pair: one character */
                continue;
            }
        }
        if (v == 0 || (v >= 0xD800 && v <= 0xDFFF))
            for (int k = 0; k < 4; k++) /* the hex digits only */
                s[i + 2 + k] = "fffd"[k];
        i += 5;
    }
}

int pj_parse(const char *buf, size_t len, struct pj_msg *m, const char **why)
{
    const char *end = NULL;
    char *mended = NULL;
    cJSON *root;
    const cJSON *t, *d, *pl;
    int type;

    memset(m, 0, sizeof *m);
    *why = "out of memory";
    if (memmem(buf, len, "\\u", 2) != NULL) {
        if ((mended = malloc(len)) == NULL)
            return -1;
        memcpy(mended, buf, len);
        mend_escapes(mended, len);
        buf = mended;
    }
    root = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
    bool whole = root != NULL && end == buf + len;
    free(mended); /* cJSON holds copies */
    *why = "invalid JSON";
    if (!whole)
        goto bad;
    *why = "not an object";
    if (!cJSON_IsObject(root))
        goto bad;
    *why = "no type";
    t = cJSON_GetObjectItemCaseSensitive(root, "type");
    if (!cJSON_IsString(t))
        goto bad;
    *why = "unknown type";
    if ((type = type_of(t->valuestring)) < 0)
        goto bad;
    *why = "bad dst";
    d = cJSON_GetObjectItemCaseSensitive(root, "dst");
    if (d != NULL && !cJSON_IsNull(d) && !cJSON_IsString(d))
        goto bad;
    pl = cJSON_GetObjectItemCaseSensitive(root, "payload");
    if (pl != NULL && !cJSON_IsNull(pl)) {
        *why = "out of memory";
        if ((m->payload = cJSON_PrintUnformatted(pl)) == NULL)
            goto bad;
    }
    m->type = (enum pj_type)type;
    m->dst = d != NULL && cJSON_IsString(d) ? d->valuestring : NULL;
    m->dst_bad = m->dst != NULL && !pj_id_valid(m->dst);
    m->root = root;
    *why = NULL;
    return 0;
bad:
    cJSON_Delete(root);
    return -1;
}

void pj_msg_free(struct pj_msg *m)
{
    free(m->payload);
    cJSON_Delete(m->root);
    memset(m, 0, sizeof *m);
}

void pj_uuid(char *out)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[16];
    size_t got = 0;

    while (got < sizeof raw) { /* EINTR just retries */
        ssize_t r = getrandom(raw + got, sizeof raw - got, 0);
        if (r > 0)
            got += (size_t)r;
    }
    raw[6] = (unsigned char)((raw[6] & 0x0f) | 0x40); /* version 4 */
    raw[8] = (unsigned char)((raw[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    for (size_t i = 0, o = 0; i < sizeof raw; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[raw[i] >> 4];
        out[o++] = hex[raw[i] & 15];
    }
    out[PJ_UUID_LEN] = '\0';
}

/* The segment of uri after "/peerjs" ("" or starting with "/"), or NULL. */
static const char *under_peerjs(const char *uri)
{
    if (strncmp(uri, "/peerjs", 7) != 0 || (uri[7] != '\0' && uri[7] != '/'))
        return NULL;
    return uri + 7;
}

enum pj_http pj_http_route(const char *uri)
{
    const char *rest = under_peerjs(uri), *slash;

    if (rest == NULL)
        return PJ_HTTP_NONE;
    if (rest[0] == '\0' || strcmp(rest, "/") == 0)
        return PJ_HTTP_INFO;
    /* "/<key>/id" or "/<key>/peers": any key, as peerjs-server (the
     * websocket checks it). */
    slash = strchr(rest + 1, '/');
    if (slash == NULL || slash == rest + 1)
        return PJ_HTTP_NONE;
    if (strcmp(slash, "/id") == 0)
        return PJ_HTTP_ID;
    if (strcmp(slash, "/peers") == 0)
        return PJ_HTTP_PEERS;
    return PJ_HTTP_NONE;
}

bool pj_ws_path(const char *uri)
{
    const char *rest = under_peerjs(uri);
    return rest != NULL && strcmp(rest, "/peerjs") == 0;
}

/* ---- held messages -------------------------------------------------- */

/* A message for a peer not connected yet, and who sent it. */
struct held_msg {
    struct held_msg *next;
    struct out_msg *m;
    char src[PJ_ID_MAX + 1];
};

/* Everything held for one id, oldest first; expires since + expire_ms
 * after the first was held, as peerjs-server's queues do. */
struct held {
    struct htab_entry link;
    struct held_msg *head, *tail;
    size_t count;
    int64_t since;
    char dst[PJ_ID_MAX + 1];
};

struct pj {
    const struct config *cfg;
    const struct hub_ops *ops;
    const struct pj_net *net; /* NULL: one sidecar */
    const char *key;
    struct htab peers; /* struct pj_conn by id */
    struct htab held;  /* struct held by target id */
    size_t held_total;
};

struct pj *pj_new(const struct config *cfg, const struct hub_ops *ops,
                  const char *key)
{
    struct pj *p = calloc(1, sizeof *p);

    if (p == NULL)
        return NULL;
    p->cfg = cfg;
    p->ops = ops;
    p->key = key;
    if (htab_init(&p->peers, 64) < 0 || htab_init(&p->held, 16) < 0) {
        pj_free(p);
        return NULL;
    }
    return p;
}

static void held_free(struct pj *p, struct held *h)
{
    struct held_msg *n = h->head;

    while (n != NULL) {
        struct held_msg *next = n->next;
        out_msg_unref(n->m);
        free(n);
        p->held_total--;
        n = next;
    }
    htab_del(&p->held, &h->link);
    free(h);
}

void pj_free(struct pj *p)
{
    struct htab_entry *e, *next;

    if (p == NULL)
        return;
    if (p->held.buckets != NULL)
        for (e = htab_next(&p->held, NULL); e != NULL; e = next) {
            next = htab_next(&p->held, e);
            held_free(p, HTAB_ITEM(e, struct held, link));
        }
    htab_fini(&p->held);
    htab_fini(&p->peers); /* the connections are the transport's */
    free(p);
}

size_t pj_held_count(const struct pj *p)
{
    return p->held_total;
}

static struct pj_conn *find_peer(const struct pj *p, const char *id)
{
    struct htab_entry *e = htab_find(&p->peers, id);
    return e ? HTAB_ITEM(e, struct pj_conn, link) : NULL;
}

/* ---- sending -------------------------------------------------------- */

/* Sends m (consumed; NULL: out of memory, nothing) to c. */
static void send_to(struct pj *p, struct pj_conn *c, struct out_msg *m)
{
    if (m == NULL)
        return;
    p->ops->send(c->tc, m);
    out_msg_unref(m);
}

/* Returns {"type":type[,"src":src][,"dst":dst][,"payload":payload]} as a
 * message, or NULL when out of memory. payload is JSON text. */
static struct out_msg *build(const char *type, const char *src, const char *dst,
                             const char *payload)
{
    struct sb b = {0};

    sb_puts(&b, "{\"type\":");
    sb_json_str(&b, type);
    if (src != NULL) {
        sb_puts(&b, ",\"src\":");
        sb_json_str(&b, src);
    }
    if (dst != NULL) {
        sb_puts(&b, ",\"dst\":");
        sb_json_str(&b, dst);
    }
    if (payload != NULL) {
        sb_puts(&b, ",\"payload\":");
        sb_puts(&b, payload);
    }
    sb_puts(&b, "}");
    return sb_take_msg(&b);
}

/* {"type":type,"payload":{"msg":text}}: ERROR and ID-TAKEN. */
static struct out_msg *build_msg(const char *type, const char *text)
{
    struct sb b = {0};

    sb_puts(&b, "{\"type\":");
    sb_json_str(&b, type);
    sb_puts(&b, ",\"payload\":{\"msg\":");
    sb_json_str(&b, text);
    sb_puts(&b, "}}");
    return sb_take_msg(&b);
}

/* Sends m, a message for dst, to dst here or to the node holding it;
 * what reaches nobody is held when holdable (from src), else dropped. */
static void route(struct pj *p, const char *src, const char *dst,
                  struct out_msg *m, int64_t now);

/* EXPIRE to src, here or on another node: dst could not be reached. */
static void send_expire(struct pj *p, const char *src, const char *dst)
{
    struct out_msg *m = build("EXPIRE", dst, src, NULL);

    if (m != NULL)
        route(p, dst, src, m, 0);
    out_msg_unref(m);
}

/* Holds m from src for dst. Over HUDDLE_PEERJS_HELD for dst or
 * HUDDLE_PEERJS_HELD_TOTAL in all, src gets EXPIRE at once instead. */
static void hold(struct pj *p, const char *src, const char *dst,
                 struct out_msg *m, int64_t now)
{
    struct htab_entry *e = htab_find(&p->held, dst);
    struct held *h = e ? HTAB_ITEM(e, struct held, link) : NULL;
    struct held_msg *n = NULL;

    if (p->held_total >= (size_t)p->cfg->peerjs_held_total ||
        (h != NULL && h->count >= (size_t)p->cfg->peerjs_held))
        goto expire;
    if (h == NULL) {
        if ((h = calloc(1, sizeof *h)) == NULL)
            goto expire;
        snprintf(h->dst, sizeof h->dst, "%s", dst);
        h->since = now;
        htab_add(&p->held, &h->link, h->dst);
    }
    if ((n = calloc(1, sizeof *n)) == NULL)
        goto expire;
    n->m = out_msg_ref(m);
    snprintf(n->src, sizeof n->src, "%s", src);
    if (h->tail != NULL)
        h->tail->next = n;
    else
        h->head = n;
    h->tail = n;
    h->count++;
    p->held_total++;
    return;
expire:
    log_debug("peerjs: not holding for id=%s (%zu held)", dst, p->held_total);
    send_expire(p, src, dst);
}

/* Delivers to c, just opened, what was held for its id. */
static void deliver_held(struct pj *p, struct pj_conn *c)
{
    struct htab_entry *e = htab_find(&p->held, c->id);
    struct held *h = e ? HTAB_ITEM(e, struct held, link) : NULL;

    if (h == NULL)
        return;
    for (struct held_msg *n = h->head; n != NULL; n = n->next)
        p->ops->send(c->tc, n->m);
    held_free(p, h);
}

/* Whether an EXPIRE to src already went out for h (one per sender). */
static bool expired_before(const struct held *h, const struct held_msg *upto)
{
    for (const struct held_msg *n = h->head; n != upto; n = n->next)
        if (strcmp(n->src, upto->src) == 0)
            return true;
    return false;
}

void pj_tick(struct pj *p, int64_t now)
{
    struct htab_entry *e, *next;

    for (e = htab_next(&p->held, NULL); e != NULL; e = next) {
        struct held *h = HTAB_ITEM(e, struct held, link);
        next = htab_next(&p->held, e);
        if (now - h->since < p->cfg->peerjs_expire_ms)
            continue;
        for (struct held_msg *n = h->head; n != NULL; n = n->next)
            if (!expired_before(h, n))
                send_expire(p, n->src, h->dst);
        held_free(p, h);
    }
}

/* ---- connections ---------------------------------------------------- */

struct pj_conn *pj_conn_new(struct hub_conn *tc)
{
    struct pj_conn *c = calloc(1, sizeof *c);
    if (c != NULL)
        c->tc = tc;
    return c;
}

/* Answers type with text and closes c (1000 after what is queued). */
static void refuse(struct pj *p, struct pj_conn *c, const char *type,
                   const char *text)
{
    log_info("peerjs: refused id=%s: %s", c->id[0] ? c->id : "-", text);
    send_to(p, c, build_msg(type, text));
    p->ops->close(c->tc, 1000, text);
}

/* Forgets the messages kept while c's claim waited. */
static void drop_early(struct pj_conn *c)
{
    for (unsigned i = 0; i < c->n_early; i++)
        free(c->early[i].buf);
    c->n_early = 0;
    c->early_bytes = 0;
}

static void register_conn(struct pj *p, struct pj_conn *c, int64_t now)
{
    htab_add(&p->peers, &c->link, c->id);
    c->registered = true;
    c->last_beat = now;
    bucket_init(&c->rate, p->cfg->signal_burst, now);
    bucket_init(&c->errors, p->cfg->error_run, now);
    send_to(p, c, build("OPEN", NULL, NULL, NULL));
    deliver_held(p, c);
    /* What it sent while its claim waited, as if it came now. */
    for (unsigned i = 0; i < c->n_early; i++)
        pj_on_text(p, c, c->early[i].buf, c->early[i].len, now);
    drop_early(c);
}

/* Why a websocket's query cannot open, as peerjs-server words it, or
 * NULL. */
static const char *open_refusal(const struct pj *p, const char *key,
                                const char *id, const char *token)
{
    if (id == NULL || token == NULL || key == NULL || !*id || !*token || !*key)
        return "No id, token, or key supplied to websocket server";
    if (strcmp(key, p->key) != 0)
        return "Invalid key provided";
    if (!pj_id_valid(id) || strlen(token) > PJ_TOKEN_MAX)
        return "Invalid id or token";
    return NULL;
}

/* Takes c out of the registry; its id is freed in the cluster too when
 * release. */
static void unregister(struct pj *p, struct pj_conn *c, bool release)
{
    if (!c->registered)
        return;
    htab_del(&p->peers, &c->link);
    c->registered = false;
    if (release && p->net != NULL)
        p->net->release(p->net->ctx, c->id, c->token);
}

/* c's id is free in the cluster (or there is none): free here too, or
 * held here by the same client (token), opens c. */
static void finish_open(struct pj *p, struct pj_conn *c, int64_t now)
{
    struct pj_conn *old = find_peer(p, c->id);

    if (old != NULL) {
        if (strcmp(old->token, c->token) != 0) {
            refuse(p, c, "ID-TAKEN", "ID is taken");
            return;
        }
        /* The same client again (a reconnect before its old socket was
         * seen to close): the new socket takes the id over, and the claim
         * in the cluster stays. */
        unregister(p, old, false);
        p->ops->close(old->tc, 1000, "replaced");
    }
    log_info("peerjs: open id=%s", c->id);
    register_conn(p, c, now);
}

void pj_open(struct pj *p, struct pj_conn *c, const char *key, const char *id,
             const char *token, int64_t now)
{
    const char *why = open_refusal(p, key, id, token);

    if (why != NULL) {
        refuse(p, c, "ERROR", why);
        return;
    }
    snprintf(c->id, sizeof c->id, "%s", id);
    snprintf(c->token, sizeof c->token, "%s", token);
    if (p->net == NULL)
        finish_open(p, c, now);
    else if (p->net->claim(p->net->ctx, c) < 0)
        refuse(p, c, "ERROR", PJ_UNAVAILABLE);
    /* else pj_claimed goes on */
}

void pj_claimed(struct pj *p, struct pj_conn *c, int result, int64_t now)
{
    c->claim = NULL;
    if (c->registered) { /* pj_reclaim's */
        if (result == 0)
            refuse(p, c, "ID-TAKEN", "ID is taken");
    } else if (result > 0) {
        finish_open(p, c, now);
    } else {
        refuse(p, c, result == 0 ? "ID-TAKEN" : "ERROR",
               result == 0 ? "ID is taken" : PJ_UNAVAILABLE);
    }
}

bool pj_holds(const struct pj *p, const char *id, const char *token)
{
    const struct pj_conn *c = find_peer(p, id);
    return c != NULL && strcmp(c->token, token) == 0;
}

void pj_on_end(struct pj *p, struct pj_conn *c)
{
    if (c->claim != NULL && p->net != NULL)
        p->net->cancel(p->net->ctx, c);
    unregister(p, c, true);
    drop_early(c);
}

bool pj_idle(const struct pj *p, const struct pj_conn *c, int64_t now)
{
    return c->registered && now - c->last_beat >= p->cfg->peerjs_alive_ms;
}

/* A bad message: ERROR back; the error_run-th within the error window
 * closes c (1008), as on /ws. */
static void answer_error(struct pj *p, struct pj_conn *c, const char *why,
                         int64_t now)
{
    send_to(p, c, build_msg("ERROR", why));
    if (!bucket_take_window(&c->errors, p->cfg->error_run,
                            p->cfg->error_window_ms, now) ||
        c->errors.tokens < 1.0)
        p->ops->close(c->tc, 1008, "too many errors");
}

static void route(struct pj *p, const char *src, const char *dst,
                  struct out_msg *m, int64_t now)
{
    struct pj_conn *to = find_peer(p, dst);
    /* Connected here, but messages for it still wait for Redis to say
     * where it is (sent before it opened here): this one goes behind them,
     * so one sender's messages keep their order. */
    bool behind =
        to != NULL && p->net != NULL && p->net->routing(p->net->ctx, dst);

    if ((to == NULL || behind) && p->net != NULL &&
        p->net->route(p->net->ctx, src, dst, m) == 0)
        return; /* pj_routed goes on */
    if (to != NULL)
        p->ops->send(to->tc, m); /* here (also with Redis down) */
    else if (holdable(m))
        hold(p, src, dst, m, now); /* Redis down: expires as any */
}

/* Relays m from c to its dst, adding src; holds it when dst is not
 * connected anywhere (OFFER, ANSWER, CANDIDATE). */
static void relay(struct pj *p, struct pj_conn *c, const struct pj_msg *m,
                  int64_t now)
{
    struct out_msg *out = build(types[m->type].name, c->id, m->dst, m->payload);

    if (out == NULL)
        return;
    route(p, c->id, m->dst, out, now);
    out_msg_unref(out);
}

static void on_heartbeat(struct pj *p, struct pj_conn *c,
                         const struct pj_msg *m, int64_t now)
{
    (void)p;
    (void)m;
    c->last_beat = now;
}

/* OFFER, ANSWER, CANDIDATE, LEAVE, EXPIRE: to dst, within the rate. */
static void on_relay(struct pj *p, struct pj_conn *c, const struct pj_msg *m,
                     int64_t now)
{
    if (m->dst == NULL && m->type == PJ_LEAVE) {
        p->ops->close(c->tc, 1000, "leave"); /* peerjs-server forgets it */
    } else if (m->dst == NULL) {
        answer_error(p, c, "no dst", now);
    } else if (!bucket_take(&c->rate, p->cfg->signal_rate, p->cfg->signal_burst,
                            now)) {
        send_to(p, c, build_msg("ERROR", "rate limited"));
        if (++c->limited_run >= p->cfg->rate_limit_run)
            p->ops->close(c->tc, 1008, "rate limited");
    } else if (m->dst_bad) {
        /* A typo'd id ("john.doe", a trailing space): unreachable, as an
         * id nobody has. An ERROR would make the client drop its Peer. */
        c->limited_run = 0;
        send_to(p, c, build("EXPIRE", m->dst, c->id, NULL));
    } else {
        c->limited_run = 0;
        relay(p, c, m, now);
    }
}

typedef void pj_handler(struct pj *p, struct pj_conn *c, const struct pj_msg *m,
                        int64_t now);

static pj_handler *const handlers[PJ_TYPE_COUNT] = {
    [PJ_HEARTBEAT] = on_heartbeat, [PJ_OFFER] = on_relay,
    [PJ_ANSWER] = on_relay,        [PJ_CANDIDATE] = on_relay,
    [PJ_LEAVE] = on_relay,         [PJ_EXPIRE] = on_relay,
};

void pj_on_text(struct pj *p, struct pj_conn *c, const char *buf, size_t len,
                int64_t now)
{
    struct pj_msg m;
    const char *why;

    if (!c->registered) {
        /* Its claim waits (several sidecars): kept for the open, within
         * bounds; else refused and closing. */
        char *copy;
        if (c->claim != NULL && c->n_early < PJ_EARLY_MAX &&
            c->early_bytes + len <= PJ_EARLY_BYTES &&
            (copy = malloc(len + 1)) != NULL) {
            memcpy(copy, buf, len);
            copy[len] = '\0';
            c->early[c->n_early].buf = copy;
            c->early[c->n_early++].len = len;
            c->early_bytes += len;
        }
        return;
    }
    if (pj_parse(buf, len, &m, &why) < 0) {
        answer_error(p, c, why, now);
        return;
    }
    handlers[m.type](p, c, &m, now);
    pj_msg_free(&m);
}

/* ---- several sidecars ----------------------------------------------- */

void pj_set_net(struct pj *p, const struct pj_net *net)
{
    p->net = net;
}

void pj_routed(struct pj *p, const char *src, const char *dst,
               struct out_msg *m, const char *node, bool self, int64_t now)
{
    struct pj_conn *to = find_peer(p, dst);

    if (to != NULL) {
        p->ops->send(to->tc, m); /* opened here meanwhile */
    } else if (node != NULL && !self && p->net != NULL) {
        pj_opened(p, dst, node); /* what was held goes first: in order */
        p->net->forward(p->net->ctx, node, dst, m);
    } else if (holdable(m)) {
        hold(p, src, dst, m, now);
    }
}

/* Returns the "src" of a message built by build(), copied into src (""
 * when it has none). */
static void src_of(const char *json, size_t len, char *src, size_t max)
{
    cJSON *j = cJSON_ParseWithLength(json, len);
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "src");

    snprintf(src, max, "%s", cJSON_IsString(s) ? s->valuestring : "");
    cJSON_Delete(j);
}

void pj_deliver(struct pj *p, const char *dst, const char *json, size_t len,
                int64_t now)
{
    struct pj_conn *to = find_peer(p, dst);
    struct out_msg *m = out_msg_new(json, len);
    char src[PJ_ID_MAX + 1];

    if (m == NULL)
        return;
    if (to != NULL) {
        p->ops->send(to->tc, m);
    } else if (holdable(m)) { /* dst left meanwhile: as from a sender here */
        src_of(json, len, src, sizeof src);
        if (pj_id_valid(src))
            hold(p, src, dst, m, now);
    }
    out_msg_unref(m);
}

void pj_opened(struct pj *p, const char *id, const char *node)
{
    struct htab_entry *e = htab_find(&p->held, id);
    struct held *h = e ? HTAB_ITEM(e, struct held, link) : NULL;
    struct pj_conn *c = find_peer(p, id);

    if (h == NULL)
        return;
    if (c != NULL) {
        deliver_held(p, c);
        return;
    }
    if (p->net == NULL)
        return;
    for (struct held_msg *n = h->head; n != NULL; n = n->next)
        p->net->forward(p->net->ctx, node, id, n->m);
    held_free(p, h);
}

void pj_reclaim(struct pj *p)
{
    if (p->net == NULL)
        return;
    for (struct htab_entry *e = htab_next(&p->peers, NULL); e != NULL;
         e = htab_next(&p->peers, e)) {
        struct pj_conn *c = HTAB_ITEM(e, struct pj_conn, link);
        if (c->claim == NULL && p->net->claim(p->net->ctx, c) < 0)
            log_warn("peerjs: id=%s not claimed again", c->id);
    }
}
