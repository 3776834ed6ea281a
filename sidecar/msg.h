/* The wire format of protocol v1 (docs/protocol.md): parsing and
 * validating client messages by field table, and building server messages.
 * No I/O. */
#ifndef HUDDLE_MSG_H
#define HUDDLE_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg_text.h"
#include "outmsg.h"

struct cJSON;
struct config;
struct knock;
struct peer;

#define MSG_PING_T_MAX 64  /* bytes of ping.t as the client wrote it */
#define MSG_TOKEN_MAX 4096 /* bytes of join.token */

enum msg_type {
    MSG_JOIN,
    MSG_SIGNAL,
    MSG_CHAT,
    MSG_STATE,
    MSG_LEAVE,
    MSG_PING,
    MSG_REACT, /* a reaction: an emoji that floats over the sender's tile */
    MSG_LINKS, /* the health of the sender's peer connections (msg_links.h) */
    MSG_ICE,   /* fresh iceServers for the sender (TURN credentials renewed) */
    /* host actions (docs/access.md) */
    MSG_ROLE,
    MSG_KICK,
    MSG_MUTE,
    MSG_END,
    MSG_LOCK,
    MSG_PASSWORD,
    MSG_ADMIT,
    MSG_DENY,
    MSG_TYPE_COUNT
};

/* A parsed client message. Strings point into root and live as long as
 * it does; booleans are -1 when absent. */
struct msg_in {
    enum msg_type type;
    struct cJSON *root;
    const char *room;
    const char *name;
    const char *resume;
    int64_t attempt;      /* join: the resume's number (room.h), or 0 */
    const char *password; /* join, password */
    const char *token;    /* join: a signed join token */
    const char *role;     /* role: "host" or "guest" */
    const char *id;       /* admit, deny: a knock */
    const char *emoji;    /* react: one of msg_reactions */
    const char *to;
    const char *text;
    signed char audio, video, screen, hand, locked;
    const struct cJSON *data_item;
    const struct cJSON *t_item;
    const struct cJSON *links_item;
    char *data;      /* signal: data as compact JSON (malloc'd) */
    char *t;         /* ping: t as the client wrote it (malloc'd), or NULL */
    char *links;     /* links: the canonical array (malloc'd), or NULL */
    const char *src; /* the message text, while msg_parse runs */
    size_t src_len;
    bool has_nul; /* some string held an escaped NUL (\u0000) */
};

/* A room's access state, as welcome and access messages say it. */
struct msg_access {
    bool locked, password;
};

struct msg_limits {
    size_t max_signal_bytes;
    size_t max_chat_chars;
    size_t max_links; /* entries of a links message: the room cap minus one */
};

/* The error codes of docs/protocol.md ("error"); msg_code_name gives
 * each one's name on the wire. */
enum msg_code {
    MSG_E_BAD_JSON,
    MSG_E_BAD_MESSAGE,
    MSG_E_UNKNOWN_TYPE,
    MSG_E_NOT_JOINED,
    MSG_E_ALREADY_JOINED,
    MSG_E_INVALID_ROOM,
    MSG_E_ROOM_FULL,
    MSG_E_NO_SUCH_PEER,
    MSG_E_RATE_LIMITED,
    MSG_E_UNAVAILABLE,
    MSG_E_FORBIDDEN,
    MSG_E_PASSWORD_REQUIRED,
    MSG_E_WRONG_PASSWORD,
    MSG_E_BANNED,
    MSG_E_BAD_TOKEN,
    MSG_E_DENIED,
    MSG_E_KNOCK_TIMEOUT,
    MSG_CODE_COUNT
};

/* The wire name of an error code ("bad-json", ...). */
const char *msg_code_name(enum msg_code code);

/* The reasons of a denied error: why a knock was refused. Redis' scripts
 * (bus_lua.h) name them too, in the x-deny to the knocker's node. */
#define MSG_DENIED_HOST "host"   /* a host did not let it in */
#define MSG_DENIED_EMPTY "empty" /* everyone left while it waited */
#define MSG_DENIED_ENDED "ended" /* a host ended the meeting */

/* Why a message was refused: an error code of docs/protocol.md, the
 * type that caused it (NULL when there was no string type; an unknown
 * type is echoed, cut to 64 bytes) and a human message. */
