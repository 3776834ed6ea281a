#include "ratelimit.h"

void bucket_init(struct bucket *b, long burst, int64_t now_ms)
{
    b->tokens = (double)burst;
    b->last_ms = now_ms;
}

/* Refills count tokens per window_ms, up to count. */
static void refill_window(struct bucket *b, long count, long window_ms,
                          int64_t now_ms)
{
    if (now_ms > b->last_ms) {
        b->tokens += (double)(now_ms - b->last_ms) * (double)count /
                     (double)(window_ms > 0 ? window_ms : 1);
        if (b->tokens > (double)count)
            b->tokens = (double)count;
        b->last_ms = now_ms;
    }
}

bool bucket_take_window(struct bucket *b, long count, long window_ms,
                        int64_t now_ms)
{
    refill_window(b, count, window_ms, now_ms);
    if (b->tokens < 1.0)
        return false;
    b->tokens -= 1.0;
    return true;
}

bool bucket_ready_window(struct bucket *b, long count, long window_ms,
                         int64_t now_ms)
{
    refill_window(b, count, window_ms, now_ms);
    return b->tokens >= 1.0;
}

bool bucket_take(struct bucket *b, long rate, long burst, int64_t now_ms)
{
    if (now_ms > b->last_ms) {
        b->tokens += (double)(now_ms - b->last_ms) * (double)rate / 1000.0;
        if (b->tokens > (double)burst)
            b->tokens = (double)burst;
        b->last_ms = now_ms;
    }
    if (b->tokens < 1.0)
        return false;
    b->tokens -= 1.0;
    return true;
}
