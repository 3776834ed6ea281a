#include "cluster.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "metrics.h"
#include "roomid.h"

#define CROOM_BUCKETS 1024
#define MOVED_TYPE "x-moved" /* between nodes only, never to a client */
#define CHAT_PREFIX "{\"type\":\"chat\","

/* Anything waiting for a bus callback; freed by cluster_free when the bus
 * is freed first (its callbacks then never run). */
struct req {
    struct req *prev, *next;
    struct cluster *cl;
    void (*drop)(struct req *r); /* frees it without its callback */
};

/* A member of a room held by another node. knowers: local members whose
 * welcome listed it while its peer-joined may still be on the way (the
 * reply and the message come on two connections, in either order). */
struct remote {
    char id[PEER_ID_LEN + 1];
    char *node;
    char (*knowers)[PEER_ID_LEN + 1];
    size_t nknowers;
    struct remote *next;
};

struct pend;

/* A room this node serves (subscribed), with its members elsewhere. */
struct croom {
    char id[65];
    struct remote *remote;
    unsigned pending;   /* joins and resyncs waiting for Redis */
    struct pend *joins; /* joins waiting: they keep the room's messages */
    struct croom *next;
};

/* What a room message is about (one per type the cluster looks into). */
enum rkind { RK_OTHER, RK_JOINED, RK_LEFT, RK_STATE, RK_CHAT, RK_MOVED };

/* A room message that came while a join was waiting for its answer: it may
 * or may not be in the answer's snapshot (two connections, no order). */
struct held {
    struct out_msg *m;
    enum rkind kind;
    char about[PEER_ID_LEN + 1];
    char *origin;
};

/* A join or resume waiting for Redis. c is cleared when the connection
 * ends meanwhile (hub_conn.pending points here). */
struct pend {
    struct req rq;
    struct hub_conn *c;
    char room[65];
    char *name;
    char *resume; /* the client's token, NULL for a plain join */
    bool audio, video;
    char id[PEER_ID_LEN + 1];
    char token[TOKEN_LEN + 1];
    struct croom *cr;  /* in cr->joins while waiting */
    struct pend *next; /* in cr->joins */
    struct held *held;
    size_t nheld, capheld;
};

/* The re-assertion of one room after a reconnect. */
struct resync {
    struct req rq;
    char room[65];
    unsigned left; /* bus_join answers still to come */
};

struct reassert {
    struct req rq;
    struct resync *rs;
    char id[PEER_ID_LEN + 1];
};

struct cluster {
    struct hub *h;
    struct bus *bus;
    struct hub_cluster hooks;
    struct req reqs; /* list head */
    void (*ready)(void *arg);
    void *ready_arg;
    struct croom *rooms[CROOM_BUCKETS];
};

/* ---- bookkeeping ------------------------------------------------------ */

static void req_link(struct cluster *cl, struct req *r)
{
    r->cl = cl;
    r->prev = &cl->reqs;
    r->next = cl->reqs.next;
    cl->reqs.next->prev = r;
    cl->reqs.next = r;
}

static void req_unlink(struct req *r)
{
    r->prev->next = r->next;
    r->next->prev = r->prev;
}

static void pend_unhook(struct pend *p)
{
    if (p->cr == NULL)
        return;
    for (struct pend **pp = &p->cr->joins; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    }
    p->cr = NULL;
}

static void pend_free(struct pend *p)
{
    pend_unhook(p);
    for (size_t i = 0; i < p->nheld; i++) {
        out_msg_unref(p->held[i].m);
        free(p->held[i].origin);
    }
    free(p->held);
    if (p->rq.cl != NULL)
        req_unlink(&p->rq);
    free(p->name);
    free(p->resume);
    free(p);
}

static void pend_drop(struct req *r)
{
    pend_free((struct pend *)(void *)r); /* rq is its first member */
}

static size_t croom_hash(const char *id)
{
    size_t h = 2166136261u;
    for (; *id; id++)
        h = (h ^ (unsigned char)*id) * 16777619u;
    return h % CROOM_BUCKETS;
}

static struct croom *croom_get(struct cluster *cl, const char *id, bool create)
{
    struct croom **head = &cl->rooms[croom_hash(id)];
    for (struct croom *r = *head; r != NULL; r = r->next)
        if (strcmp(r->id, id) == 0)
            return r;
    if (!create)
        return NULL;
    struct croom *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    snprintf(r->id, sizeof r->id, "%s", id);
    r->next = *head;
    *head = r;
    return r;
}

static void remote_clear(struct croom *r)
{
    while (r->remote != NULL) {
        struct remote *m = r->remote;
        r->remote = m->next;
        free(m->node);
        free(m->knowers);
        free(m);
    }
}

static struct remote *remote_find(struct croom *r, const char *id)
{
    for (struct remote *m = r ? r->remote : NULL; m != NULL; m = m->next)
        if (strcmp(m->id, id) == 0)
            return m;
    return NULL;
}

