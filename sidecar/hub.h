/* The hub decides: every client message is dispatched here through a
 * table, checked against the room state and rate limits, and fanned out.
 * It is the one place where a join, leave, chat, state or signal is
 * decided and delivered, so a cluster bus (Redis, docs/cluster.md) can route
 * deliveries through pub/sub here. No I/O of its own: it sends through
 * struct hub_ops, which ws.c implements over libwebsockets. */
#ifndef HUDDLE_HUB_H
#define HUDDLE_HUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "access.h"
#include "config.h"
#include "ice.h"
#include "jwt.h"
#include "msg.h"
#include "ratelimit.h"
#include "room.h"

/* Per-connection protocol state, embedded in ws.c's session. */
struct hub_conn {
    struct peer *peer; /* NULL until joined, and after leaving */
    struct bucket chat;
    struct bucket sig;
    struct bucket join;    /* joins, so join/leave churn cannot flood a room */
    struct bucket errors;  /* counted errors left in the error window */
    struct bucket hosting; /* host actions */
    struct bucket react;   /* reactions */
    struct bucket links;   /* links messages */
    struct knock *knock;   /* waiting in a lobby here, or NULL */
    bool knocking; /* waiting in a lobby: here (knock set) or in Redis */
    /* The client address (ws.c's, living as long as the connection), for
     * bans; NULL when unknown. */
    const char *addr;
    struct bucket *addr_join;   /* the client address' joins (ws.c), or NULL */
    unsigned short limited_run; /* rate-limited answers in a row */
    bool closing;               /* hub asked ops->close */
    void *pending;              /* cluster: a join waiting for Redis */
    /* The host the client's request named (checked, no port), for TURN
     * URLs built from it (ice.h); set and freed by the transport, NULL
     * unless ice_wants_request_host. */
    char *host;
};

/* How a connection ended, as seen by the hub. */
enum hub_end {
    HUB_END_LEAVE,  /* close frame 1000, 1001 or no code: leave now */
    HUB_END_GRACE,  /* dropped, other code, missed pongs: keep the seat,
                       the others told it is away */
    HUB_END_DRAIN,  /* closed 1012 by a drain: keep the seat, tell nobody
                       (the client comes back at once, maybe elsewhere) */
    HUB_END_KICKED, /* server closed it for abuse: leave, reason kicked */
};

struct hub_ops {
    /* Queues m (the callee takes its own reference) for conn. Returns
     * false when m will not reach the client: conn is closing, or m could
     * not be queued (the callee then closes conn itself: 1011 when out of
     * memory, its seat in grace). */
    bool (*send)(struct hub_conn *c, struct out_msg *m);
    /* Closes conn after what is already queued, with a close code and
     * reason: 1000 ends the seat, 1011 (out of memory) keeps it in grace
     * for a resume, any other ends it as kicked. Must not call back into
     * the hub synchronously. */
    void (*close)(struct hub_conn *c, int code, const char *reason);
    /* Sets conn's join deadline ms from now (after a leave: the join
     * timeout; while knocking: the knock's). At it, the transport calls
     * hub_on_deadline. */
    void (*rearm)(struct hub_conn *c, int64_t ms);
    /* Returns true when conn's send queue is so full that a sender of
     * signals to it should slow down. May be NULL: never. */
    bool (*congested)(struct hub_conn *c);
};

struct hub;
struct jwt_keys;

/* With several sidecars (HUDDLE_REDIS_URL), cluster.c routes through Redis
 * what leaves this process. Each hook gets ctx; the hub calls them at the
 * decision points below and keeps delivering to local members itself. */
