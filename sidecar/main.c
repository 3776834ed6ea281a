/* huddle-sidecar: websocket signalling for huddle rooms.
 *
 * Reads its configuration from HUDDLE_* variables (docs/config.md), listens
 * on HUDDLE_LISTEN (path /ws, GET /healthz, GET /metrics), and runs one
 * libuv loop that libwebsockets shares. SIGTERM or SIGINT drains: new
 * upgrades and /healthz answer 503 at once, every client is closed with
 * 1012 "service restart" and its seat goes into grace, so it can resume
 * with its token (on another sidecar, with Redis) and the others see
 * nothing. With Redis the seats are then handed over (cluster_drain) and
 * stay resumable after this process is gone; the exit waits for Redis'
 * answer, at most HANDOVER_MS. Exit status 0. A second signal stops at
 * once. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <uv.h>

#include "addr.h"
#include "bus_wire.h"
#include "clock.h"
#include "cluster.h"
#include "config.h"
#include "env.h"
#include "hub.h"
#include "ice.h"
#include "jwt.h"
#include "log.h"
#include "loopguard.h"
#include "msg_text.h"
#include "ws.h"

#define TICK_MS 100
#define SHUTDOWN_MS 1500 /* clients closing, then the hand-over regardless */
#define HANDOVER_MS 3000 /* Redis taking the seats, then exit regardless */

static struct config cfg;