static void remote_set(struct croom *r, const char *id, const char *node)
{
    if (r == NULL || strlen(id) > PEER_ID_LEN || node[0] == '\0')
        return;
    struct remote *m = remote_find(r, id);
    char *n = strdup(node);
    if (n == NULL)
        return;
    if (m == NULL && (m = calloc(1, sizeof *m)) != NULL) {
        snprintf(m->id, sizeof m->id, "%s", id);
        m->next = r->remote;
        r->remote = m;
    }
    if (m == NULL) {
        free(n);
        return;
    }
    free(m->node);
    m->node = n;
}

static void remote_del(struct croom *r, const char *id)
{
    for (struct remote **pp = r ? &r->remote : NULL; pp && *pp;
         pp = &(*pp)->next) {
        if (strcmp((*pp)->id, id) == 0) {
            struct remote *m = *pp;
            *pp = m->next;
            free(m->node);
            free(m->knowers);
            free(m);
            return;
        }
    }
}

/* Remembers the members of r held by other nodes (all of them). */
static void remote_load(struct cluster *cl, struct croom *cr,
                        const struct bus_room *r)
{
    const char *self = bus_node_id(cl->bus);
    if (cr == NULL)
        return;
    remote_clear(cr);
    for (size_t i = 0; i < r->n_members; i++)
        if (strcmp(r->members[i].node, self) != 0)
            remote_set(cr, r->members[i].peer, r->members[i].node);
}

/* A join's answer: its members elsewhere are known to the joiner. */
/* Forgets knowers that are no longer seated here (bounded by the room). */
static void knowers_prune(struct remote *m, struct room *room)
{
    size_t k = 0;
    for (size_t i = 0; i < m->nknowers; i++)
        if (room != NULL && room_peer_find(room, m->knowers[i]) != NULL)
            memmove(m->knowers[k++], m->knowers[i], sizeof *m->knowers);
    m->nknowers = k;
}

static void remote_merge(struct cluster *cl, struct croom *cr,
                         const struct bus_room *r, const char *joiner)
{
    const char *self = bus_node_id(cl->bus);
    struct room *room = cr ? hub_room(cl->h, cr->id) : NULL;
    for (size_t i = 0; cr != NULL && i < r->n_members; i++) {
        if (strcmp(r->members[i].node, self) == 0)
            continue;
        remote_set(cr, r->members[i].peer, r->members[i].node);
        struct remote *m = remote_find(cr, r->members[i].peer);
        if (m != NULL)
            knowers_prune(m, room);
        void *n =
            m ? realloc(m->knowers, (m->nknowers + 1) * sizeof *m->knowers)
              : NULL;
        if (n == NULL)
            continue;
        m->knowers = n;
        snprintf(m->knowers[m->nknowers++], sizeof *m->knowers, "%s", joiner);
    }
}

static bool is_knower(const struct remote *m, const char *id)
{
    for (size_t i = 0; m != NULL && i < m->nknowers; i++)
        if (strcmp(m->knowers[i], id) == 0)
            return true;
    return false;
}

/* Sends a peer-joined for m's peer to the local members of r but those
 * that had it in their welcome; then nobody is waiting for it any more. */
static void fanout_joined(struct hub *h, struct room *r, struct remote *m,
                          struct out_msg *msg)
{
    for (struct peer *p = r->peers; p != NULL; p = p->next)
        if (p->conn != NULL && !is_knower(m, p->id))
            hub_send(h, p->conn, out_msg_ref(msg));
    if (m != NULL) {
        free(m->knowers);
        m->knowers = NULL;
        m->nknowers = 0;
    }
}

/* ---- join ------------------------------------------------------------- */

static void join_done(void *arg, const struct bus_room *r);
static void replay_held(struct cluster *cl, struct pend *p,
                        const struct bus_room *r, struct peer *me);

/* A peer object and the peer-joined message for p's plain join. */
static int start_join(struct pend *p)
{
    struct cluster *cl = p->rq.cl;
    struct peer tmp = {.audio = p->audio, .video = p->video, .name = p->name};
    memcpy(tmp.id, p->id, sizeof tmp.id);
    char *json = msg_peer_json(&tmp);
    struct out_msg *ann = msg_peer_joined(&tmp);
    int rc = -1;

    if (json != NULL && ann != NULL)
        rc = bus_join(cl->bus, p->room, p->id, p->token, json, strlen(json),
                      out_msg_text(ann), ann->len, 0, join_done, p);
    free(json);
    out_msg_unref(ann);
    return rc;
}

