/* loadgen: a load generator for huddle-sidecar and for the Node reference
 * (bench/reference/: Express + socket.io), the same scenarios against
 * either, so that bench/loadgen.mjs prints every figure beside the other's.
 * One thread, non-blocking sockets and epoll, a websocket client of its own
 * (upgrade, masked client frames, text, ping/pong, a close frame at the
 * end) and two dialects
 * above it: huddle protocol v1 (docs/protocol.md) and socket.io v4 over
 * Engine.IO v4 ("0{..}" open, "40" connect, "42[..]" events, "2"/"3"
 * ping/pong), in a table (`dialects`).
 *
 *   loadgen PROTO SCENARIO PORTS PIDS [conns] [room_size] [rate] [seconds]
 * Rooms are named lg<loadgen's pid>-<n>: runs never share a room.
 *     PROTO     huddle | sio
 *     SCENARIO  storm   conns connect and join as fast as they can (at
 *                       most LG_INFLIGHT handshakes at once): join ->
 *                       welcome latency, joins/s; then the joined
 *                       connections stay idle and the target's RSS per
 *                       connection is read
 *               join    the same, rate connections a second (join ->
 *                       welcome without a queue in front of it)
 *               chat    conns members in rooms of room_size send chat at
 *                       rate messages/s each for seconds; every message
 *                       carries its send time, so each delivery is timed
 *               signal  the same rooms; each member sends rate signals/s
 *                       to the next member of its room, in turns one SDP
 *                       offer of 4 to 8 KiB then three ICE candidates
 *     PORTS     the target's port, or several comma-separated (servers
 *               sharing rooms, as sidecars through Redis): member m of
 *               each room connects to the (m x ports / room_size)-th,
 *               so with two, 3 members of 5 on the first, 2 on the second
 *     PIDS      the target's processes, comma-separated: their CPU (each
 *               process' CPU-time clock, all its threads, to the
 *               nanosecond) over the measuring window and RSS
 *               (/proc/PID/status), added up
 *     LG_SIDE_PID (environment) a process the target relies on (Redis):
 *               its CPU over the window is reported apart
 *
 * Connections come from 127.0.0.1..127.0.0.LG_ADDRS (bound before
 * connect, the port chosen at connect), so 19,000 of them do not run out of
 * ephemeral ports; RLIMIT_NOFILE is raised as far as the hard limit lets.
 * Prints a table for people, then one JSON line (starts with '{') for
 * bench/loadgen.mjs, with loadgen's own CPU beside the target's. Figures
 * only; it asserts nothing. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LG_ADDRS 8             /* source addresses 127.0.0.1..8 */
#define LG_INFLIGHT 256        /* handshakes under way at once */
#define LG_MAX_CONNS 60000     /* a sanity cap on conns */
#define LG_MAX_FRAME 65536     /* a text frame this process sends or takes */
#define LG_MAX_SAMPLES 8000000 /* latency samples kept per kind */
#define LG_TICK_MS 1           /* pacing of chat and signals */
#define LG_OPEN_TIMEOUT_S 120  /* the whole join storm */
#define LG_IDLE_MS 2000        /* idle joined connections before RSS */
#define LG_WARMUP_MS 1000      /* load before the measuring window */
#define LG_CLOSE_MS 500        /* for the close handshakes at the end */
#define LG_MARK "@@"           /* precedes a send time in ns in a payload */
#define LG_MAX_TARGETS 4       /* ports, and processes, of one target */

enum lg_state {
    LG_CONNECTING,
    LG_UPGRADING,
    LG_OPENING,
    LG_JOINING,
    LG_JOINED,
    LG_DEAD
};

/* One client connection. rbuf holds what was read and not yet parsed
 * (allocated at the first read); wbuf what the socket did not take. */
struct conn {
    int fd;
    enum lg_state state;
    unsigned room, member;
    uint64_t join_ns;  /* when join was sent */
    char id[24];       /* the peer id the server knows this member by */
    char *rbuf, *wbuf; /* owned */
    size_t rlen, rcap, wlen, wcap;
};

/* Latency samples in microseconds; past LG_MAX_SAMPLES they are counted
 * only. */
struct samples {
    uint32_t *v;
    size_t n, cap, dropped;
};

enum lg_scenario { LG_STORM, LG_JOIN, LG_CHAT, LG_SIGNAL };

struct lg {
    const struct dialect *d;
    enum lg_scenario scenario;
    int ports[LG_MAX_TARGETS], pids[LG_MAX_TARGETS], side_pid, ep;
    unsigned nports, npids;
    unsigned nconns, room_size, seconds;
    double rate;
    struct conn *conns;
    unsigned started, joined, inflight, dead;
    uint8_t mask[4];
    /* counted while `measuring` */
    int measuring;
    uint64_t delivered, delivered_bytes, sent, errors_window;
    struct samples join_lat, deliver_lat;
    /* counted always */
    uint64_t errors, server_errors, closes;
};

/* -- time and /proc --------------------------------------------------- */

