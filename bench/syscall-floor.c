/* The syscall floor of a fan-out delivery: the CPU time of one small
 * send() on loopback TCP (TCP_NODELAY, as lws sets it), the kernel's
 * delivery to the receiving socket and the receiver's wake-up included (on
 * loopback the sender's send() runs them). A child process reads the other
 * ends through epoll, as a client's event loop does; its own CPU is not
 * counted. Prints figures; asserts nothing.
 *
 *   build/bench/syscall-floor [bytes=150] [conns=1] [rate=0] [seconds=3]
 *
 * rate 0 sends back to back on one connection after another (the
 * cheapest case: warm caches, a receiver that seldom sleeps). A rate
 * paces the sends every 2 ms, round robin over conns connections, like
 * the chat load of bench/sidecar-fanout.mjs, which runs this in the same
 * run and prints the sidecar's CPU per delivery against it. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FLOOR_TICK_NS 2000000L /* paced sends go out every 2 ms */
#define FLOOR_MAX_CONNS 4096

static double now_us(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* n connected loopback pairs on one listener: tx[i] (TCP_NODELAY) and
 * rx[i]. Returns 0 or -1. */
static int tcp_pairs(int *tx, int *rx, int n)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t alen = sizeof a;
    int one = 1;
    int l = socket(AF_INET, SOCK_STREAM, 0);

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) < 0 ||
        listen(l, n) < 0 || getsockname(l, (struct sockaddr *)&a, &alen) < 0)
        return -1;
    for (int i = 0; i < n; i++) {
        tx[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (tx[i] < 0 || connect(tx[i], (struct sockaddr *)&a, sizeof a) < 0 ||
            (rx[i] = accept(l, NULL, NULL)) < 0 ||
            setsockopt(tx[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0)
            return -1;
    }
    close(l);
    return 0;
}

/* The receiver: reads every rx through epoll until all reach EOF. */
static void drain(const int *rx, int n)
{
    static char buf[1 << 16];
    struct epoll_event ev[256];
    int ep = epoll_create1(0), open = n;

    for (int i = 0; i < n; i++) {
        struct epoll_event e = {.events = EPOLLIN, .data.fd = rx[i]};
        fcntl(rx[i], F_SETFL, O_NONBLOCK);
        epoll_ctl(ep, EPOLL_CTL_ADD, rx[i], &e);
    }
    while (open > 0) {
        int k = epoll_wait(ep, ev, 256, -1);
        for (int j = 0; j < k; j++) {
            ssize_t r;
            while ((r = read(ev[j].data.fd, buf, sizeof buf)) > 0)
                ;
            if (r == 0) {
                close(ev[j].data.fd);
                open--;
            }
        }
    }
    _exit(0);
}

/* Sends count messages round robin over n connections, from *next on;
 * returns 0, or -1 on a failed send. */
static int send_some(const int *tx, int n, int *next, const char *msg,
                     size_t len, long count)
{
    for (long i = 0; i < count; i++) {
        if (send(tx[*next], msg, len, 0) != (ssize_t)len)
            return -1;
        *next = (*next + 1) % n;
    }
    return 0;
}

/* Sends rate per second for seconds, count every 2 ms; returns the number
 * sent, or -1. */
static long send_paced(const int *tx, int n, const char *msg, size_t len,
                       long rate, double seconds)
{
    struct timespec t;
    long total = (long)((double)rate * seconds), sent = 0, tick = 0;
    int next = 0;

    clock_gettime(CLOCK_MONOTONIC, &t);
    while (sent < total) {
        long due =
            (long)((double)rate * (double)(++tick) * FLOOR_TICK_NS / 1e9);
        if (due > total)
            due = total;
        if (send_some(tx, n, &next, msg, len, due - sent) < 0)
            return -1;
        sent = due;
        t.tv_nsec += FLOOR_TICK_NS;
        if (t.tv_nsec >= 1000000000L) {
            t.tv_nsec -= 1000000000L;
            t.tv_sec++;
        }
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL);
    }
    return sent;
}

int main(int argc, char **argv)
{
    size_t len = argc > 1 ? (size_t)atol(argv[1]) : 150;
    int conns = argc > 2 ? atoi(argv[2]) : 1;
    long rate = argc > 3 ? atol(argv[3]) : 0;
    double seconds = argc > 4 ? atof(argv[4]) : 3;
    static int tx[FLOOR_MAX_CONNS], rx[FLOOR_MAX_CONNS];
    char msg[4096];
    int next = 0;

    if (len == 0 || len > sizeof msg || conns < 1 || conns > FLOOR_MAX_CONNS ||
        rate < 0 || seconds <= 0) {
        fprintf(stderr,
                "usage: syscall-floor [bytes 1..4096] [conns 1..%d] "
                "[rate>=0] [seconds>0]\n",
                FLOOR_MAX_CONNS);
        return 2;
    }
    memset(msg, 'x', len);
    if (tcp_pairs(tx, rx, conns) < 0) {
        perror("syscall-floor: loopback pairs");
        return 1;
    }
    pid_t child = fork();
    if (child < 0) {
        perror("syscall-floor: fork");
        return 1;
    }
    if (child == 0) {
        for (int i = 0; i < conns; i++)
            close(tx[i]);
        drain(rx, conns);
    }
    for (int i = 0; i < conns; i++)
        close(rx[i]);
    if (send_some(tx, conns, &next, msg, len, 10000) < 0) /* warm-up */
        return 1;
    double c0 = now_us(CLOCK_PROCESS_CPUTIME_ID);
    double w0 = now_us(CLOCK_MONOTONIC);
    long n = rate ? send_paced(tx, conns, msg, len, rate, seconds) : 200000;
    if (n < 0 || (!rate && send_some(tx, conns, &next, msg, len, n) < 0)) {
        perror("syscall-floor: send");
        return 1;
    }
    double cpu = now_us(CLOCK_PROCESS_CPUTIME_ID) - c0;
    double wall = now_us(CLOCK_MONOTONIC) - w0;
    for (int i = 0; i < conns; i++)
        close(tx[i]);
    waitpid(child, NULL, 0);
    printf("syscall-floor: %ld sends of %zu bytes over %d loopback TCP "
           "connection(s), %s: %.3f us CPU per send() (%.0f sends/s)\n",
           n, len, conns, rate ? "paced" : "back to back", cpu / (double)n,
           (double)n * 1e6 / wall);
    return 0;
}