#define MS(x) ((x)*1000L)
static const struct env_int config_table[] = {
    {"HUDDLE_MAX_PEERS", 8, 1, 1000, &cfg.max_peers, "peers per room"},
    {"HUDDLE_MAX_MESSAGE_BYTES", 65536, 1024, 16777216, &cfg.max_message_bytes,
     "bytes of one message"},
    {"HUDDLE_MAX_SIGNAL_BYTES", 49152, 64, 16777216, &cfg.max_signal_bytes,
     "bytes of signal data"},
    {"HUDDLE_MAX_CHAT_CHARS", 2000, 1, 1000000, &cfg.max_chat_chars,
     "characters of chat text"},
    {"HUDDLE_CHAT_BURST", 5, 1, 1000000, &cfg.chat_burst, "chat bucket size"},
    {"HUDDLE_CHAT_RATE", 2, 1, 1000000, &cfg.chat_rate,
     "chat messages per second"},
    {"HUDDLE_SIGNAL_BURST", 200, 1, 1000000, &cfg.signal_burst,
     "signal+state bucket size"},
    {"HUDDLE_SIGNAL_RATE", 50, 1, 1000000, &cfg.signal_rate,
     "signal+state messages per second"},
    {"HUDDLE_JOIN_BURST", 5, 1, 1000000, &cfg.join_burst,
     "join bucket size (per connection)"},
    {"HUDDLE_JOIN_RATE", 1, 1, 1000000, &cfg.join_rate,
     "joins per second (per connection)"},
    {"HUDDLE_ROOM_JOIN_BURST", 32, 1, 1000000, &cfg.room_join_burst,
     "join bucket size (per room)"},
    {"HUDDLE_ROOM_JOIN_RATE", 8, 1, 1000000, &cfg.room_join_rate,
     "joins per second (per room)"},
    {"HUDDLE_ADDRESS_JOIN_BURST", 30, 1, 1000000, &cfg.addr_join_burst,
     "join bucket size (per client address)"},
    {"HUDDLE_ADDRESS_JOIN_RATE", 10, 1, 1000000, &cfg.addr_join_rate,
     "joins per second (per client address)"},
    {"HUDDLE_ADDRESS_CONNECTIONS", 256, 1, 10000000, &cfg.addr_connections,
     "open websockets per client address"},
    {"HUDDLE_ADDRESS_PENDING_UPGRADES", 16, 1, WS_HEADER_SLOTS,
     &cfg.addr_upgrades, "unfinished upgrades per client address"},
    {"HUDDLE_UPGRADE_TIMEOUT_S", 5, 1, 3600, &cfg.upgrade_timeout_s,
     "s to finish the HTTP upgrade"},
    {"HUDDLE_SEND_QUEUE_MESSAGES", 1024, 1, 1000000, &cfg.send_queue_messages,
     "queued messages per connection (soft cap)"},
    {"HUDDLE_SEND_QUEUE_BYTES", 1048576, 1024, 1073741824,
     &cfg.send_queue_bytes, "queued bytes per connection (soft cap)"},
    {"HUDDLE_SEND_QUEUE_MAX_BYTES", 16777216, 1024, 1L << 34,
     &cfg.send_queue_max_bytes, "queued bytes per connection (hard)"},
    {"HUDDLE_SLOW_CONSUMER_MS", MS(10), 50, MS(3600), &cfg.slow_consumer_ms,
     "ms a queue may stay over its soft cap"},
    {"HUDDLE_JOIN_TIMEOUT_MS", MS(10), 50, MS(3600), &cfg.join_timeout_ms,
     "ms to send join"},
    {"HUDDLE_PING_INTERVAL_MS", MS(25), 50, MS(3600), &cfg.ping_interval_ms,
     "ms between pings"},
    {"HUDDLE_PING_TIMEOUT_MS", MS(35), 50, MS(3600), &cfg.ping_timeout_ms,
     "ms to answer a ping"},
    {"HUDDLE_RESUME_GRACE_MS", MS(15), 0, MS(3600), &cfg.resume_grace_ms,
     "ms a dropped seat is kept"},
    {"HUDDLE_HANG_ABORT_MS", MS(15), 0, MS(3600), &cfg.hang_abort_ms,
     "ms the event loop may stand still before the process aborts (0: never)"},
    {"HUDDLE_CHAT_HISTORY", 50, 0, 10000, &cfg.chat_history,
     "chat messages kept for welcome"},
    {"HUDDLE_CHAT_HISTORY_TTL_MS", MS(600), 0, MS(86400),
     &cfg.chat_history_ttl_ms, "ms history outlives an empty room"},
    {"HUDDLE_HISTORY_MAX_BYTES", 64L << 20, 0, 1L << 40, &cfg.history_max_bytes,
     "bytes of chat history, all rooms together"},
    {"HUDDLE_MAX_CONNECTIONS", 0, 0, 10000000, &cfg.max_connections,
     "open websocket connections (0: the fd limit less a reserve)"},
    {"HUDDLE_ERROR_RUN", 10, 1, 1000000, &cfg.error_run,
     "bad messages within the error window before close"},
    {"HUDDLE_ERROR_WINDOW_MS", MS(10), 1, MS(86400), &cfg.error_window_ms,
     "ms of the error window"},
    {"HUDDLE_RATE_LIMIT_RUN", 50, 1, 1000000, &cfg.rate_limit_run,
     "rate-limited messages in a row before close"},
    {"HUDDLE_PEERJS_EXPIRE_MS", 5000, 10, MS(3600), &cfg.peerjs_expire_ms,
     "ms a PeerJS message waits for its absent target"},
    {"HUDDLE_PEERJS_ALIVE_MS", MS(90), 100, MS(86400), &cfg.peerjs_alive_ms,
     "ms a PeerJS client may go without a HEARTBEAT"},
    {"HUDDLE_PEERJS_HELD", 100, 1, 100000, &cfg.peerjs_held,
     "PeerJS messages held for one absent target"},
    {"HUDDLE_PEERJS_HELD_TOTAL", 10000, 1, 10000000, &cfg.peerjs_held_total,
     "PeerJS messages held in all"},
    {"HUDDLE_TURN_TTL_S", 86400, 10, 31536000, &cfg.turn_ttl_s,
     "s TURN credentials stay valid"},
    {"HUDDLE_TURN_PORT", 3478, 1, 65535, &cfg.turn_port,
     "TURN/STUN port of built URLs"},
    {"HUDDLE_TURNS_PORT", 5349, 0, 65535, &cfg.turns_port,
     "TURN over TLS port of built URLs (0: no turns: URL)"},
    {"HUDDLE_REDIS_NODE_TTL_MS", MS(10), 100, MS(3600), &cfg.redis.node_ttl_ms,
     "ms a silent sidecar counts as alive (its seats then wait their grace)"},
    {"HUDDLE_REDIS_HEARTBEAT_MS", MS(3), 10, MS(3600), &cfg.redis.heartbeat_ms,
     "ms between liveness refreshes"},
    {"HUDDLE_REDIS_REAPER_MS", MS(5), 10, MS(3600), &cfg.redis.reaper_ms,
     "ms between looks for dead sidecars"},
    {"HUDDLE_REDIS_PING_MS", MS(1), 10, MS(3600), &cfg.redis.ping_ms,
     "ms between watchdog pings"},
    {"HUDDLE_REDIS_PING_TIMEOUT_MS", MS(3), 10, MS(3600),
     &cfg.redis.ping_timeout_ms, "ms without a ping back: Redis down"},
    {"HUDDLE_REDIS_BACKOFF_MIN_MS", 100, 1, MS(3600), &cfg.redis.backoff_min_ms,
     "ms first reconnect delay"},
    {"HUDDLE_REDIS_BACKOFF_MAX_MS", MS(5), 1, MS(3600),
     &cfg.redis.backoff_max_ms, "ms longest reconnect delay"},
    {"HUDDLE_LWS_LOG", 3, 0, 0xffff, &cfg.lws_log,
     "libwebsockets' log bit mask (1 err, 2 warn, ...)"},
    {"HUDDLE_HOST_BURST", 10, 1, 1000000, &cfg.host_burst,
     "host actions bucket size"},
    {"HUDDLE_REACTION_BURST", 5, 1, 1000000, &cfg.reaction_burst,
     "reactions bucket size"},
    {"HUDDLE_REACTION_RATE", 1, 1, 1000000, &cfg.reaction_rate,
     "reactions per second"},
    {"HUDDLE_LINKS_BURST", 2, 1, 1000000, &cfg.links_burst,
     "links messages bucket size"},
    {"HUDDLE_LINKS_INTERVAL_MS", 2000, 1, 3600000, &cfg.links_interval_ms,
     "ms per links message token"},
    {"HUDDLE_HOST_RATE", 2, 1, 1000000, &cfg.host_rate,
     "host actions per second"},
    {"HUDDLE_PASSWORD_TRIES", 5, 1, 1000000, &cfg.password_tries,
     "wrong passwords into a room per client address in the window"},
    {"HUDDLE_ROOM_PASSWORD_TRIES", 20, 1, 1000000, &cfg.room_password_tries,
     "wrong passwords into one room in the window"},
    {"HUDDLE_PASSWORD_WINDOW_S", 60, 1, 86400, &cfg.password_window_s,
     "s of the wrong-password window"},
    {"HUDDLE_KICK_BAN_S", 300, 0, 86400, &cfg.kick_ban_s,
     "s a removed member's address may not rejoin (0: no ban)"},
    {"HUDDLE_RETURN_S", 120, 0, 86400, &cfg.return_s,
     "s a member who left may come back as they were (0: never)"},
    {"HUDDLE_KNOCK_TIMEOUT_S", 120, 1, 86400, &cfg.knock_timeout_s,
     "s a knock waits for a host"},
    {"HUDDLE_LOBBY_MAX", 20, 1, 10000, &cfg.lobby_max,
     "knocks waiting in one room"},
};
#define NCONFIG (sizeof config_table / sizeof config_table[0])

