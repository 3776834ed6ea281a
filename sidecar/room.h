/* Rooms, seats and chat history, in memory. No I/O: the hub decides what
 * to send; this module only keeps the state. A seat (struct peer) belongs
 * to a connection (conn, opaque here) or, while conn is NULL, waits in its
 * resume grace period. */
#ifndef HUDDLE_ROOM_H
#define HUDDLE_ROOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "access.h"
#include "htab.h"
#include "outmsg.h"
#include "ratelimit.h"

#define PEER_ID_LEN 16 /* 96 random bits, base64url */

struct room;

struct peer {
    char id[PEER_ID_LEN + 1];
    char token[TOKEN_LEN + 1];
    /* The token before it, still good until token itself is used: the
     * welcome that carried token may never have arrived. "" when none. */
    char prev_token[TOKEN_LEN + 1];
    /* The page's number of the resume that took the seat back last (0:
     * none, or a client that sends none): a resume numbered no higher is
     * older than that one, which reached a server first, and is refused.
     * A standalone sidecar's; with Redis the resume script keeps it. */
    int64_t attempt;
    /* With Redis: how many times the seat had moved between sidecars when
     * it came to this one (0: never; set by cluster.c); an x-moved about
     * an earlier move is stale. */
    int64_t moves;
    bool audio, video, screen, hand;
    /* Wall ms when the hand went up, as the seat's sidecar saw it (0:
     * down): "handAt", so that every page orders raised hands alike. */
    int64_t hand_at;
    bool host;     /* role: host, else guest (docs/access.md) */
    bool away;     /* in grace after a drop, announced: "away":true */
    char addr[64]; /* the client address that took the seat ("": none) */
    char *name;
    void *conn;          /* NULL while the seat is in grace */
    int64_t grace_until; /* ms, meaningful while conn is NULL */
    int64_t chat_ts;     /* wall ms of this member's last chat line */
    struct room *room;
    struct peer *next; /* in room->peers, join order */
};

struct room {
    char id[65];
    size_t npeers;
    size_t ngrace;
    struct peer *peers;
    struct out_msg **hist; /* ring of cfg history entries */
    size_t hist_cap;
    size_t hist_start;
    size_t hist_len;
    size_t hist_bytes;          /* message bytes held in hist */
    int64_t empty_since;        /* ms; meaningful when npeers == 0 */
    struct htab_entry link;     /* in the registry, by id */
    struct room *wprev, *wnext; /* watch list: grace seats or empty */
    bool watched;
    bool presence_ready;    /* presence bucket set up (by the hub) */
    struct bucket presence; /* joins into this room (hub.c) */
    /* Who may enter (access.h; decided by the hub): reset by room_leave
     * when the last seat goes. */
    bool locked;
    struct access_pw pw;
    int64_t access_gen; /* wall ms of the last lock or password change (0:
                           none): a return ticket made before is void */
    struct lobby lobby;
    bool pw_tries_ready;
    struct bucket pw_tries; /* wrong passwords into this room */
};

struct room_cfg {
    long max_peers;
    long history;
    long history_ttl_ms;
    long grace_ms;
    long history_max_bytes; /* all rooms together; over it, empty rooms'
                               history goes first, then new messages are
                               not kept */
};

struct room_reg;

enum room_join_result {
    ROOM_JOINED,  /* new seat */
    ROOM_RESUMED, /* seat taken back by its resume token */
    ROOM_STALE,   /* a resume older than one that took the seat back */
    ROOM_FULL,
    ROOM_NOMEM
};

/* Returns a new registry (free with room_reg_free) or NULL. */
struct room_reg *room_reg_new(const struct room_cfg *cfg);
void room_reg_free(struct room_reg *reg);
size_t room_reg_count(const struct room_reg *reg);

/* Seats in all rooms (*seats, grace seats included) and those in grace. */
void room_reg_seats(const struct room_reg *reg, size_t *seats, size_t *grace);

struct room *room_find(struct room_reg *reg, const char *id);

/* Who takes a seat. id and token are NULL for a join decided here (both
 * are minted); the cluster gives the ones Redis holds. */
struct room_seat {
    const char *name;
    bool audio, video;
    const char *resume; /* a token naming a seat to take back, or NULL */
    const char *id;     /* the new seat's id, or NULL: minted */
    const char *token;  /* the seat's new token, or NULL: minted */
    int64_t attempt;    /* the resume's number, or 0 (peer.attempt) */
};

/* Seats conn in room id (created when absent). With a resume token that
 * names a seat of this room, takes that seat back: *old_conn is set to
 * the connection that still held it (NULL when it was in grace). A seat
 * answers to its token and, until that one is used, to the one before,
 * but not to a resume numbered no higher than the last that took it back
 * (ROOM_STALE, *out the seat: a newer connection of the same page has it).
 * Every success gives the seat a new token (s->token, or minted). *out is
 * the seat. A new seat with conn NULL (nobody behind it yet) starts in
 * its grace period. */
enum room_join_result room_join(struct room_reg *reg, const char *id,
                                void *conn, const struct room_seat *s,
                                int64_t now, struct peer **out,
                                void **old_conn);

/* Removes the seat and frees it. The room stays while it has history
 * younger than the TTL. With the last seat go the room's lock and password
 * (who may enter belongs to the meeting); its lobby must be empty by then
 * (the hub answers those waiting first). */
void room_leave(struct room_reg *reg, struct peer *p, int64_t now);

/* Keeps the seat for the grace period, without a connection. */
void room_grace(struct room_reg *reg, struct peer *p, int64_t now);

/* Calls expired(p, ctx) for each seat whose grace ended, then removes it;
 * frees empty rooms whose history is older than the TTL (or that have
 * none). */
void room_expire(struct room_reg *reg, int64_t now,
                 void (*expired)(struct peer *p, void *ctx), void *ctx);

/* The seat of room r that answers to resume token token (its current
 * one or, until that is used, the one before), or NULL. */
struct peer *room_token_seat(struct room *r, const char *token);

/* Whether b (any string) is token a (TOKEN_LEN chars), in time
 * independent of where they differ. */
bool room_token_eq(const char *a, const char *b);

/* The seat with this id in room r, or NULL. */
struct peer *room_peer_find(struct room *r, const char *id);

/* The meeting ended: drops r's history. r must have no seats left (so its
 * lock and password went with the last one, room_leave). */
void room_forget(struct room_reg *reg, struct room *r);

/* Replaces the seat's name (a copy). Returns 0, or -1 when out of memory. */
int room_peer_set_name(struct peer *p, const char *name);

/* Appends a room chat message to the history (takes a reference). When all
 * rooms' history would pass cfg.history_max_bytes, rooms nobody is in are
 * freed first, longest empty first; if that is not enough, m is not kept
 * (history is best effort; m was delivered all the same). */
void room_history_add(struct room_reg *reg, struct room *r, struct out_msg *m);

/* Copies up to max history entries, oldest first, into out. Returns the
 * count. The entries are borrowed. */
size_t room_history(const struct room *r, struct out_msg **out, size_t max);

/* Fills out (n chars + NUL) with base64url of random bytes (getrandom).
 * n is 16 (peer id) or 22 (token). */
void room_random_id(char *out, size_t n);

#endif