/* Comma-separated peer objects of r but skip, and its chat. */
static char *peers_json(const struct bus_room *r, const char *skip)
{
    struct sb b = {0};
    bool first = true;
    sb_puts(&b, "");
    for (size_t i = 0; i < r->n_members; i++) {
        if (skip != NULL && strcmp(r->members[i].peer, skip) == 0)
            continue;
        if (!first)
            sb_puts(&b, ",");
        sb_putn(&b, r->members[i].json, r->members[i].json_len);
        first = false;
    }
    return sb_take(&b);
}

static char *chat_json(const struct bus_room *r)
{
    struct sb b = {0};
    sb_puts(&b, "");
    for (size_t i = 0; i < r->n_chat; i++) {
        if (i)
            sb_puts(&b, ",");
        sb_putn(&b, r->chat[i].s, r->chat[i].len);
    }
    return sb_take(&b);
}

static void announce_left(struct cluster *cl, const char *room, const char *id,
                          const char *reason)
{
    struct out_msg *m = msg_peer_left(id, reason);
    if (m != NULL)
        bus_leave(cl->bus, room, id, out_msg_text(m), m->len, NULL, NULL);
    out_msg_unref(m);
}

/* Redis gave p's connection a seat: the hub makes it local and says
 * welcome; then the routing table learns the room and what came meanwhile
 * is replayed. */
static void seat(struct pend *p, const struct bus_room *r, bool resumed)
{
    struct cluster *cl = p->rq.cl;
    struct hub *h = cl->h;
    int64_t now = clock_mono_ms();
    struct room *room = hub_room(h, p->room);
    const char *id = resumed ? r->peer : p->id;
    struct peer *me = room && resumed ? room_peer_find(room, id) : NULL;

    if (me != NULL && strcmp(me->token, p->resume) != 0)
        hub_drop_seat(h, me, now); /* a stale seat here (x-moved lost) */
    char *peers = peers_json(r, id);
    char *chat = chat_json(r);
    struct hub_seat s = {
        .room = p->room,
        .name = p->name,
        .audio = p->audio,
        .video = p->video,
        .resume = resumed ? p->resume : NULL,
        .id = id,
        .token = p->token,
        .resumed = resumed,
        .peer_json = resumed ? r->peer_json : NULL,
        .peer_json_len = resumed ? r->peer_json_len : 0,
        .peers_json = peers,
        .chat_json = chat,
        .members = r->n_members,
    };
    me = hub_seat(h, p->c, &s, now);
    free(peers);
    free(chat);
    if (me == NULL) {
        announce_left(cl, p->room, id, "left");
        return;
    }
    remote_del(croom_get(cl, p->room, false), me->id); /* it is here now */
    remote_merge(cl, croom_get(cl, p->room, false), r, me->id);
    if (p->cr != NULL)
        replay_held(cl, p, r, me);
    if (resumed && strcmp(r->old_node, bus_node_id(cl->bus)) != 0) {
        char buf[96];
        int n = snprintf(buf, sizeof buf,
                         "{\"type\":\"" MOVED_TYPE "\",\"id\":\"%s\"}", me->id);
        bus_publish_room(cl->bus, p->room, buf, (size_t)n);
    }
}

/* Ends a pending join: the connection, if still there, has its answer. */
static void pend_finish(struct pend *p)
{
    struct croom *cr = croom_get(p->rq.cl, p->room, false);
    if (cr != NULL && cr->pending > 0)
        cr->pending--;
    if (p->c != NULL)
        p->c->pending = NULL;
    pend_free(p);
}

static void join_done(void *arg, const struct bus_room *r)
{
    struct pend *p = arg;
    struct hub *h = p->rq.cl->h;
    bool in = r->status == BUS_OK || r->status == BUS_EXISTS;

    if (p->c == NULL) { /* the client went away meanwhile */
        if (in)
            announce_left(p->rq.cl, p->room, p->id, "left");
    } else if (in) {
        p->c->pending = NULL;
        seat(p, r, false);
    } else if (r->status == BUS_FULL) {
        p->c->pending = NULL;
        hub_answer_error(h, p->c, "room-full", "the room is full", "join",
                         clock_mono_ms());
    } else {
        p->c->pending = NULL;
        hub_answer_error(h, p->c, "unavailable", "cluster unavailable", "join",
                         clock_mono_ms());
    }
    pend_finish(p);
}

static void resume_done(void *arg, const struct bus_room *r)
{
    struct pend *p = arg;
    struct hub *h = p->rq.cl->h;

    if (p->c == NULL) {
        if (r->status == BUS_OK)
            announce_left(p->rq.cl, p->room, r->peer, "left");
    } else if (r->status == BUS_NONE) {
        if (start_join(p) == 0)
            return; /* still pending */
        p->c->pending = NULL;
        hub_answer_error(h, p->c, "unavailable", "cluster unavailable", "join",
                         clock_mono_ms());
    } else if (r->status == BUS_OK) {
        p->c->pending = NULL;
        seat(p, r, true);
    } else {
        p->c->pending = NULL;
        hub_answer_error(h, p->c, "unavailable", "cluster unavailable", "join",
                         clock_mono_ms());
    }
    pend_finish(p);
}