/* CLOCK_MONOTONIC in ns. */
static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The CPU time pid has used, user and system, all its threads, in
 * microseconds, or -1. Read from its CPU-time clock, which counts
 * nanoseconds: /proc/PID/stat counts 10 ms ticks, which at 1 msg/s per
 * member (a tenth of a second of CPU in a window) was off by up to 12 %. */
static double proc_cpu_us(int pid)
{
    clockid_t clk;
    struct timespec ts;

    if (clock_getcpuclockid(pid, &clk) != 0 || clock_gettime(clk, &ts) != 0)
        return -1;
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* VmRSS of pid in KiB, or -1. */
static double proc_rss_kib(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long kib = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return (double)kib;
}

/* read(pid) added up over the target's processes, or -1 when one is gone. */
static double target_sum(const struct lg *lg, double (*read)(int))
{
    double sum = 0;
    for (unsigned i = 0; i < lg->npids; i++) {
        double v = read(lg->pids[i]);
        if (v < 0)
            return -1;
        sum += v;
    }
    return sum;
}

/* The target's CPU in microseconds (all its processes), or -1. */
static double target_cpu_us(const struct lg *lg)
{
    return target_sum(lg, proc_cpu_us);
}

/* The target's RSS in KiB (all its processes), or -1. */
static long target_rss_kib(const struct lg *lg)
{
    return (long)target_sum(lg, proc_rss_kib);
}

/* The port member m of a room connects to. */
static int member_port(const struct lg *lg, unsigned m)
{
    return lg->ports[m * lg->nports / lg->room_size];
}

/* This process' user + system CPU in microseconds. */
static double self_cpu_us(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

/* Raises RLIMIT_NOFILE to want (or as far as the hard limit lets).
 * Returns the soft limit now in force. */
static rlim_t raise_nofile(rlim_t want)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur >= want)
        return rl.rlim_cur;
    struct rlimit up = {want, want > rl.rlim_max ? want : rl.rlim_max};
    if (setrlimit(RLIMIT_NOFILE, &up) == 0)
        return want;
    rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
    return rl.rlim_cur;
}

/* -- samples ----------------------------------------------------------- */

