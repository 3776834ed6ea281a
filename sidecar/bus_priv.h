/* The inside of struct bus, shared by bus.c (the calls and their
 * requests) and bus_conn.c (connections, supervision, create and free).
 * Nothing else includes it. */
#ifndef HUDDLE_BUS_PRIV_H
#define HUDDLE_BUS_PRIV_H

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdint.h>
#include <stdio.h>

#include "bus.h"
#include "bus_sub.h"

#define BUS_OBUF_MAX (32 << 20) /* unsent bytes before sends are refused */
#define LONGSTR(buf, v) snprintf((buf), sizeof(buf), "%lld", (long long)(v))

enum bus_state { ST_DOWN, ST_CONNECTING, ST_UP };

/* The scripts of bus_lua.h, in the order bus_conn.c loads them. */
enum bus_script {
    SC_JOIN,
    SC_RESUME,
    SC_SEAT_OF,
    SC_LEAVE,
    SC_UPDATE,
    SC_CHAT,
    SC_ROOM,
    SC_REAP,
    SC_DRAIN,
    SC_HOST,
    SC_PJ_CLAIM,
    SC_PJ_RELEASE,
    SC_PJ_ROUTE,
    SC_N
};

enum req_kind { REQ_ROOM, REQ_DONE, REQ_OWNER };

/* One asynchronous call. The arguments are copied in, so a request can
 * wait for its room's subscription before it is sent. */
struct bus_req {
    struct bus_wait wait; /* first: in bus_sub's waiting list */
    struct bus *b;
    enum req_kind kind;
    bus_room_fn *room_cb;
    bus_done_fn *done_cb;
    bus_owner_fn *owner_cb;
    void *arg;
    int argc;
    const char **argv;
    size_t *argvlen;
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

    enum bus_state state;
    redisAsyncContext *cmd, *sub;
    unsigned awaited; /* requests on cmd whose replies someone waits for */
    unsigned attempt;
    uint64_t connect_at;
    struct bus_load loads[SC_N];

    uint64_t ping_sent, ping_seen, ping_at, last_tick;
    uint64_t rng;

    uv_timer_t t_reconnect, t_watchdog, t_heartbeat, t_reaper;
    int closing;

    struct bus_subs subs;

    char *scratch;
    size_t scratch_cap;

    bool freeing;
    bool hs_cmd, hs_sub;           /* handshake done on each connection */
    bool lost_data;                /* the epoch changed at the last connect:
                                      Redis lost its data meanwhile */
    char epoch[BUS_EPOCH_MAX + 1]; /* Redis' epoch at the last connect */
    char id[BUS_ID_MAX + 1];
    char node_ch[sizeof BUS_NODE_CH + BUS_ID_MAX];
    char err[128]; /* why the last connect failed at once */
    char sha[SC_N][41];
};

/* bus_conn.c */

/* Drops both connections (if not down already), fails what waits, and
 * schedules a reconnect; why is logged. */
void bus_drop(struct bus *b, const char *why);

/* Returns true when the bus is up and Redis keeps up with what we send:
 * the command connection's output buffer is the only unbounded queue. */
bool bus_can_send(const struct bus *b);

/* Sends SUBSCRIBE or UNSUBSCRIBE (verb) for s's room on the subscribe
 * connection and counts it in s. Returns 0, or -1 when hiredis refused. */
int bus_sub_send(struct bus *b, struct bus_sub *s, const char *verb);

/* Logs what Redis answered to what (an error reply). */
void bus_log_reply_error(const char *what, const redisReply *r);

/* Counts one more request on the command connection whose reply someone
 * waits for, and has that connection read at once (bus_conn.c, "late
 * reads"); its reply callback counts it off (b->awaited--). */
void bus_await(struct bus *b);

/* A reply callback that only logs an error reply; privdata: what to name. */
void bus_on_ignore(redisAsyncContext *ac, void *reply, void *privdata);

/* bus.c */

/* Fails a detached list of requests (BUS_ERR, no callback while
 * freeing) and frees them. Their callbacks may call back into the bus, so
 * callers detach first and touch no bus_sub afterwards. */
void bus_reqs_fail(struct bus_wait *w);

/* Sends a detached list of requests whose room is now subscribed. */
void bus_reqs_send(struct bus_wait *w);

#endif
