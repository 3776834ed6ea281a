#include "hostport.h"

#include <string.h>

#define NAME_CHARS                                                             \
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_"
#define V6_CHARS "0123456789abcdefABCDEF:."

int hostport_uint(const char *s, size_t n, long max, bool zero, int *out)
{
    long v = 0;

    if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v > max || (v == 0 && !zero))
        return -1;
    *out = (int)v;
    return 0;
}

/* Checks the n bytes of a host and copies them to out without brackets.
 * Returns 0 or -1. */
static int host_copy(const char *s, size_t n, int flags, struct hostport *out)
{
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
        s++;
        n -= 2;
        if (n == 0 || strspn(s, V6_CHARS) < n)
            return -1;
        out->v6 = true;
    } else if ((flags & HOSTPORT_ANY) && (n == 0 || (n == 1 && *s == '*'))) {
        n = 0;
    } else if (n == 0 || strspn(s, NAME_CHARS) < n) {
        return -1; /* also an unbracketed v6 address: its colons */
    }
    if (n > HOSTPORT_HOST_MAX)
        return -1;
    memcpy(out->host, s, n);
    out->host[n] = '\0';
    return 0;
}

int hostport_parse(const char *s, size_t n, int flags, struct hostport *out)
{
    const char *colon;

    memset(out, 0, sizeof *out);
    if (s == NULL || memchr(s, '\0', n) != NULL)
        return -1;
    colon = memrchr(s, ':', n);
    if (colon == NULL || host_copy(s, (size_t)(colon - s), flags, out) < 0 ||
        hostport_uint(colon + 1, n - (size_t)(colon - s) - 1, 65535, false,
                      &out->port) < 0) {
        memset(out, 0, sizeof *out);
        return -1;
    }
    return 0;
}