static bool token_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return false;
    return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                     "0123456789_-") == n;
}

static void hk_join(void *ctx, struct hub_conn *c, const struct msg_in *m,
                    int64_t now)
{
    struct cluster *cl = ctx;
    struct pend *p = calloc(1, sizeof *p);
    struct croom *cr = croom_get(cl, m->room, true);
    int rc = -1;

    if (p == NULL)
        goto fail;
    req_link(cl, &p->rq);
    p->rq.drop = pend_drop;
    if (cr == NULL || (p->name = strdup(m->name)) == NULL)
        goto fail;
    snprintf(p->room, sizeof p->room, "%s", m->room);
    p->audio = m->audio == 1;
    p->video = m->video == 1;
    room_random_id(p->id, PEER_ID_LEN);
    room_random_id(p->token, TOKEN_LEN);
    if (m->resume != NULL && token_ok(m->resume)) {
        if ((p->resume = strdup(m->resume)) != NULL)
            rc = bus_resume(cl->bus, p->room, p->resume, p->token, resume_done,
                            p);
    } else {
        rc = start_join(p);
    }
    if (rc < 0)
        goto fail;
    cr->pending++;
    p->cr = cr;
    p->next = cr->joins;
    cr->joins = p;
    p->c = c;
    c->pending = p;
    return;
fail:
    if (p != NULL)
        pend_free(p);
    hub_answer_error(cl->h, c, "unavailable", "cluster unavailable, try again",
                     "join", now);
}

static void hk_cancel(void *ctx, struct hub_conn *c)
{
    (void)ctx;
    struct pend *p = c->pending;
    p->c = NULL;
    c->pending = NULL;
}

/* ---- what members here say --------------------------------------------- */

/* {"room":"<room>","to":"<peer>","msg":<message>}: fields in this order,
 * so the receiver finds msg without parsing it. */
static bool hk_send_remote(void *ctx, struct hub_conn *c, const char *to,
                           struct out_msg *m, const char *ref, int64_t now)
{
    struct cluster *cl = ctx;
    struct peer *me = c->peer;
    struct remote *rm = remote_find(croom_get(cl, me->room->id, false), to);
    struct sb b = {0};
    int rc = -1;

    if (rm == NULL)
        return false;
    sb_printf(&b, "{\"room\":\"%s\",\"to\":\"%s\",\"msg\":", me->room->id,
              rm->id);
    sb_putn(&b, out_msg_text(m), m->len);
    sb_puts(&b, "}");
    if (!b.oom)
        rc = bus_publish_node(cl->bus, rm->node, b.p, b.len);
    free(b.p);
    if (rc < 0)
        hub_answer_error(cl->h, c, "unavailable",
                         "that peer is on another server, unreachable now", ref,
                         now);
    else if (strcmp(ref, "chat") == 0)
        hub_send(cl->h, c, out_msg_ref(m)); /* the sender's copy */
    return true;
}

static void hk_chat(void *ctx, struct hub_conn *c, struct out_msg *m,
                    int64_t now)
{
    struct cluster *cl = ctx;
    const char *room = c->peer->room->id;
    const char *s = out_msg_text(m);
    struct croom *cr = croom_get(cl, room, false);

    if (bus_chat(cl->bus, room, s, m->len, s, m->len, NULL, NULL) < 0 &&
        cr != NULL && cr->remote != NULL)
        hub_answer_error(cl->h, c, "unavailable",
                         "not delivered to peers on other servers", "chat",
                         now);
}

static void hk_state(void *ctx, struct peer *p, struct out_msg *m)
{
    struct cluster *cl = ctx;
    char *json = msg_peer_json(p);
    if (json != NULL)
        bus_update(cl->bus, p->room->id, p->id, json, strlen(json),
                   out_msg_text(m), m->len, NULL, NULL);
    free(json);
}

/* A grace expiry waiting for Redis to say whether the seat was still
 * ours. */
struct expiry {
    struct req rq;
    char room[65];
    struct out_msg *m;
};

static void expiry_drop(struct req *r)
{
    struct expiry *e = (struct expiry *)(void *)r;
    req_unlink(&e->rq);
    out_msg_unref(e->m);
    free(e);
}

static void expiry_done(void *arg, enum bus_status st)
{
    struct expiry *e = arg;
    struct room *r = hub_room(e->rq.cl->h, e->room);
    if (st != BUS_NONE && r != NULL) /* BUS_NONE: resumed elsewhere */
        hub_fanout(e->rq.cl->h, r, out_msg_ref(e->m), NULL);
    expiry_drop(&e->rq);
}

