/* cluster: the hub's cluster hooks (cluster.h) over the Redis bus. Joins
 * and resumes wait for Redis (pending.h holds the room's messages
 * meanwhile) and the hub seats them (hub_seat); what members here say goes
 * to the room's channel, or to one member's node through the routing
 * table (route.h); what other nodes publish is delivered here; after a
 * Redis reconnect every room is re-asserted and resynced. The wire formats
 * are in msg_node.c. It also serves the PeerJS endpoint's struct pj_net
 * (peerjs.h): ids claimed in Redis, relays to the node holding an id.
 *
 * The access rules (docs/access.md) are decided by the bus' join and host
 * scripts: a join may go again with a password's hash, or wait in the
 * lobby until a host's answer comes to this node; a host action waits
 * for Redis and what it did comes back to every node (from_redis).
 *
 * Over 1,000 lines on purpose: what is left here is glue, every part of
 * it (hooks, knocks, host actions, bus callbacks, resync, drain, PeerJS)
 * over the same struct cluster and its list of requests waiting for
 * Redis; split further, the parts would need a private header to share
 * them, the thing the pure parts were taken out to avoid. */
#include "cluster.h"

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "metrics.h"
#include "msg_node.h"
#include "pending.h"
#include "route.h"

/* Anything waiting for a bus callback; freed by cluster_free when the bus
 * is freed first (its callbacks then never run). */
struct req {
    struct req *prev, *next;
    struct cluster *cl;
    void (*drop)(struct req *r); /* frees it without its callback */
};

/* A join or resume waiting for Redis, holding the room's messages
 * meanwhile (pending.h). c is cleared when the connection ends meanwhile
 * (hub_conn.pending points here). */
struct join {
    struct req rq;
    struct pend pend;
    struct hub_conn *c;
    char room[65];
    char *name;
    char *resume;    /* the client's token, NULL for a plain join */
    int64_t attempt; /* the resume's number, or 0 (room.h, peer.attempt) */
    /* Why the join token was refused, or JWT_OK: then only the resume may
     * seat it (hub.h, join hook). */
    enum jwt_result token_refused;
    bool audio, video;
    char id[PEER_ID_LEN + 1]; /* the seat's, and its knock's in a lobby */
    int64_t since;            /* wall ms of the join: its knock's "since",
                                 kept when it knocks again */
    char token[TOKEN_LEN + 1];
    /* The access rules (docs/access.md), decided by the join script: */
    int role;        /* hub.h, join hook */
    char addr[64];   /* the client address, for bans ("": unknown) */
    char *password;  /* the room password given, or NULL */
    char pwhash[65]; /* its hash with the room's salt, "" until asked */
    bool sent;       /* waiting for Redis, holding the room's messages */
    bool knocking;   /* waiting for a host's answer (nothing sent) */
    bool knocked;    /* the client was told it knocks (hub_knocking) */
    bool admitted;   /* a host admitted it: the join goes again */
    /* Its resume's token was a knock's: its page's new connection takes
     * the knock over (bus_entry.takes_over), until it knocks here. */
    bool takes_over;
    /* Its knock went on with the page's newer connection while this one
     * waited for Redis: its reply is not used (join_done). */
    bool replaced;
    bool unsure; /* a try's answer was lost: Redis may have seated it */
    /* A host's answer to the knock: ADMITTED or a denial (QUIET: none
     * yet). It may come before the join's reply says it knocks: the two
     * come on two connections to Redis, in either order. */
    enum hub_knock_end answer;
};

/* The re-assertion of one room after a reconnect. */
struct resync {
    struct req rq;
    char room[65];
    unsigned left; /* bus_join answers still to come */
    bool again;    /* the second roster (no re-assertion before it) */
};

/* After a reconnect every node re-asserts its members and sends its own
 * members the roster. A peer-joined that another node's re-assertion
 * published can be read here before the answer to the roster's read of
 * Redis, which that re-assertion came too late for: the roster would then
 * drop that peer for good. So the roster goes once more this long after
 * the first, when every node that came back with this one has
 * re-asserted.
 *
 * When Redis lacks members of other nodes that this node routed to, they
 * left meanwhile, or Redis came back without its data (no persistence) and
 * their nodes may still be on their way back: a connect that hangs
 * (HUDDLE_REDIS_PING_TIMEOUT_MS), then their reconnect backoff
 * (HUDDLE_REDIS_BACKOFF_MAX_MS at most: every node of a cluster runs the
 * same settings), before they re-assert them. A roster then would drop
 * them from every page here (their tiles and calls gone, then back as
 * newcomers), so the roster waits that long and ROSTER_AGAIN_MS more
 * (struct cluster's roster_wait_ms), and goes once more after it. The
 * members Redis has are routed to meanwhile; none is forgotten. */
#define ROSTER_AGAIN_MS 1000

/* The longest the joins wait after Redis lost its data (struct cluster's
 * joins_wait_until), whatever the Redis timings: newcomers are not kept
 * out longer than this for nodes that may never come back. */
#define JOINS_WAIT_MAX_MS 30000
#define LOST_DATA_RETRY                                                        \
    "redis lost its data: rooms are being restored, try again"

struct reassert {
    struct req rq;
    struct resync *rs;
    char id[PEER_ID_LEN + 1];
};

/* What Redis must be told even when it is down when it happens: a knock
 * that stopped waiting (its withdrawal, or its lobby row stays for the
 * hosts to see), a PeerJS id closed (its release, or the id stays
 * claimed), and a seat this node gave up or that Redis may have given it
 * with nobody here behind it (its leave, or the others keep a member
 * nobody is behind). Each stays listed until Redis has answered it; one
 * refused (Redis down or not keeping up) or lost (the connection dropped
 * before the answer, or Redis answered an error) goes again at the next
 * re-assertion (reassert_all), or after a second while the bus stays up
 * (hk_tick; doubling to OWED_RETRY_MAX_MS while Redis answers errors).
 * Each may be done twice: pj-release frees an id only while it still has
 * this token, a leave a seat only while this node holds it. Sent again
 * (and a patient leave, or a withdrawal, the first time too), a leave or
 * withdrawal waits while a join or resume of this node is on its way in
 * that room (it could be taking that seat, or taking the knock over), and
 * is owed no more once the seat is here again or a join with the knock's
 * id is on its way or waits. At most OWED_MAX wait; one more is dropped with a
 * warning (its knock stays in the lobby, its id claimed, its seat in
 * Redis, until this node stops). */
enum owed_what { OWED_WITHDRAW, OWED_PJ_RELEASE, OWED_LEAVE, OWED_SEAT_OF };

struct owed {
    struct owed *next;
    struct cluster *cl;
    enum owed_what what;
    bool sending;              /* its answer not yet read */
    bool warned;               /* its loss was logged */
    char a[PJ_ID_MAX + 1];     /* the room, or the PeerJS id */
    char b[PJ_TOKEN_MAX + 1];  /* the knock id or peer id, or the id's token */
    struct out_msg *left;      /* a leave's peer-left */
    int64_t ticket_ms;         /* a leave's return ticket (bus_leave) */
    char token[TOKEN_LEN + 1]; /* a lost resume's: the one its page has */
};

_Static_assert(sizeof(((struct owed *)0)->a) >= 65, "a room id fits in a");

#define OWED_MAX 4096
#define OWED_RETRY_MS 1000
#define OWED_RETRY_MAX_MS 8000

