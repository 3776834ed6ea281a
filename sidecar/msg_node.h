/* The messages sidecars send each other through Redis (docs/cluster.md):
 * what a room's channel carries is classified here, a targeted message is
 * wrapped for a node's channel and unwrapped there, and the two messages
 * of the cluster's own (x-moved between nodes, roster to clients) are
 * built. Kept apart from msg.c, the protocol with clients, which is long
 * enough on its own. No I/O. */
#ifndef HUDDLE_MSG_NODE_H
#define HUDDLE_MSG_NODE_H

#include <stddef.h>
#include <stdint.h>

#include "outmsg.h"

struct cJSON;

#define MSG_MOVED_TYPE "x-moved" /* between nodes only, never to a client */

/* What a room channel message is about (one per type the cluster looks
 * into). */
enum msg_node_kind {
    MSG_NODE_OTHER,
    MSG_NODE_JOINED, /* peer-joined */
    MSG_NODE_LEFT,   /* peer-left */
    MSG_NODE_STATE,  /* peer-state */
    MSG_NODE_CHAT,   /* a room chat */
    MSG_NODE_MOVED,  /* x-moved: the seat was taken back on another node */
    MSG_NODE_ENDED,  /* ended: a host ended the meeting (from Redis) */
    MSG_NODE_LOBBY,  /* lobby: for the hosts only (from Redis) */
    MSG_NODE_ACCESS, /* access: the room's lock and password (from Redis) */
};

/* Classifies the room channel message json (len bytes). *about is the
 * peer id a presence or x-moved message names (it points into *jp), else
 * NULL; those kinds come back only with *about set. *jp is the parsed
 * JSON, or NULL (a chat, and links, frequent and about nobody, are
 * recognised by their start, unparsed): the caller frees it with
 * cJSON_Delete. */
enum msg_node_kind msg_node_classify(const char *json, size_t len,
                                     struct cJSON **jp, const char **about);

/* What Redis says to a knocker's node (bus_lua.h, the host and join
 * scripts), inside a node message to the knock id. */
#define MSG_KNOCK_TAKEN_TYPE "x-knock-taken"
enum msg_knock_answer {
    MSG_KNOCK_NONE,  /* not a knock's answer */
    MSG_KNOCK_ADMIT, /* {"type":"x-admit"}: join again, admitted */
    MSG_KNOCK_DENY,  /* {"type":"x-deny","reason":...} */
    /* {"type":"x-knock-taken","attempt":n}: the page's new connection on
     * another node, its resume numbered n, holds the knock now: the one
     * here is closed `replaced`, nothing withdrawn (unless its own resume
     * was numbered higher: it took the knock back since) */
    MSG_KNOCK_TAKEN,
};

/* Reads a knock's answer from json; for a denial, why (why_max bytes,
 * cut) gets its reason ("" without one: hub_knock_denial reads it); for a
 * take-over, *attempt the number of the resume that took it (0: none). */
enum msg_knock_answer msg_node_knock_answer(const char *json, size_t len,
                                            char *why, size_t why_max,
                                            int64_t *attempt);

/* {"type":"x-moved","id":"<id>","moves":<moves>}: published to a room
 * when a seat is taken back here from another node, which then drops its
 * copy unless the seat came back to it by a later move (peer.moves, room.h).
 * Returns a new message (caller owns) or NULL when out of memory. */
struct out_msg *msg_node_moved(const char *id, int64_t moves);

/* The moves of a classified x-moved (*jp of msg_node_classify), or
 * INT64_MAX when it has none (a sidecar of an older version: it is never
 * taken for stale). */
int64_t msg_node_moves(const struct cJSON *j);

/* {"type":"roster","peers":[<peers_json>]} to a client after a Redis
 * reconnect; peers_json is comma-separated peer objects. Returns a new
 * message (caller owns) or NULL when out of memory. */
struct out_msg *msg_roster(const char *peers_json);

/* {"room":"<room>","to":"<peer>","msg":<msg>}: a message for one member on
 * another node, fields in this order so the receiver finds msg without
 * parsing it. room and to need no escaping (a room id, a peer id).
 * Returns the text (malloc'd, *len bytes) or NULL when out of memory. */
char *msg_node_wrap(const char *room, const char *to, const char *msg,
                    size_t msg_len, size_t *len);

/* Splits a node message made by msg_node_wrap into room, to (each cut
 * to fit: -1 when longer) and the inner message (*msg, *msg_len point
 * into json). Returns 0, or -1 when it is not of that shape. */
int msg_node_unwrap(const char *json, size_t len, char *room, size_t room_max,
                    char *to, size_t to_max, const char **msg, size_t *msg_len);

/* {"pj":"<dst>","msg":<msg>}: a PeerJS message (peerjs.h) for the id dst
 * held by another node, fields in this order so the receiver finds msg
 * without parsing it. dst is a PeerJS id (no escaping needed). Returns
 * the text (malloc'd, *len bytes) or NULL when out of memory. */
char *msg_node_pj_wrap(const char *dst, const char *msg, size_t msg_len,
                       size_t *len);

/* Splits a node message made by msg_node_pj_wrap into dst (dst_max bytes
 * with the NUL) and the inner message (*msg, *msg_len point into json).
 * Returns 0, or -1 when it is not of that shape. */
int msg_node_pj_unwrap(const char *json, size_t len, char *dst, size_t dst_max,
                       const char **msg, size_t *msg_len);

/* Reads {"pj-open":"<id>","node":"<node>"} (the PeerJS claim script's, to
 * the nodes holding messages for id). Returns 0, or -1 when it is not of
 * that shape or a field does not fit. */
int msg_node_pj_open(const char *json, size_t len, char *id, size_t id_max,
                     char *node, size_t node_max);

#endif