static void hk_expired(void *ctx, struct peer *p, struct out_msg *m)
{
    struct cluster *cl = ctx;
    struct expiry *e = calloc(1, sizeof *e);

    if (e != NULL) {
        req_link(cl, &e->rq);
        e->rq.drop = expiry_drop;
        e->m = out_msg_ref(m);
        snprintf(e->room, sizeof e->room, "%s", p->room->id);
        if (bus_leave(cl->bus, p->room->id, p->id, out_msg_text(m), m->len,
                      expiry_done, e) == 0)
            return;
        expiry_drop(&e->rq);
    }
    /* Redis down: tell the members here now; the others get the roster */
    hub_fanout(cl->h, p->room, out_msg_ref(m), p);
}

static void hk_left(void *ctx, struct peer *p, struct out_msg *m)
{
    struct cluster *cl = ctx;
    bus_leave(cl->bus, p->room->id, p->id, out_msg_text(m), m->len, NULL, NULL);
}

/* Unsubscribes rooms that have no seat here and nothing pending. */
static void hk_tick(void *ctx, int64_t now)
{
    struct cluster *cl = ctx;
    (void)now;
    for (size_t i = 0; i < CROOM_BUCKETS; i++) {
        struct croom **pp = &cl->rooms[i];
        while (*pp != NULL) {
            struct croom *cr = *pp;
            struct room *r = hub_room(cl->h, cr->id);
            if ((r != NULL && r->npeers > 0) || cr->pending > 0) {
                pp = &cr->next;
                continue;
            }
            *pp = cr->next;
            bus_unsubscribe_room(cl->bus, cr->id);
            remote_clear(cr);
            free(cr);
        }
    }
}

/* ---- what other nodes say ---------------------------------------------- */

static const char *str_at(const cJSON *j, const char *a, const char *b)
{
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(j, a);
    if (b != NULL)
        o = cJSON_GetObjectItemCaseSensitive(o, b);
    return cJSON_IsString(o) ? o->valuestring : NULL;
}

static enum rkind classify(const char *json, size_t len, cJSON **jp,
                           const char **about)
{
    *about = NULL;
    if (len >= sizeof CHAT_PREFIX &&
        memcmp(json, CHAT_PREFIX, sizeof CHAT_PREFIX - 1) == 0)
        return RK_CHAT; /* the busy case: no parse */
    cJSON *j = *jp = cJSON_ParseWithLength(json, len);
    const char *type = str_at(j, "type", NULL);
    const char *id = str_at(j, "id", NULL);
    const char *pid = str_at(j, "peer", "id");
    if (type == NULL)
        return RK_OTHER;
    if (strcmp(type, "peer-joined") == 0 && (*about = pid) != NULL)
        return RK_JOINED;
    if (strcmp(type, "peer-state") == 0 && (*about = pid) != NULL)
        return RK_STATE;
    if (strcmp(type, "peer-left") == 0 && (*about = id) != NULL)
        return RK_LEFT;
    if (strcmp(type, MOVED_TYPE) == 0 && (*about = id) != NULL)
        return RK_MOVED;
    return RK_OTHER;
}

static void hold(struct pend *p, struct out_msg *m, enum rkind k,
                 const char *about, const char *origin)
{
    if (p->nheld == p->capheld) {
        size_t cap = p->capheld ? p->capheld * 2 : 8;
        struct held *n = realloc(p->held, cap * sizeof *n);
        if (n == NULL)
            return; /* at most once anyway */
        p->held = n;
        p->capheld = cap;
    }
    struct held *h = &p->held[p->nheld];
    if ((h->origin = strdup(origin)) == NULL)
        return;
    h->m = out_msg_ref(m);
    h->kind = k;
    snprintf(h->about, sizeof h->about, "%s", about ? about : "");
    p->nheld++;
}

static void on_room_message(void *user, const char *room, const char *origin,
                            const char *json, size_t len)
{
    struct cluster *cl = user;
    struct croom *cr = croom_get(cl, room, false);
    struct room *r = hub_room(cl->h, room);
    struct peer *me;
    struct out_msg *m;
    cJSON *j = NULL;
    const char *about;
    enum rkind k = classify(json, len, &j, &about);

    if (cr == NULL || (m = out_msg_new(json, len)) == NULL)
        goto out;
    if (about != NULL && (k == RK_JOINED || k == RK_STATE || k == RK_LEFT))
        out_msg_tag(m,
                    k == RK_JOINED  ? OUT_PEER_JOINED
                    : k == RK_STATE ? OUT_PEER_STATE
                                    : OUT_PEER_LEFT,
                    about);
    me = r != NULL && about != NULL ? room_peer_find(r, about) : NULL;
    if (k == RK_JOINED && r != NULL && remote_find(cr, about) != NULL) {
        for (struct pend *p = cr->joins; p != NULL; p = p->next)
            hold(p, m, k, about, origin);
        fanout_joined(cl->h, r, remote_find(cr, about), m);
        remote_set(cr, about, origin);
        goto done;
    }
    if (k == RK_JOINED || k == RK_MOVED)
        remote_set(cr, about, origin);
    else if (k == RK_LEFT)
        remote_del(cr, about);
    if (k == RK_MOVED) {
        if (me != NULL)
            hub_drop_seat(cl->h, me, clock_mono_ms());
    } else {
        for (struct pend *p = cr->joins; p != NULL; p = p->next)
            hold(p, m, k, about, origin);
        if (r != NULL) /* not to the member it is about (peer-state) */
            hub_fanout(cl->h, r, out_msg_ref(m), me);
    }
done:
    out_msg_unref(m);
out:
    cJSON_Delete(j);
}

