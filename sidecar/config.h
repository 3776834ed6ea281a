/* The sidecar's effective configuration, filled by main.c from HUDDLE_*
 * environment variables (table in main.c, documented in docs/config.md). */
#ifndef HUDDLE_SIDECAR_CONFIG_H
#define HUDDLE_SIDECAR_CONFIG_H

#include "bus_config.h"

struct config {
    long max_peers;            /* seats per room, grace seats included */
    long max_message_bytes;    /* one message after reassembly */
    long max_signal_bytes;     /* signal.data as JSON bytes */
    long max_chat_chars;       /* chat.text in code points */
    long chat_burst;           /* chat token bucket */
    long chat_rate;            /* per second */
    long signal_burst;         /* signal + state token bucket */
    long signal_rate;          /* per second */
    long join_burst;           /* join token bucket (join and leave churn) */
    long join_rate;            /* per second */
    long room_join_burst;      /* joins into one room (presence it causes) */
    long room_join_rate;       /* per second */
    long addr_join_burst;      /* joins from one client address */
    long addr_join_rate;       /* per second */
    long addr_connections;     /* websockets open from one client address */
    long addr_upgrades;        /* unfinished upgrades from one address */
    long upgrade_timeout_s;    /* to finish the HTTP upgrade */
    long send_queue_messages;  /* soft cap: over it the slow clock runs */
    long send_queue_bytes;     /* soft cap, likewise */
    long send_queue_max_bytes; /* hard ceiling: over it, close at once */
    long slow_consumer_ms;     /* over a soft cap this long: close */
    long join_timeout_ms;
    long ping_interval_ms;
    long ping_timeout_ms; /* hang-up this long after a ping was due */
    long resume_grace_ms;
    long chat_history;        /* room messages kept for welcome */
    long chat_history_ttl_ms; /* kept this long after the room empties */
    long history_max_bytes;   /* all rooms' history together */
    long max_connections;
    long error_run; /* bad answers within error_window_ms: 1008 */
    long error_window_ms;
    long rate_limit_run; /* rate-limited answers in a row, then 1008 */
    long turn_ttl_s;     /* lifetime of minted TURN credentials */
    long turn_port;      /* built TURN URLs (ice.h): turn: and stun: */
    long turns_port;     /* built TURN URLs: turns: */
    long lws_log;        /* libwebsockets' own log bit mask (ws.c) */
    /* The PeerJS endpoint (peerjs.h, docs/peerjs.md). */
    long peerjs_expire_ms;  /* a message held for an absent id: EXPIRE */
    long peerjs_alive_ms;   /* no HEARTBEAT this long: closed */
    long peerjs_held;       /* messages held for one absent id */
    long peerjs_held_total; /* messages held in all */
    /* Access control (docs/access.md). */
    long host_burst;          /* host actions token bucket */
    long reaction_burst;      /* reactions token bucket... */
    long reaction_rate;       /* ...refilled this many per second */
    long links_burst;         /* links messages token bucket... */
    long links_interval_ms;   /* ...refilled one token this often */
    long host_rate;           /* per second */
    long password_tries;      /* wrong passwords per address and room... */
    long room_password_tries; /* ...and per room... */
    long password_window_s;   /* ...within this window */
    long kick_ban_s;          /* a removed member's address: 0 none */
    long return_s;            /* a return ticket's life: 0 none */
    long knock_timeout_s;     /* a knock unanswered this long: refused */
    long lobby_max;           /* knocks waiting in one room */
    long hang_abort_ms;       /* the loop guard's limit (loopguard.h) */
    /* With HUDDLE_REDIS_URL only (bus.h, docs/cluster.md): its own
     * HUDDLE_REDIS_* settings straight from the table, the shared ones
     * (max_peers, chat_history...) set by config_finish() in main.c. */
    struct bus_config redis;
};

#endif
