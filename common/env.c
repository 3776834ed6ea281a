#include "env.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"

int env_parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    long v;

    /* strtol would also take leading blanks and a '+': strict means not. */
    if (s == NULL || !((*s >= '0' && *s <= '9') || *s == '-'))
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int env_load_ints(const char *component, const struct env_int *tab, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *s = getenv(tab[i].name);
        if (s == NULL || *s == '\0') {
            *tab[i].out = tab[i].def;
            continue;
        }
        if (env_parse_long(s, tab[i].min, tab[i].max, tab[i].out) < 0) {
            fprintf(stderr,
                    "%s: %s=%s: want a whole number from %ld to %ld "
                    "(%s)\n",
                    component, tab[i].name, s, tab[i].min, tab[i].max,
                    tab[i].help);
            return -1;
        }
    }
    return 0;
}

void env_log_ints(const struct env_int *tab, size_t n)
{
    /* One "config ..." line per 512 bytes or so, each whole settings only:
     * log lines are capped, and a setting cut off would be one not logged. */
    char line[640];
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        char one[128];
        int w = snprintf(one, sizeof one, "%s=%ld", tab[i].name, *tab[i].out);

        if (w < 0 || (size_t)w >= sizeof one)
            continue; /* names are short constants: cannot happen */
        if (o > 0 && o + 1 + (size_t)w > 512) {
            log_info("config %s", line);
            o = 0;
        }
        o += (size_t)snprintf(line + o, sizeof line - o, "%s%s", o ? " " : "",
                              one);
    }
    if (o > 0)
        log_info("config %s", line);
}

const char *env_str(const char *name, const char *def)
{
    const char *s = getenv(name);
    return (s == NULL || *s == '\0') ? def : s;
}
