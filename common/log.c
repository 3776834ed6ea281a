#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum log_level log_threshold = LOG_INFO;
static const char *log_component = "huddle";

static const char *const log_names[] = {"error", "warn", "info", "debug"};

int log_init(const char *component)
{
    const char *want = getenv("HUDDLE_LOG_LEVEL");

    log_component = component;
    if (want == NULL || *want == '\0')
        return 0;
    for (int i = LOG_ERROR; i <= LOG_DEBUG; i++) {
        if (strcmp(want, log_names[i]) == 0) {
            log_threshold = (enum log_level)i;
            return 0;
        }
    }
    fprintf(stderr,
            "%s: HUDDLE_LOG_LEVEL=%s is not one of error, warn, "
            "info, debug\n",
            component, want);
    return -1;
}

/* Repeats: lines that differ only in their digits are "similar"; past
 * LOG_REPEAT_BURST of them within a second the rest are counted, not
 * written, and the count is written with the next one let through. A
 * busy failure (an accept loop at its fd limit, a flood of refusals)
 * then costs kilobytes of log, not gigabytes. */
#define LOG_REPEAT_BURST 5
#define LOG_REPEAT_SLOTS 32

static struct log_repeat {
    unsigned hash;
    time_t second;
    unsigned count;      /* written within second */
    unsigned suppressed; /* not written since the last one written */
} log_repeats[LOG_REPEAT_SLOTS];
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static unsigned log_shape(const char *s)
{
    unsigned h = 2166136261u;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* Returns how many similar lines were suppressed before this one (to be
 * reported with it), or -1 when this one is suppressed too. */
static long log_repeat_check(const char *msg, time_t now)
{
    unsigned h = log_shape(msg);
    struct log_repeat *r = &log_repeats[h % LOG_REPEAT_SLOTS];
    long before;

    if (r->hash != h) { /* a new shape takes the slot */
        r->hash = h;
        r->second = now;
        r->count = 0;
        r->suppressed = 0;
    }
    if (r->second != now) {
        r->second = now;
        r->count = 0;
    }
    if (r->count >= LOG_REPEAT_BURST) {
        r->suppressed++;
        return -1;
    }
    r->count++;
    before = (long)r->suppressed;
    r->suppressed = 0;
    return before;
}

/* Writes a line's "<time> <level> <component>: " into line (size at least
 * 64) and returns its length; *sec gets the time's second. */
static int log_prefix(char *line, size_t size, enum log_level level,
                      time_t *sec)
{
    struct timespec ts;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    *sec = ts.tv_sec;
    return snprintf(
        line, size,
        "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s %s: ", tm.tm_year + 1900,
        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
        ts.tv_nsec / 1000000, log_names[level], log_component);
}

void log_write(enum log_level level, const char *fmt, ...)
{
    char line[2048];
    time_t sec;
    va_list ap;
    int n = log_prefix(line, sizeof line, level, &sec);

    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&log_lock);
    long suppressed = log_repeat_check(line + n, sec);
    pthread_mutex_unlock(&log_lock);
    if (suppressed < 0)
        return;
    /* One write per line so lines from threads do not interleave. */
    if (suppressed > 0)
        fprintf(stderr, "%s (%ld similar lines suppressed)\n", line,
                suppressed);
    else
        fprintf(stderr, "%s\n", line);
}

void log_now(enum log_level level, const char *msg)
{
    char line[512];
    time_t sec;
    int n = log_prefix(line, sizeof line, level, &sec);

    n += snprintf(line + n, sizeof line - (size_t)n, "%s\n", msg);
    if (n > (int)sizeof line - 1)
        n = (int)sizeof line - 1;
    if (write(STDERR_FILENO, line, (size_t)n) < 0)
        return; /* nowhere left to say it */
}

char *log_escape(char *out, size_t outsz, const char *s, size_t len, size_t max)
{
    size_t o = 0;
    size_t i;

    if (outsz == 0)
        return out;
    for (i = 0; i < len && i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            if (o + 1 >= outsz)
                break;
            out[o++] = (char)c;
        } else {
            if (o + 4 >= outsz)
                break;
            snprintf(out + o, outsz - o, "\\x%02x", c);
            o += 4;
        }
    }
    if (i < len && o + 3 < outsz) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    return out;
}