struct msg_err {
    enum msg_code code;
    const char *ref; /* static, or ref_buf for an unknown type */
    char message[112];
    char ref_buf[68];
};

/* Parses and validates one complete text message (already checked to be
 * UTF-8 by the caller; checked again here). Returns 0 and fills m, or -1
 * and fills err. Either way m may hold the parsed JSON: call
 * msg_in_clear(m) after both outcomes. */
int msg_parse(const char *buf, size_t len, const struct msg_limits *lim,
              struct msg_in *m, struct msg_err *err);

/* Frees what msg_parse allocated. Safe on a zeroed or cleared struct. */
void msg_in_clear(struct msg_in *m);

/* The name of a message type ("join", ...). */
const char *msg_type_name(enum msg_type t);

/* Server messages. Each returns a new out_msg (one reference, caller
 * owns) or NULL when out of memory. */
/* An error: reason, when not NULL, names for a program what message says
 * for people (bad-token's "expired"). */
struct out_msg *msg_error(enum msg_code code, const char *message,
                          const char *reason, const char *ref);
struct out_msg *msg_pong(const char *t_json);
/* ice: the iceServers array ice_json (JSON text, inserted as it is), the
 * answer to a member's ice. */
struct out_msg *msg_ice(const char *ice_json);
struct out_msg *msg_peer_joined(const struct peer *p);
struct out_msg *msg_peer_state(const struct peer *p);
struct out_msg *msg_peer_left(const char *id, const char *reason);
struct out_msg *msg_signal(const char *from, const char *data_json);
struct out_msg *msg_chat(const char *from, const char *name, const char *text,
                         int64_t ts, const char *to);

/* welcome: peers and chat are arrays of n pointers; chat holds out_msgs
 * built by msg_chat. ice_json and limits_json are JSON texts inserted
 * as they are. */
struct out_msg *msg_welcome(const struct peer *me, const char *room,
                            const char *resume, const struct peer *const *peers,
                            size_t npeers, struct out_msg *const *chat,
                            size_t nchat, const struct msg_access *access,
                            const char *ice_json, const char *limits_json);

struct out_msg *msg_access(const struct msg_access *a);
/* knocking: the answer to a join that waits in the lobby as knock id;
 * token takes its place from another connection (docs/protocol.md). */
struct out_msg *msg_knocking(const char *id, const char *token);
/* lobby: the knocks of a room, oldest first (hosts only). */
struct out_msg *msg_lobby(const struct knock *head);
/* One knock of a lobby message, {"id","name","since"} (malloc'd text, or
 * NULL when out of memory): what Redis keeps for the lobby of a room
 * shared by several sidecars. */
char *msg_knock_json(const char *id, const char *name, int64_t since);
struct out_msg *msg_mute_request(const char *by);
/* reaction: from's emoji, to the whole room. */
struct out_msg *msg_reaction(const char *from, const char *emoji);

/* The reactions a client may send, NULL-terminated (welcome's limits
 * list them, so the page offers exactly these). */
extern const char *const msg_reactions[];
/* ended: reason "removed" (to the one removed) or "ended". */
struct out_msg *msg_ended(const char *reason, const char *by);
/* peer-left with the host who removed id (by). */
struct out_msg *msg_peer_removed(const char *id, const char *by);

/* The peer object of p as JSON text (malloc'd), or NULL. */
char *msg_peer_json(const struct peer *p);

/* Sets p's name, audio, video, screen, hand and role from the peer object
 * in the len bytes at json (a member absent or not true: false, a role
 * other than "host": guest; a name that is not a string: unchanged). */
void msg_peer_apply(struct peer *p, const char *json, size_t len);

/* The "limits" object of welcome from the configuration, as JSON text
 * (malloc'd), or NULL. */
char *msg_limits_json(const struct config *c);

/* welcome with peers and chat given as JSON texts: comma-separated peer
 * objects and chat messages (the cluster has them from Redis). */
struct out_msg *msg_welcome_raw(const struct peer *me, const char *room,
                                const char *resume, const char *peers_json,
                                const char *chat_json,
                                const struct msg_access *access,
                                const char *ice_json, const char *limits_json);

#endif
