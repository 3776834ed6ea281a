/* Configuration from HUDDLE_* environment variables, declared as a table:
 *
 *   static long max_peers;
 *   static const struct env_int ints[] = {
 *       {"HUDDLE_MAX_PEERS", 8, 1, 64, &max_peers, "peers per room"},
 *   };
 *   if (env_load_ints(ints, N) < 0) exit(2);   // message already printed
 *
 * Integers are parsed strictly (decimal, no junk, within [min, max]); a bad
 * value stops start-up with one line that names the variable. */
#ifndef HUDDLE_ENV_H
#define HUDDLE_ENV_H

#include <stddef.h>

struct env_int {
    const char *name;
    long def;
    long min;
    long max;
    long *out;
    const char *help;
};

/* Parses s as a decimal integer in [min, max]. Returns 0 and sets *out, or
 * -1 when s is empty, has junk, or is out of range. */
int env_parse_long(const char *s, long min, long max, long *out);

/* Sets every *out from the environment or its default. Returns 0, or -1
 * after printing "<component>: NAME=value: why" for the first bad one. */
int env_load_ints(const char *component, const struct env_int *tab, size_t n);

/* Logs "NAME=value" for each entry at info level, in "config ..." lines
 * of at most about 512 bytes, each setting whole. */
void env_log_ints(const struct env_int *tab, size_t n);

/* The variable's value, or def when it is unset or empty. */
const char *env_str(const char *name, const char *def);

#endif
