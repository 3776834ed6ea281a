#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "pages.h"
#include "wire.h"

/* Shared input: a partial record kept from the last read, and room for a
 * whole record more. Shared output: two of the largest answers. */
#define SERVER_IN_CAP (2 * (size_t)WIRE_RECORD_MAX)
#define SERVER_OUT_CAP (2 * (size_t)WIRE_ANSWER_MAX)
#define SERVER_EVENTS 64
#define SERVER_ACCEPTS 64 /* per readable event of the listening socket */
#define SERVER_ACCEPT_PAUSE_MS 50
#define SERVER_STOP_GRACE_MS 1500

struct server_conn {
    int fd;
    int64_t active_ms;               /* when it last read or wrote */
    struct server_conn *prev, *next; /* by active_ms, oldest first */
    struct wire_conn wire;
    char *in; /* a partial record, or input held while out is queued */
    size_t in_len;
    char *out; /* output the socket did not take yet */
    size_t out_len, out_off;
};

struct server {
    int ep, listen_fd, sig_fd;
    long idle_ms;
    const struct pages *pages;
    struct server_conn *oldest, *newest;
    int64_t accept_paused_until; /* 0: the listening socket is polled */
    int stop_sig;                /* 0 until a signal came */
    int64_t stop_deadline;
    char *in;
    struct wire_out out;
};

/* Tags of the two descriptors that are not connections. */
static char server_tag_listen, server_tag_signal;

/* Answers one request for wire_feed with pages_respond; a response that
 * does not fit becomes the fixed 500. */
static size_t server_respond(void *ctx, const char *method, const char *uri,
                             char *out, size_t cap)
{
    int status = 500;
    long n = pages_respond(ctx, method, uri, out, cap, &status);

    if (n < 0) {
        log_error("response for %d does not fit in %zu bytes", status, cap);
        n = (long)strlen(pages_error_500);
        memcpy(out, pages_error_500, (size_t)n);
    }
    log_debug("%s %d", method ? method : "-", status);
    return (size_t)n;
}

/* Takes c out of the list. (clang-analyzer follows paths on which the
 * list would hold a connection already closed; it never does: a closed
 * connection is unlinked first.) */
static void server_unlink(struct server *s, struct server_conn *c)
{
    if (s->oldest == c)
        s->oldest = c->next;
    else
        c->prev->next = c->next;
    if (s->newest == c)
        s->newest = c->prev;
    else
        c->next->prev = c->prev; // NOLINT(clang-analyzer-unix.Malloc)
    c->prev = c->next = NULL;
}

/* Puts c at the newest end of the list. */
static void server_link(struct server *s, struct server_conn *c)
{
    c->prev = s->newest;
    c->next = NULL;
    *(s->newest ? &s->newest->next : &s->oldest) = c;
    s->newest = c;
}

/* Marks c active at now: it moves to the newest end of the list. */
static void server_touch(struct server *s, struct server_conn *c, int64_t now)
{
    c->active_ms = now;
    if (s->newest == c)
        return;
    server_unlink(s, c);
    server_link(s, c);
}

static void server_close(struct server *s, struct server_conn *c)
{
    server_unlink(s, c);
    close(c->fd); /* also leaves the epoll set */
    wire_conn_free(&c->wire);
    free(c->in);
    free(c->out);
    free(c);
}

static int server_watch(struct server *s, int op, int fd, uint32_t events,
                        void *tag)
{
    struct epoll_event ev = {.events = events, .data.ptr = tag};

    if (epoll_ctl(s->ep, op, fd, &ev) == 0)
        return 0;
    log_error("epoll_ctl: %s", strerror(errno));
    return -1;
}

/* Writes len bytes at p to c. What the socket does not take is copied to
 * c->out and c waits for EPOLLOUT instead of EPOLLIN. Returns 0 when all
 * left, 1 when some is queued, -1 when c is to be closed. */
static int server_send(struct server *s, struct server_conn *c, const char *p,
                       size_t len)
{
    ssize_t n = len ? write(c->fd, p, len) : 0;

    if (n < 0 && errno != EAGAIN && errno != EINTR) {
        log_debug("write: %s", strerror(errno));
        return -1;
    }
    if (n < 0)
        n = 0;
    if ((size_t)n == len)
        return 0;
    c->out = malloc(len - (size_t)n);
    if (c->out == NULL) {
        log_error("out of memory for %zu bytes of output", len - (size_t)n);
        return -1;
    }
    memcpy(c->out, p + n, len - (size_t)n);
    c->out_len = len - (size_t)n;
    c->out_off = 0;
    return server_watch(s, EPOLL_CTL_MOD, c->fd, EPOLLOUT, c) < 0 ? -1 : 1;
}