static uv_loop_t loop;
static uv_timer_t tick_timer, stop_timer;
static uv_signal_t sig_term, sig_int;
static struct hub *hub;
static struct cluster *cluster;
/* With Redis, the websocket port opens once the bus is up (or after the
 * ping timeout, then joins answer `unavailable` until it is). */
static uv_timer_t ready_timer;
static const struct ws_opts *listen_opts;
static bool listening;
static int exit_code;
static int64_t stop_started, handover_started;
static bool handed_over, stopped;

static void on_tick(uv_timer_t *t)
{
    int64_t now = clock_mono_ms();

    (void)t;
    loopguard_beat(now);
    hub_tick(hub, now);
}

static void close_handles(void)
{
    uv_close((uv_handle_t *)&tick_timer, NULL);
    uv_close((uv_handle_t *)&ready_timer, NULL);
    uv_close((uv_handle_t *)&stop_timer, NULL);
    uv_close((uv_handle_t *)&sig_term, NULL);
    uv_close((uv_handle_t *)&sig_int, NULL);
}

/* After the drain: closes the server, the bus and our handles; the loop
 * then ends. */
static void stop_now(void)
{
    if (stopped)
        return;
    stopped = true;
    log_info("stopping, %zu connections left", ws_connection_count());
    uv_timer_stop(&stop_timer);
    cluster_peerjs(cluster, NULL);
    ws_stop();
    cluster_free(cluster); /* after the hand-over */
    cluster = NULL;
    close_handles();
}

