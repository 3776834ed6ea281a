/* The sidecar's effective configuration, filled by main.c from HUDDLE_*
 * environment variables (table in main.c, documented in docs/config.md). */
#ifndef HUDDLE_SIDECAR_CONFIG_H
#define HUDDLE_SIDECAR_CONFIG_H

struct config {
    long max_peers;         /* seats per room, grace seats included */
    long max_message_bytes; /* one message after reassembly */
    long max_signal_bytes;  /* signal.data as JSON bytes */
    long max_chat_chars;    /* chat.text in code points */
    long chat_burst;        /* chat token bucket */
    long chat_rate;         /* per second */
    long signal_burst;      /* signal + state token bucket */
    long signal_rate;       /* per second */
    long join_burst;        /* join token bucket (join and leave churn) */
    long join_rate;         /* per second */
    long send_queue_messages;
    long send_queue_bytes;
    long join_timeout_ms;
    long ping_interval_ms;
    long ping_timeout_ms; /* hang-up this long after a ping was due */
    long resume_grace_ms;
    long chat_history;        /* room messages kept for welcome */
    long chat_history_ttl_ms; /* kept this long after the room empties */
    long history_max_bytes;   /* all rooms' history together */
    long max_connections;
    long error_run;      /* bad answers in a row before close 1008 */
    long rate_limit_run; /* rate-limited answers in a row, then 1008 */
    long turn_ttl_s;     /* lifetime of minted TURN credentials */
    long turn_port;      /* built TURN URLs (ice.h): turn: and stun: */
    long turns_port;     /* built TURN URLs: turns: */
    /* With HUDDLE_REDIS_URL only (bus.h, docs/cluster.md). */
    long redis_node_ttl_ms;
    long redis_heartbeat_ms;
    long redis_reaper_ms;
    long redis_ping_ms;
    long redis_ping_timeout_ms;
    long redis_backoff_min_ms;
    long redis_backoff_max_ms;
};

#endif
