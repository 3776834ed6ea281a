/* Stops one thread of a running process, as a bug that never returns
 * would stop it, and leaves its other threads running: `freeze TID MS`
 * seizes the thread with ptrace, interrupts it, prints "frozen", and lets
 * it go after MS milliseconds ("thawed"), or prints "gone" when the
 * process ended meanwhile. For the loop guard's test
 * (tests/integration/sidecar-hang.test.mjs). Needs CAP_SYS_PTRACE (root)
 * or a ptrace_scope that lets it trace the process. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
    pid_t tid;
    long long until;
    int st;

    if (argc != 3) {
        fprintf(stderr, "usage: freeze TID MS\n");
        return 2;
    }
    tid = (pid_t)atoi(argv[1]);
    until = now_ms() + atoll(argv[2]);
    if (ptrace(PTRACE_SEIZE, tid, NULL, NULL) < 0 ||
        ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) < 0 ||
        waitpid(tid, &st, __WALL) != tid) {
        perror("freeze: ptrace");
        return 2;
    }
    printf("frozen\n");
    fflush(stdout);
    while (now_ms() < until) {
        pid_t r = waitpid(tid, &st, __WALL | WNOHANG);
        if (r == tid && (WIFEXITED(st) || WIFSIGNALED(st))) {
            printf("gone\n");
            return 0;
        }
        usleep(10000);
    }
    ptrace(PTRACE_DETACH, tid, NULL, NULL);
    printf("thawed\n");
    return 0;
}
