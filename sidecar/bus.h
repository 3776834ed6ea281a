/* bus: the Redis layer that lets several huddle-sidecar processes share
 * rooms (docs/cluster.md: key layout and wire formats: docs/cluster.md).
 *
 * Two hiredis async connections on the caller's libuv loop: one only for
 * SUBSCRIBE, one for commands. Membership changes run as Lua scripts so the
 * room cap, resume and the reaping of dead nodes are atomic cluster-wide.
 * A watchdog publishes a ping to this node's own channel every ping_ms and
 * declares Redis down when it has not come back within ping_timeout_ms;
 * the bus then drops both connections and reconnects with exponential
 * backoff and jitter. Nothing here blocks, except name resolution of the
 * Redis host inside redisAsyncConnect().
 *
 * Five files: three pure ones, bus_wire.c (URL, ids, the envelope),
 * bus_reply.c (the scripts' answers) and bus_sub.c (the registry of
 * subscribed rooms), then bus.c (the calls below and their requests) and
 * bus_conn.c (the connections, their supervision, create and free), which
 * share struct bus through bus_priv.h.
 *
 * Callbacks run on the loop thread. Buffers handed to a callback are valid
 * only during the callback: copy what you keep. No bus_* function may be
 * called with a NULL bus. bus_free() must not be called from inside a bus
 * callback. */
#ifndef HUDDLE_BUS_H
#define HUDDLE_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "bus_config.h"
#include "bus_wire.h"

/* Every callback gets the user pointer given to bus_create(). Any may be
 * NULL. */
struct bus_callbacks {
    /* Both connections are ready (first connect or reconnect). Subscribed
     * rooms are being re-subscribed. After a reconnect the caller re-asserts
     * its local members (bus_join with BUS_JOIN_FORCE) and sends `roster`. */
    void (*on_up)(void *user);
    /* Redis went away or stopped answering. Pending requests have failed
     * with BUS_ERR; bus_is_up() is false until on_up. */
    void (*on_down)(void *user);
    /* A message published to a room channel by another node (or by the
     * reaper of any node, origin ""). Messages this node published itself
     * are not delivered back. room and origin are NUL-terminated. */
    void (*on_room_message)(void *user, const char *room, const char *origin,
                            const char *json, size_t len);
    /* A message published to this node's channel (bus_publish_node). */
    void (*on_node_message)(void *user, const char *origin, const char *json,
                            size_t len);
    /* While up, this node's liveness key was found expired: it stalled or
     * was cut off longer than the node TTL, and another node's reaper may
     * have put its seats into their grace and its knocks out of the
     * lobbies. The connections stayed up, and what Redis buffered for
     * them meanwhile is still delivered; the key is set again. The caller
     * re-asserts as after a reconnect. */
    void (*on_lapsed)(void *user);
};

struct bus;

/* Returns a new bus that starts connecting at once on loop, or NULL after
 * logging why (bad URL or node id, out of memory). The other values of cfg
 * are checked by the caller (the sidecar's config table): asserted here.
 * The bus copies cfg's strings and keeps cb by value; it does not own loop.
 * Free with bus_free(). */
struct bus *bus_create(uv_loop_t *loop, const struct bus_config *cfg,
                       const struct bus_callbacks *cb, void *user);

/* Drops both connections without touching Redis (no leave: members of this
 * node go into their grace, then away, by the others' reapers once the
 * liveness key expires, as after a crash) and frees the bus. Pending requests
 * are dropped without their callbacks being called. The memory of the loop
 * handles is released by the loop's close callbacks: run the loop once more
 * before uv_loop_close(). bus_free(NULL) is a no-op. */
void bus_free(struct bus *b);

/* Returns true while both connections are ready. Callers answer
 * `unavailable` for cross-node sends while it is false. */
bool bus_is_up(const struct bus *b);