/* Who the joiner knows of while its held messages are replayed. */
struct known {
    char (*ids)[PEER_ID_LEN + 1];
    size_t n;
};

static size_t known_find(const struct known *kn, const char *id)
{
    for (size_t i = 0; i < kn->n; i++)
        if (strcmp(kn->ids[i], id) == 0)
            return i;
    return SIZE_MAX;
}

static bool in_history(const struct bus_room *r, const struct out_msg *m)
{
    for (size_t i = 0; i < r->n_chat; i++)
        if (r->chat[i].len == m->len &&
            memcmp(r->chat[i].s, out_msg_text(m), m->len) == 0)
            return true;
    return false;
}

/* Delivers to the new member what came while it waited and is not already
 * in its welcome, in order; brings the routing table up to date. */
static void replay_held(struct cluster *cl, struct pend *p,
                        const struct bus_room *r, struct peer *me)
{
    struct known kn = {calloc(r->n_members + p->nheld + 1, sizeof *kn.ids), 0};
    if (kn.ids == NULL)
        return;
    for (size_t i = 0; i < r->n_members; i++)
        snprintf(kn.ids[kn.n++], sizeof *kn.ids, "%s", r->members[i].peer);
    for (size_t i = 0; i < p->nheld; i++) {
        struct held *h = &p->held[i];
        size_t at = known_find(&kn, h->about);
        bool self = strcmp(h->about, me->id) == 0, deliver = true;
        if (h->kind == RK_JOINED) {
            remote_set(p->cr, h->about, h->origin);
            deliver = at == SIZE_MAX && !self;
            if (at == SIZE_MAX)
                snprintf(kn.ids[kn.n++], sizeof *kn.ids, "%s", h->about);
        } else if (h->kind == RK_LEFT) {
            remote_del(p->cr, h->about);
            deliver = at != SIZE_MAX && !self;
            if (at != SIZE_MAX)
                memcpy(kn.ids[at], kn.ids[--kn.n], sizeof *kn.ids);
        } else if (h->kind == RK_STATE) {
            deliver = at != SIZE_MAX && !self;
        } else if (h->kind == RK_CHAT) {
            deliver = !in_history(r, h->m);
        }
        if (deliver && me->conn != NULL)
            hub_send(cl->h, me->conn, out_msg_ref(h->m));
    }
    free(kn.ids);
}

/* Reads one "<key>":"<value>" at *s into out (NUL-terminated). */
static int take_field(const char **s, const char *end, const char *key,
                      char *out, size_t max)
{
    size_t k = strlen(key);
    if ((size_t)(end - *s) < k || memcmp(*s, key, k) != 0)
        return -1;
    const char *v = *s + k;
    const char *q = memchr(v, '"', (size_t)(end - v));
    if (q == NULL || (size_t)(q - v) >= max)
        return -1;
    memcpy(out, v, (size_t)(q - v));
    out[q - v] = '\0';
    *s = q + 1;
    return 0;
}

/* Splits a node message {"room":"..","to":"..","msg":{..}} into room, to
 * and the inner message (*msg, *msg_len point into json). Returns 0, or -1
 * when it is not of that shape. */
static int node_message_parse(const char *json, size_t len, char *room,
                              size_t room_max, char *to, size_t to_max,
                              const char **msg, size_t *msg_len)
{
    const char *s = json, *end = json + len;

    if (take_field(&s, end, "{\"room\":\"", room, room_max) < 0 ||
        take_field(&s, end, ",\"to\":\"", to, to_max) < 0 ||
        (size_t)(end - s) < 8 || memcmp(s, ",\"msg\":", 7) != 0 ||
        end[-1] != '}')
        return -1;
    *msg = s + 7;
    *msg_len = (size_t)(end - 1 - *msg);
    return 0;
}

static void on_node_message(void *user, const char *origin, const char *json,
                            size_t len)
{
    struct cluster *cl = user;
    char room[65], to[PEER_ID_LEN + 1];
    const char *msg;
    size_t msg_len;
    (void)origin;

    if (node_message_parse(json, len, room, sizeof room, to, sizeof to, &msg,
                           &msg_len) < 0) {
        log_warn("node message not understood (%zu bytes)", len);
        return;
    }
    struct room *r = hub_room(cl->h, room);
    struct peer *t = r != NULL ? room_peer_find(r, to) : NULL;
    if (t != NULL && t->conn != NULL) /* in grace: dropped */
        hub_send(cl->h, t->conn, out_msg_new(msg, msg_len));
}

