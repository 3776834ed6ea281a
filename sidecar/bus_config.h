/* The settings of the Redis bus (sidecar/bus.h). A plain struct without
 * defaults: the sidecar's one table of HUDDLE_* variables (main.c) gives
 * every value its default and its range, and fills this struct inside
 * struct config (config.h). */
#ifndef HUDDLE_BUS_CONFIG_H
#define HUDDLE_BUS_CONFIG_H

struct bus_config {
    const char *url;      /* HUDDLE_REDIS_URL; copied */
    const char *node_id;  /* [A-Za-z0-9_.-]{1,64}; the bus appends ".<hex>" */
    long node_ttl_ms;     /* liveness key TTL; after it, seats are reaped */
    long heartbeat_ms;    /* liveness key refresh period (< node_ttl_ms) */
    long reaper_ms;       /* how often this node looks for dead nodes */
    long ping_ms;         /* watchdog ping period */
    long ping_timeout_ms; /* no ping back (or no handshake) within: down */
    long backoff_min_ms;  /* first reconnect delay */
    long backoff_max_ms;  /* cap of the reconnect delay (>= backoff_min_ms) */
    /* Shared with standalone rooms (HUDDLE_MAX_PEERS, HUDDLE_CHAT_*,
     * HUDDLE_RESUME_GRACE_MS). */
    long max_peers;         /* room cap across all nodes */
    long room_ttl_ms;       /* chat history kept this long after last leave */
    long chat_max;          /* messages of history kept per room */
    long history_max_bytes; /* bytes of chat history, all rooms together */
    long resume_grace_ms;   /* a dead node's seats wait this long for resume */
    /* Shared with standalone rooms' access rules (docs/access.md). */
    long lobby_max;          /* knocks waiting in one room */
    long password_tries;     /* wrong room passwords per room... */
    long password_window_ms; /* ...within this (fixed) window */
};

#endif
