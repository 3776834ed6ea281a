#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

void log_write(enum log_level level, const char *fmt, ...)
{
    char line[2048];
    struct timespec ts;
    struct tm tm;
    va_list ap;
    int n;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = snprintf(
        line, sizeof line,
        "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s %s: ", tm.tm_year + 1900,
        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
        ts.tv_nsec / 1000000, log_names[level], log_component);
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    /* One write per line so lines from threads do not interleave. */
    fprintf(stderr, "%s\n", line);
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