static void on_handed_over(void *arg)
{
    (void)arg;
    handed_over = true; /* inside a bus callback: the stop timer acts */
}

/* The drain, every 20 ms: clients closed with 1012 (up to SHUTDOWN_MS),
 * then the seats handed over to Redis (up to HANDOVER_MS), then stop. */
static void on_stop_timer(uv_timer_t *t)
{
    int64_t now = clock_mono_ms();
    (void)t;

    if (handover_started == 0) {
        if (ws_connection_count() > 0 && now - stop_started < SHUTDOWN_MS)
            return;
        handover_started = now;
        if (cluster == NULL || cluster_drain(cluster, on_handed_over, NULL) < 0)
            handed_over = true;
    }
    if (!handed_over && now - handover_started < HANDOVER_MS)
        return;
    if (!handed_over)
        log_warn("drain: redis did not answer within %d ms", HANDOVER_MS);
    stop_now();
}

/* SIGTERM or SIGINT: drain (docs/config.md). A second one stops at once. */
static void on_signal(uv_signal_t *s, int signum)
{
    (void)s;
    if (stop_started != 0) {
        log_info("signal %d again: stopping now", signum);
        stop_now();
        return;
    }
    log_info("signal %d: draining %zu connections", signum,
             ws_connection_count());
    stop_started = clock_mono_ms();
    uv_timer_stop(&ready_timer);
    ws_begin_drain();
    uv_timer_start(&stop_timer, on_stop_timer, 20, 20);
}

static void on_failed_start(uv_timer_t *t)
{
    (void)t;
    stop_now();
}

/* Opens the websocket port; on failure (HUDDLE_LISTEN cannot be bound),
 * stops everything and exits 1. The stop is the loop's next turn: this
 * may run inside a bus callback (on_ready), whose cluster must outlive
 * it. */
static void start_listening(void)
{
    if (listening || stop_started != 0)
        return;
    listening = true;
    uv_timer_stop(&ready_timer);
    if (ws_start(&loop, &cfg, hub, listen_opts) == 0) {
        cluster_peerjs(cluster, ws_peerjs());
        return;
    }
    exit_code = 1;
    uv_timer_start(&stop_timer, on_failed_start, 0, 0);
}

static void on_ready(void *arg)
{
    (void)arg;
    start_listening();
}

static void on_ready_timer(uv_timer_t *t)
{
    (void)t;
    log_warn("redis not up yet: listening anyway, joins answer unavailable");
    start_listening();
}

/* Completes cfg after the table: the bus' strings and the settings it
 * shares with standalone rooms, and, with HUDDLE_REDIS_URL, the relations
 * between settings that the table cannot check one by one. Returns 0, or
 * -1 after saying which setting is wrong. */
