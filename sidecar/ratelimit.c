#include "ratelimit.h"

void bucket_init(struct bucket *b, long burst, int64_t now_ms)
{
    b->tokens = (double)burst;
    b->last_ms = now_ms;
}

/* Adds count tokens per window_ms since the last call, up to cap. */
static void refill(struct bucket *b, long count, long window_ms, long cap,
                   int64_t now_ms)
{
    if (now_ms > b->last_ms) {
        b->tokens += (double)(now_ms - b->last_ms) * (double)count /
                     (double)(window_ms > 0 ? window_ms : 1);
        if (b->tokens > (double)cap)
            b->tokens = (double)cap;
        b->last_ms = now_ms;
    }
}

/* Takes one token when there is one. */
static bool take_one(struct bucket *b)
{
    if (b->tokens < 1.0)
        return false;
    b->tokens -= 1.0;
    return true;
}

bool bucket_take_window(struct bucket *b, long count, long window_ms,
                        int64_t now_ms)
{
    refill(b, count, window_ms, count, now_ms);
    return take_one(b);
}

bool bucket_ready_window(struct bucket *b, long count, long window_ms,
                         int64_t now_ms)
{
    refill(b, count, window_ms, count, now_ms);
    return b->tokens >= 1.0;
}

bool bucket_take(struct bucket *b, long rate, long burst, int64_t now_ms)
{
    refill(b, rate, 1000, burst, now_ms);
    return take_one(b);
}

bool bucket_take_every(struct bucket *b, long interval_ms, long burst,
                       int64_t now_ms)
{
    refill(b, 1, interval_ms, burst, now_ms);
    return take_one(b);
}