struct hub_cluster {
    void *ctx;
    /* join (with or without resume) is decided in Redis, with the access
     * rules of docs/access.md: the cluster finishes it later, from its
     * callback, with hub_seat, hub_knocking (or answers an error).
     * token_refused, when not JWT_OK, says why the join's token was refused
     * (never out of memory: the hub answers that itself): then only a
     * resume may seat it, and a join without one is answered with
     * hub_refuse_token here. role is the token's (1 host, 0 guest), or
     * -1 without tokens: host when first in the room. */
    void (*join)(void *ctx, struct hub_conn *c, const struct msg_in *m,
                 enum jwt_result token_refused, int role, int64_t now);
    /* c ends, leaves or stops knocking while its join is pending: it is
     * forgotten (a knock leaves the lobby) and c->pending cleared. */
    void (*cancel)(void *ctx, struct hub_conn *c);
    /* A host action of c (role, kick, end, lock, password, admit, deny)
     * is decided in Redis; its outcome comes back to every node. */
    void (*host)(void *ctx, struct hub_conn *c, const struct msg_in *m,
                 int64_t now);
    /* m (a mute request to everyone, a reaction, links) goes to r's
     * members elsewhere. */
    void (*publish)(void *ctx, struct room *r, struct out_msg *m);
    /* to is no member here: deliver m to it if it is on another node.
     * Returns false when nobody in the room has that id. */
    bool (*send_remote)(void *ctx, struct hub_conn *c, const char *to,
                        struct out_msg *m, const char *ref, int64_t now);
    /* A room chat m (already delivered here) from c. */
    void (*chat)(void *ctx, struct hub_conn *c, struct out_msg *m, int64_t now);
    /* p's state changed; m is the peer-state message. */
    void (*state)(void *ctx, struct peer *p, struct out_msg *m);
    /* p leaves (still seated); m is the peer-left message. ticket_ms > 0:
     * p's resume token is a return ticket for that long (docs/access.md,
     * "Coming back"). */
    void (*left)(void *ctx, struct peer *p, struct out_msg *m,
                 int64_t ticket_ms);
    /* p's grace ended (still seated); m is its peer-left. The cluster
     * delivers m here too, once Redis confirmed this node still held the
     * seat (it may have been resumed elsewhere). */
    void (*expired)(void *ctx, struct peer *p, struct out_msg *m);
    /* p's connection dropped and its seat waits for it (p->away is set); m
     * is its peer-state. Like expired, the cluster delivers m here too,
     * once Redis confirmed this node still held the seat (a moved seat's
     * members here would never hear it was back). */
    void (*away)(void *ctx, struct peer *p, struct out_msg *m);
    void (*tick)(void *ctx, int64_t now);
};

/* Returns a new hub (free with hub_free) or NULL. The config, ops and ice
 * are borrowed and must outlive the hub. */
struct hub *hub_new(const struct config *cfg, const struct hub_ops *ops,
                    const struct ice *ice);
void hub_free(struct hub *h);

/* Requires a signed join token of every join from now on, verified with
 * keys (jwt.h; borrowed, NULL: rooms stay open). docs/tokens.md. */
void hub_set_tokens(struct hub *h, const struct jwt_keys *keys);

/* True when joins need tokens: then tokens alone make hosts. */
bool hub_tokens_on(const struct hub *h);

/* Whether join m's resume token takes a seat of its room here back: then
 * the join was let in before, and no token, ban, password or lock
 * applies. */
bool hub_takes_seat_back(struct hub *h, const struct msg_in *m);

/* Routes through cl from now on (borrowed; NULL: standalone). */
void hub_set_cluster(struct hub *h, const struct hub_cluster *cl);

void hub_conn_init(struct hub *h, struct hub_conn *c, int64_t now_ms);

/* Handles one complete, UTF-8-valid text message from c. */
void hub_on_text(struct hub *h, struct hub_conn *c, const char *buf, size_t len,
                 int64_t now_ms);

/* c's join deadline passed without a seat. Returns true when the hub
 * dealt with it (a knock timed out: answered, deadline restarted), false
 * when the transport is to close c (join timeout). */
bool hub_on_deadline(struct hub *h, struct hub_conn *c, int64_t now_ms);

/* The connection of c has ended (or is being closed by the server). */
void hub_on_end(struct hub *h, struct hub_conn *c, enum hub_end how,
                int64_t now_ms);

/* A seat to give a connection: from its join message, or decided in
 * Redis (id set: the cluster's callback finishes the join here). */
struct hub_seat {
    const char *room;
    const char *name;
    bool audio, video;
    const char *resume; /* the client's token, or NULL */
    int64_t attempt;    /* the resume's number, or 0 (room.h, peer.attempt):
                           a seat decided here; Redis orders its own */
    int role;          /* a new seat decided here: 1 host, 0 guest, -1 host when
                          first in the room */
    const char *knock; /* decided here for a knock let in: its id, which
                          the seat takes (a host saw it in the lobby), and
                          token its token (the page has it) */
    /* Decided in Redis: the seat's id and new token (NULL: decided here,
     * both minted, but a knock's), whether it is a resume (peer_json,
     * when not NULL, is its state as Redis holds it), the welcome's peers
     * (comma-separated peer objects, the seat's own left out) and chat
     * (comma-separated chat messages) as Redis has them, NULL when out
     * of memory (then no welcome), and the room's size for the log. */
    const char *id, *token;
    bool resumed;
    const char *peer_json;
    size_t peer_json_len;
    const char *peers_json, *chat_json;
    struct msg_access access; /* the room's, as Redis has it */
    size_t members;
};

