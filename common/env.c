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
    char line[1536];
    size_t o = 0;

    line[0] = '\0';
    for (size_t i = 0; i < n && o < sizeof line; i++) {
        int w = snprintf(line + o, sizeof line - o, "%s%s=%ld", i ? " " : "",
                         tab[i].name, *tab[i].out);
        if (w < 0)
            break;
        o += (size_t)w;
    }
    log_info("config %s", line);
}

const char *env_str(const char *name, const char *def)
{
    const char *s = getenv(name);
    return (s == NULL || *s == '\0') ? def : s;
}