static void samples_add(struct samples *s, uint64_t ns)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 65536;
        uint32_t *v =
            s->cap < LG_MAX_SAMPLES ? realloc(s->v, cap * sizeof *v) : NULL;
        if (!v) {
            s->dropped++;
            return;
        }
        s->v = v;
        s->cap = cap;
    }
    uint64_t us = ns / 1000;
    s->v[s->n++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* The p-th quantile (0..1, nearest rank) of sorted s in ms, or -1 when
 * empty. */
static double quantile_ms(const struct samples *s, double p)
{
    if (s->n == 0)
        return -1;
    size_t i = (size_t)(p * (double)s->n);
    return (double)s->v[i < s->n ? i : s->n - 1] / 1000.0;
}

/* -- writing ----------------------------------------------------------- */

static void conn_kill(struct lg *lg, struct conn *c);

/* Sets c's epoll events. Returns 0 or -1. */
static int conn_watch(struct lg *lg, struct conn *c, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.u32 = 0};
    ev.data.u32 = (uint32_t)(c - lg->conns);
    return epoll_ctl(lg->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Keeps n bytes of p for when the socket drains. Returns 0 or -1. */
static int conn_stash(struct conn *c, const char *p, size_t n)
{
    if (c->wlen + n > c->wcap) {
        size_t cap = (c->wlen + n) * 2;
        char *w = realloc(c->wbuf, cap);
        if (!w)
            return -1;
        c->wbuf = w;
        c->wcap = cap;
    }
    memcpy(c->wbuf + c->wlen, p, n);
    c->wlen += n;
    return 0;
}

/* Sends n bytes to c, or keeps what the socket does not take and asks for
 * POLLOUT. A failure kills c. */
static void conn_send(struct lg *lg, struct conn *c, const char *p, size_t n)
{
    if (c->state == LG_DEAD)
        return;
    ssize_t w = 0;
    if (c->wlen == 0) {
        w = send(c->fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno != EAGAIN) {
            conn_kill(lg, c);
            return;
        }
        if (w < 0)
            w = 0;
        if ((size_t)w == n)
            return;
        if (conn_watch(lg, c, EPOLLIN | EPOLLOUT) < 0) {
            conn_kill(lg, c);
            return;
        }
    }
    if (conn_stash(c, p + w, n - (size_t)w) < 0)
        conn_kill(lg, c);
}

/* Sends what c kept once the socket takes it; drops POLLOUT when done. */
static void conn_drain(struct lg *lg, struct conn *c)
{
    ssize_t w = send(c->fd, c->wbuf, c->wlen, MSG_NOSIGNAL);
    if (w < 0 && errno == EAGAIN)
        return;
    if (w < 0) {
        conn_kill(lg, c);
        return;
    }
    memmove(c->wbuf, c->wbuf + w, c->wlen - (size_t)w);
    c->wlen -= (size_t)w;
    if (c->wlen == 0 && conn_watch(lg, c, EPOLLIN) < 0)
        conn_kill(lg, c);
}

/* Sends payload as one masked client frame of opcode (RFC 6455 5.2). */
static void ws_send(struct lg *lg, struct conn *c, int opcode,
                    const char *payload, size_t n)
{
    static char f[LG_MAX_FRAME + 14];
    size_t h = 2;
    if (n > LG_MAX_FRAME)
        return;
    f[0] = (char)(0x80 | opcode);
    if (n < 126) {
        f[1] = (char)(0x80 | n);
    } else {
        f[1] = (char)(0x80 | 126);
        f[2] = (char)(n >> 8);
        f[3] = (char)(n & 0xff);
        h = 4;
    }
    memcpy(f + h, lg->mask, 4);
    for (size_t i = 0; i < n; i++)
        f[h + 4 + i] = (char)(payload[i] ^ lg->mask[i & 3]);
    conn_send(lg, c, f, h + 4 + n);
}

static void ws_text(struct lg *lg, struct conn *c, const char *s, size_t n)
{
    ws_send(lg, c, 1, s, n);
}

/* -- the two dialects -------------------------------------------------- */

enum lg_event {
    EV_NONE,
    EV_EIO_OPEN,
    EV_SIO_CONNECT,
    EV_EIO_PING,
    EV_WELCOME,
    EV_DELIVERY,
    EV_ERROR
};

/* A text frame's start and what it is. */
struct prefix {
    const char *start;
    enum lg_event ev;
};

static const struct prefix huddle_prefixes[] = {
    {"{\"type\":\"chat\"", EV_DELIVERY},
    {"{\"type\":\"signal\"", EV_DELIVERY},
    {"{\"type\":\"welcome\"", EV_WELCOME},
    {"{\"type\":\"error\"", EV_ERROR},
    {NULL, EV_NONE},
};

static const struct prefix sio_prefixes[] = {
    {"42[\"chat\"", EV_DELIVERY},
    {"42[\"signal\"", EV_DELIVERY},
    {"42[\"welcome\"", EV_WELCOME},
    {"2", EV_EIO_PING},
    {"0{", EV_EIO_OPEN},
    {"40", EV_SIO_CONNECT},
    {"44", EV_ERROR},
    {NULL, EV_NONE},
};

/* A protocol above websocket: where to upgrade, what its frames are, and
 * how to write join, chat and signal into buf (each returns the length, or
 * 0 when it does not fit). */
struct dialect {
    const char *name, *path;
    const struct prefix *prefixes;
    int join_at_upgrade; /* huddle: join right away; sio: after "40" */
    size_t (*join)(const struct conn *c, char *buf, size_t cap);
    size_t (*chat)(uint64_t ts, char *buf, size_t cap);
    size_t (*signal)(const char *to, const char *data, char *buf, size_t cap);
};

/* snprintf's length, or 0 when it did not fit. */
static size_t fit(int n, size_t cap)
{
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

static size_t huddle_join(const struct conn *c, char *buf, size_t cap)
{
    return fit(snprintf(buf, cap,
                        "{\"type\":\"join\",\"room\":\"lg%d-%u\","
                        "\"name\":\"member %u\"}",
                        (int)getpid(), c->room, c->member),
               cap);
}

static size_t huddle_chat(uint64_t ts, char *buf, size_t cap)
{
    return fit(snprintf(buf, cap,
                        "{\"type\":\"chat\",\"text\":\"" LG_MARK
                        "%llu; a chat message of about the size of one "
                        "that people type\"}",
                        (unsigned long long)ts),
               cap);
}

static size_t huddle_signal(const char *to, const char *data, char *buf,
                            size_t cap)
{
    return fit(snprintf(buf, cap,
                        "{\"type\":\"signal\",\"to\":\"%s\","
                        "\"data\":%s}",
                        to, data),
               cap);
}

static size_t sio_join(const struct conn *c, char *buf, size_t cap)
{
    return fit(snprintf(buf, cap, "42[\"join-room\",\"lg%d-%u\",\"%s\"]",
                        (int)getpid(), c->room, c->id),
               cap);
}

static size_t sio_chat(uint64_t ts, char *buf, size_t cap)
{
    return fit(snprintf(buf, cap,
                        "42[\"chat\",{\"text\":\"" LG_MARK
                        "%llu; a chat message of about the size of one "
                        "that people type\"}]",
                        (unsigned long long)ts),
               cap);
}

static size_t sio_signal(const char *to, const char *data, char *buf,
                         size_t cap)
{
    return fit(snprintf(buf, cap, "42[\"signal\",{\"to\":\"%s\",\"data\":%s}]",
                        to, data),
               cap);
}

static const struct dialect dialects[] = {
    {"huddle", "/ws", huddle_prefixes, 1, huddle_join, huddle_chat,
     huddle_signal},
    {"sio", "/socket.io/?EIO=4&transport=websocket", sio_prefixes, 0, sio_join,
     sio_chat, sio_signal},
};

/* -- events ------------------------------------------------------------ */

static void send_join(struct lg *lg, struct conn *c)
{
    char buf[256];
    size_t n = lg->d->join(c, buf, sizeof buf);
    c->state = LG_JOINING;
    c->join_ns = now_ns();
    ws_text(lg, c, buf, n);
}

static void on_eio_open(struct lg *lg, struct conn *c, const char *p, size_t n)
{
    (void)p;
    (void)n;
    ws_text(lg, c, "40", 2);
}

static void on_sio_connect(struct lg *lg, struct conn *c, const char *p,
                           size_t n)
{
    (void)p;
    (void)n;
    if (c->state == LG_OPENING)
        send_join(lg, c);
}

static void on_eio_ping(struct lg *lg, struct conn *c, const char *p, size_t n)
{
    (void)p;
    if (n == 1)
        ws_text(lg, c, "3", 1);
}

/* huddle's welcome names the member: {"type":"welcome","id":"..." */
static void take_id(struct conn *c, const char *p, size_t n)
{
    const char *k = memmem(p, n, "\"id\":\"", 6);
    if (!k)
        return;
    k += 6;
    size_t i = 0;
    while (k + i < p + n && k[i] != '"' && i < sizeof c->id - 1) {
        c->id[i] = k[i];
        i++;
    }
    c->id[i] = '\0';
}

static void on_welcome(struct lg *lg, struct conn *c, const char *p, size_t n)
{
    if (c->state != LG_JOINING)
        return;
    samples_add(&lg->join_lat, now_ns() - c->join_ns);
    if (lg->d->join_at_upgrade)
        take_id(c, p, n);
    c->state = LG_JOINED;
    lg->joined++;
    lg->inflight--;
}

/* A chat or signal: timed by the send time after LG_MARK. */
static void on_delivery(struct lg *lg, struct conn *c, const char *p, size_t n)
{
    (void)c;
    if (!lg->measuring)
        return;
    const char *m = memmem(p, n, LG_MARK, 2);
    if (!m)
        return;
    uint64_t ts = strtoull(m + 2, NULL, 10);
    lg->delivered++;
    lg->delivered_bytes += n;
    uint64_t t = now_ns();
    samples_add(&lg->deliver_lat, t > ts ? t - ts : 0);
}

static void on_error(struct lg *lg, struct conn *c, const char *p, size_t n)
{
    if (lg->server_errors++ < 3)
        fprintf(stderr, "loadgen: conn %u: %.*s\n", (unsigned)(c - lg->conns),
                (int)(n < 200 ? n : 200), p);
}

typedef void (*event_fn)(struct lg *, struct conn *, const char *, size_t);

static const event_fn event_handlers[] = {
    [EV_NONE] = NULL,
    [EV_EIO_OPEN] = on_eio_open,
    [EV_SIO_CONNECT] = on_sio_connect,
    [EV_EIO_PING] = on_eio_ping,
    [EV_WELCOME] = on_welcome,
    [EV_DELIVERY] = on_delivery,
    [EV_ERROR] = on_error,
};

/* Hands one text message to its handler. */
static void on_text(struct lg *lg, struct conn *c, const char *p, size_t n)
{
    for (const struct prefix *x = lg->d->prefixes; x->start; x++) {
        size_t k = strlen(x->start);
        if (n >= k && memcmp(p, x->start, k) == 0) {
            if (event_handlers[x->ev])
                event_handlers[x->ev](lg, c, p, n);
            return;
        }
    }
}

/* -- reading ----------------------------------------------------------- */

/* Takes the frames complete in c->rbuf. Returns the bytes used, or -1 on
 * a frame this client does not take (then c is killed). */
static long take_frames(struct lg *lg, struct conn *c)
{
    size_t off = 0;
    const unsigned char *b = (const unsigned char *)c->rbuf;
    while (c->rlen - off >= 2) {
        int op = b[off] & 0x0f;
        size_t len = b[off + 1] & 0x7f, h = 2;
        if (len == 126) {
            if (c->rlen - off < 4)
                break;
            len = (size_t)b[off + 2] << 8 | b[off + 3];
            h = 4;
        } else if (len == 127 || (b[off + 1] & 0x80) || !(b[off] & 0x80)) {
            return -1; /* over 64 KiB, masked or fragmented */
        }
        if (c->rlen - off < h + len)
            break;
        const char *p = c->rbuf + off + h;
        if (op == 1)
            on_text(lg, c, p, len);
        else if (op == 9)
            ws_send(lg, c, 10, p, len);
        else if (op == 8)
            return -1;
        off += h + len;
        if (c->state == LG_DEAD)
            return -1;
    }
    return (long)off;
}

/* The upgrade answer: 101 or the connection is dead. Returns the bytes
 * used, 0 while incomplete, -1 on a refusal. */
static long take_upgrade(struct lg *lg, struct conn *c)
{
    const char *end = memmem(c->rbuf, c->rlen, "\r\n\r\n", 4);
    if (!end)
        return 0;
    if (strncmp(c->rbuf, "HTTP/1.1 101", 12) != 0) {
        if (lg->errors < 3)
            fprintf(stderr, "loadgen: upgrade refused: %.40s\n", c->rbuf);
        return -1;
    }
    c->state = LG_OPENING;
    if (lg->d->join_at_upgrade)
        send_join(lg, c);
    return end + 4 - c->rbuf;
}

/* Makes room for at least 16 KiB more in c->rbuf. Returns 0 or -1. */
static int rbuf_room(struct conn *c)
{
    if (c->rcap - c->rlen >= 16384)
        return 0;
    size_t cap = c->rcap ? c->rcap * 2 : 32768;
    if (cap > (size_t)4 * LG_MAX_FRAME)
        return -1;
    char *r = realloc(c->rbuf, cap);
    if (!r)
        return -1;
    c->rbuf = r;
    c->rcap = cap;
    return 0;
}

/* Drops the first n bytes of c->rbuf. */
static void rbuf_consume(struct conn *c, size_t n)
{
    memmove(c->rbuf, c->rbuf + n, c->rlen - n);
    c->rlen -= n;
}

/* Reads what c has and hands on its frames; a failure kills c. */
static void on_readable(struct lg *lg, struct conn *c)
{
    if (rbuf_room(c) < 0) {
        conn_kill(lg, c);
        return;
    }
    ssize_t r = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, 0);
    if (r < 0 && errno == EAGAIN)
        return;
    if (r <= 0) {
        conn_kill(lg, c);
        return;
    }
    c->rlen += (size_t)r;
    long used = 0;
    if (c->state == LG_UPGRADING) {
        used = take_upgrade(lg, c);
        if (used <= 0) {
            if (used < 0)
                conn_kill(lg, c);
            return;
        }
        rbuf_consume(c, (size_t)used);
    }
    used = take_frames(lg, c);
    if (used < 0)
        conn_kill(lg, c);
    else
        rbuf_consume(c, (size_t)used);
}

/* -- connecting -------------------------------------------------------- */

/* Counts a dead connection (once) and closes it. */
static void conn_kill(struct lg *lg, struct conn *c)
{
    if (c->state == LG_DEAD)
        return;
    if (c->state != LG_JOINED)
        lg->inflight--;
    else
        lg->joined--;
    c->state = LG_DEAD;
    lg->dead++;
    lg->errors++;
    if (lg->measuring)
        lg->errors_window++;
    close(c->fd);
}

/* The upgrade request, once the TCP connect finished. */
static void on_connected(struct lg *lg, struct conn *c)
{
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err || conn_watch(lg, c, EPOLLIN) < 0) {
        if (lg->errors < 3)
            fprintf(stderr, "loadgen: connect: %s\n", strerror(err));
        conn_kill(lg, c);
        return;
    }
    char req[512];
    size_t n = fit(snprintf(req, sizeof req,
                            "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                            "Sec-WebSocket-Version: 13\r\n"
                            "Sec-WebSocket-Key: bG9hZGdlbmxvYWRnZW4hIQ==\r\n"
                            "\r\n",
                            lg->d->path, member_port(lg, c->member)),
                   sizeof req);
    c->state = LG_UPGRADING;
    conn_send(lg, c, req, n);
}

/* Starts connecting conn i from 127.0.0.(1 + i % LG_ADDRS). Returns 0 or
 * -1 (then the connection counts as dead). */
static int conn_start(struct lg *lg, unsigned i)
{
    struct conn *c = &lg->conns[i];
    c->room = i / lg->room_size;
    c->member = i % lg->room_size;
    snprintf(c->id, sizeof c->id, "p%u", i);
    c->state = LG_CONNECTING;
    lg->inflight++;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (c->fd < 0) {
        c->state = LG_DEAD;
        lg->inflight--;
        lg->dead++;
        lg->errors++;
        return -1;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    struct sockaddr_in src = {.sin_family = AF_INET};
    src.sin_addr.s_addr = htonl(0x7f000001u + i % LG_ADDRS);
    struct sockaddr_in dst = {.sin_family = AF_INET};
    dst.sin_addr.s_addr = htonl(0x7f000001u);
    dst.sin_port = htons((uint16_t)member_port(lg, c->member));
    struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = i};
    if (bind(c->fd, (struct sockaddr *)&src, sizeof src) < 0 ||
        (connect(c->fd, (struct sockaddr *)&dst, sizeof dst) < 0 &&
         errno != EINPROGRESS) ||
        epoll_ctl(lg->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
        if (lg->errors < 3)
            fprintf(stderr, "loadgen: connect: %s\n", strerror(errno));
        conn_kill(lg, c);
        return -1;
    }
    return 0;
}

/* Waits up to ms for events and handles them. */
static void poll_once(struct lg *lg, int ms)
{
    struct epoll_event evs[512];
    int n = epoll_wait(lg->ep, evs, 512, ms);
    for (int k = 0; k < n; k++) {
        struct conn *c = &lg->conns[evs[k].data.u32];
        if (c->state == LG_DEAD)
            continue;
        if (c->state == LG_CONNECTING) {
            on_connected(lg, c);
            continue;
        }
        if (evs[k].events & EPOLLOUT)
            conn_drain(lg, c);
        if (c->state != LG_DEAD &&
            (evs[k].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
            on_readable(lg, c);
    }
}

/* Opens and joins every connection, at most LG_INFLIGHT handshakes at
 * once (scenario join: rate connections a second). Returns the wall time it
 * took in seconds. */
static double open_all(struct lg *lg)
{
    uint64_t t0 = now_ns();
    uint64_t end = t0 + (uint64_t)LG_OPEN_TIMEOUT_S * 1000000000u;
    int paced = lg->scenario == LG_JOIN;
    while (lg->joined + lg->dead < lg->nconns && now_ns() < end) {
        double due =
            paced ? (double)(now_ns() - t0) / 1e9 * lg->rate + 1 : lg->nconns;
        while (lg->started < lg->nconns && lg->inflight < LG_INFLIGHT &&
               lg->started < due)
            conn_start(lg, lg->started++);
        poll_once(lg, paced ? 1 : 10);
    }
    return (double)(now_ns() - t0) / 1e9;
}

/* Runs the loop for ms, answering pings. */
static void idle_for(struct lg *lg, unsigned ms)
{
    uint64_t end = now_ns() + (uint64_t)ms * 1000000u;
    while (now_ns() < end)
        poll_once(lg, 10);
}

/* -- load -------------------------------------------------------------- */

/* The data of signal number k of one member, timed at ts: an SDP offer of
 * 4 to 8 KiB every fourth, ICE candidates between. Returns its length. */
static size_t signal_data(unsigned k, uint64_t ts, char *buf, size_t cap)
{
    static const char line[] = "a=rtcp-fb:111 transport-cc\\r\\n";
    if (k % 4) {
        return fit(snprintf(buf, cap,
                            "{\"type\":\"candidate\",\"candidate\":\"" LG_MARK
                            "%llu candidate:842163049 1 udp 1677729535 "
                            "192.0.2.%u 5%04u typ srflx raddr 0.0.0.0 rport "
                            "0 generation 0 ufrag sK2d network-cost 999\","
                            "\"sdpMid\":\"0\",\"sdpMLineIndex\":0}",
                            (unsigned long long)ts, k % 250, k % 10000),
                   cap);
    }
    size_t want = 4096 + (k * 2654435761u) % 4096, n = 0;
    int h =
        snprintf(buf, cap,
                 "{\"type\":\"offer\",\"sdp\":\"v=0\\r\\n" LG_MARK "%llu\\r\\n",
                 (unsigned long long)ts);
    if (h < 0 || (size_t)h + want + 8 > cap)
        return 0;
    n = (size_t)h;
    while (n < want) {
        memcpy(buf + n, line, sizeof line - 1);
        n += sizeof line - 1;
    }
    memcpy(buf + n, "\"}", 3);
    return n + 2;
}

/* Sends message number k of the load from member c. */
static void send_one(struct lg *lg, struct conn *c, unsigned k)
{
    static char data[LG_MAX_FRAME / 2], msg[LG_MAX_FRAME];
    uint64_t ts = now_ns();
    size_t n;
    if (lg->scenario == LG_CHAT) {
        n = lg->d->chat(ts, msg, sizeof msg);
    } else {
        unsigned room0 = c->room * lg->room_size;
        const struct conn *to =
            &lg->conns[room0 + (c->member + 1) % lg->room_size];
        if (signal_data(k, ts, data, sizeof data) == 0)
            return;
        n = lg->d->signal(to->id, data, msg, sizeof msg);
    }
    if (n == 0)
        return;
    ws_text(lg, c, msg, n);
    if (lg->measuring)
        lg->sent++;
}

/* Paces the load: rate messages/s from every member, round robin, every
 * LG_TICK_MS, until end_ns. A loop that falls behind (the cores are
 * shared) skips what is more than 50 ms late rather than sending it in a
 * burst. */
static void load_until(struct lg *lg, uint64_t t0, uint64_t *sent,
                       uint64_t end_ns)
{
    double total = lg->rate * lg->nconns;
    uint64_t late = (uint64_t)(total / 20) + 1;
    for (uint64_t t = now_ns(); t < end_ns; t = now_ns()) {
        uint64_t due = (uint64_t)((double)(t - t0) / 1e9 * total);
        if (due > *sent + late)
            *sent = due - late;
        for (; *sent < due; (*sent)++) {
            struct conn *c = &lg->conns[*sent % lg->nconns];
            if (c->state == LG_JOINED)
                send_one(lg, c, (unsigned)(*sent / lg->nconns));
        }
        poll_once(lg, LG_TICK_MS);
    }
}

/* Whether the scenario sends chat or signals (else it only joins). */
static int has_load(const struct lg *lg)
{
    return lg->scenario == LG_CHAT || lg->scenario == LG_SIGNAL;
}

/* Ends every joined connection with a close frame (1000, normal), reads
 * for LG_CLOSE_MS while the target answers and closes its side, then
 * closes what is left: the target sees members leave, not drop (a socket
 * closed with unread data would reset the connection). Counts nothing. */
static void close_all(struct lg *lg)
{
    static const char normal[2] = {0x03, (char)0xe8};
    for (unsigned i = 0; i < lg->started; i++)
        if (lg->conns[i].state == LG_JOINED)
            ws_send(lg, &lg->conns[i], 8, normal, sizeof normal);
    idle_for(lg, LG_CLOSE_MS);
    for (unsigned i = 0; i < lg->started; i++)
        if (lg->conns[i].state != LG_DEAD)
            close(lg->conns[i].fd);
}

/* -- report ------------------------------------------------------------ */

struct window {
    double secs, cpu_us, self_us, side_us, open_s, open_cpu_us, open_self_us;
    long rss0, rss1, rss_max;
};

static void print_latency(const char *label, struct samples *s)
{
    qsort(s->v, s->n, sizeof *s->v, cmp_u32);
    printf("  %-22s n=%zu  p50 %.3f ms  p99 %.3f ms  p99.9 %.3f ms\n", label,
           s->n, quantile_ms(s, 0.5), quantile_ms(s, 0.99),
           quantile_ms(s, 0.999));
}

static void json_latency(const char *key, const struct samples *s)
{
    printf(",\"%s\":{\"n\":%zu,\"p50\":%.3f,\"p99\":%.3f,\"p999\":%.3f}", key,
           s->n, quantile_ms(s, 0.5), quantile_ms(s, 0.99),
           quantile_ms(s, 0.999));
}

static const char *const scenario_names[] = {"storm", "join", "chat", "signal"};

/* The table for people, then the JSON line. */
static void report(struct lg *lg, const struct window *w, long rss_before)
{
    double joined_kib =
        lg->joined ? (double)(w->rss1 - rss_before) / lg->joined : 0;
    double per = lg->delivered ? w->cpu_us / (double)lg->delivered : 0;
    printf("loadgen %s %s: %u conns in rooms of %u", lg->d->name,
           scenario_names[lg->scenario], lg->nconns, lg->room_size);
    if (has_load(lg))
        printf(", %.0f msg/s each, %.1f s window", lg->rate, w->secs);
    printf("\n  joined %u in %.2f s (%.0f joins/s), errors %llu (server "
           "error messages %llu)\n",
           lg->joined, w->open_s, lg->joined / w->open_s,
           (unsigned long long)lg->errors,
           (unsigned long long)lg->server_errors);
    print_latency("join -> welcome", &lg->join_lat);
    printf("  while joining: target CPU %.1f us per join, loadgen %.1f us\n",
           w->open_cpu_us / lg->joined, w->open_self_us / lg->joined);
    if (has_load(lg)) {
        printf("  sent %.0f/s, delivered %.0f/s (%.0f bytes each)\n",
               (double)lg->sent / w->secs, (double)lg->delivered / w->secs,
               lg->delivered
                   ? (double)lg->delivered_bytes / (double)lg->delivered
                   : 0);
        print_latency("delivery", &lg->deliver_lat);
        printf("  target CPU %.2f us per delivery\n", per);
        if (w->side_us >= 0 && lg->delivered)
            printf("  side process (LG_SIDE_PID) CPU %.2f us per delivery\n",
                   w->side_us / (double)lg->delivered);
    }
    printf("  target CPU %.1f%% of a core, RSS %ld -> %ld KiB (max %ld); "
           "loadgen CPU %.1f%%\n",
           w->cpu_us / w->secs / 1e4, w->rss0, w->rss1, w->rss_max,
           w->self_us / w->secs / 1e4);
    if (!has_load(lg))
        printf("  RSS per idle joined connection %.2f KiB\n", joined_kib);
    printf("{\"proto\":\"%s\",\"scenario\":\"%s\",\"conns\":%u,"
           "\"room_size\":%u,\"rate\":%g,\"seconds\":%.2f,\"joined\":%u,"
           "\"open_s\":%.3f,\"open_cpu_us\":%.0f,\"open_self_us\":%.0f,"
           "\"errors\":%llu,\"server_errors\":%llu,"
           "\"sent\":%llu,\"delivered\":%llu,\"cpu_us\":%.0f,"
           "\"cpu_us_per_delivery\":%.3f,\"cpu_pct\":%.2f,"
           "\"self_cpu_pct\":%.2f,\"rss_kib\":%ld,\"rss_max_kib\":%ld,"
           "\"rss_before_kib\":%ld,\"kib_per_conn\":%.3f,\"targets\":%u,"
           "\"side_cpu_us\":%.0f",
           lg->d->name, scenario_names[lg->scenario], lg->nconns, lg->room_size,
           lg->rate, w->secs, lg->joined, w->open_s, w->open_cpu_us,
           w->open_self_us, (unsigned long long)lg->errors,
           (unsigned long long)lg->server_errors, (unsigned long long)lg->sent,
           (unsigned long long)lg->delivered, w->cpu_us, per,
           w->cpu_us / w->secs / 1e4, w->self_us / w->secs / 1e4, w->rss1,
           w->rss_max, rss_before, joined_kib, lg->npids, w->side_us);
    json_latency("join_ms", &lg->join_lat);
    json_latency("delivery_ms", &lg->deliver_lat);
    printf("}\n");
}

/* -- main -------------------------------------------------------------- */

/* The measuring window of a load scenario (or, for join, the storm that
 * already happened and the idle time after it). */
static void measure(struct lg *lg, struct window *w)
{
    uint64_t t0 = now_ns(), sent = 0;
    if (has_load(lg))
        load_until(lg, t0, &sent, t0 + LG_WARMUP_MS * 1000000ull);
    w->rss0 = target_rss_kib(lg);
    w->rss_max = w->rss0;
    double c0 = target_cpu_us(lg), s0 = self_cpu_us();
    double side0 = lg->side_pid > 0 ? proc_cpu_us(lg->side_pid) : 0;
    uint64_t w0 = now_ns();
    unsigned steps = !has_load(lg) ? LG_IDLE_MS / 100 : lg->seconds * 10;
    lg->measuring = 1;
    for (unsigned i = 0; i < steps; i++) {
        uint64_t end = w0 + (uint64_t)(i + 1) * 100000000u;
        if (!has_load(lg))
            idle_for(lg, 100);
        else
            load_until(lg, t0, &sent, end);
        long rss = target_rss_kib(lg);
        if (rss > w->rss_max)
            w->rss_max = rss;
    }
    lg->measuring = 0;
    w->secs = (double)(now_ns() - w0) / 1e9;
    w->cpu_us = target_cpu_us(lg) - c0;
    w->self_us = self_cpu_us() - s0;
    w->side_us = lg->side_pid > 0 ? proc_cpu_us(lg->side_pid) - side0 : -1;
    w->rss1 = target_rss_kib(lg);
}

/* Parses "a[,b...]" of positive numbers into v (at most LG_MAX_TARGETS).
 * Returns 0, or -1 for anything else. */
static int parse_list(const char *s, int *v, unsigned *n)
{
    *n = 0;
    while (*n < LG_MAX_TARGETS) {
        char *end;
        long x = strtol(s, &end, 10);
        if (end == s || x <= 0 || x > 0x7fffffff || (*end != ',' && *end))
            return -1;
        v[(*n)++] = (int)x;
        if (*end == '\0')
            return 0;
        s = end + 1;
    }
    return -1;
}

/* Parses argv into lg. Returns 0 or -1 with a message. */
static int parse_args(struct lg *lg, int argc, char **argv)
{
    if (argc < 5)
        return -1;
    for (size_t i = 0; i < sizeof dialects / sizeof *dialects; i++)
        if (strcmp(argv[1], dialects[i].name) == 0)
            lg->d = &dialects[i];
    int found = 0;
    for (int i = 0; i < 4; i++)
        if (strcmp(argv[2], scenario_names[i]) == 0) {
            lg->scenario = (enum lg_scenario)i;
            found = 1;
        }
    if (parse_list(argv[3], lg->ports, &lg->nports) < 0 ||
        parse_list(argv[4], lg->pids, &lg->npids) < 0)
        return -1;
    for (unsigned i = 0; i < lg->nports; i++)
        if (lg->ports[i] > 65535)
            return -1;
    const char *side = getenv("LG_SIDE_PID");
    lg->side_pid = side != NULL ? atoi(side) : 0;
    lg->nconns = argc > 5 ? (unsigned)strtoul(argv[5], NULL, 10) : 250;
    lg->room_size = argc > 6 ? (unsigned)strtoul(argv[6], NULL, 10) : 5;
    lg->rate = argc > 7 ? strtod(argv[7], NULL) : 1;
    lg->seconds = argc > 8 ? (unsigned)strtoul(argv[8], NULL, 10) : 10;
    if (!lg->d || !found || lg->nconns == 0 || lg->nconns > LG_MAX_CONNS ||
        lg->room_size < lg->nports || lg->rate <= 0 || lg->seconds == 0)
        return -1;
    return 0;
}

int main(int argc, char **argv)
{
    static struct lg lg;
    if (parse_args(&lg, argc, argv) < 0) {
        fprintf(stderr,
                "usage: loadgen huddle|sio storm|join|chat|signal PORT[,PORT] "
                "PID[,PID] [conns=250] [room_size=5] [rate=1] [seconds=10]\n");
        return 2;
    }
    rlim_t fds = raise_nofile(lg.nconns + 64);
    if (fds < lg.nconns + 16) {
        fprintf(stderr, "loadgen: %u connections need more than %lu fds\n",
                lg.nconns, (unsigned long)fds);
        return 2;
    }
    lg.conns = calloc(lg.nconns, sizeof *lg.conns);
    lg.ep = epoll_create1(EPOLL_CLOEXEC);
    if (!lg.conns || lg.ep < 0 || target_rss_kib(&lg) < 0) {
        fprintf(stderr, "loadgen: no memory, epoll or target process\n");
        return 1;
    }
    srand((unsigned)now_ns());
    for (int i = 0; i < 4; i++)
        lg.mask[i] = (uint8_t)(rand() & 0xff);
    long rss_before = target_rss_kib(&lg);
    struct window w = {0};
    double c0 = target_cpu_us(&lg), s0 = self_cpu_us();
    w.open_s = open_all(&lg);
    w.open_cpu_us = target_cpu_us(&lg) - c0;
    w.open_self_us = self_cpu_us() - s0;
    measure(&lg, &w);
    report(&lg, &w, rss_before);
    int rc = lg.joined == lg.nconns ? 0 : 1;
    close_all(&lg);
    return rc;
}