/* Whether Redis, at this connection's start, had lost its data since the
 * previous one (another epoch key than then: a restart without
 * persistence; a flush shows at the next reconnect). False at the first
 * connection. */
bool bus_lost_data(const struct bus *b);

/* Returns this node's id as seen by the cluster: "<node_id>.<8 hex>",
 * NUL-terminated, owned by the bus. A new random suffix per bus_create, so
 * a restarted sidecar never inherits the seats of its previous life. */
const char *bus_node_id(const struct bus *b);

/* Subscribes the room's channel while this node has members there (bus_join
 * does it too) and keeps it subscribed across reconnects. Idempotent.
 * Returns 0, or -1 for an invalid room id or no memory. */
int bus_subscribe_room(struct bus *b, const char *room);

/* Stops delivery of the room's channel. Idempotent. Call when the last
 * local member left. Requests waiting for the subscription fail with
 * BUS_ERR: their callbacks run before this returns. */
void bus_unsubscribe_room(struct bus *b, const char *room);

/* Publishes json to every other node subscribed to the room, wrapped in
 * the envelope {"origin":"<id>","msg":<json>}. json must be one JSON value
 * (not checked). Returns 0 when queued, -1 when the bus is down (or more
 * than 32 MiB wait unsent: Redis does not keep up), the room is invalid or
 * the message is empty or over 1 MiB. At most once: a queued message may
 * still be lost if Redis goes down. */
int bus_publish_room(struct bus *b, const char *room, const char *json,
                     size_t len);

/* Same for one node's channel (node as given by bus_node_id() there, e.g.
 * from a bus_member). Returns 0 or -1 as above, or for a bad node id. */
int bus_publish_node(struct bus *b, const char *node, const char *json,
                     size_t len);

/* Statuses of the asynchronous calls below. */
enum bus_status {
    BUS_OK,     /* done; join: added */
    BUS_EXISTS, /* join: the peer was already a member here: updated */
    BUS_FULL,   /* join: the room has max_peers members */
    BUS_MOVED,  /* join: the peer id is held by another node (resumed) */
    BUS_NONE,   /* resume: unknown token; leave/update: not our member;
                   host action: no such member or knock */
    BUS_STALE,  /* resume: numbered no higher than the one that took the
                   seat back last (its page moved on; room.h) */
    BUS_ERR,    /* Redis down, went down meanwhile, or answered an error */
    /* A join refused by the access rules (docs/access.md): */
    BUS_BANNED,         /* its address was removed from the room lately */
    BUS_PASSWORD,       /* the room has a password: hash it with salt */
    BUS_WRONG_PASSWORD, /* counted against the room */
    BUS_PW_LIMITED,     /* the room had its wrong passwords for a while */
    BUS_KNOCK,          /* locked: waits in the lobby for a host */
    BUS_LOBBY_FULL,
    BUS_DENIED, /* it knocked, and a host's answer was no: reason says why */
    /* A host action refused: */
    BUS_FORBIDDEN, /* the one who asked is no host (any more) */
    BUS_LAST,      /* the room's last host cannot step down */
};

/* Returns the status's name ("ok", "full", ...), a static string. */
const char *bus_status_name(enum bus_status st);

/* One member of a room. Strings are NUL-terminated. */
struct bus_member {
    const char *peer; /* peer id */
    const char *node; /* the node that holds the seat */
    const char *json; /* peer object as given to bus_join/bus_update */
    size_t json_len;
};

struct bus_text {
    const char *s; /* NUL-terminated */
    size_t len;
};

/* The answer of bus_join, bus_resume and bus_room. Everything in it, and
 * the struct itself, is valid only during the callback. */