/* Seats c as s says: takes the seat (back), closes with `replaced` the
 * connection that still held it, says welcome and, for a new seat, tells
 * the room here peer-joined. Returns the seat, or NULL after answering c
 * room-full or unavailable (a seat decided in Redis that finds no room
 * here: unavailable), or after closing c `replaced` (hub_stale). */
struct peer *hub_seat(struct hub *h, struct hub_conn *c,
                      const struct hub_seat *s, int64_t now_ms);

/* A resume of c's, for seat id of room, older than the one that took
 * that seat back last (room.h, peer.attempt): the page has moved on to a
 * newer connection, which holds the seat. c, unless NULL (gone), hears
 * peer-left `replaced` about id and is closed 1000 `replaced`, as a
 * connection whose seat was taken over is. */
void hub_stale(struct hub *h, struct hub_conn *c, const char *room,
               const char *id);

/* A seat decided in Redis for a resume whose connection went before the
 * answer came, or whose answer was lost (s as for hub_seat, s->token the
 * one the page still has, its role from s->peer_json when given):
 * it waits here in its grace as a seat whose connection dropped does, and
 * the others hear it is away unless they had. Returns the seat, or NULL
 * (out of memory, or no room here). */
struct peer *hub_seat_away(struct hub *h, const struct hub_seat *s,
                           int64_t now_ms);

/* Drops seat p without a peer-left (it moved to another node); its
 * connection, if any, gets peer-left replaced and close 1000. */
void hub_drop_seat(struct hub *h, struct peer *p, int64_t now_ms);

/* Gives p the role Redis holds for it (a re-assertion found that a host
 * changed it while this node was cut off): the members here hear it, and
 * a new host gets the lobby; nothing is published. */
void hub_take_role(struct hub *h, struct peer *p, bool host);

/* The cluster's side of the access rules (docs/access.md), decided in
 * Redis and applied here. */

/* c waits in a lobby (here, or in Redis) as knock id, which token takes
 * over from another connection: told knocking, and given what is left of
 * the knock timeout counted from since (wall ms, when it first knocked). */
void hub_knocking(struct hub *h, struct hub_conn *c, const char *id,
                  const char *token, int64_t since);

/* Knock id of room went on with a new connection of its page: old, which
 * held it, gets peer-left `replaced` about id and is closed 1000
 * `replaced`, as a seat's older connection is (hub_stale). */
void hub_knock_taken(struct hub *h, struct hub_conn *old, const char *room,
                     const char *id);

/* How a knock ends for the one waiting: each answer (its error code, the
 * reason a program tells apart, the text) in one table of hub.c. */
enum hub_knock_end {
    HUB_KNOCK_QUIET,    /* it stopped waiting: no answer */
    HUB_KNOCK_ADMITTED, /* a host (or an opened door) let it in */
    HUB_KNOCK_HOST,     /* denied, "host": a host did not let it in */
    HUB_KNOCK_EMPTY,    /* denied, "empty": everyone left while it waited */
    HUB_KNOCK_ENDED,    /* denied, "ended": a host ended the meeting */
    HUB_KNOCK_DENIED,   /* denied, no reason: a node that gave none */
    HUB_KNOCK_TIMEOUT,  /* knock-timeout: no host answered in time */
    HUB_KNOCK_END_COUNT
};

/* The reason a denial carries (also in Redis' x-deny, bus_lua.h), NULL
 * for an end that has none. */
const char *hub_knock_reason(enum hub_knock_end end);

/* The denial whose reason is reason (HUB_KNOCK_DENIED: none, or unknown). */
enum hub_knock_end hub_knock_denial(const char *reason);

/* Logs that knock knock on room ended as end says. */
void hub_knock_log(const char *room, const char *knock, enum hub_knock_end end);