struct cluster {
    struct hub *h;
    struct bus *bus;
    struct hub_cluster hooks;
    struct req reqs; /* list head */
    void (*ready)(void *arg);
    void *ready_arg;
    struct route *rt;
    struct pj *pj; /* the PeerJS server (cluster_peerjs), or NULL */
    struct pj_net pjnet;
    struct owed *owed; /* newest first */
    size_t n_owed;
    int64_t owed_retry;  /* mono ms of the next retry (hk_tick) */
    long owed_wait_ms;   /* and the wait after it */
    long roster_wait_ms; /* see ROSTER_AGAIN_MS */
    /* Mono ms until which joins answer unavailable: after a reconnect to a
     * Redis that lost its data, the other nodes may not have re-asserted
     * their members yet (roster_wait_ms, at most JOINS_WAIT_MAX_MS), and a
     * join meanwhile would find their rooms empty and walk in as host,
     * past a lock. A seat of this node's, re-asserted first, may be taken
     * back meanwhile: its grace runs on. */
    int64_t joins_wait_until;
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

static void join_free(struct join *j)
{
    pend_clear(&j->pend);
    req_unlink(&j->rq); /* hk_join links it at once */
    free(j->name);
    free(j->resume);
    if (j->password != NULL)
        OPENSSL_cleanse(j->password, strlen(j->password));
    free(j->password);
    free(j);
}

static void join_drop(struct req *r)
{
    join_free((struct join *)(void *)r); /* rq is its first member */
}

/* The routing entry of room id, or NULL. */
static struct route_room *croom(struct cluster *cl, const char *id)
{
    return route_room(cl->rt, id, false);
}

/* Sends a peer-joined for m's peer to the local members of r but those
 * that had it in their welcome; then nobody is waiting for it any more. */
static void fanout_joined(struct hub *h, struct room *r, struct route_peer *m,
                          struct out_msg *msg)
{
    for (struct peer *p = r->peers; p != NULL; p = p->next)
        if (p->conn != NULL && !route_knows(m, p->id))
            hub_send(h, p->conn, out_msg_ref(msg));
    route_forget_knowers(m);
}

/* ---- what Redis is owed (struct owed) ------------------------------------ */

static void owed_log(const struct owed *o, const char *outcome)
{
    switch (o->what) {
    case OWED_WITHDRAW:
        log_warn("knock room=%s knock=%s: not withdrawn in redis (%s)", o->a,
                 o->b, outcome);
        break;
    case OWED_PJ_RELEASE:
        log_warn("peerjs: id=%s not released in redis (%s)", o->a, outcome);
        break;
    case OWED_LEAVE:
        log_warn("leave room=%s peer=%s: not told to redis (%s)", o->a, o->b,
                 outcome);
        break;
    case OWED_SEAT_OF:
        log_warn("resume room=%s: its answer was lost; redis not asked yet "
                 "whether it gave this node the seat (%s)",
                 o->a, outcome);
        break;
    }
}

static void owed_destroy(struct owed *o)
{
    out_msg_unref(o->left);
    free(o);
}

/* Takes o off its list and frees it. */
static void owed_free(struct owed *o)
{
    struct cluster *cl = o->cl;

    for (struct owed **link = &cl->owed; *link != NULL; link = &(*link)->next)
        if (*link == o) {
            *link = o->next;
            cl->n_owed--;
            owed_destroy(o);
            return;
        }
}

static void owed_done(void *arg, enum bus_status st)
{
    struct owed *o = arg;
    struct cluster *cl = o->cl;

    o->sending = false;
    if (st != BUS_ERR) {
        cl->owed_wait_ms = OWED_RETRY_MS;
        owed_free(o);
        return;
    }
    if (cl->owed_wait_ms < OWED_RETRY_MAX_MS) /* Redis answers errors */
        cl->owed_wait_ms *= 2;
    if (!o->warned)
        owed_log(o, "lost or refused: sent again");
    o->warned = true;
}

static void seat_of_done(void *arg, enum bus_status st, const char *seat);

/* Returns true when o went to Redis. */
static bool owed_send(struct owed *o)
{
    struct bus *bus = o->cl->bus;
    struct route_room *cr;
    int rc = -1;

    switch (o->what) {
    case OWED_WITHDRAW:
        rc = bus_host(bus, BUS_DO_WITHDRAW, o->a, o->b, NULL, NULL, owed_done,
                      o);
        break;
    case OWED_PJ_RELEASE:
        rc = bus_pj_release(bus, o->a, o->b, owed_done, o);
        break;
    case OWED_LEAVE:
        rc = bus_leave(bus, o->a, o->b, out_msg_text(o->left), o->left->len,
                       o->ticket_ms, owed_done, o);
        break;
    case OWED_SEAT_OF: /* the room stays subscribed while it is asked */
        cr = route_room(o->cl->rt, o->a, true);
        if (cr != NULL &&
            (rc = bus_seat_of(bus, o->a, o->b, seat_of_done, o)) == 0)
            cr->pending++;
        break;
    }
    o->sending = rc == 0;
    return o->sending;
}

/* A new debt (a and b as struct owed has them), listed; NULL (logged)
 * when too many wait or out of memory. */
static struct owed *owed_new(struct cluster *cl, enum owed_what what,
                             const char *a, const char *b)
{
    struct owed *o = NULL;

    if (cl->n_owed < OWED_MAX)
        o = calloc(1, sizeof *o);
    if (o == NULL) {
        struct owed tmp = {.what = what};
        snprintf(tmp.a, sizeof tmp.a, "%s", a);
        snprintf(tmp.b, sizeof tmp.b, "%s", b);
        owed_log(&tmp, "too many waiting: until this node stops");
        return NULL;
    }
    o->cl = cl;
    o->what = what;
    snprintf(o->a, sizeof o->a, "%s", a);
    snprintf(o->b, sizeof o->b, "%s", b);
    o->next = cl->owed;
    cl->owed = o;
    cl->n_owed++;
    return o;
}

static struct join *join_with(struct cluster *cl, const char *room,
                              const char *id, const struct join *skip);

/* True when o is owed no more: its seat is here again, or its knock
 * waits again. */
static bool owed_void(struct cluster *cl, const struct owed *o)
{
    struct room *r;

    switch (o->what) {
    case OWED_WITHDRAW:
        return join_with(cl, o->a, o->b, NULL) != NULL;
    case OWED_LEAVE:
        r = hub_room(cl->h, o->a);
        return r != NULL && room_peer_find(r, o->b) != NULL;
    default: /* a release is owed until Redis has it, a question until
                Redis answers it */
        return false;
    }
}

/* True when o waits: a join or resume of this node is on its way in its
 * room. */
static bool owed_waits(struct cluster *cl, const struct owed *o)
{
    const struct route_room *cr =
        o->what != OWED_PJ_RELEASE ? croom(cl, o->a) : NULL;

    return cr != NULL && cr->pending > 0;
}

/* Tells Redis what o owes, now or once it can; patient, not while a
 * join or resume is on its way in its room. */
static void owed_first(struct owed *o, bool patient)
{
    if (o == NULL || (patient && owed_waits(o->cl, o)))
        return;
    if (!owed_send(o)) {
        owed_log(o, "refused: sent when redis takes it");
        o->warned = true;
    }
}

static void owe(struct cluster *cl, enum owed_what what, const char *a,
                const char *b)
{
    owed_first(owed_new(cl, what, a, b), false);
}

/* Leaves id's seat in room if this node holds it in Redis, publishing
 * left (its peer-left) and leaving a return ticket for ticket_ms (0:
 * none): a seat its member left here (at once), or, patient, one whose
 * grace ended here or that Redis may have given this node with nobody
 * here behind it (a join whose answer was lost or came after its client
 * went away): a resume on its way could be taking it back here. */
static void owe_leave(struct cluster *cl, const char *room, const char *id,
                      struct out_msg *left, int64_t ticket_ms, bool patient)
{
    struct owed *o = left != NULL ? owed_new(cl, OWED_LEAVE, room, id) : NULL;