struct bus_room {
    enum bus_status status;
    const struct bus_member *members; /* everyone, the caller's peer too */
    size_t n_members;
    const struct bus_text *chat; /* history, oldest first */
    size_t n_chat;
    /* bus_join and bus_resume with a seat: its role as Redis decided, the
     * room's lock and password, and, for a host with someone waiting, the
     * lobby message to send it after the welcome (else NULL). */
    bool host, locked, password;
    const char *lobby;
    size_t lobby_len;
    const char *salt;   /* BUS_PASSWORD: hex, to hash the password with */
    const char *reason; /* BUS_DENIED: why (msg.h, MSG_DENIED_*) */
    /* bus_resume with BUS_OK: the seat taken back (BUS_STALE: peer only;
     * BUS_KNOCK: the token is a knock's, peer its id and since its
     * knock's since, 0 when a host answered it already). */
    const char *peer;     /* its peer id */
    const char *old_node; /* the node that held it (maybe this one) */
    const char *peer_json;
    size_t peer_json_len;
    int64_t moves; /* how many times it moved between nodes, this one too */
    int64_t since;
};

typedef void bus_room_fn(void *arg, const struct bus_room *r);
typedef void bus_done_fn(void *arg, enum bus_status st);

/* Flags of bus_join. */
#define BUS_JOIN_FORCE 1 /* ignore the cap: re-asserting a known member */

/* Who asks for a new seat, for the access rules (docs/access.md). */
struct bus_entry {
    int role;           /* 1 host, 0 guest (a join token's), -1 host when
                           first in the room */
    bool tokens;        /* join tokens make the hosts: no hand-over */
    const char *addr;   /* the client address, for bans, or NULL */
    const char *pwhash; /* hex PBKDF2 of its password with the room's salt
                           (an earlier BUS_PASSWORD), or NULL */
    bool knocked;    /* it knocked (its peer id is the knock's): a host's answer
                        kept for it is taken, an admission lets it in, a
                        denial ends it with BUS_DENIED; and a knock taken over
                        by another node meanwhile ends it with BUS_STALE */
    bool takes_over; /* its page's new connection, with the knock's token
                        (bus_resume's BUS_KNOCK): as knocked, and the knock
                        moves to this node, whose token stays the same;
                        the node that held it hears x-knock-taken */
    const char *knock;  /* its knock object JSON, for the lobby */
    const char *ticket; /* the resume token it came with, which took no seat
                           back: maybe a return ticket (bus_leave), or
                           NULL */
    int64_t moves;      /* re-asserting: the seat's moves between nodes (as
                           bus_room's), kept again by a Redis that lost them */
    int64_t attempt;    /* takes_over: the resume's number (0: none): a
                           later resume that took the knock meanwhile makes
                           it BUS_STALE */
};

/* Makes peer (with its peer object json and its resume token, >= 128 random
 * bits, [A-Za-z0-9_-]) a member of room held by this node, atomically
 * against the cap across all nodes. The room's channel is subscribed first
 * and the script runs once the subscription is confirmed, so nothing
 * published to the room after the join is missed. When the peer is added
 * and announce is not NULL, announce (e.g. the peer-joined message) is
 * published to the room in the same atomic step. Calls cb exactly once
 * (unless bus_free comes first) with BUS_OK, BUS_EXISTS, BUS_FULL (no
 * members or chat given), BUS_MOVED or BUS_ERR, and the members and chat
 * history; without BUS_JOIN_FORCE a new seat first passes the access
 * rules for e (bus_lua.h, the join script): BUS_BANNED, BUS_PASSWORD,
 * BUS_WRONG_PASSWORD, BUS_PW_LIMITED, BUS_KNOCK (now in the lobby under
 * peer), BUS_LOBBY_FULL or BUS_DENIED. Returns 0, or -1 (cb not called) when
 * down or not keeping up (as bus_publish_room), for invalid arguments or no
 * memory. Callbacks never run inside the call that started them. */
int bus_join(struct bus *b, const char *room, const char *peer,
             const char *token, const char *json, size_t len,
             const char *announce, size_t announce_len, int flags,
             const struct bus_entry *e, bus_room_fn *cb, void *arg);