/* c's knock ended as end says (QUIET and ADMITTED answer nothing: an
 * admitted knocker's welcome follows) and c is given the join timeout
 * again. */
void hub_knock_over(struct hub *h, struct hub_conn *c, enum hub_knock_end end,
                    int64_t now_ms);

/* Why an access rule or a host action was refused: each has its code and
 * text in one table of hub.c. */
enum hub_refusal {
    HUB_NOT_HOST,    /* forbidden */
    HUB_LAST_HOST,   /* forbidden: a room keeps at least one host */
    HUB_SELF,        /* forbidden: not to yourself */
    HUB_NO_PEER,     /* no-such-peer */
    HUB_NO_KNOCK,    /* no-such-peer: nobody waits with that id */
    HUB_BANNED,      /* banned */
    HUB_ROOM_FULL,   /* room-full */
    HUB_LOBBY_FULL,  /* room-full: the lobby */
    HUB_PW_REQUIRED, /* password-required */
    HUB_PW_LIMITED,  /* rate-limited, "passwords": this address' wrong ones */
    HUB_PW_ROOM_LIMITED, /* rate-limited, "room-passwords": everyone's */
    HUB_TOKEN_NAME, /* forbidden: with join tokens, a name is the token's */
    HUB_REFUSAL_COUNT
};

/* Answers c the refusal why of a message of type ref. */
void hub_refuse(struct hub *h, struct hub_conn *c, enum hub_refusal why,
                const char *ref, int64_t now_ms);

/* Whether c may try password into room now: answers password-required
 * (NULL), or rate-limited when the room had its wrong tries (room_limited:
 * "room-passwords") or c's client address had its own there
 * ("passwords"), and returns false; else true. */
bool hub_password_gate(struct hub *h, struct hub_conn *c, const char *room,
                       const char *password, bool room_limited, int64_t now_ms);

/* c gave a wrong password into room: counted against its client address
 * there, answered wrong-password. */
void hub_password_wrong(struct hub *h, struct hub_conn *c, const char *room,
                        int64_t now_ms);

/* Seat p was removed by the host by (a kick decided in Redis): its connection
 * is told and closed, the seat goes without a peer-left (the room had
 * it from Redis). */
void hub_removed(struct hub *h, struct peer *p, const char *by, int64_t now_ms);

/* The meeting in r ended: every member here gets m (an ended message; NULL:
 * out of memory) and is closed, the seats go without peer-left, and the
 * room forgets its history. */
void hub_end_room(struct hub *h, struct room *r, struct out_msg *m,
                  int64_t now_ms);

/* Sends m (consumed; NULL: nothing) to every connected host of r. */
void hub_fanout_hosts(struct hub *h, struct room *r, struct out_msg *m);

/* The room id held here, or NULL. */
struct room *hub_room(struct hub *h, const char *id);

/* The configuration the hub was made with. */
const struct config *hub_config(const struct hub *h);

/* Sends m (consumed; NULL: nothing) to c. */
void hub_send(struct hub *h, struct hub_conn *c, struct out_msg *m);

/* Sends m (consumed; NULL: nothing) to every connected member of r but
 * skip (NULL: everyone). */
void hub_fanout(struct hub *h, struct room *r, struct out_msg *m,
                const struct peer *skip);

/* Answers error code to c (ref: the type it answers); bad messages and
 * rate-limited answers in a row count toward a close. */
void hub_answer_error(struct hub *h, struct hub_conn *c, enum msg_code code,
                      const char *message, const char *ref, int64_t now_ms);

/* Answers c's join refused for its token: bad-token, with why in words
 * and as the error's reason (unavailable when why is JWT_NOMEM). */
void hub_refuse_token(struct hub *h, struct hub_conn *c, enum jwt_result why,
                      int64_t now_ms);

/* Answers unavailable to c: the server cannot do it now (out of memory,
 * Redis down or too busy); the client may try again. Counts toward no
 * close. */
void hub_answer_unavailable(struct hub *h, struct hub_conn *c,
                            const char *message, const char *ref,
                            int64_t now_ms);

/* Ends grace periods and drops expired rooms; call every ~100 ms. */
void hub_tick(struct hub *h, int64_t now_ms);

size_t hub_room_count(const struct hub *h);

/* Seats held here (*seats, grace seats included) and those in grace. */
void hub_seat_count(const struct hub *h, size_t *seats, size_t *grace);

#endif
