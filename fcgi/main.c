/* huddle-fcgi: the FastCGI program behind nginx. It answers "/" with a
 * redirect to a fresh room, "/<room>" with the room page, "/healthz", and
 * everything else with 404 (see router.c and pages.c).
 *
 * Threads: HUDDLE_FCGI_THREADS workers each loop on FCGX_Accept_r over one
 * shared listening socket; the kernel hands each connection to one of them.
 * The main thread only waits for SIGTERM or SIGINT (blocked everywhere else,
 * which also keeps libfcgi's own SIGTERM handler out of the way), then shuts
 * the listening socket down, which wakes every worker blocked in accept(). */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "env.h"
#include "hostport.h"
#include "log.h"
#include "pages.h"

/* Per-worker response buffer: a page bigger than this is a 500. */
#define FCGI_OUT_MAX ((size_t)256 * 1024)
/* How long shutdown waits for workers still inside a request. */
#define FCGI_STOP_GRACE_MS 1500

static long fcgi_threads;
static long fcgi_backlog;
static long fcgi_idle_ms;

static const struct env_int fcgi_ints[] = {
    {"HUDDLE_FCGI_THREADS", 32, 1, 1024, &fcgi_threads, "worker threads"},
    {"HUDDLE_FCGI_BACKLOG", 1024, 1, 65535, &fcgi_backlog, "listen backlog"},
    {"HUDDLE_FCGI_IDLE_MS", 2000, 100, 600000, &fcgi_idle_ms,
     "how long a connection may wait silent for its next request"},
};

struct fcgi_worker {
    pthread_t thread;
    int listen_fd;
    const struct pages *pages;
    char *out;
    /* The connection FCGX_Accept_r may block on, kept open by nginx's
     * fastcgi_keep_conn; -1 when it will block in accept() instead. */
    atomic_int idle_fd;
};

static atomic_int fcgi_stopping;

/* Answers one request; the whole response goes out in one write to
 * libfcgi's buffer, which FCGX_Finish_r flushes. */
static void fcgi_handle(struct fcgi_worker *w, FCGX_Request *req)
{
    const char *method = FCGX_GetParam("REQUEST_METHOD", req->envp);
    const char *uri = FCGX_GetParam("REQUEST_URI", req->envp);
    int status = 500;
    long n =
        pages_respond(w->pages, method, uri, w->out, FCGI_OUT_MAX, &status);

    if (n < 0) {
        log_error("response for %d does not fit in %zu bytes", status,
                  FCGI_OUT_MAX);
        FCGX_PutS(pages_error_500, req->out);
        return;
    }
    FCGX_PutStr(w->out, (int)n, req->out);
    log_debug("%s %d", method ? method : "-", status);
}

/* Bounds how long a read may wait on fd. A thread serves one connection at
 * a time, so a connection kept open but idle (fastcgi_keep_conn with more
 * kept connections than threads) or a silent client would otherwise pin
 * its thread for good; on timeout libfcgi drops the connection and the
 * thread goes back to accept(). TCP connections inherit this from the
 * listening socket, unix ones do not. */