/* Takes back the seat whose resume token is token in room, whatever node
 * held it, moving it to this node and replacing the token by new_token.
 * attempt is the page's number of this resume (0: none given; room.h).
 * cb gets BUS_OK with peer, old_node, peer_json and moves set (when
 * old_node is another node, tell it with an x-moved carrying moves so it
 * drops its copy and closes a connection it may still have with
 * `replaced`), BUS_STALE with peer set when attempt is no higher than the
 * one that took the seat back last, BUS_KNOCK with peer and since set
 * when token is a knock's (in the lobby, or answered: its page's new
 * connection takes it over with bus_join's takes_over; attempt is checked
 * as for a seat), BUS_NONE for an unknown, used, or other-room token, or
 * BUS_ERR. Subscribes first like bus_join. Returns 0,
 * or -1 (cb not called) as bus_join. */
int bus_resume(struct bus *b, const char *room, const char *token,
               const char *new_token, int64_t attempt, bus_room_fn *cb,
               void *arg);

/* Removes peer from room if this node holds its seat; then publishes
 * announce (e.g. peer-left) when not NULL, in the same atomic step. When
 * the room became empty its chat history expires after room_ttl_ms.
 * ticket_ms > 0: the seat's resume token becomes a return ticket for that
 * long, which a bus_join's ticket uses once (docs/access.md, "Coming
 * back"). cb (may be NULL) gets BUS_OK, BUS_NONE (not held here: e.g.
 * resumed elsewhere) or BUS_ERR. Returns 0, or -1 (cb not called). */
int bus_leave(struct bus *b, const char *room, const char *peer,
              const char *announce, size_t announce_len, int64_t ticket_ms,
              bus_done_fn *cb, void *arg);

/* Replaces peer's stored peer object by json if this node holds its seat,
 * then publishes announce (e.g. peer-state) when not NULL. cb (may be NULL)
 * gets BUS_OK, BUS_NONE or BUS_ERR. Returns 0, or -1 (cb not called). */
int bus_update(struct bus *b, const char *room, const char *peer,
               const char *json, size_t len, const char *announce,
               size_t announce_len, bus_done_fn *cb, void *arg);

/* Appends json to the room's chat history (keeping chat_max, and making
 * way for it by dropping the oldest messages of all rooms while all their
 * history together would be over history_max_bytes) and publishes
 * announce (the chat message as the clients get it, usually the same
 * bytes) to the room, atomically. cb may be NULL. Returns 0, or -1. */
int bus_chat(struct bus *b, const char *room, const char *json, size_t len,
             const char *announce, size_t announce_len, bus_done_fn *cb,
             void *arg);

/* One seat handed over by bus_drain. */
struct bus_seat {
    const char *room;
    const char *peer;
    long grace_ms; /* what is left of its grace period (<= 0: none) */
};

/* Hands this node's seats over before the process exits (a drain), in one
 * atomic step: each of the n seats that this node still holds stays in
 * Redis, resumable on any node, until grace_ms from now (Redis' clock);
 * then the reaper of whichever node runs it first removes it and
 * publishes peer-left (reason timeout), once. A seat resumed meanwhile
 * is not announced. Seats Redis gives this node that are not listed are
 * removed at once with peer-left timeout. The node is then forgotten
 * (liveness key, seat set) and its heartbeat stops: call it last, and
 * bus_free when cb has answered. cb gets BUS_OK or BUS_ERR. Returns 0,
 * or -1 (cb not called) when down or for an invalid room or peer. */
int bus_drain(struct bus *b, const struct bus_seat *seats, size_t n,
              bus_done_fn *cb, void *arg);

/* The host actions, and a knock's withdrawal (bus_lua.h, the host
 * script). */
