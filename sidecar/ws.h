/* The websocket server: libwebsockets on the process' libuv loop. Framing,
 * per-connection send queues, keepalive and close codes live here; what a
 * message means is the hub's business. */
#ifndef HUDDLE_WS_H
#define HUDDLE_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "hostport.h"
#include "hub.h"

struct ws_opts {
    const char *listen;      /* host:port */
    const char *origins;     /* comma list, or NULL: public_host and local */
    const char *public_host; /* HUDDLE_PUBLIC_HOST as a URL names it, or NULL */
    const char *trusted_proxies; /* may set X-Forwarded-For (besides
                                    loopback), or NULL */
    bool keep_host;              /* keep each request's host (hub_conn.host) */
    long fd_limit;               /* the process' RLIMIT_NOFILE (soft) */
    const char *peerjs_key;      /* the PeerJS API key (peerjs.h) */
};

/* File descriptors kept back from connections: stdio, the loop, lws'
 * pipes, Redis, the log. At fd_limit - WS_FD_RESERVE / 2 a new socket is
 * closed at once; HUDDLE_MAX_CONNECTIONS is at most fd_limit -
 * WS_FD_RESERVE. */
#define WS_FD_RESERVE 64

/* libwebsockets' header slots: each socket whose HTTP request is not yet
 * parsed holds one (HUDDLE_UPGRADE_TIMEOUT_S at most); the rest wait for
 * a slot. One client address holds at most HUDDLE_ADDRESS_PENDING_UPGRADES
 * of them (at most this many, main.c), so filling them takes
 * WS_HEADER_SLOTS / that many addresses. */
#define WS_HEADER_SLOTS 1024

/* The hub_ops that deliver through this server. */
extern const struct hub_ops ws_hub_ops;

/* Splits listen (HUDDLE_LISTEN) by common/hostport.h's rules into *hp,
 * with "localhost" taken as 127.0.0.1 (lws binds an address, not a name).
 * Returns 0, or -1 after logging why. main.c checks it at start-up, before
 * waiting for Redis; ws_start uses it to bind. */
int ws_listen_parse(const char *listen, struct hostport *hp);

/* Whether list (HUDDLE_ALLOWED_ORIGINS) is one or more origins as a
 * browser writes them, "scheme://host[:port]" (a trailing slash allowed,
 * no default port), comma-separated. A bare host, a path, "*" or
 * https://h:443 matches no browser's Origin: every upgrade would get 403. */
bool ws_origins_valid(const char *list);

/* Starts listening on loop. Returns 0, or -1 after logging why. */
int ws_start(uv_loop_t *loop, const struct config *cfg, struct hub *hub,
             const struct ws_opts *opts);

/* Starts a drain: every connection is closed with 1012 "service restart"
 * after what is queued for it, its seat going into grace unannounced
 * (HUB_END_DRAIN); from now on websocket upgrades and GET /healthz answer
 * 503. */
void ws_begin_drain(void);

struct pj;

/* The PeerJS server (peerjs.h) while started, else NULL. */
struct pj *ws_peerjs(void);

/* Connections still open. */
size_t ws_connection_count(void);

/* Destroys the lws context; the loop must then run until its handles have
 * closed. Safe when ws_start failed. */
void ws_stop(void);

#endif
