/* One line per event to stderr: "2026-11-24T10:00:00.123Z info  fcgi: msg".
 * Levels are checked before the arguments are formatted, so a debug line
 * costs a comparison when debug is off. HUDDLE_LOG_LEVEL picks the level
 * (error, warn, info, debug; default info); log_init() reads it. */
#ifndef HUDDLE_LOG_H
#define HUDDLE_LOG_H

#include <stddef.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

extern enum log_level log_threshold;

/* Sets the component name printed on each line and reads HUDDLE_LOG_LEVEL.
 * Returns 0, or -1 (after printing why) when the level name is unknown. */
int log_init(const char *component);

/* Writes one line. Lines that differ only in their digits are limited to
 * 5 a second; the ones held back are counted and the count is appended,
 * as "(N similar lines suppressed)", to the next similar line written. */
void log_write(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define LOG_AT(level, ...)                                                     \
    do {                                                                       \
        if ((level) <= log_threshold)                                          \
            log_write((level), __VA_ARGS__);                                   \
    } while (0)

#define log_error(...) LOG_AT(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) LOG_AT(LOG_WARN, __VA_ARGS__)
#define log_info(...) LOG_AT(LOG_INFO, __VA_ARGS__)
#define log_debug(...) LOG_AT(LOG_DEBUG, __VA_ARGS__)

/* Writes one line at once with write(2): no stdio lock, no repeat limit.
 * For a thread that must not wait for another one that may be stuck
 * holding stderr (sidecar/loopguard.c). */
void log_now(enum log_level level, const char *msg);

/* Writes at most max bytes of s into out (size outsz) with anything outside
 * printable ASCII, and quotes and backslashes, escaped as \xNN; appends "..."
 * when s was cut. For logging untrusted input. Returns out. */
char *log_escape(char *out, size_t outsz, const char *s, size_t len,
                 size_t max);

#endif
