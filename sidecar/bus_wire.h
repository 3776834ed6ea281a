/* bus_wire: what the Redis bus writes and reads that needs no socket:
 * HUDDLE_REDIS_URL, node and peer ids, channel names, and the envelope
 * around every published message. Pure: no hiredis, no libuv, no I/O, so
 * unit tests and tests/fuzz/fuzz_bus_url.c link it alone. The Lua
 * scripts' answers are read by bus_reply.c; the layout is in
 * docs/cluster.md. */
#ifndef HUDDLE_BUS_WIRE_H
#define HUDDLE_BUS_WIRE_H

#include <stdbool.h>
#include <stddef.h>

#include "hostport.h"
#include "roomid.h"

#define BUS_NODE_ID_MAX 64 /* bytes of the configured node id prefix */
#define BUS_ID_MAX 80      /* node id with its ".<8 hex>" suffix */
#define BUS_TOKEN_MAX 128  /* peer ids and resume tokens */
#define BUS_HOST_MAX HOSTPORT_HOST_MAX /* bytes of the host in the URL */
#define BUS_PASSWORD_MAX 255
/* A socket's path: sun_path (108 bytes) less two. hiredis 0.14 copies at
 * most 107 bytes into a sun_path it never zeroed, so the 108th byte, the
 * NUL of a 107-byte path, would be whatever the stack held. */
#define BUS_PATH_MAX 106
#define BUS_MSG_MAX (1 << 20) /* a published message */
#define BUS_ENV_EXTRA 32      /* envelope bytes around id and message */
#define BUS_ROOM_CH "huddle:ch:room:"
#define BUS_NODE_CH "huddle:ch:node:"
/* The set of registered nodes, and the prefix of each node's keys: its
 * liveness key BUS_NODE_KEY "<id>" (the heartbeat, bus_conn.c) and the
 * scripts' BUS_NODE_KEY "<id>:peers", ":knocks", ":pj" (bus_lua.h). */
#define BUS_NODES_KEY "huddle:nodes"
#define BUS_NODE_KEY "huddle:node:"
/* Redis' epoch: set once, by the first node to connect to a Redis that
 * has none (bus_conn.c). A node that finds another one than at its last
 * connect knows Redis lost its data meanwhile. */
#define BUS_EPOCH_KEY "huddle:epoch"
#define BUS_EPOCH_MAX (BUS_ID_MAX + 24) /* "<node id>.<16 hex>" */

/* HUDDLE_REDIS_URL, parsed: redis://[:password@]host:port[/db] (TCP) or
 * unix://[:password@]/path[?db=N] (a Unix socket on this host). */
struct bus_url {
    char host[BUS_HOST_MAX + 1]; /* name, IPv4, or IPv6 without brackets */
    int port;                    /* 1..65535 */
    char path[BUS_PATH_MAX + 1]; /* the socket's path; "" for TCP */
    char password[BUS_PASSWORD_MAX + 1];
    bool has_password;
    int db;                       /* 0 when absent */
    char where[BUS_HOST_MAX + 9]; /* for logs: host:port, [v6]:port or path */
};

/* Parses s strictly. Returns 0 and fills *out, or -1 when s is not of a
 * form above: other scheme, user name before the colon, empty password,
 * host:port not by common/hostport.h's rules, a path not absolute or
 * longer than BUS_PATH_MAX, db not a decimal in 0..65535, trailing bytes,
 * control characters or spaces anywhere. The password is taken verbatim
 * (no percent decoding) and may not contain '@' or '/'; a path may not
 * contain '@' or '?'. */
int bus_url_parse(const char *s, struct bus_url *out);

/* Returns true when s is 1..max of [A-Za-z0-9_-], and '.' too when dot is
 * true (node ids); peer ids and tokens have no dot. */
bool bus_id_ok(const char *s, size_t max, bool dot);

/* Checks the bus' two strings, url (HUDDLE_REDIS_URL, parsed into *out)
 * and node_id (HUDDLE_NODE_ID, bus_id_ok with dots): sidecar start-up and
 * bus_create ask the same. Returns 0, or -1 with what is wrong in err
 * (the URL is not repeated: it may hold a password). */
int bus_config_check(const char *url, const char *node_id, struct bus_url *out,
                     char *err, size_t errsz);

/* Returns true when room is a valid room id (common/roomid.h); NULL is
 * not. */
bool bus_room_ok(const char *room);

/* Returns the bytes bus_envelope_write needs for a message of len bytes
 * from node id. */
size_t bus_envelope_size(const char *id, size_t len);

/* Writes {"origin":"<id>","msg":<json>} to buf, which has at least
 * bus_envelope_size(id, len) bytes. Returns its length (not
 * NUL-terminated). */
size_t bus_envelope_write(char *buf, const char *id, const char *json,
                          size_t len);

/* Finds origin and message in the n bytes of an envelope at p. Returns 0,
 * or -1 when they are not exactly what bus_envelope_write writes (origin
 * "" is the reaper's). origin gets the NUL-terminated node id; *json points
 * into p. */
int bus_envelope_parse(const char *p, size_t n, char origin[BUS_ID_MAX + 1],
                       const char **json, size_t *len);

/* Copies the room of the n bytes of a room channel name ("huddle:ch:room:"
 * then the room) to room. Returns 0, or -1 for another channel or a room
 * name that common/roomid.h does not take (a NUL byte in it would make
 * the C string name another room). */
int bus_channel_room(const char *ch, size_t n, char room[ROOMID_MAX + 1]);

/* A room message that a script sent to one node's channel rather than to
 * the room's (the chat script: only the room's other nodes need it):
 * "huddle:ch:room:<room> <envelope>". Returns 0 with room set and *env,
 * *envlen the envelope (not checked here), or -1 when p is not of that
 * form. */
int bus_relay_parse(const char *p, size_t n, char room[ROOMID_MAX + 1],
                    const char **env, size_t *envlen);

#endif