enum bus_action {
    BUS_DO_ROLE,     /* a: peer, b: "host" or "guest" */
    BUS_DO_KICK,     /* a: peer, b: ban in ms ("0": none) */
    BUS_DO_END,      /* the meeting, for everyone */
    BUS_DO_LOCK,     /* a: "1" lock, "0" unlock (admits everyone waiting) */
    BUS_DO_PASSWORD, /* a: salt, b: hash (hex); a "": no password */
    BUS_DO_ADMIT,    /* a: knock id (b: the cap, given by bus_host) */
    BUS_DO_DENY,     /* a: knock id */
    BUS_DO_WITHDRAW, /* by: the knock id that stops waiting */
    BUS_DO_ACCESS,   /* a: "1" when this node last knew the room locked or
                        with a password (locked again if Redis lost it),
                        else "0"; by: a member here. The room hears its
                        access (after a reconnect: docs/cluster.md) */
};

/* Does act in room for by, a host of it as Redis has it, atomically; the
 * outcome is published with origin "" to the room (every node, this one
 * too, hears it) and, for admit and deny, to the knocker's node. cb (may
 * be NULL) gets BUS_OK, BUS_FORBIDDEN, BUS_NONE (no such peer or knock),
 * BUS_LAST, BUS_FULL (admit: the members and the admissions not used yet
 * fill max_peers; the knock waits on) or BUS_ERR. a and b may be NULL.
 * Returns 0, or -1 (cb not called). */
int bus_host(struct bus *b, enum bus_action act, const char *room,
             const char *by, const char *a, const char *b2, bus_done_fn *cb,
             void *arg);

/* Reads the room's members and chat history in one atomic step. cb gets
 * BUS_OK or BUS_ERR. Returns 0, or -1 (cb not called). */
int bus_room(struct bus *b, const char *room, bus_room_fn *cb, void *arg);

/* ---- PeerJS ids (docs/peerjs.md, "Several sidecars") ----------------
 * id is a PeerJS id as peerjs.h checks it: 1 to 64 of [A-Za-z0-9 _-];
 * token at most 64 bytes, any but NUL. */

/* Claims id for this node and token, atomically: cb gets BUS_OK when it
 * was free, held by a node no longer alive, or already this node's with
 * the same token; BUS_NONE when another live node (or another token here)
 * holds it; BUS_ERR. The nodes that wait for id (bus_pj_route) hear
 * {"pj-open":id,"node":<this node>} on their channel, origin "". The
 * claim lasts until bus_pj_release or until this node's liveness key
 * expires. Returns 0, or -1 (cb not called) as bus_join. */
int bus_pj_claim(struct bus *b, const char *id, const char *token,
                 bus_done_fn *cb, void *arg);

/* Frees id if this node still holds it with token. cb (may be NULL) gets
 * BUS_OK (freed), BUS_NONE (not held so) or BUS_ERR. Returns 0, or -1
 * (cb not called). */
int bus_pj_release(struct bus *b, const char *id, const char *token,
                   bus_done_fn *cb, void *arg);

/* node: the live node holding the id (BUS_OK), valid only during the
 * callback; NULL otherwise (BUS_NONE, BUS_ERR). */
typedef void bus_owner_fn(void *arg, enum bus_status st, const char *node);

/* The seat of room whose token is token, when this node holds it: cb gets
 * BUS_OK and "<peer id> <moves> <peer json>" (valid during the callback;
 * moves as bus_room's), BUS_NONE
 * or BUS_ERR. For a resume whose answer was lost (token: the one it gave
 * the seat). Subscribes to the room first, as bus_join. Returns 0, or -1
 * (cb not called). */
int bus_seat_of(struct bus *b, const char *room, const char *token,
                bus_owner_fn *cb, void *arg);

/* Looks up the node that holds id. When none does, this node is told when
 * id is claimed within wait_ms (bus_pj_claim). Replies come in the order
 * of the calls. Returns 0, or -1 (cb not called). */
int bus_pj_route(struct bus *b, const char *id, long wait_ms, bus_owner_fn *cb,
                 void *arg);

#endif