static int config_finish(void)
{
    struct bus_config *r = &cfg.redis;

    if (cfg.hang_abort_ms > 0 && cfg.hang_abort_ms < 1000) {
        fprintf(stderr,
                "huddle-sidecar: HUDDLE_HANG_ABORT_MS=%ld: want 0 (never) "
                "or at least 1000\n",
                cfg.hang_abort_ms);
        return -1;
    }
    r->url = env_str("HUDDLE_REDIS_URL", NULL);
    r->node_id = env_str("HUDDLE_NODE_ID", "sidecar");
    r->max_peers = cfg.max_peers;
    /* Redis keeps at least one message and expires after at least 1 ms. */
    r->room_ttl_ms = cfg.chat_history_ttl_ms > 0 ? cfg.chat_history_ttl_ms : 1;
    r->chat_max = cfg.chat_history > 0 ? cfg.chat_history : 1;
    r->history_max_bytes = cfg.history_max_bytes;
    r->resume_grace_ms = cfg.resume_grace_ms;
    r->lobby_max = cfg.lobby_max;
    r->password_tries = cfg.room_password_tries;
    r->password_window_ms = cfg.password_window_s * 1000;
    if (r->url == NULL)
        return 0;
    struct bus_url url;
    char err[160];
    if (bus_config_check(r->url, r->node_id, &url, err, sizeof err) < 0) {
        fprintf(stderr, "huddle-sidecar: %s\n", err);
        return -1;
    }
    if (r->heartbeat_ms >= r->node_ttl_ms) {
        fprintf(stderr,
                "huddle-sidecar: HUDDLE_REDIS_HEARTBEAT_MS=%ld: want less "
                "than HUDDLE_REDIS_NODE_TTL_MS (%ld)\n",
                r->heartbeat_ms, r->node_ttl_ms);
        return -1;
    }
    if (r->backoff_max_ms < r->backoff_min_ms) {
        fprintf(stderr,
                "huddle-sidecar: HUDDLE_REDIS_BACKOFF_MAX_MS=%ld: want at "
                "least HUDDLE_REDIS_BACKOFF_MIN_MS (%ld)\n",
                r->backoff_max_ms, r->backoff_min_ms);
        return -1;
    }
    return 0;
}

/* With HUDDLE_REDIS_URL: the bus on our loop, the hub routed through it. */
static int start_cluster(void)
{
    if (cfg.redis.url == NULL)
        return 0;
    cluster = cluster_new(&loop, hub, &cfg.redis, on_ready, NULL);
    if (cluster != NULL)
        uv_timer_start(&ready_timer, on_ready_timer,
                       (uint64_t)cfg.redis.ping_timeout_ms, 0);
    return cluster != NULL ? 0 : -1;
}

static int start_loop(const struct ws_opts *opts)
{
    if (uv_loop_init(&loop) != 0) {
        log_error("uv_loop_init failed");
        return -1;
    }

    uv_timer_init(&loop, &tick_timer);
    uv_timer_init(&loop, &stop_timer);
    uv_timer_init(&loop, &ready_timer);
    uv_signal_init(&loop, &sig_term);
    uv_signal_init(&loop, &sig_int);
    uv_signal_start(&sig_term, on_signal, SIGTERM);
    uv_signal_start(&sig_int, on_signal, SIGINT);
    uv_timer_start(&tick_timer, on_tick, TICK_MS, TICK_MS);
    if (cfg.hang_abort_ms > 0 && loopguard_start(cfg.hang_abort_ms) < 0)
        log_warn("the loop guard did not start: a stuck loop will not end "
                 "this process");
    if (start_cluster() < 0) {
        close_handles();
        return -1;
    }
    listen_opts = opts;
    if (cluster == NULL)
        start_listening(); /* standalone: at once */
    return exit_code == 0 ? 0 : -1;
}

/* Runs the loop until every handle (ours and lws') has closed. */
static void drain_loop(void)
{
    uv_run(&loop, UV_RUN_DEFAULT);
    while (uv_loop_close(&loop) == UV_EBUSY)
        uv_run(&loop, UV_RUN_ONCE);
}