/* Keeps the len bytes at p (input not taken yet) in c->in. */
static int server_keep_input(struct server_conn *c, const char *p, size_t len)
{
    if (len == 0)
        return 0;
    c->in = malloc(len);
    if (c->in == NULL) {
        log_error("out of memory for %zu bytes of input", len);
        return -1;
    }
    memcpy(c->in, p, len);
    c->in_len = len;
    return 0;
}

/* Answers every whole record of the len bytes at buf (the shared input
 * buffer) and sends the answers, one write per filled output buffer.
 * Returns 0, or -1 when c is to be closed now. */
static int server_serve(struct server *s, struct server_conn *c,
                        const char *buf, size_t len)
{
    enum wire_stop stop;
    size_t off = 0, used;
    int sent = 0;

    s->out.len = 0;
    do {
        stop = wire_feed(&c->wire, buf + off, len - off, &used, &s->out,
                         server_respond, (void *)s->pages);
        off += used;
        if (stop == WIRE_NEED_ROOM || s->out.len > 0) {
            sent = server_send(s, c, s->out.data, s->out.len);
            s->out.len = 0;
        }
    } while (stop == WIRE_NEED_ROOM && sent == 0);
    if (sent < 0 || (stop == WIRE_CLOSE && sent == 0))
        return -1;
    if (stop == WIRE_CLOSE)
        return 0; /* closed once its output is sent */
    return server_keep_input(c, buf + off, len - off);
}

/* One read from c, then serve. */
static void server_read(struct server *s, struct server_conn *c, int64_t now)
{
    size_t len = c->in_len;
    ssize_t n;

    if (len > 0)
        memcpy(s->in, c->in, len);
    n = read(c->fd, s->in + len, SERVER_IN_CAP - len);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        if (n < 0 || len > 0)
            log_debug("connection ends %s (%zu bytes of a record)",
                      n < 0 ? strerror(errno) : "mid-record", len);
        server_close(s, c);
        return;
    }
    free(c->in);
    c->in = NULL;
    c->in_len = 0;
    server_touch(s, c, now);
    if (server_serve(s, c, s->in, len + (size_t)n) < 0)
        server_close(s, c);
}

/* Sends more of c->out; once it is all gone, c is read again, starting
 * with the input held meanwhile. */
static void server_write(struct server *s, struct server_conn *c, int64_t now)
{
    ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
    size_t len = c->in_len;

    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n < 0) {
        log_debug("write: %s", strerror(errno));
        server_close(s, c);
        return;
    }
    server_touch(s, c, now);
    c->out_off += (size_t)n;
    if (c->out_off < c->out_len)
        return;
    free(c->out);
    c->out = NULL;
    c->out_len = c->out_off = 0;
    if (c->wire.closing || s->stop_sig ||
        server_watch(s, EPOLL_CTL_MOD, c->fd, EPOLLIN, c) < 0) {
        server_close(s, c);
        return;
    }
    if (len == 0)
        return;
    memcpy(s->in, c->in, len);
    free(c->in);
    c->in = NULL;
    c->in_len = 0;
    if (server_serve(s, c, s->in, len) < 0)
        server_close(s, c);
}

/* Stops polling the listening socket for SERVER_ACCEPT_PAUSE_MS. */
static void server_pause_accept(struct server *s, int64_t now)
{
    log_warn("accept: %s; pausing %d ms", strerror(errno),
             SERVER_ACCEPT_PAUSE_MS);
    if (epoll_ctl(s->ep, EPOLL_CTL_DEL, s->listen_fd, NULL) == 0)
        s->accept_paused_until = now + SERVER_ACCEPT_PAUSE_MS;
}

static void server_accept(struct server *s, int64_t now)
{
    for (int i = 0; i < SERVER_ACCEPTS; i++) {
        int fd =
            accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        struct server_conn *c;

        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                server_pause_accept(s, now);
            return;
        }
        c = calloc(1, sizeof *c);
        if (c == NULL || server_watch(s, EPOLL_CTL_ADD, fd, EPOLLIN, c) < 0) {
            log_error("cannot take a connection: %s",
                      c ? "epoll_ctl failed" : "out of memory");
            free(c);
            close(fd);
            return;
        }
        c->fd = fd;
        c->active_ms = now;
        wire_conn_init(&c->wire);
        server_link(s, c);
    }
}

/* A signal: no more connections. The next tick closes those with nothing
 * left to send (not here: a later event of this turn may name them); the
 * others get SERVER_STOP_GRACE_MS. */
static void server_stop(struct server *s, int64_t now)
{
    struct signalfd_siginfo si;

    if (read(s->sig_fd, &si, sizeof si) != sizeof si || s->stop_sig)
        return;
    s->stop_sig = (int)si.ssi_signo;
    log_info("%s: stopping", strsignal(s->stop_sig));
    if (!s->accept_paused_until)
        epoll_ctl(s->ep, EPOLL_CTL_DEL, s->listen_fd, NULL);
    s->stop_deadline = now + SERVER_STOP_GRACE_MS;
}

