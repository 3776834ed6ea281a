/* server: huddle-fcgi's event loop. One thread, one epoll set: the
 * listening socket, a signalfd for SIGTERM and SIGINT, and every FastCGI
 * connection (nginx keeps them open with fastcgi_keep_conn).
 *
 * Per connection and readable event: one read into a buffer shared by all
 * connections, every whole record handed to wire_feed (wire.h), whose
 * answers pile up in one shared output buffer, then one write of them
 * all. Only what a connection cannot take at once stays with it (its own
 * output, capped by the shared buffer's size); it is then read no more
 * until that is sent. Likewise only a partial record stays with it as
 * input. An idle connection costs a few hundred bytes and no thread.
 *
 * A connection silent for idle_ms (no request, or output nobody reads) is
 * closed. On EMFILE and the like, accepting pauses for 50 ms.
 * On SIGTERM or SIGINT the listening socket is no longer polled, idle
 * connections are closed, and output still queued gets 1.5 s to leave. */
#ifndef HUDDLE_SERVER_H
#define HUDDLE_SERVER_H

#include <signal.h>

struct pages;

/* Serves listen_fd (a listening socket; the caller closes it) with pages
 * until one of sigs arrives; the caller has blocked them in every thread.
 * Returns that signal's number, or -1 after logging why the loop could
 * not start. */
int server_run(int listen_fd, long idle_ms, const struct pages *pages,
               const sigset_t *sigs);

#endif