/* The iceServers of welcome from HUDDLE_STUN_URLS, HUDDLE_TURN_URLS,
 * HUDDLE_TURN_SECRET, and, for URLs built from one host, HUDDLE_PUBLIC_HOST
 * and the TURN ports. Returns 0, or -1 after saying what is wrong. */
static int setup_ice(struct ice *ice)
{
    const char *turn = env_str("HUDDLE_TURN_URLS", NULL);
    const char *secret = env_str("HUDDLE_TURN_SECRET", NULL);
    const char *host = env_str("HUDDLE_PUBLIC_HOST", NULL);

    if (ice_init(ice, env_str("HUDDLE_STUN_URLS", NULL), turn, secret,
                 cfg.turn_ttl_s) < 0) {
        fprintf(stderr, "huddle-sidecar: HUDDLE_STUN_URLS or "
                        "HUDDLE_TURN_URLS: want stun:/stuns: URLs (and "
                        "turn:/turns: in the TURN list), comma-separated, "
                        "without quotes or backslashes\n");
        return -1;
    }
    if (ice_set_host_urls(ice, host, cfg.turn_port, cfg.turns_port) < 0) {
        fprintf(stderr, "huddle-sidecar: HUDDLE_PUBLIC_HOST: want a host name "
                        "or address, without scheme or port\n");
        ice_clear(ice);
        return -1;
    }
    if (turn != NULL && *turn != '\0' && ice->secret == NULL)
        log_warn("HUDDLE_TURN_URLS without HUDDLE_TURN_SECRET: TURN left "
                 "out of iceServers");
    return 0;
}

static void log_ice(const struct ice *ice)
{
    log_info("config HUDDLE_STUN_URLS=%s HUDDLE_TURN_URLS=%s "
             "HUDDLE_TURN_SECRET=%s HUDDLE_PUBLIC_HOST=%s",
             ice->stun_json ? ice->stun_json : "-",
             ice->turn_json ? ice->turn_json : "-", ice->secret ? "(set)" : "-",
             ice->public_host ? ice->public_host : "-");
    if (ice->host_urls && ice->turns_port != 0)
        log_info("TURN URLs built for %s, ports %ld (turn, stun) and %ld "
                 "(turns)",
                 ice->public_host ? ice->public_host
                                  : "the host each request names",
                 ice->turn_port, ice->turns_port);
    else if (ice->host_urls)
        log_info("TURN URLs built for %s, port %ld (turn, stun); no turns: "
                 "URL (HUDDLE_TURNS_PORT=0)",
                 ice->public_host ? ice->public_host
                                  : "the host each request names",
                 ice->turn_port);
}

/* HUDDLE_MAX_CONNECTIONS is at most the fd limit less WS_FD_RESERVE (0
 * or unset: exactly that), so the 503 answers before accept() fails.
 * Returns the fd limit, or -1 when it leaves no room. */
static long fit_fd_limit(void)
{
    struct rlimit rl;
    long limit = 1024;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        limit = rl.rlim_cur > 10000000 ? 10000000 : (long)rl.rlim_cur;
    long cap = limit - WS_FD_RESERVE;
    if (cap < 1) {
        fprintf(stderr,
                "huddle-sidecar: the fd limit (ulimit -n %ld) leaves no "
                "room for connections: raise it above %d\n",
                limit, WS_FD_RESERVE);
        return -1;
    }
    if (cfg.max_connections > cap)
        log_warn("HUDDLE_MAX_CONNECTIONS=%ld is over the fd limit %ld less "
                 "%d kept back: using %ld",
                 cfg.max_connections, limit, WS_FD_RESERVE, cap);
    if (cfg.max_connections == 0 || cfg.max_connections > cap)
        cfg.max_connections = cap;
    return limit;
}

/* The keys of signed join tokens from HUDDLE_JWT_SECRET and
 * HUDDLE_JWT_PUBLIC_KEY (docs/tokens.md). Sets *keys (NULL: tokens off);
 * returns 0, or -1 after saying what is wrong. */