    if (o != NULL) {
        o->left = out_msg_ref(left);
        o->ticket_ms = ticket_ms;
    }
    owed_first(o, patient);
}

/* owe_leave, patient, with a peer-left of reason. */
static void leave_seat(struct cluster *cl, const char *room, const char *id,
                       const char *reason)
{
    struct out_msg *m = msg_peer_left(id, reason);

    owe_leave(cl, room, id, m, 0, true);
    out_msg_unref(m);
}

/* Sends again what was refused or lost. A bus call never runs its
 * callback inside the call (bus.h): only owed_free unlinks here. */
static void owed_resend(struct cluster *cl)
{
    struct owed *next;

    for (struct owed *o = cl->owed; o != NULL; o = next) {
        next = o->next;
        if (o->sending)
            continue;
        if (owed_void(cl, o))
            owed_free(o);
        else if (!owed_waits(cl, o))
            owed_send(o);
    }
}

/* ---- join ------------------------------------------------------------- */

static void join_done(void *arg, const struct bus_room *r);

/* A peer object (a guest's: the script makes the host), the peer-joined
 * message and the knock for j's plain join. */
static int start_join(struct join *j)
{
    struct cluster *cl = j->rq.cl;
    struct peer tmp = {.audio = j->audio, .video = j->video, .name = j->name};
    memcpy(tmp.id, j->id, sizeof tmp.id);
    char *json = msg_peer_json(&tmp);
    struct out_msg *ann = msg_peer_joined(&tmp);
    char *knock = msg_knock_json(j->id, j->name, j->since);
    struct bus_entry e = {.role = j->role,
                          .tokens = hub_tokens_on(cl->h),
                          .addr = j->addr,
                          .pwhash = j->pwhash,
                          /* a knock sent again (reknock) may have been
                           * answered while this node could not hear it */
                          .knocked = j->admitted || j->knocked,
                          .takes_over = j->takes_over,
                          .attempt = j->attempt,
                          .knock = knock,
                          .ticket = j->resume};
    int rc = -1;

    if (json != NULL && ann != NULL && knock != NULL)
        rc = bus_join(cl->bus, j->room, j->id, j->token, json, strlen(json),
                      out_msg_text(ann), ann->len, 0, &e, join_done, j);
    free(json);
    free(knock);
    out_msg_unref(ann);
    return rc;
}

static void resume_done(void *arg, const struct bus_room *r);

/* Sends j's join (its resume when resume) to Redis; the room's messages
 * are held for it until the answer (pending.h). Returns 0, or -1 (nothing
 * sent, nothing held). */
static int join_send(struct join *j, bool resume)
{
    struct cluster *cl = j->rq.cl;
    const struct config *k = hub_config(cl->h);
    struct route_room *cr = route_room(cl->rt, j->room, true);
    int rc = -1;

    if (cr != NULL)
        rc = resume ? bus_resume(cl->bus, j->room, j->resume, j->token,
                                 j->attempt, resume_done, j)
                    : start_join(j);
    if (rc < 0)
        return -1;
    pend_init(&j->pend, (size_t)k->send_queue_messages,
              (size_t)k->send_queue_bytes);
    pend_attach(&j->pend, cr); /* what is held goes to the joiner next */
    cr->pending++;
    j->sent = true;
    return 0;
}

/* Redis answered j: its room's messages are no longer held for it. */
static void join_unsend(struct join *j)
{
    struct route_room *cr = croom(j->rq.cl, j->room);

    if (!j->sent)
        return;
    j->sent = false;
    if (cr != NULL && cr->pending > 0)
        cr->pending--;
    pend_clear(&j->pend);
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

/* Redis gave p's connection a seat: the hub makes it local and says
 * welcome; then the routing table learns the room and what came meanwhile
 * is replayed. */
struct replay_ctx {
    struct hub *h;
    struct hub_conn *c;
};

static void replay_deliver(void *ctx, struct out_msg *m)
{
    struct replay_ctx *rc = ctx;
    hub_send(rc->h, rc->c, out_msg_ref(m));
}

/* The x-moved of seat p, which a resume moved from node old to this one:
 * old drops its copy (and closes a connection still on it, replaced),
 * unless the seat came back to it by a later move. NULL when old is this
 * node (or out of memory). */
static struct out_msg *moved_msg(struct cluster *cl, const struct peer *p,
                                 const char *old)
{
    return strcmp(old, bus_node_id(cl->bus)) != 0
               ? msg_node_moved(p->id, p->moves)
               : NULL;
}

/* Publishes moved_msg to the room. */
static void tell_moved(struct cluster *cl, const struct peer *p,
                       const char *old)
{
    struct out_msg *m = moved_msg(cl, p, old);

    if (m != NULL)
        bus_publish_room(cl->bus, p->room->id, out_msg_text(m), m->len);
    out_msg_unref(m);
}

/* A seat of a late resume answer (seat()) that Redis has not yet said is
 * still this node's. */
struct claim {
    struct req rq;
    char room[65];
    char peer[PEER_ID_LEN + 1];
};

static void claim_drop(struct req *r)
{
    req_unlink(r);
    free(r);
}

static void claim_done(void *arg, enum bus_status st)
{
    struct claim *q = arg;
    struct hub *h = q->rq.cl->h;
    struct room *r = hub_room(h, q->room);
    struct peer *p = r != NULL ? room_peer_find(r, q->peer) : NULL;

    struct route_room *cr = croom(q->rq.cl, q->room);

    if (st == BUS_NONE && p != NULL && p->conn == NULL) /* taken elsewhere */
        hub_drop_seat(h, p, clock_mono_ms());
    else if (st == BUS_OK && cr != NULL) /* here: no node hears its own */
        route_del(cr, q->peer);
    claim_drop(&q->rq);
}

/* Redis gave a resume whose connection went the seat p (made here by
 * hub_seat_away, or here already), held by node old until then. Its page
 * may have resumed elsewhere since Redis answered (a late answer): so old
 * hears x-moved, as for any resume, only from Redis and only while this
 * node still holds the seat (the update script); if it does not, a seat
 * here with no connection goes. */
static void claim(struct cluster *cl, const struct peer *p, const char *old)
{
    struct out_msg *m = moved_msg(cl, p, old);
    char *json = msg_peer_json(p);
    struct claim *q = json != NULL ? calloc(1, sizeof *q) : NULL;

    if (q != NULL) {
        req_link(cl, &q->rq);
        q->rq.drop = claim_drop;
        snprintf(q->room, sizeof q->room, "%s", p->room->id);
        memcpy(q->peer, p->id, sizeof q->peer);
        if (bus_update(cl->bus, p->room->id, p->id, json, strlen(json),
                       m != NULL ? out_msg_text(m) : NULL,
                       m != NULL ? m->len : 0, claim_done, q) < 0)
            claim_drop(&q->rq); /* old keeps its copy until its grace
                                   ends; the seat waits here */
    }
    free(json);
    out_msg_unref(m);
}

/* Redis gave j's connection a seat: the hub makes it local and says
 * welcome; then the routing table learns the room and what came meanwhile
 * is replayed. A resume whose connection went meanwhile keeps its seat
 * here, in its grace as if it had dropped after its welcome, under the
 * token the page still has: Redis keeps that one good until the new one
 * is used (a seat that was here already stays as it is; claim). */
static void seat(struct join *j, const struct bus_room *r, bool resumed)
{
    struct cluster *cl = j->rq.cl;
    struct hub *h = cl->h;
    int64_t now = clock_mono_ms();
    struct room *room = hub_room(h, j->room);
    const char *id = resumed ? r->peer : j->id;
    struct peer *me = room && resumed ? room_peer_find(room, id) : NULL;
    bool away = false; /* made here by hub_seat_away */

    if (me != NULL && strcmp(me->token, j->resume) != 0) {
        hub_drop_seat(h, me, now); /* a stale seat here (x-moved lost) */
        me = NULL;
    }
    char *peers = peers_json(r, id);
    char *chat = chat_json(r);
    struct hub_seat s = {
        .room = j->room,
        .name = j->name,
        .audio = j->audio,
        .video = j->video,
        .resume = resumed ? j->resume : NULL,
        .role = r->host ? 1 : 0,
        .id = id,
        .token = j->token,
        .resumed = resumed,
        .peer_json = resumed ? r->peer_json : NULL,
        .peer_json_len = resumed ? r->peer_json_len : 0,
        .peers_json = peers,
        .chat_json = chat,
        .access = {r->locked, r->password},
        .members = r->n_members,
    };
    if (j->c != NULL) {
        me = hub_seat(h, j->c, &s, now);
    } else if (me == NULL) {
        s.token = j->resume;
        me = hub_seat_away(h, &s, now);
        away = true;
    }
    free(peers);
    free(chat);
    if (me == NULL) {
        leave_seat(cl, j->room, id, "left");
        return;
    }
    if (resumed) /* the count of its moves as Redis has it (x-moved) */
        me->moves = r->moves;
    if (r->lobby != NULL && j->c != NULL) /* a host, and someone waits */
        hub_send(h, j->c, out_msg_new(r->lobby, r->lobby_len));
    struct route_room *cr = croom(cl, j->room);
    struct replay_ctx rc = {h, j->c};
    /* Only the room channel clears it: this answer may be older than an
     * access message already read (pending.h). */
    cr->guarded = cr->guarded || r->locked || r->password;
    if (j->c == NULL) { /* a late answer: the routes wait for Redis' word */
        bool moved = strcmp(r->old_node, bus_node_id(cl->bus)) != 0;
        if (moved && !away && r->peer_json != NULL) /* as the old node had it */
            msg_peer_apply(me, r->peer_json, r->peer_json_len);
        if (away || moved)
            claim(cl, me, r->old_node);
        return;
    }
    route_del(cr, me->id); /* it is here now */
    route_merge(cr, r->members, r->n_members, bus_node_id(cl->bus), me->id,
                me->room);
    pend_replay(&j->pend, r, me->id, replay_deliver, &rc);
    if (resumed)
        tell_moved(cl, me, r->old_node);
}

/* Ends a pending join: the connection, if still there, has its answer. */
static void join_finish(struct join *j)
{
    join_unsend(j);
    if (j->c != NULL)
        j->c->pending = NULL;
    join_free(j);
}

/* The refusal that answers a join Redis did not seat, or
 * HUB_REFUSAL_COUNT. */
static enum hub_refusal refusal_of(enum bus_status st)
{
    switch (st) {
    case BUS_FULL:
        return HUB_ROOM_FULL;
    case BUS_BANNED:
        return HUB_BANNED;
    case BUS_LOBBY_FULL:
        return HUB_LOBBY_FULL;
    case BUS_PW_LIMITED: /* the room's tries, counted in Redis */
        return HUB_PW_ROOM_LIMITED;
    default:
        return HUB_REFUSAL_COUNT;
    }
}

/* j's page moved on to a newer connection, which has seat or knock id:
 * j's connection, if still here, is told `replaced` (hub_stale). */
static void stale(struct join *j, const char *id)
{
    if (j->c != NULL)
        j->c->pending = NULL;
    hub_stale(j->rq.cl->h, j->c, j->room, id);
    j->c = NULL;
}

/* Redis answered j with r, granting the seat id (NULL: not granted). */
static void answer(struct join *j, const struct bus_room *r, const char *id,
                   bool resumed)
{
    struct cluster *cl = j->rq.cl;

    /* Its page moved on: told, if still here. A join is moved when the
     * seat of its knock id was given to the page's older connection, on
     * another node (admitted before a take-over reached Redis): the page
     * takes it back with the knock's token, now the seat's. */
    if (r->status == BUS_STALE || r->status == BUS_MOVED) {
        stale(j, r->status == BUS_STALE ? r->peer : j->id);
        return;
    }
    if (j->c == NULL) { /* the client went away meanwhile */
        if (id != NULL && resumed)
            seat(j, r, true); /* it waits here for its page */
        else if (id != NULL)
            leave_seat(cl, j->room, id, "left");
        return;
    }
    j->c->pending = NULL;
    if (id != NULL && j->pend.overflow) { /* pending.h: no replay */
        log_warn("join room=%s: more came than a send queue holds while it "
                 "waited: unavailable",
                 j->room);
        leave_seat(cl, j->room, id, "left");
        hub_answer_unavailable(cl->h, j->c, "the room is too busy, try again",
                               "join", clock_mono_ms());
    } else if (id != NULL) {
        seat(j, r, resumed);
    } else if (r->status == BUS_WRONG_PASSWORD) {
        hub_password_wrong(cl->h, j->c, j->room, clock_mono_ms());
    } else if (refusal_of(r->status) != HUB_REFUSAL_COUNT) {
        hub_refuse(cl->h, j->c, refusal_of(r->status), "join", clock_mono_ms());
    } else {
        hub_answer_unavailable(cl->h, j->c, "cluster unavailable", "join",
                               clock_mono_ms());
    }
}

/* j stops waiting in the lobby in Redis (bus_lua.h: withdraw), and takes
 * the answer a host may have left there; patient: a join of this node on
 * its way in the room may be the page's newer connection taking the knock
 * over, which voids it (owed_void). */
static void withdraw(struct join *j)
{
    join_unsend(j); /* done with Redis: not a join on its way */
    owed_first(owed_new(j->rq.cl, OWED_WITHDRAW, j->room, j->id), true);
}

/* j's knock ends with no seat here: it withdraws, and the seat a try
 * whose answer was lost may have taken is left. */
static void knock_gone(struct join *j)
{
    withdraw(j);
    if (j->unsure)
        leave_seat(j->rq.cl, j->room, j->id, "left");
}

/* The room wants a password: j goes again with its hash, when c may
 * still try one. Returns true when j went, false when c was answered. */
static bool with_password(struct join *j, const char *salt)
{
    struct hub *h = j->rq.cl->h;
    int64_t now = clock_mono_ms();

    if (!hub_password_gate(h, j->c, j->room, j->password, false, now))
        return false;
    join_unsend(j);
    if (j->pwhash[0] == '\0' && /* asked once only */
        access_pw_hex(salt, j->password, j->pwhash) == 0 &&
        join_send(j, false) == 0)
        return true;
    hub_answer_unavailable(h, j->c, "cluster unavailable, try again", "join",
                           now);
    return false;
}

/* The knock j ends as a host answered (j->answer, taken): admitted, the
 * join goes again and Redis lets it in once; denied, it is told why. */
static void knock_over(struct join *j)
{
    struct cluster *cl = j->rq.cl;
    struct hub_conn *c = j->c;
    enum hub_knock_end a = j->answer;
    int64_t now = clock_mono_ms();

    if (a != HUB_KNOCK_ADMITTED && j->knocked)
        knock_gone(j); /* takes the denial Redis keeps, and the knock if
                          one sent again went back in after the denial */
    j->knocking = j->knocked = false;
    j->answer = HUB_KNOCK_QUIET;
    hub_knock_log(j->room, j->id, a);
    if (a == HUB_KNOCK_ADMITTED) {
        j->admitted = true;
        hub_knock_over(cl->h, c, a, now);
        if (join_send(j, false) == 0)
            return;
        knock_gone(j); /* the admission it could not use goes */
        hub_answer_unavailable(cl->h, c, "cluster unavailable, try again",
                               "join", now);
    }
    c->pending = NULL;
    if (a != HUB_KNOCK_ADMITTED)
        hub_knock_over(cl->h, c, a, now);
    join_free(j);
}

/* j's knock went on with its page's newer connection, here or on another
 * node (x-knock-taken): j's connection is told `replaced`, and nothing is
 * withdrawn. A join still waiting for Redis is marked: its reply is not
 * used, and its connection is told `replaced` then (join_done, park). */
static void knock_taken(struct join *j)
{
    struct hub_conn *c = j->c;

    if (!j->knocking) {
        j->replaced = true;
        return;
    }
    c->pending = NULL;
    hub_knock_taken(j->rq.cl->h, c, j->room, j->id);
    join_free(j);
}

/* A knock j waits for a host's answer (x-admit or x-deny to this node)
 * without holding anything, unless the answer came first. */
static void park(struct join *j)
{
    join_unsend(j);
    j->knocking = true;
    if (j->replaced) {
        knock_taken(j);
        return;
    }
    if (!j->knocked) { /* a knock sent again keeps its first deadline */
        log_info("knock room=%s knock=%s%s", j->room, j->id,
                 j->takes_over ? ": taken over here" : " waiting");
        hub_knocking(j->rq.cl->h, j->c, j->id, j->token, j->since);
    }
    j->knocked = true;
    j->takes_over = false; /* the knock is this node's now */
    if (j->answer != HUB_KNOCK_QUIET)
        knock_over(j);
}

/* Every knock waiting here knocks again: Redis may have lost it (another
 * node's reaper took this node's knocks out of the lobbies while it
 * stalled), or this node the host's answer, published while it was cut
 * off. The join script keeps a knock it still has, and takes the answer
 * Redis kept for it: an admission lets it in, a denial ends it (join_done).
 * After Redis lost its data the rooms' locks come back only as their nodes
 * re-assert them (joins_wait_until): a knock sent now would walk in. Those
 * knocks end unavailable instead, and their pages join again as anyone does. */
static void reknock(struct cluster *cl)
{
    int64_t now = clock_mono_ms();
    bool lost = now < cl->joins_wait_until; /* as hk_join holds joins */
    struct req *next;

    for (struct req *r = cl->reqs.next; r != &cl->reqs; r = next) {
        struct join *j = (struct join *)(void *)r;
        next = r->next;
        if (r->drop != join_drop || !j->knocking || j->c == NULL ||
            j->answer != HUB_KNOCK_QUIET)
            continue;
        if (lost) {
            struct hub_conn *c = j->c;
            knock_over(j); /* no answer: ends it quietly, withdraws it */
            hub_answer_unavailable(cl->h, c, LOST_DATA_RETRY, "join", now);
            continue;
        }
        j->knocking = false; /* pending again: hk_cancel leaves it to
                                join_done */
        if (join_send(j, false) < 0)
            j->knocking = true; /* still parked; the next up tries again */
    }
}

static void join_done(void *arg, const struct bus_room *r)
{
    struct join *j = arg;
    bool in = r->status == BUS_OK || r->status == BUS_EXISTS;

    /* Its knock went on with the page's newer connection, here, while this
     * waited: a seat Redis gave it is that connection's (its join finds it
     * held here), and nothing is withdrawn or left. A knock ends in park. */
    if (j->replaced && r->status != BUS_KNOCK) {
        if (j->c != NULL)
            stale(j, j->id);
        join_finish(j);
        return;
    }
    if (r->status == BUS_ERR && j->knocked && j->c != NULL) {
        j->unsure = true;
        park(j); /* a knock sent again, cut off again: it waits on */
        return;
    }
    /* An error may have come after Redis seated the id (its answer could
     * not be read): leave it, or it stays with no one behind it. The leave
     * does nothing to a seat that was never taken. */
    if (r->status == BUS_ERR)
        leave_seat(j->rq.cl, j->room, j->id, "left");
    if (r->status == BUS_KNOCK && j->c == NULL && !j->replaced)
        knock_gone(j); /* the knocker went away meanwhile */
    if (r->status == BUS_KNOCK && j->c != NULL) {
        park(j);
        return;
    }
    /* What Redis may keep of j's knock with nobody to take it: a knock
     * sent again may have gone back in, a denial is kept until withdrawn
     * (a lost reply then finds it again), an admission was not taken, an
     * error may have come after Redis put a first knock in the lobby. Not
     * a knock a later connection of the page took (stale): it is that
     * one's, maybe on this node too. */
    if (!in && r->status != BUS_KNOCK && r->status != BUS_STALE &&
        (j->knocked || j->admitted || j->takes_over || r->status == BUS_ERR))
        withdraw(j);
    /* A knock sent again ends here, and so does the join an admission sent
     * when the meeting ended before it came (its admission became a
     * denial). */
    if (j->c != NULL && (j->knocked || r->status == BUS_DENIED)) {
        enum hub_knock_end end = in ? HUB_KNOCK_ADMITTED
                                 : r->status == BUS_DENIED
                                     ? hub_knock_denial(r->reason)
                                     : HUB_KNOCK_QUIET;
        hub_knock_log(j->room, j->id, end);
        hub_knock_over(j->rq.cl->h, j->c, end, clock_mono_ms());
        j->knocked = false; /* a password asked now starts a new knock */
    }
    if (r->status == BUS_DENIED && j->c != NULL) {
        /* told above: nothing more to answer */
    } else if (r->status == BUS_PASSWORD && j->c != NULL) {
        if (with_password(j, r->salt))
            return;
    } else {
        answer(j, r, in ? j->id : NULL, false);
    }
    join_finish(j);
}

static void resume_done(void *arg, const struct bus_room *r)
{
    struct join *j = arg;
    /* no seat to take back: a join goes next (a knock's token: the knock) */
    bool join = r->status == BUS_NONE || r->status == BUS_KNOCK;

    if (j->c != NULL && join && j->token_refused != JWT_OK) {
        j->c->pending = NULL;
        hub_refuse_token(j->rq.cl->h, j->c, j->token_refused, clock_mono_ms());
    } else if (j->c != NULL && join) {
        if (r->status == BUS_KNOCK) { /* its page's, on a newer connection */
            snprintf(j->id, sizeof j->id, "%s", r->peer);
            snprintf(j->token, sizeof j->token, "%s", j->resume);
            j->since = r->since > 0 ? r->since : j->since;
            j->takes_over = true;
        }
        if (start_join(j) == 0) {
            /* the page's older connection here, if any, has it no more;
             * one of a later resume keeps it (this join is then stale) */
            struct join *old =
                j->takes_over ? join_with(j->rq.cl, j->room, j->id, j) : NULL;
            if (old != NULL && (j->attempt == 0 || old->attempt <= j->attempt))
                knock_taken(old);
            return; /* still pending */
        }
        j->c->pending = NULL;
        hub_answer_unavailable(j->rq.cl->h, j->c, "cluster unavailable", "join",
                               clock_mono_ms());
    } else if (!join) {
        answer(j, r, r->status == BUS_OK ? r->peer : NULL, true);
    }
    if (r->status == BUS_ERR) { /* Redis may have given this node the seat */
        struct owed *o = owed_new(j->rq.cl, OWED_SEAT_OF, j->room, j->token);
        if (o != NULL)
            snprintf(o->token, sizeof o->token, "%s", j->resume);
        owed_first(o, false);
    }
    join_finish(j);
}

/* Redis answered whether a resume whose answer was lost gave this node
 * the seat (seat: "<peer id> <moves> <peer json>"): if so, it waits here
 * for its page, as a late answer's does (seat(): hub_seat_away, claim). */
static void seat_of_done(void *arg, enum bus_status st, const char *seat)
{
    struct owed *o = arg;
    struct cluster *cl = o->cl;
    struct route_room *cr = croom(cl, o->a);
    const char *sp = seat != NULL ? strchr(seat, ' ') : NULL;
    size_t n = sp != NULL ? (size_t)(sp - seat) : 0;
    char *json = NULL;
    long long moves = sp != NULL ? strtoll(sp + 1, &json, 10) : 0;
    struct room *r = hub_room(cl->h, o->a);
    char id[PEER_ID_LEN + 1];

    if (cr != NULL && cr->pending > 0)
        cr->pending--;
    if (st == BUS_OK && n > 0 && n <= PEER_ID_LEN && json != NULL &&
        *json == ' ') {
        memcpy(id, seat, n);
        id[n] = '\0';
        if (r == NULL || room_peer_find(r, id) == NULL) {
            struct hub_seat s = {.room = o->a,
                                 .name = "",
                                 .id = id,
                                 .token = o->token,
                                 .resumed = true,
                                 .peer_json = json + 1,
                                 .peer_json_len = strlen(json + 1)};
            struct peer *me = hub_seat_away(cl->h, &s, clock_mono_ms());
            if (me != NULL) {
                me->moves = moves;
                claim(cl, me, ""); /* its old node unknown: x-moved to all */
            } else
                leave_seat(cl, o->a, id, "left");
        }
    }
    owed_done(o, st);
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
                    enum jwt_result token_refused, int role, int64_t now)
{
    struct cluster *cl = ctx;
    bool resume = m->resume != NULL && token_ok(m->resume);
    struct join *j;

    if (!resume && token_refused != JWT_OK) { /* no seat to take back */
        hub_refuse_token(cl->h, c, token_refused, now);
        return;
    }
    if (now < cl->joins_wait_until && !hub_takes_seat_back(cl->h, m)) {
        hub_answer_unavailable(cl->h, c, LOST_DATA_RETRY, "join", now);
        return;
    }
    if ((j = calloc(1, sizeof *j)) == NULL)
        goto fail;
    req_link(cl, &j->rq);
    j->rq.drop = join_drop;
    if ((j->name = strdup(m->name)) == NULL ||
        (m->password != NULL && (j->password = strdup(m->password)) == NULL) ||
        (resume && (j->resume = strdup(m->resume)) == NULL))
        goto fail;
    snprintf(j->room, sizeof j->room, "%s", m->room);
    snprintf(j->addr, sizeof j->addr, "%s", c->addr != NULL ? c->addr : "");
    j->audio = m->audio == 1;
    j->video = m->video == 1;
    j->token_refused = token_refused;
    j->attempt = m->attempt;
    j->role = role;
    j->since = clock_wall_ms();
    room_random_id(j->id, PEER_ID_LEN);
    room_random_id(j->token, TOKEN_LEN);
    if (join_send(j, resume) < 0)
        goto fail;
    j->c = c;
    c->pending = j;
    return;
fail:
    if (j != NULL)
        join_free(j);
    hub_answer_unavailable(cl->h, c, "cluster unavailable, try again", "join",
                           now);
}

/* c went away, left or timed out: a join waiting for Redis forgets it
 * (its answer is then dropped, a seat given left again); a knock leaves
 * the lobby. */
static void hk_cancel(void *ctx, struct hub_conn *c)
{
    struct join *j = c->pending;

    (void)ctx;
    j->c = NULL;
    c->pending = NULL;
    if (j->knocking) { /* nothing comes back for it but an answer */
        knock_gone(j);
        join_free(j);
    }
}

/* This node's join with id in room, waiting for Redis or knocking, its
 * client still there and not replaced by a newer one, other than skip;
 * or NULL. */
static struct join *join_with(struct cluster *cl, const char *room,
                              const char *id, const struct join *skip)
{
    for (struct req *r = cl->reqs.next; r != &cl->reqs; r = r->next) {
        struct join *j = (struct join *)(void *)r;
        /* join_free unlinks a join before it frees it; the analyzer loses
         * that in the list. */
        if (r->drop == join_drop && // NOLINT(clang-analyzer-unix.Malloc)
            j != skip && !j->replaced && (j->knocking || j->sent) &&
            j->c != NULL && strcmp(j->id, id) == 0 &&
            strcmp(j->room, room) == 0)
            return j;
    }
    return NULL;
}

/* This node's join with knock id in room, knocking or still waiting for
 * the reply that says it knocks, or NULL. */
static struct join *knocker(struct cluster *cl, const char *room,
                            const char *id)
{
    struct join *j = join_with(cl, room, id, NULL);
    return j != NULL && j->answer == HUB_KNOCK_QUIET ? j : NULL;
}

/* A host answered knock id of room (msg, from the host script), or the
 * knock's page took it over on another node (the join script). */
static void knock_answered(struct cluster *cl, const char *room, const char *id,
                           const char *msg, size_t len)
{
    char reason[16] = "";
    int64_t taken_by = 0; /* the resume number of the one that took it */
    enum msg_knock_answer a =
        msg_node_knock_answer(msg, len, reason, sizeof reason, &taken_by);
    struct join *j = a == MSG_KNOCK_TAKEN ? join_with(cl, room, id, NULL)
                                          : knocker(cl, room, id);

    if (j != NULL && a == MSG_KNOCK_TAKEN && j->attempt > taken_by) {
        /* about a take-over before the one that brought it here */
        log_info("knock room=%s knock=%s: stale x-knock-taken", room, id);
        return;
    }
    if (j != NULL && a == MSG_KNOCK_TAKEN) {
        knock_taken(j);
        return;
    }
    if (j == NULL || a == MSG_KNOCK_NONE) {
        log_info("knock room=%s knock=%s: answer for nobody here", room, id);
        return;
    }
    j->answer =
        a == MSG_KNOCK_ADMIT ? HUB_KNOCK_ADMITTED : hub_knock_denial(reason);
    if (j->knocking)
        knock_over(j); /* else park does, when the reply comes */
}

/* ---- host actions ------------------------------------------------------ */

/* A host action waiting for Redis; the host is found again by its seat
 * when the answer comes (its connection may have gone meanwhile). */
struct host_req {
    struct req rq;
    char room[65];
    char peer[PEER_ID_LEN + 1];
    enum msg_type type;
};

static void host_done(void *arg, enum bus_status st)
{
    struct host_req *q = arg;
    struct hub *h = q->rq.cl->h;
    struct room *r = hub_room(h, q->room);
    struct peer *p = r != NULL ? room_peer_find(r, q->peer) : NULL;
    const char *ref = msg_type_name(q->type);
    int64_t now = clock_mono_ms();
    bool knock = q->type == MSG_ADMIT || q->type == MSG_DENY;

    req_unlink(&q->rq);
    free(q);
    if (p == NULL || p->conn == NULL)
        return;
    if (st == BUS_FORBIDDEN)
        hub_refuse(h, p->conn, HUB_NOT_HOST, ref, now);
    else if (st == BUS_LAST)
        hub_refuse(h, p->conn, HUB_LAST_HOST, ref, now);
    else if (st == BUS_FULL) /* admit: the knock waits on */
        hub_refuse(h, p->conn, HUB_ROOM_FULL, ref, now);
    else if (st == BUS_NONE)
        hub_refuse(h, p->conn, knock ? HUB_NO_KNOCK : HUB_NO_PEER, ref, now);
    else if (st != BUS_OK)
        hub_answer_unavailable(h, p->conn, "cluster unavailable, try again",
                               ref, now);
}

/* What the host script is to do for m: its action and arguments (a and
 * b point into m or into buf). Returns -1 when a password could not be
 * hashed. */
static int host_args(const struct hub *h, const struct msg_in *m,
                     enum bus_action *act, const char **a, const char **b,
                     char buf[2][65])
{
    *a = *b = NULL;
    switch (m->type) {
    case MSG_ROLE:
        *act = BUS_DO_ROLE;
        *a = m->to;
        *b = m->role;
        return 0;
    case MSG_KICK:
        *act = BUS_DO_KICK;
        *a = m->to;
        snprintf(buf[0], 65, "%ld", hub_config(h)->kick_ban_s * 1000);
        *b = buf[0];
        return 0;
    case MSG_END:
        *act = BUS_DO_END;
        return 0;
    case MSG_LOCK:
        *act = BUS_DO_LOCK;
        *a = m->locked == 1 ? "1" : "0";
        return 0;
    case MSG_PASSWORD: /* "" clears it */
        *act = BUS_DO_PASSWORD;
        *a = *b = "";
        if (m->password[0] == '\0')
            return 0;
        access_pw_salt(buf[0]);
        *a = buf[0];
        *b = buf[1];
        return access_pw_hex(buf[0], m->password, buf[1]);
    default: /* admit, deny */
        *act = m->type == MSG_ADMIT ? BUS_DO_ADMIT : BUS_DO_DENY;
        *a = m->id;
        return 0;
    }
}

static void hk_host(void *ctx, struct hub_conn *c, const struct msg_in *m,
                    int64_t now)
{
    struct cluster *cl = ctx;
    struct peer *me = c->peer;
    struct host_req *q = calloc(1, sizeof *q);
    char buf[2][65];
    enum bus_action act;
    const char *a, *b;

    if (q != NULL && host_args(cl->h, m, &act, &a, &b, buf) == 0) {
        req_link(cl, &q->rq);
        snprintf(q->room, sizeof q->room, "%s", me->room->id);
        memcpy(q->peer, me->id, sizeof q->peer);
        q->type = m->type;
        log_info("%s room=%s by=%s", msg_type_name(m->type), me->room->id,
                 me->id);
        if (bus_host(cl->bus, act, me->room->id, me->id, a, b, host_done, q) ==
            0)
            return;
        req_unlink(&q->rq);
    }
    free(q);
    hub_answer_unavailable(cl->h, c, "cluster unavailable, try again",
                           msg_type_name(m->type), now);
}

static void hk_publish(void *ctx, struct room *r, struct out_msg *m)
{
    struct cluster *cl = ctx;
    bus_publish_room(cl->bus, r->id, out_msg_text(m), m->len);
}

/* ---- what members here say --------------------------------------------- */

/* A signal or private chat to a member on another node goes to its
 * node's channel, wrapped (msg_node_wrap). */
static bool hk_send_remote(void *ctx, struct hub_conn *c, const char *to,
                           struct out_msg *m, const char *ref, int64_t now)
{
    struct cluster *cl = ctx;
    struct peer *me = c->peer;
    struct route_peer *rm = route_find(croom(cl, me->room->id), to);
    size_t len;
    char *w;
    int rc = -1;

    if (rm == NULL)
        return false;
    w = msg_node_wrap(me->room->id, rm->id, out_msg_text(m), m->len, &len);
    if (w != NULL)
        rc = bus_publish_node(cl->bus, rm->node, w, len);
    free(w);
    if (rc < 0)
        hub_answer_unavailable(
            cl->h, c, "that peer is on another server, unreachable now", ref,
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
    struct route_room *cr = croom(cl, room);

    if (bus_chat(cl->bus, room, s, m->len, s, m->len, NULL, NULL) < 0 &&
        cr != NULL && cr->remote != NULL)
        hub_answer_unavailable(
            cl->h, c, "not delivered to peers on other servers", "chat", now);
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

/* A message about a seat for the members here, held until Redis says
 * whether this node still held that seat (else it was resumed elsewhere,
 * and the news is stale): a grace expiry's peer-left, or a drop's away
 * peer-state (the seat must then still be away here). */
struct held {
    struct req rq;
    char room[65];
    char peer[PEER_ID_LEN + 1];
    bool away; /* m is the away peer-state, else the peer-left */
    struct out_msg *m;
};

static void held_drop(struct req *r)
{
    struct held *e = (struct held *)(void *)r;
    req_unlink(&e->rq);
    out_msg_unref(e->m);
    free(e);
}

static void held_done(void *arg, enum bus_status st)
{
    struct held *e = arg;
    struct room *r = hub_room(e->rq.cl->h, e->room);
    const struct peer *p =
        r != NULL && e->away ? room_peer_find(r, e->peer) : NULL;
    bool stale = e->away && (p == NULL || !p->away); /* back, or gone */
    if (st == BUS_ERR && !e->away) /* the leave may not have been done */
        owe_leave(e->rq.cl, e->room, e->peer, e->m, 0, true);
    if (st != BUS_NONE && r != NULL && !stale) /* BUS_NONE: moved */
        hub_fanout(e->rq.cl->h, r, out_msg_ref(e->m), p);
    held_drop(&e->rq);
}

/* Holds m (about p, in p's room) for held_done; NULL when out of memory. */
static struct held *hold(struct cluster *cl, const struct peer *p,
                         struct out_msg *m, bool away)
{
    struct held *e = calloc(1, sizeof *e);
    if (e == NULL)
        return NULL;
    req_link(cl, &e->rq);
    e->rq.drop = held_drop;
    e->m = out_msg_ref(m);
    snprintf(e->room, sizeof e->room, "%s", p->room->id);
    memcpy(e->peer, p->id, sizeof e->peer);
    e->away = away;
    return e;
}

static void hk_expired(void *ctx, struct peer *p, struct out_msg *m)
{
    struct cluster *cl = ctx;
    struct held *e = hold(cl, p, m, false);

    if (e != NULL) {
        if (bus_leave(cl->bus, p->room->id, p->id, out_msg_text(m), m->len, 0,
                      held_done, e) == 0)
            return;
        held_drop(&e->rq);
    }
    /* Redis down: tell the members here now, the others once it is back */
    owe_leave(cl, p->room->id, p->id, m, 0, true);
    hub_fanout(cl->h, p->room, out_msg_ref(m), p);
}

static void hk_away(void *ctx, struct peer *p, struct out_msg *m)
{
    struct cluster *cl = ctx;
    char *json = msg_peer_json(p);
    struct held *e = json != NULL ? hold(cl, p, m, true) : NULL;

    if (e != NULL && bus_update(cl->bus, p->room->id, p->id, json, strlen(json),
                                out_msg_text(m), m->len, held_done, e) == 0) {
        free(json);
        return;
    }
    if (e != NULL)
        held_drop(&e->rq);
    free(json);
    /* Redis down: tell the members here now; a reassert stores it later */
    hub_fanout(cl->h, p->room, out_msg_ref(m), p);
}

static void hk_left(void *ctx, struct peer *p, struct out_msg *m,
                    int64_t ticket_ms)
{
    owe_leave(ctx, p->room->id, p->id, m, ticket_ms, false);
}

static void resync_start(struct cluster *cl, struct route_room *cr, bool again);

/* Sends the second roster of rooms that resynced a while ago (see
 * ROSTER_AGAIN_MS); unsubscribes rooms that have no seat here and nothing
 * pending. */
static void hk_tick(void *ctx, int64_t now)
{
    struct cluster *cl = ctx;
    struct route_room *cr = route_next(cl->rt, NULL);

    if (cl->n_owed > 0 && now >= cl->owed_retry && bus_is_up(cl->bus)) {
        cl->owed_retry = now + cl->owed_wait_ms;
        owed_resend(cl);
    }
    while (cr != NULL) {
        struct route_room *next = route_next(cl->rt, cr);
        struct room *r = hub_room(cl->h, cr->id);
        if (cr->roster_again != 0 && now >= cr->roster_again) {
            cr->roster_again = 0;
            resync_start(cl, cr, true);
        }
        if ((r == NULL || r->npeers == 0) && cr->pending == 0) {
            bus_unsubscribe_room(cl->bus, cr->id);
            route_room_drop(cl->rt, cr);
        }
        cr = next;
    }
}

/* ---- what other nodes say ---------------------------------------------- */

/* What a host action did in Redis (bus_lua.h, the host script, and the
 * hand-over of remove; published with origin ""), applied to the members
 * here: m of kind k (r the room here, or NULL; j parsed; me, the member
 * here it is about, or NULL). A lobby goes to the hosts and an ended
 * meeting closes everyone: then true. Neither is held for a join waiting
 * here: a lobby is no guest's business, and an end most likely came
 * before the join made a new meeting (a join seated in Redis a moment
 * before the end is the rare exception: its seat stays, alone). A role
 * changes me's role and a removal by a host closes me, each after m went
 * on as any room message: then false, and
 * *removed_by is the host who removed me (else NULL). */
static bool from_redis(struct cluster *cl, struct room *r, enum msg_node_kind k,
                       const cJSON *j, struct peer *me, struct out_msg *m,
                       const char **removed_by)
{
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(j, "peer"), "role");
    const cJSON *reason = cJSON_GetObjectItemCaseSensitive(j, "reason");
    const cJSON *by = cJSON_GetObjectItemCaseSensitive(j, "by");

    *removed_by = NULL;
    if (k == MSG_NODE_LOBBY || k == MSG_NODE_ENDED) {
        if (r != NULL && k == MSG_NODE_LOBBY)
            hub_fanout_hosts(cl->h, r, out_msg_ref(m));
        else if (r != NULL)
            hub_end_room(cl->h, r, out_msg_ref(m), clock_mono_ms());
        return true;
    }
    if (k == MSG_NODE_STATE && me != NULL && cJSON_IsString(role))
        me->host = strcmp(role->valuestring, "host") == 0;
    if (k == MSG_NODE_LEFT && me != NULL && cJSON_IsString(reason) &&
        strcmp(reason->valuestring, "kicked") == 0 && cJSON_IsString(by))
        *removed_by = by->valuestring;
    return false;
}

static void on_room_message(void *user, const char *room, const char *origin,
                            const char *json, size_t len)
{
    struct cluster *cl = user;
    struct route_room *cr = croom(cl, room);
    struct room *r = hub_room(cl->h, room);
    struct peer *me;
    struct out_msg *m;
    cJSON *j = NULL;
    const char *about, *removed_by = NULL;
    unsigned long nomem = msg_json_nomem();
    enum msg_node_kind k = msg_node_classify(json, len, &j, &about);
    bool redis = origin[0] == '\0'; /* the scripts', not a node's */

    if (cr == NULL)
        goto out;
    if (msg_json_nomem() != nomem || (m = out_msg_new(json, len)) == NULL) {
        /* Out of memory: the members here would miss it, or the routing
         * table would; they are closed (1011), resume, and their welcome
         * and the table are whole again (docs/hardening.md). */
        if (r != NULL)
            hub_fanout(cl->h, r, NULL, NULL);
        goto out;
    }
    if (k == MSG_NODE_JOINED || k == MSG_NODE_STATE || k == MSG_NODE_LEFT)
        out_msg_tag(m,
                    k == MSG_NODE_JOINED  ? OUT_PEER_JOINED
                    : k == MSG_NODE_STATE ? OUT_PEER_STATE
                                          : OUT_PEER_LEFT,
                    about);
    me = r != NULL && about != NULL ? room_peer_find(r, about) : NULL;
    if (redis && k == MSG_NODE_ACCESS) /* kept for a Redis that loses it */
        cr->guarded =
            cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "locked")) ||
            cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "password"));
    if (redis && from_redis(cl, r, k, j, me, m, &removed_by))
        goto done;
    if (k == MSG_NODE_JOINED && r != NULL && route_find(cr, about) != NULL) {
        pend_hold_room(cr, m, k, about, origin);
        fanout_joined(cl->h, r, route_find(cr, about), m);
        route_set(cr, about, origin);
        goto done;
    }
    int64_t moves = k == MSG_NODE_MOVED ? msg_node_moves(j) : 0;
    if (k == MSG_NODE_MOVED && me != NULL && me->moves >= moves) {
        /* about a move before the one that brought it here */
        log_info("stale x-moved room=%s peer=%s: the seat came back here", room,
                 about);
        goto done;
    }
    if (k == MSG_NODE_MOVED)
        route_moved(cr, about, origin, moves);
    else if (k == MSG_NODE_JOINED)
        route_set(cr, about, origin);
    else if (k == MSG_NODE_LEFT)
        route_del(cr, about);
    if (k == MSG_NODE_MOVED) {
        if (me != NULL)
            hub_drop_seat(cl->h, me, clock_mono_ms());
    } else {
        pend_hold_room(cr, m, k, about, origin);
        /* Not to the member it is about (its own peer-state), unless a
         * host changed its role. */
        if (r != NULL)
            hub_fanout(cl->h, r, out_msg_ref(m),
                       redis && k == MSG_NODE_STATE ? NULL : me);
        if (removed_by != NULL)
            hub_removed(cl->h, me, removed_by, clock_mono_ms());
    }