/* While stopping: closes every connection with nothing left to send, and
 * all of them once the grace is over. */
static void server_drain(struct server *s, int64_t now)
{
    struct server_conn *c, *next;

    for (c = s->oldest; c != NULL; c = next) {
        next = c->next;
        if (c->out == NULL || now >= s->stop_deadline) {
            if (c->out != NULL)
                log_warn("output still queued after %d ms; closing",
                         SERVER_STOP_GRACE_MS);
            server_close(s, c);
        }
    }
}

/* Closes every connection silent for idle_ms, resumes accepting after a
 * pause, and when stopping closes what is done. Returns how long
 * epoll_wait may sleep (-1: until an event). */
static int server_tick(struct server *s, int64_t now)
{
    struct server_conn *c, *after;
    int64_t next = -1;

    if (s->stop_sig)
        server_drain(s, now);
    for (c = s->oldest; c != NULL && c->active_ms + s->idle_ms <= now;
         c = after) {
        after = c->next;
        log_debug("connection silent for %ld ms: closed", s->idle_ms);
        server_close(s, c);
    }
    /* c: the oldest connection left, if any. */
    if (c != NULL)
        next = c->active_ms + s->idle_ms;
    if (s->stop_sig && c != NULL && s->stop_deadline < next)
        next = s->stop_deadline;
    if (s->accept_paused_until && !s->stop_sig) {
        if (now >= s->accept_paused_until &&
            server_watch(s, EPOLL_CTL_ADD, s->listen_fd, EPOLLIN,
                         &server_tag_listen) == 0)
            s->accept_paused_until = 0;
        else if (next < 0 || s->accept_paused_until < next)
            next = s->accept_paused_until;
    }
    return next < 0 ? -1 : next > now ? (int)(next - now) : 0;
}

static void server_dispatch(struct server *s, struct epoll_event *ev,
                            int64_t now)
{
    struct server_conn *c = ev->data.ptr;

    if (ev->data.ptr == &server_tag_listen) {
        if (!s->stop_sig)
            server_accept(s, now);
    } else if (ev->data.ptr == &server_tag_signal) {
        server_stop(s, now);
    } else if (c->out != NULL) {
        server_write(s, c, now);
    } else {
        server_read(s, c, now);
    }
}

/* The loop; returns once a signal came and every connection is closed. */
static void server_loop(struct server *s)
{
    struct epoll_event evs[SERVER_EVENTS];
    struct server_conn *c, *next;
    int64_t now;
    int wait = -1;

    while (!s->stop_sig || s->oldest != NULL) {
        int n = epoll_wait(s->ep, evs, SERVER_EVENTS, wait);

        if (n < 0 && errno != EINTR) {
            log_error("epoll_wait: %s", strerror(errno));
            break;
        }
        now = clock_mono_ms();
        for (int i = 0; i < n; i++)
            server_dispatch(s, &evs[i], now);
        wait = server_tick(s, now);
    }
    for (c = s->oldest; c != NULL; c = next) {
        next = c->next;
        server_close(s, c);
    }
}

int server_run(int listen_fd, long idle_ms, const struct pages *pages,
               const sigset_t *sigs)
{
    struct server s = {.listen_fd = listen_fd,
                       .idle_ms = idle_ms,
                       .pages = pages,
                       .ep = epoll_create1(EPOLL_CLOEXEC),
                       .sig_fd = signalfd(-1, sigs, SFD_CLOEXEC)};
    int rc = -1;

    s.in = malloc(SERVER_IN_CAP);
    s.out = (struct wire_out){malloc(SERVER_OUT_CAP), 0, SERVER_OUT_CAP};
    if (s.ep < 0 || s.sig_fd < 0 || s.in == NULL || s.out.data == NULL) {
        log_error("cannot start the event loop: %s",
                  s.ep < 0 || s.sig_fd < 0 ? strerror(errno) : "no memory");
        goto done;
    }
    if (fcntl(listen_fd, F_SETFL, fcntl(listen_fd, F_GETFL) | O_NONBLOCK) < 0 ||
        server_watch(&s, EPOLL_CTL_ADD, listen_fd, EPOLLIN,
                     &server_tag_listen) < 0 ||
        server_watch(&s, EPOLL_CTL_ADD, s.sig_fd, EPOLLIN, &server_tag_signal) <
            0)
        goto done;
    server_loop(&s);
    rc = s.stop_sig ? s.stop_sig : -1;
done:
    if (s.ep >= 0)
        close(s.ep);
    if (s.sig_fd >= 0)
        close(s.sig_fd);
    free(s.in);
    free(s.out.data);
    return rc;
}
