/* huddle-fcgi: the FastCGI program behind nginx. It answers "/" with a
 * redirect to a fresh room, "/<room>" with the room page, "/healthz", and
 * everything else with 404 (see router.c and pages.c).
 *
 * This file: the configuration, the listening socket (unix or TCP) and the
 * signals. One thread serves every connection with an epoll loop
 * (server.c) that speaks FastCGI through wire.c. SIGTERM and SIGINT are
 * blocked and read from a signalfd by that loop; when it returns, the
 * socket is closed (and its path removed) and "stopped" is logged. */
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "env.h"
#include "hostport.h"
#include "log.h"
#include "pages.h"
#include "server.h"

static long fcgi_threads;
static long fcgi_backlog;
static long fcgi_idle_ms;

static const struct env_int fcgi_ints[] = {
    /* Kept for existing configurations: one thread serves every
     * connection now, whatever the value. */
    {"HUDDLE_FCGI_THREADS", 32, 1, 1024, &fcgi_threads,
     "no effect (one event loop serves every connection)"},
    {"HUDDLE_FCGI_BACKLOG", 1024, 1, 65535, &fcgi_backlog, "listen backlog"},
    {"HUDDLE_FCGI_IDLE_MS", 2000, 100, 600000, &fcgi_idle_ms,
     "how long a connection may wait silent for its next request"},
};

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
 * "*:port" mean every IPv4 address, "[::]:port" every IPv6 one). */
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
    if (hp.host[0] == '\0')
        hints.ai_family = AF_INET;
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
    }
    freeaddrinfo(ai);
    return fd;
}

int main(void)
{
    const char *listen_spec, *views;
    struct pages pages = {0};
    int fd = -1, rc = 1, sig;
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
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN); /* nginx may hang up mid-response */

    if (pages_load(&pages, views) < 0) {
        log_error("HUDDLE_VIEWS_DIR=%s: the templates could not be read "
                  "(a relative path is taken from the working directory)",
                  views);
        goto done;
    }
    fd = listen_spec[0] == '/' ? fcgi_listen_unix(listen_spec)
                               : fcgi_listen_tcp(listen_spec);
    if (fd < 0)
        goto done;
    log_info("listening on %s", listen_spec);
    sig = server_run(fd, fcgi_idle_ms, &pages, &set);
    if (sig > 0)
        rc = 0;
done:
    if (fd >= 0)
        close(fd);
    if (fd >= 0 && listen_spec[0] == '/')
        unlink(listen_spec);
    pages_free(&pages);
    if (rc == 0)
        log_info("stopped");
    return rc;
}