static int setup_tokens(struct jwt_keys **keys)
{
    char err[200];

    *keys =
        jwt_keys_new(env_str("HUDDLE_JWT_SECRET", NULL),
                     env_str("HUDDLE_JWT_PUBLIC_KEY", NULL), err, sizeof err);
    if (*keys == NULL && err[0] != '\0') {
        log_error("join tokens (HUDDLE_JWT_SECRET, HUDDLE_JWT_PUBLIC_KEY): %s",
                  err);
        return -1;
    }
    if (*keys != NULL)
        log_info("config join tokens required: %s", jwt_keys_algs(*keys));
    else
        log_info("config join tokens off: rooms are open to anyone with the "
                 "link");
    return 0;
}

int main(void)
{
    struct ice ice;
    struct ws_opts opts;
    struct jwt_keys *jwt = NULL;
    struct hostport listen_hp;
    int rc = 1;

    if (log_init("sidecar") < 0 ||
        env_load_ints("huddle-sidecar", config_table, NCONFIG) < 0 ||
        config_finish() < 0)
        return 2;
    msg_json_init();
    if (setup_tokens(&jwt) < 0)
        return 2;
    if (setup_ice(&ice) < 0) {
        jwt_keys_free(jwt);
        return 2;
    }
    rc = 2; /* a bad setting, until the loop runs */
    opts.listen = env_str("HUDDLE_LISTEN", "127.0.0.1:8081");
    if (ws_listen_parse(opts.listen, &listen_hp) < 0)
        goto out;
    opts.origins = env_str("HUDDLE_ALLOWED_ORIGINS", NULL);
    if (opts.origins != NULL && !ws_origins_valid(opts.origins)) {
        log_error("HUDDLE_ALLOWED_ORIGINS=%s: want origins as browsers send "
                  "them, scheme://host[:port] without a path or a default "
                  "port: https://meet.example.org,http://localhost:8080",
                  opts.origins);
        goto out;
    }
    opts.keep_host = ice_wants_request_host(&ice);
    /* One HUDDLE_PUBLIC_HOST for TURN URLs and origins, as setup_ice
     * checked and wrote it (a host name or address as a URL names it). */
    opts.public_host = ice.public_host;
    opts.peerjs_key = env_str("HUDDLE_PEERJS_KEY", "peerjs");
    opts.trusted_proxies = env_str("HUDDLE_TRUSTED_PROXIES", NULL);
    if (!addr_list_valid(opts.trusted_proxies)) {
        log_error("HUDDLE_TRUSTED_PROXIES=%s: want addresses or networks "
                  "(10.0.0.5, 172.30.42.0/24, fd00::/8), comma-separated",
                  opts.trusted_proxies);
        goto out;
    }
    if ((opts.fd_limit = fit_fd_limit()) < 0)
        goto out;
    env_log_ints(config_table, NCONFIG);
    log_info("config HUDDLE_LISTEN=%s HUDDLE_ALLOWED_ORIGINS=%s", opts.listen,
             opts.origins ? opts.origins : "(HUDDLE_PUBLIC_HOST and local)");
    log_ice(&ice);
    log_info("config HUDDLE_PEERJS_KEY=(set, %zu chars)",
             strlen(opts.peerjs_key));
    log_info("config HUDDLE_TRUSTED_PROXIES=%s fd limit %ld",
             opts.trusted_proxies ? opts.trusted_proxies : "(loopback)",
             opts.fd_limit);
    log_info("config HUDDLE_REDIS_URL=%s HUDDLE_NODE_ID=%s",
             cfg.redis.url ? "(set)" : "- (standalone)", cfg.redis.node_id);
    rc = 1;
    hub = hub_new(&cfg, &ws_hub_ops, &ice);
    if (hub == NULL) {
        log_error("out of memory at start");
        goto out;
    }
    hub_set_tokens(hub, jwt);
    if (start_loop(&opts) == 0)
        rc = 0;
    drain_loop();
    if (exit_code != 0)
        rc = exit_code;
    log_info("stopped");
out:
    hub_free(hub);
    jwt_keys_free(jwt);
    ice_clear(&ice);
    return rc;
}
