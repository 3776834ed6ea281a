/* base64url without padding, for tests that sign tokens as an application
 * would (tests/unit/test_sidecar_jwt.c, tests/fuzz/fuzz_jwt.c). The
 * sidecar itself only decodes (sidecar/jwt.c). */
#ifndef HUDDLE_TEST_B64URL_H
#define HUDDLE_TEST_B64URL_H

#include <stddef.h>

static const char b64url_abc[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Writes the n bytes at in, base64url without padding, NUL-terminated, at
 * out. Returns the characters written. */
static inline size_t b64url(const unsigned char *in, size_t n, char *out)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = b64url_abc[v >> 18];
        out[o++] = b64url_abc[(v >> 12) & 63];
        if (i + 1 < n)
            out[o++] = b64url_abc[(v >> 6) & 63];
        if (i + 2 < n)
            out[o++] = b64url_abc[v & 63];
    }
    out[o] = '\0';
    return o;
}

#endif