/* ---- reconnect: re-assert, then roster --------------------------------- */

static void roster_done(void *arg, const struct bus_room *r)
{
    struct resync *rs = arg;
    struct cluster *cl = rs->rq.cl;
    struct croom *cr = croom_get(cl, rs->room, false);
    struct room *room = hub_room(cl->h, rs->room);
    const char *self = bus_node_id(cl->bus);

    if (cr != NULL && cr->pending > 0)
        cr->pending--;
    if (r->status == BUS_OK && room != NULL) {
        remote_load(cl, cr, r);
        for (size_t i = 0; i < r->n_members; i++) /* ghosts of ours */
            if (strcmp(r->members[i].node, self) == 0 &&
                room_peer_find(room, r->members[i].peer) == NULL)
                announce_left(cl, rs->room, r->members[i].peer, "timeout");
        for (struct peer *p = room->peers; p != NULL; p = p->next) {
            char *peers = p->conn != NULL ? peers_json(r, p->id) : NULL;
            struct sb b = {0};
            if (peers == NULL)
                continue;
            sb_puts(&b, "{\"type\":\"roster\",\"peers\":[");
            sb_puts(&b, peers);
            sb_puts(&b, "]}");
            free(peers);
            char *t = sb_take(&b);
            if (t != NULL)
                hub_send(cl->h, p->conn, out_msg_new(t, strlen(t)));
            free(t);
        }
        log_info("resync room=%s members=%zu", rs->room, r->n_members);
    }
    req_unlink(&rs->rq);
    free(rs);
}

static void resync_step(struct resync *rs)
{
    struct cluster *cl = rs->rq.cl;
    if (rs->left > 0)
        return;
    if (bus_room(cl->bus, rs->room, roster_done, rs) == 0)
        return;
    struct croom *cr = croom_get(cl, rs->room, false);
    if (cr != NULL && cr->pending > 0)
        cr->pending--;
    req_unlink(&rs->rq);
    free(rs);
}

static void reassert_done(void *arg, const struct bus_room *r)
{
    struct reassert *ra = arg;
    struct resync *rs = ra->rs;
    struct cluster *cl = ra->rq.cl;
    struct room *room = hub_room(cl->h, rs->room);
    struct peer *p = room != NULL ? room_peer_find(room, ra->id) : NULL;

    if (r->status == BUS_MOVED && p != NULL)
        hub_drop_seat(cl->h, p, clock_mono_ms());
    req_unlink(&ra->rq);
    free(ra);
    rs->left--;
    resync_step(rs);
}

static void reassert(struct cluster *cl, struct resync *rs, struct peer *p)
{
    struct reassert *ra = calloc(1, sizeof *ra);
    char *json = msg_peer_json(p);
    struct out_msg *ann = msg_peer_joined(p);

    if (ra != NULL && json != NULL && ann != NULL) {
        req_link(cl, &ra->rq);
        ra->rs = rs;
        memcpy(ra->id, p->id, sizeof ra->id);
        if (bus_join(cl->bus, rs->room, p->id, p->token, json, strlen(json),
                     out_msg_text(ann), ann->len, BUS_JOIN_FORCE, reassert_done,
                     ra) == 0) {
            rs->left++;
            ra = NULL;
        } else {
            req_unlink(&ra->rq);
        }
    }
    free(ra);
    free(json);
    out_msg_unref(ann);
}

static void on_up(void *user)
{
    struct cluster *cl = user;
    log_info("redis up as node %s", bus_node_id(cl->bus));
    metrics.redis_up = true;
    if (cl->ready != NULL) {
        void (*ready)(void *) = cl->ready;
        cl->ready = NULL;
        ready(cl->ready_arg);
    }
    for (size_t i = 0; i < CROOM_BUCKETS; i++) {
        for (struct croom *cr = cl->rooms[i]; cr != NULL; cr = cr->next) {
            struct room *room = hub_room(cl->h, cr->id);
            struct resync *rs;
            if (room == NULL || room->npeers == 0 ||
                (rs = calloc(1, sizeof *rs)) == NULL)
                continue;
            req_link(cl, &rs->rq);
            snprintf(rs->room, sizeof rs->room, "%s", cr->id);
            cr->pending++;
            rs->left = 1; /* held while issuing */
            for (struct peer *p = room->peers; p != NULL; p = p->next)
                reassert(cl, rs, p);
            rs->left--;
            resync_step(rs);
        }
    }
}

