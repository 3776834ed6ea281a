/* The loop guard: a thread that ends the sidecar when its event loop stops
 * turning (a bug that never returns, a call that blocks), so that its
 * supervisor (make run's scripts/run.sh, Docker's restart policy) starts
 * it again. A stuck sidecar still accepts connections in the kernel and
 * answers none of them, and nginx keeps sending upgrades to it: its pages
 * would wait on it forever. Once it is gone, its pages resume on another
 * sidecar and connects to it are refused, which nginx passes on to the
 * next (docs/config.md, HUDDLE_HANG_ABORT_MS). */
#ifndef HUDDLE_LOOPGUARD_H
#define HUDDLE_LOOPGUARD_H

#include <stdint.h>

/* Starts the guard: when no loopguard_beat() came for limit_ms (at least
 * 1000), it says so and calls abort(). A process stopped as a whole
 * (SIGSTOP, a frozen container or machine) is not taken for stuck: the
 * guard, stopped with it, sees it slept too long and counts afresh.
 * Returns 0, or -1 when the thread could not start. */
int loopguard_start(long limit_ms);

/* Called by the loop at least every second, with clock_mono_ms(): it
 * turns. */
void loopguard_beat(int64_t now);

#endif
