#include "loopguard.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "clock.h"
#include "log.h"

#define PERIOD_MS 500
/* The guard slept this much longer than it asked: everything was stopped. */
#define OVERSLEPT_MS 2000

static _Atomic int64_t last_beat; /* clock_mono_ms() of the latest beat */
static long limit;

void loopguard_beat(int64_t now)
{
    atomic_store_explicit(&last_beat, now, memory_order_relaxed);
}

static void *guard(void *arg)
{
    const struct timespec period = {0, PERIOD_MS * 1000000L};
    int64_t woke = clock_mono_ms();

    (void)arg;
    for (;;) {
        nanosleep(&period, NULL);
        int64_t now = clock_mono_ms();
        if (now - woke > PERIOD_MS + OVERSLEPT_MS)
            loopguard_beat(now); /* the whole process was stopped: not stuck */
        woke = now;
        int64_t quiet =
            now - atomic_load_explicit(&last_beat, memory_order_relaxed);
        if (quiet > limit) {
            char msg[160];
            snprintf(msg, sizeof msg,
                     "the event loop has not turned for %lld ms "
                     "(HUDDLE_HANG_ABORT_MS=%ld): aborting, to be restarted",
                     (long long)quiet, limit);
            log_now(LOG_ERROR, msg);
            abort();
        }
    }
    return NULL;
}

int loopguard_start(long limit_ms)
{
    pthread_t t;
    pthread_attr_t attr;
    int rc;

    limit = limit_ms;
    loopguard_beat(clock_mono_ms());
    if (pthread_attr_init(&attr) != 0)
        return -1;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    rc = pthread_create(&t, &attr, guard, NULL);
    pthread_attr_destroy(&attr);
    return rc == 0 ? 0 : -1;
}