static void on_down(void *user)
{
    (void)user;
    metrics.redis_up = false;
    log_warn("redis down: cross-node sends answer unavailable");
}

/* ---- drain --------------------------------------------------------------- */

struct drain {
    struct req rq;
    void (*done)(void *arg);
    void *arg;
};

static void drain_done(void *arg, enum bus_status st)
{
    struct drain *d = arg;
    void (*done)(void *) = d->done;
    void *done_arg = d->arg;

    if (st == BUS_OK)
        log_info("drain: redis holds the seats for their grace period");
    else
        log_warn("drain: hand-over failed (%s): the seats of this node are "
                 "reaped after the node TTL",
                 bus_status_name(st));
    req_unlink(&d->rq);
    free(d);
    done(done_arg);
}

/* Every seat held here, with what is left of its grace. *n gets the count;
 * the strings are borrowed from the hub's rooms. NULL when out of memory. */
static struct bus_seat *local_seats(struct cluster *cl, int64_t now, size_t *n)
{
    struct bus_seat *seats = NULL;
    size_t cap = 0;

    *n = 0;
    for (size_t i = 0; i < CROOM_BUCKETS; i++) {
        for (struct croom *cr = cl->rooms[i]; cr != NULL; cr = cr->next) {
            struct room *r = hub_room(cl->h, cr->id);
            for (struct peer *p = r ? r->peers : NULL; p; p = p->next) {
                if (*n == cap) {
                    cap = cap ? cap * 2 : 64;
                    struct bus_seat *ns = realloc(seats, cap * sizeof *ns);
                    if (ns == NULL) {
                        free(seats);
                        return NULL;
                    }
                    seats = ns;
                }
                seats[(*n)++] = (struct bus_seat){
                    r->id, p->id,
                    p->conn == NULL ? (long)(p->grace_until - now)
                                    : hub_config(cl->h)->resume_grace_ms};
            }
        }
    }
    return seats != NULL ? seats : malloc(1);
}

int cluster_drain(struct cluster *cl, void (*done)(void *arg), void *arg)
{
    size_t n;
    struct bus_seat *seats = local_seats(cl, clock_mono_ms(), &n);
    struct drain *d = calloc(1, sizeof *d);
    int rc = -1;

    if (seats != NULL && d != NULL) {
        req_link(cl, &d->rq);
        d->done = done;
        d->arg = arg;
        rc = bus_drain(cl->bus, seats, n, drain_done, d);
        if (rc < 0)
            req_unlink(&d->rq);
    }
    if (rc == 0)
        log_info("drain: handing %zu seat(s) over to redis", n);
    else
        log_warn("drain: redis unreachable: the seats of this node are "
                 "reaped after the node TTL");
    if (rc < 0)
        free(d);
    free(seats);
    return rc;
}

/* ---- life ---------------------------------------------------------------- */

struct cluster *cluster_new(uv_loop_t *loop, struct hub *h,
                            const struct bus_config *bc,
                            void (*ready)(void *arg), void *arg)
{
    struct cluster *cl = calloc(1, sizeof *cl);
    static const struct bus_callbacks cbs = {on_up, on_down, on_room_message,
                                             on_node_message};
    if (cl == NULL)
        return NULL;
    cl->h = h;
    cl->ready = ready;
    cl->ready_arg = arg;
    cl->reqs.next = cl->reqs.prev = &cl->reqs;
    cl->bus = bus_create(loop, bc, &cbs, cl);
    if (cl->bus == NULL) {
        free(cl);
        return NULL;
    }
    cl->hooks = (struct hub_cluster){
        .ctx = cl,
        .join = hk_join,
        .cancel = hk_cancel,
        .send_remote = hk_send_remote,
        .chat = hk_chat,
        .state = hk_state,
        .left = hk_left,
        .expired = hk_expired,
        .tick = hk_tick,
    };
    hub_set_cluster(h, &cl->hooks);
    metrics.clustered = true;
    log_info("cluster node %s: connecting to redis", bus_node_id(cl->bus));
    return cl;
}

void cluster_free(struct cluster *cl)
{
    if (cl == NULL)
        return;
    hub_set_cluster(cl->h, NULL);
    bus_free(cl->bus);
    while (cl->reqs.next != &cl->reqs) {
        struct req *r = cl->reqs.next;
        /* drop unlinks r from the list before it frees it; the analyzer
         * cannot see that through the function pointer. */
        if (r->drop != NULL) { // NOLINT(clang-analyzer-unix.Malloc)
            r->drop(r);
        } else {
            req_unlink(r);
            free(r); /* rq is the first member of each */
        }
    }
    for (size_t i = 0; i < CROOM_BUCKETS; i++) {
        while (cl->rooms[i] != NULL) {
            struct croom *cr = cl->rooms[i];
            cl->rooms[i] = cr->next;
            remote_clear(cr);
            free(cr);
        }
    }
    free(cl);
}