done:
    out_msg_unref(m);
out:
    cJSON_Delete(j);
}

static void on_node_message(void *user, const char *origin, const char *json,
                            size_t len)
{
    struct cluster *cl = user;
    char room[65], to[PEER_ID_LEN + 1];
    char pjid[PJ_ID_MAX + 1], node[BUS_ID_MAX + 1];
    const char *msg;
    size_t msg_len;

    if (cl->pj != NULL &&
        msg_node_pj_unwrap(json, len, pjid, sizeof pjid, &msg, &msg_len) == 0) {
        pj_deliver(cl->pj, pjid, msg, msg_len, clock_mono_ms());
        return;
    }
    if (cl->pj != NULL && origin[0] == '\0' &&
        msg_node_pj_open(json, len, pjid, sizeof pjid, node, sizeof node) ==
            0) {
        /* Opened here: the claim's own answer, which may come after this
         * notice, registers it and hands it what is held (sent on through
         * Redis instead, that would come after what its senders send it
         * directly from then on). */
        if (strcmp(node, bus_node_id(cl->bus)) != 0)
            pj_opened(cl->pj, pjid, node);
        return;
    }
    if (msg_node_unwrap(json, len, room, sizeof room, to, sizeof to, &msg,
                        &msg_len) < 0) {
        log_warn("node message not understood (%zu bytes)", len);
        return;
    }
    struct room *r = hub_room(cl->h, room);
    struct peer *t = r != NULL ? room_peer_find(r, to) : NULL;
    if (t != NULL && t->conn != NULL) /* in grace: dropped */
        hub_send(cl->h, t->conn, out_msg_new(msg, msg_len));
    else if (t == NULL && origin[0] == '\0') /* from Redis: to a knock */
        knock_answered(cl, room, to, msg, msg_len);
}

