#include "hostport.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#define NAME_CHARS                                                             \
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_"
#define V6_MAX 45    /* ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255 */
#define DNS_MAX 253  /* bytes of a DNS name */
#define LABEL_MAX 63 /* bytes of one of its labels */

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

/* Whether c is one of the characters of set (never the NUL). */
static bool in_set(char c, const char *set)
{
    return c != '\0' && strchr(set, c) != NULL;
}

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_alnum(char c)
{
    return is_alpha(c) || (c >= '0' && c <= '9');
}

/* Writes the n bytes at s, when they are an IPv6 address, to out (at
 * least INET6_ADDRSTRLEN bytes) in its canonical form. Returns whether
 * they are one. */
static bool v6_canonical(const char *s, size_t n, char *out)
{
    char text[V6_MAX + 1];
    struct in6_addr a;

    if (n > V6_MAX)
        return false;
    memcpy(text, s, n);
    text[n] = '\0';
    return inet_pton(AF_INET6, text, &a) == 1 &&
           inet_ntop(AF_INET6, &a, out, INET6_ADDRSTRLEN) != NULL;
}

/* Whether the n bytes at s are a DNS name (HOSTPORT_DNS in hostport.h). */
static bool dns_ok(const char *s, size_t n)
{
    size_t label = 0;

    if (n == 0 || n > DNS_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.') {
            if (label == 0 || s[i - 1] == '-')
                return false;
            label = 0;
        } else if (is_alnum(s[i]) || (s[i] == '-' && label > 0)) {
            if (++label > LABEL_MAX)
                return false;
        } else {
            return false;
        }
    }
    return label > 0 && s[n - 1] != '-';
}

/* Whether the n bytes at s are a host name or an IPv4 address. */
static bool name_ok(const char *s, size_t n, int flags)
{
    if (flags & HOSTPORT_DNS)
        return dns_ok(s, n);
    if (n == 0 || n > HOSTPORT_HOST_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!in_set(s[i], NAME_CHARS))
            return false;
    return true;
}

/* Reads the host at the start of the n bytes at s into out (without
 * brackets). Returns where the host ends, or NULL when it breaks a rule. */
static const char *host_read(const char *s, size_t n, int flags,
                             struct hostport *out)
{
    const char *host = s, *end = memchr(s, ':', n);
    size_t hn;

    if (n > 0 && s[0] == '[') {
        end = memchr(s, ']', n);
        if (end == NULL)
            return NULL;
        host = s + 1;
        hn = (size_t)(end - host);
        end++; /* past the ']' */
        out->v6 = true;
    } else if ((flags & HOSTPORT_NO_PORT) && end != NULL) {
        end = s + n; /* a bare IPv6 address */
        hn = n;
        out->v6 = true;
    } else {
        if (end == NULL)
            end = s + n;
        hn = (size_t)(end - s);
    }
    if (out->v6)
        return v6_canonical(host, hn, out->host) ? end : NULL;
    if ((flags & HOSTPORT_ANY) && (hn == 0 || (hn == 1 && *host == '*')))
        hn = 0; /* every address */
    else if (!name_ok(host, hn, flags))
        return NULL;
    memcpy(out->host, host, hn);
    out->host[hn] = '\0';
    return end;
}

int hostport_parse(const char *s, size_t n, int flags, struct hostport *out)
{
    const char *rest;

    memset(out, 0, sizeof *out);
    if (s == NULL || memchr(s, '\0', n) != NULL)
        goto bad;
    rest = host_read(s, n, flags, out);
    if (rest == NULL)
        goto bad;
    if (rest == s + n) {
        if (!(flags & (HOSTPORT_PORT_OPTIONAL | HOSTPORT_NO_PORT)))
            goto bad;
    } else if ((flags & HOSTPORT_NO_PORT) || *rest != ':' ||
               hostport_uint(rest + 1, (size_t)(s + n - rest - 1), 65535, false,
                             &out->port) < 0) {
        goto bad;
    }
    return 0;
bad:
    memset(out, 0, sizeof *out);
    return -1;
}

int hostport_origin(const char *s, size_t n, struct origin *out)
{
    size_t i = 0;

    memset(out, 0, sizeof *out);
    if (s == NULL)
        return -1;
    while (i < n && (is_alnum(s[i]) || in_set(s[i], "+-.")))
        i++;
    if (i == 0 || !is_alpha(s[0]) || i > HOSTPORT_SCHEME_MAX || n - i < 3 ||
        memcmp(s + i, "://", 3) != 0)
        return -1; /* no scheme: a bare host, "*", "null" */
    for (size_t k = 0; k < i; k++)
        out->scheme[k] = (char)(s[k] | (is_alpha(s[k]) ? 0x20 : 0));
    s += i + 3;
    n -= i + 3;
    if (n > 0 && s[n - 1] == '/')
        n--; /* as written in configuration; no path */
    if (hostport_parse(s, n, HOSTPORT_PORT_OPTIONAL, &out->hp) < 0) {
        memset(out, 0, sizeof *out);
        return -1;
    }
    return 0;
}

int hostport_url_host(const struct hostport *hp, char *out, size_t outsz)
{
    int len = hp->v6 ? snprintf(out, outsz, "[%s]", hp->host)
                     : snprintf(out, outsz, "%s", hp->host);
    return len >= 0 && (size_t)len < outsz ? 0 : -1;
}