static void fcgi_set_idle_timeout(int fd)
{
    struct timeval tv = {fcgi_idle_ms / 1000, (fcgi_idle_ms % 1000) * 1000};

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

static void *fcgi_worker_main(void *arg)
{
    struct fcgi_worker *w = arg;
    FCGX_Request req;

    if (FCGX_InitRequest(&req, w->listen_fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
        log_error("FCGX_InitRequest failed");
        goto done;
    }
    while (!atomic_load(&fcgi_stopping)) {
        atomic_store(&w->idle_fd, req.ipcFd);
        if (atomic_load(&fcgi_stopping))
            break;
        if (FCGX_Accept_r(&req) < 0) {
            if (atomic_load(&fcgi_stopping))
                break;
            /* EMFILE and friends: back off instead of spinning. */
            log_warn("accept: %s", strerror(errno));
            nanosleep(&(struct timespec){0, 50L * 1000 * 1000}, NULL);
            continue;
        }
        if (req.keepConnection)
            fcgi_set_idle_timeout(req.ipcFd);
        fcgi_handle(w, &req);
        FCGX_Finish_r(&req);
    }
    atomic_store(&w->idle_fd, -1);
    FCGX_Free(&req, 1);
done:
    return NULL;
}

/* Binds a unix socket at path, readable and writable by anyone who can
 * reach it: access is governed by the permissions of its directory. */
static int fcgi_listen_unix(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct stat st;
    int fd;

    if (strlen(path) >= sizeof sa.sun_path) {
        log_error("HUDDLE_FCGI_LISTEN=%s: path too long", path);
        return -1;
    }
    strcpy(sa.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
            log_error("listen on %s: another process is serving it", path);
            close(fd);
            return -1;
        }
        close(fd);
        unlink(path); /* left over from a run that was killed */
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    }
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        chmod(path, 0666) < 0 || listen(fd, (int)fcgi_backlog) < 0) {
        log_error("listen on %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* Binds host:port by common/hostport.h's rules ("[v6]:port"; ":port" and
 * "*:port" mean every address). */
static int fcgi_listen_tcp(const char *spec)
{
    struct addrinfo hints = {.ai_flags = AI_PASSIVE,
                             .ai_socktype = SOCK_STREAM};
    struct addrinfo *ai = NULL;
    struct hostport hp;
    char port[8];
    int fd = -1, one = 1, rc;

    if (hostport_parse(spec, strlen(spec), HOSTPORT_ANY, &hp) < 0) {
        log_error("HUDDLE_FCGI_LISTEN=%s: want /path or host:port", spec);
        return -1;
    }
    snprintf(port, sizeof port, "%d", hp.port);
    rc = getaddrinfo(hp.host[0] == '\0' ? NULL : hp.host, port, &hints, &ai);
    if (rc != 0) {
        log_error("HUDDLE_FCGI_LISTEN: %s: %s", hp.host, gai_strerror(rc));
        return -1;
    }
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
        listen(fd, (int)fcgi_backlog) < 0) {
        log_error("listen on %s: %s", spec, strerror(errno));
        if (fd >= 0)
            close(fd);
        fd = -1;
    } else {
        fcgi_set_idle_timeout(fd); /* accepted sockets inherit it */
    }
    freeaddrinfo(ai);
    return fd;
}

/* Waits for every worker, at most FCGI_STOP_GRACE_MS in all. Returns the
 * number still running. */
static long fcgi_join(struct fcgi_worker *ws, long n)
{
    struct timespec deadline;
    long left = 0;

    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_nsec += (FCGI_STOP_GRACE_MS % 1000) * 1000000L;
    deadline.tv_sec +=
        FCGI_STOP_GRACE_MS / 1000 + deadline.tv_nsec / 1000000000L;
    deadline.tv_nsec %= 1000000000L;
    for (long i = 0; i < n; i++) {
        if (pthread_timedjoin_np(ws[i].thread, NULL, &deadline) != 0)
            left++;
    }
    return left;
}

/* Wakes every worker: those blocked in accept() by shutting the listening
 * socket down, those waiting for the next request on a kept connection by
 * shutting its reading side (a response being written still goes out). A
 * stale fd here at worst cuts a request racing with shutdown. */
static void fcgi_wake(struct fcgi_worker *ws, long n, int listen_fd)
{
    shutdown(listen_fd, SHUT_RDWR);
    for (long i = 0; i < n; i++) {
        int fd = atomic_load(&ws[i].idle_fd);
        if (fd >= 0)
            shutdown(fd, SHUT_RD);
    }
}

/* Starts the workers with SIGTERM and SIGINT blocked (they inherit the
 * mask), so only sigwait() in the main thread sees them. Returns how many
 * started. */
static long fcgi_start(struct fcgi_worker *ws, int fd, const struct pages *p)
{
    long i;

    for (i = 0; i < fcgi_threads; i++) {
        ws[i].listen_fd = fd;
        ws[i].pages = p;
        ws[i].out = malloc(FCGI_OUT_MAX);
        atomic_init(&ws[i].idle_fd, -1);
        if (ws[i].out == NULL ||
            pthread_create(&ws[i].thread, NULL, fcgi_worker_main, &ws[i])) {
            log_error("cannot start worker %ld", i);
            free(ws[i].out);
            break;
        }
    }
    return i;
}

static int fcgi_wait_for_signal(const sigset_t *set)
{
    int sig = 0;

    while (sigwait(set, &sig) != 0)
        ;
    log_info("%s: stopping", strsignal(sig));
    return sig;
}

int main(void)
{
    const char *listen_spec, *views;
    struct fcgi_worker *ws = NULL;
    struct pages pages = {0};
    long started = 0;
    int fd = -1, rc = 1;
    sigset_t set;

    if (log_init("fcgi") < 0 ||
        env_load_ints("huddle-fcgi", fcgi_ints,
                      sizeof fcgi_ints / sizeof *fcgi_ints) < 0)
        return 2;
    listen_spec = env_str("HUDDLE_FCGI_LISTEN", "127.0.0.1:9000");
    views = env_str("HUDDLE_VIEWS_DIR", "views");
    log_info("config HUDDLE_FCGI_LISTEN=%s HUDDLE_VIEWS_DIR=%s", listen_spec,
             views);
    env_log_ints(fcgi_ints, sizeof fcgi_ints / sizeof *fcgi_ints);

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN); /* nginx may hang up mid-response */

    if (pages_load(&pages, views) < 0 || FCGX_Init() != 0)
        goto done;
    fd = listen_spec[0] == '/' ? fcgi_listen_unix(listen_spec)
                               : fcgi_listen_tcp(listen_spec);
    ws = calloc((size_t)fcgi_threads, sizeof *ws);
    if (fd < 0 || ws == NULL)
        goto done;
    started = fcgi_start(ws, fd, &pages);
    if (started == fcgi_threads) {
        log_info("listening on %s with %ld threads", listen_spec, started);
        fcgi_wait_for_signal(&set);
        rc = 0;
    }
    atomic_store(&fcgi_stopping, 1);
    FCGX_ShutdownPending();
    fcgi_wake(ws, started, fd);
    if (fcgi_join(ws, started) > 0) {
        /* A worker is stuck inside a request: leave without freeing what
         * it may still use. */
        log_warn("workers still busy after %d ms; exiting anyway",
                 FCGI_STOP_GRACE_MS);
        _exit(rc);
    }
    for (long i = 0; i < started; i++)
        free(ws[i].out);
done:
    if (fd >= 0)
        close(fd);
    if (fd >= 0 && listen_spec[0] == '/')
        unlink(listen_spec);
    free(ws);
    pages_free(&pages);
    if (rc == 0)
        log_info("stopped");
    return rc;
}