/* ---- reconnect: re-assert, then roster --------------------------------- */

static void roster_done(void *arg, const struct bus_room *r)
{
    struct resync *rs = arg;
    struct cluster *cl = rs->rq.cl;
    struct route_room *cr = croom(cl, rs->room);
    struct room *room = hub_room(cl->h, rs->room);
    const char *self = bus_node_id(cl->bus);

    if (cr != NULL && cr->pending > 0)
        cr->pending--;
    if (r->status == BUS_OK && room != NULL && room->peers != NULL &&
        cr != NULL && !rs->again &&
        bus_host(cl->bus, BUS_DO_ACCESS, rs->room, room->peers->id,
                 cr->guarded && bus_lost_data(cl->bus) ? "1" : "0", NULL, NULL,
                 NULL) < 0) /* its lock again if Redis lost it */
        log_warn("resync room=%s: access not sent", rs->room);
    if (r->status == BUS_OK && room != NULL) {
        for (size_t i = 0; i < r->n_members; i++) /* ghosts of ours */
            if (strcmp(r->members[i].node, self) == 0 &&
                room_peer_find(room, r->members[i].peer) == NULL)
                leave_seat(cl, rs->room, r->members[i].peer, "timeout");
        if (!rs->again && cr != NULL &&
            route_lacks(cr, r->members, r->n_members)) {
            route_merge(cr, r->members, r->n_members, self, NULL, room);
            cr->roster_again = clock_mono_ms() + cl->roster_wait_ms;
            cr->roster_waiting = true;
            log_info("resync room=%s members=%zu: members of other nodes "
                     "not in redis, roster in %ld ms",
                     rs->room, r->n_members, cl->roster_wait_ms);
            req_unlink(&rs->rq);
            free(rs);
            return;
        }
        route_load(cr, r->members, r->n_members, self);
        for (struct peer *p = room->peers; p != NULL; p = p->next) {
            char *peers = p->conn != NULL ? peers_json(r, p->id) : NULL;
            if (peers != NULL)
                hub_send(cl->h, p->conn, msg_roster(peers));
            free(peers);
        }
        if (cr != NULL && (!rs->again || cr->roster_waiting)) {
            cr->roster_waiting = false;
            cr->roster_again = clock_mono_ms() + ROSTER_AGAIN_MS;
        }
        log_info("resync room=%s members=%zu%s", rs->room, r->n_members,
                 rs->again ? " (again)" : "");
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
    struct route_room *cr = croom(cl, rs->room);
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
    else if (r->status == BUS_EXISTS && p != NULL)
        hub_take_role(cl->h, p, r->host); /* changed while we were cut off */
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
    /* What Redis keeps of a join besides the seat, for a Redis that lost
     * its data: the address (bans on removal), the tokens mark and the
     * seat's moves (an x-moved's count goes on from them). */
    struct bus_entry e = {.role = -1,
                          .tokens = hub_tokens_on(cl->h),
                          .addr = p->addr,
                          .moves = p->moves};

    if (ra != NULL && json != NULL && ann != NULL) {
        req_link(cl, &ra->rq);
        ra->rs = rs;
        memcpy(ra->id, p->id, sizeof ra->id);
        if (bus_join(cl->bus, rs->room, p->id, p->token, json, strlen(json),
                     out_msg_text(ann), ann->len, BUS_JOIN_FORCE, &e,
                     reassert_done, ra) == 0) {
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

/* Resyncs room cr when it has seats here: first (again false) each seat
 * is re-asserted, then the roster goes to the members here. */
static void resync_start(struct cluster *cl, struct route_room *cr, bool again)
{
    struct room *room = hub_room(cl->h, cr->id);
    struct resync *rs;

    if (room == NULL || room->npeers == 0 ||
        (rs = calloc(1, sizeof *rs)) == NULL)
        return;
    req_link(cl, &rs->rq);
    snprintf(rs->room, sizeof rs->room, "%s", cr->id);
    rs->again = again;
    cr->pending++;
    rs->left = 1; /* held while issuing */
    for (struct peer *p = again ? NULL : room->peers; p != NULL; p = p->next)
        reassert(cl, rs, p);
    rs->left--;
    resync_step(rs);
}

/* What this node holds goes to Redis again: every room with seats here is
 * re-asserted and resynced, every knock waiting here knocks again, and
 * the PeerJS ids open here are claimed again. */
static void reassert_all(struct cluster *cl)
{
    for (struct route_room *cr = route_next(cl->rt, NULL); cr != NULL;
         cr = route_next(cl->rt, cr))
        resync_start(cl, cr, false);
    reknock(cl);
    cl->owed_wait_ms = OWED_RETRY_MS;
    owed_resend(cl);
    if (cl->pj != NULL)
        pj_reclaim(cl->pj);
}

static void on_up(void *user)
{
    struct cluster *cl = user;
    log_info("redis up as node %s", bus_node_id(cl->bus));
    metrics.redis_up = true;
    if (bus_lost_data(cl->bus)) {
        long ms = cl->roster_wait_ms < JOINS_WAIT_MAX_MS ? cl->roster_wait_ms
                                                         : JOINS_WAIT_MAX_MS;
        cl->joins_wait_until = clock_mono_ms() + ms;
        log_info("joins wait %ld ms for the other nodes to re-assert their "
                 "members",
                 ms);
    }
    if (cl->ready != NULL) {
        void (*ready)(void *) = cl->ready;
        cl->ready = NULL;
        ready(cl->ready_arg);
    }
    reassert_all(cl);
}

/* The bus stayed up, but this node's liveness key had expired (it stalled
 * or was cut off): its seats may wait in their grace, its knocks be gone
 * from the lobbies, its PeerJS ids be free. */
static void on_lapsed(void *user)
{
    reassert_all(user);
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
        log_warn("drain: hand-over failed (%s): the seats of this node "
                 "wait their grace after the node TTL",
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
    for (struct route_room *cr = route_next(cl->rt, NULL); cr != NULL;
         cr = route_next(cl->rt, cr)) {
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
        log_warn("drain: redis unreachable: the seats of this node wait "
                 "their grace after the node TTL");
    if (rc < 0)
        free(d);
    free(seats);
    return rc;
}

/* ---- PeerJS (peerjs.h, struct pj_net) ------------------------------------ */

/* A claim waiting for Redis; c is cleared when the socket ends first. */
struct pj_claim {
    struct req rq;
    struct pj_conn *c;
    char id[PJ_ID_MAX + 1];
    char token[PJ_TOKEN_MAX + 1];
};

static void pjc_release(void *ctx, const char *id, const char *token);

static void pjc_claim_drop(struct req *r)
{
    req_unlink(r);
    free(r); /* rq is first */
}

/* Whether a claim of id for token by a connection still open waits here
 * (the same client again, a reconnect). */
static bool pjc_claiming(struct cluster *cl, const char *id, const char *token)
{
    for (struct req *r = cl->reqs.next; r != &cl->reqs; r = r->next) {
        const struct pj_claim *q = (const struct pj_claim *)(void *)r;
        if (r->drop == pjc_claim_drop && q->c != NULL &&
            strcmp(q->id, id) == 0 && strcmp(q->token, token) == 0)
            return true;
    }
    return false;
}

/* A lookup of the node holding dst for m, waiting for Redis. */
struct pj_route {
    struct req rq;
    struct out_msg *m;
    char src[PJ_ID_MAX + 1], dst[PJ_ID_MAX + 1];
};

static void pjc_claim_done(void *arg, enum bus_status st)
{
    struct pj_claim *q = arg;
    struct cluster *cl = q->rq.cl;
    struct pj_conn *c = q->c;

    req_unlink(&q->rq);
    if (c != NULL && cl->pj != NULL)
        pj_claimed(cl->pj, c,
                   st == BUS_OK     ? 1
                   : st == BUS_NONE ? 0
                                    : -1,
                   clock_mono_ms());
    /* Its socket ended before Redis answered: an id claimed (or maybe
     * claimed) for nobody is released, unless the same client holds it
     * here or is claiming it again (a release would take it from them). */
    if (c == NULL && st != BUS_NONE && cl->pj != NULL &&
        !pj_holds(cl->pj, q->id, q->token) &&
        !pjc_claiming(cl, q->id, q->token))
        pjc_release(cl, q->id, q->token);
    free(q);
}

static int pjc_claim(void *ctx, struct pj_conn *c)
{
    struct cluster *cl = ctx;
    struct pj_claim *q = calloc(1, sizeof *q);

    if (q == NULL)
        return -1;
    req_link(cl, &q->rq);
    q->rq.drop = pjc_claim_drop;
    q->c = c;
    snprintf(q->id, sizeof q->id, "%s", c->id);
    snprintf(q->token, sizeof q->token, "%s", c->token);
    if (bus_pj_claim(cl->bus, c->id, c->token, pjc_claim_done, q) < 0) {
        req_unlink(&q->rq);
        free(q);
        return -1;
    }
    c->claim = q;
    return 0;
}

static void pjc_cancel(void *ctx, struct pj_conn *c)
{
    struct pj_claim *q = c->claim;

    (void)ctx;
    q->c = NULL;
    c->claim = NULL;
}

static void pjc_release(void *ctx, const char *id, const char *token)
{
    owe(ctx, OWED_PJ_RELEASE, id, token);
}

static void pjc_route_drop(struct req *r)
{
    struct pj_route *q = (struct pj_route *)(void *)r; /* rq is first */
    req_unlink(r);
    out_msg_unref(q->m);
    free(q);
}

static void pjc_routed(void *arg, enum bus_status st, const char *node)
{
    struct pj_route *q = arg;
    struct cluster *cl = q->rq.cl;

    if (st == BUS_ERR)
        node = NULL; /* held, and expires, as for nobody */
    if (cl->pj != NULL)
        pj_routed(cl->pj, q->src, q->dst, q->m, node,
                  node != NULL && strcmp(node, bus_node_id(cl->bus)) == 0,
                  clock_mono_ms());
    pjc_route_drop(&q->rq);
}

static bool pjc_routing(void *ctx, const char *dst)
{
    struct cluster *cl = ctx;

    for (struct req *r = cl->reqs.next; r != &cl->reqs; r = r->next) {
        const struct pj_route *q = (const struct pj_route *)(void *)r;
        if (r->drop == pjc_route_drop && strcmp(q->dst, dst) == 0)
            return true;
    }
    return false;
}

static int pjc_route(void *ctx, const char *src, const char *dst,
                     struct out_msg *m)
{
    struct cluster *cl = ctx;
    struct pj_route *q = calloc(1, sizeof *q);

    if (q == NULL)
        return -1;
    snprintf(q->src, sizeof q->src, "%s", src);
    snprintf(q->dst, sizeof q->dst, "%s", dst);
    req_link(cl, &q->rq);
    q->rq.drop = pjc_route_drop;
    q->m = out_msg_ref(m);
    if (bus_pj_route(cl->bus, dst, hub_config(cl->h)->peerjs_expire_ms,
                     pjc_routed, q) < 0) {
        pjc_route_drop(&q->rq);
        return -1;
    }
    return 0;
}

static void pjc_forward(void *ctx, const char *node, const char *dst,
                        const struct out_msg *m)
{
    struct cluster *cl = ctx;
    size_t len;
    char *w = msg_node_pj_wrap(dst, out_msg_text(m), m->len, &len);

    if (w == NULL || bus_publish_node(cl->bus, node, w, len) < 0)
        log_warn("peerjs: a message for id=%s to node %s lost (%s)", dst, node,
                 w == NULL ? "out of memory" : "redis down");
    free(w);
}

void cluster_peerjs(struct cluster *cl, struct pj *pj)
{
    if (cl == NULL)
        return;
    if (cl->pj != NULL)
        pj_set_net(cl->pj, NULL);
    cl->pj = pj;
    cl->pjnet = (struct pj_net){cl,        pjc_claim,   pjc_cancel, pjc_release,
                                pjc_route, pjc_forward, pjc_routing};
    if (pj != NULL)
        pj_set_net(pj, &cl->pjnet);
}

/* ---- life ---------------------------------------------------------------- */

struct cluster *cluster_new(uv_loop_t *loop, struct hub *h,
                            const struct bus_config *bc,
                            void (*ready)(void *arg), void *arg)
{
    struct cluster *cl = calloc(1, sizeof *cl);
    static const struct bus_callbacks cbs = {on_up, on_down, on_room_message,
                                             on_node_message, on_lapsed};
    if (cl == NULL)
        return NULL;
    cl->h = h;
    cl->ready = ready;
    cl->ready_arg = arg;
    cl->owed_wait_ms = OWED_RETRY_MS;
    cl->reqs.next = cl->reqs.prev = &cl->reqs;
    cl->roster_wait_ms =
        bc->ping_timeout_ms + bc->backoff_max_ms + ROSTER_AGAIN_MS;
    cl->rt = route_new();
    cl->bus = cl->rt != NULL ? bus_create(loop, bc, &cbs, cl) : NULL;
    if (cl->bus == NULL) {
        route_free(cl->rt);
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
        .away = hk_away,
        .tick = hk_tick,
        .host = hk_host,
        .publish = hk_publish,
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
    route_free(cl->rt);
    while (cl->owed != NULL) {
        struct owed *o = cl->owed;
        cl->owed = o->next;
        owed_destroy(o);
    }
    free(cl);
}
