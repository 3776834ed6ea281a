/* (Not limits.h: that name would shadow the system header.)
 * Token buckets for per-connection rate limits. No I/O, no clock: the
 * caller passes the time. */
#ifndef HUDDLE_RATELIMIT_H
#define HUDDLE_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct bucket {
    double tokens;
    int64_t last_ms;
};

/* Starts the bucket full (burst tokens) at time now_ms. */
void bucket_init(struct bucket *b, long burst, int64_t now_ms);

/* Refills at rate tokens per second up to burst, then takes one token.
 * Returns true when a token was taken, false when the bucket was empty. */
bool bucket_take(struct bucket *b, long rate, long burst, int64_t now_ms);

/* Like bucket_take, refilled one token every interval_ms: for rates
 * under one a second. */
bool bucket_take_every(struct bucket *b, long interval_ms, long burst,
                       int64_t now_ms);

/* Like bucket_take, for a budget of count per window_ms (refilled evenly,
 * at most count tokens held): "count bad messages in any window". */
bool bucket_take_window(struct bucket *b, long count, long window_ms,
                        int64_t now_ms);

/* Refills as bucket_take_window and returns whether a token is there,
 * without taking it (a wrong password takes one afterwards). */
bool bucket_ready_window(struct bucket *b, long count, long window_ms,
                         int64_t now_ms);

#endif
