/* The two clocks of the programs, in milliseconds: one that only moves
 * forward (deadlines, rate limits, grace periods) and the wall clock (chat
 * timestamps, TURN credential expiry). */
#ifndef HUDDLE_CLOCK_H
#define HUDDLE_CLOCK_H

#include <stdint.h>

/* Milliseconds on the monotonic clock (an arbitrary start). */
int64_t clock_mono_ms(void);

/* Milliseconds since the Unix epoch. */
int64_t clock_wall_ms(void);

#endif
