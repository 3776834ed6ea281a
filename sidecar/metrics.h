/* metrics: the sidecar's counters and their Prometheus text (format 0.0.4),
 * served on GET /metrics of the sidecar's own port (ws.c; docs/config.md).
 *
 * Counting is a plain integer increment indexed by an enum, so it costs
 * nothing measurable on the hot path: there is one process-wide instance,
 * `metrics`, that hub.c, ws.c and cluster.c bump where the event happens
 * (the loop is single-threaded). The gauges are read when /metrics is
 * asked for, from whoever owns the number. Rendering and the name tables
 * are pure and unit-tested (tests/unit/test_sidecar_metrics.c). */
#ifndef HUDDLE_METRICS_H
#define HUDDLE_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg.h"

/* Client messages by type: msg_type, then one for what did not parse. */
#define METRICS_IN_INVALID MSG_TYPE_COUNT
#define METRICS_IN_N (MSG_TYPE_COUNT + 1)

/* Server messages, by their "type", counted per recipient queued. */
enum metrics_out {
    MET_OUT_WELCOME,
    MET_OUT_PEER_JOINED,
    MET_OUT_PEER_LEFT,
    MET_OUT_PEER_STATE,
    MET_OUT_ROSTER,
    MET_OUT_SIGNAL,
    MET_OUT_CHAT,
    MET_OUT_PONG,
    MET_OUT_ERROR,
    MET_OUT_KNOCKING,
    MET_OUT_LOBBY,
    MET_OUT_ACCESS,
    MET_OUT_MUTE_REQUEST,
    MET_OUT_ENDED,
    MET_OUT_REACTION,
    MET_OUT_LINKS,
    MET_OUT_ICE,
    MET_OUT_OTHER,
    MET_OUT_N
};

/* Why a websocket connection ended. */
enum metrics_close {
    MET_CLOSE_CLIENT,        /* the client sent a close frame first */
    MET_CLOSE_DROPPED,       /* TCP ended without a close frame */
    MET_CLOSE_NO_PONG,       /* missed pings: hung up */
    MET_CLOSE_JOIN_TIMEOUT,  /* 1008 join timeout */
    MET_CLOSE_REPLACED,      /* 1000 replaced: resumed elsewhere */
    MET_CLOSE_SLOW_CONSUMER, /* 1008 slow consumer */
    MET_CLOSE_KICKED,        /* 1008 too many errors, rate limited */
    MET_CLOSE_PROTOCOL,      /* 1003, 1007, 1009: a frame refused */
    MET_CLOSE_DRAIN,         /* 1012 service restart */
    MET_CLOSE_OTHER,         /* 1011 and anything else from the server */
    MET_CLOSE_N
};

struct metrics {
    uint64_t in[METRICS_IN_N];
    uint64_t out[MET_OUT_N];
    uint64_t errors[MSG_CODE_COUNT]; /* error messages sent, by code */
    uint64_t closes[MET_CLOSE_N];
    uint64_t joins;   /* new seats */
    uint64_t resumes; /* seats taken back with a resume token */
    /* Kept here by cluster.c for the redis_connected gauge. */
    bool clustered;
    bool redis_up;
};

/* The process' counters (zero at start). */
extern struct metrics metrics;

/* Gauges, read at render time. */
struct metrics_gauges {
    uint64_t connections;  /* open websocket connections */
    uint64_t peers;        /* seats here with a connection */
    uint64_t grace;        /* seats here waiting in resume grace */
    uint64_t rooms;        /* rooms in memory */
    uint64_t queued_bytes; /* bytes waiting in all send queues */
    uint64_t addresses;    /* client addresses with a connection or upgrade */
    int redis;             /* 1 up, 0 down, -1 standalone (not rendered) */
    bool draining;
};

/* The metrics_out of a server message from its text, which starts with
 * {"type":"<name>" as every message built by msg.c does: one comparison
 * per known type, done once per message built, not per recipient. */
enum metrics_out metrics_out_type(const char *json, size_t len);

/* Returns the Prometheus text of m and g (malloc'd, NUL-terminated, length
 * in *len), or NULL when out of memory. */
char *metrics_render(const struct metrics *m, const struct metrics_gauges *g,
                     size_t *len);

#endif
