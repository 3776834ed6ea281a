#include "addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "list.h"

struct addr_table {
    struct htab keys; /* struct addr_entry by key */
};

/* An address, or a network of them: family, bytes, leading bits that count
 * (32 or 128 for one address). */
struct net {
    int family;
    unsigned char a[16];
    unsigned bits;
};

/* Parses "address" or "address/bits" (n bytes of s). An IPv4-mapped IPv6
 * address counts as the IPv4 one. Returns 0, or -1 when it is neither. */
static int net_parse(const char *s, size_t n, struct net *out)
{
    char buf[ADDR_MAX];
    char *slash, *end;
    unsigned max;

    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    slash = strchr(buf, '/');
    if (slash != NULL)
        *slash = '\0';
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, buf, out->a) == 1) {
        out->family = AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, buf, out->a) == 1) {
        out->family = AF_INET6;
        max = 128;
        if (IN6_IS_ADDR_V4MAPPED((struct in6_addr *)out->a)) {
            memmove(out->a, out->a + 12, 4);
            memset(out->a + 4, 0, 12);
            out->family = AF_INET;
            max = 32;
        }
    } else {
        return -1;
    }
    out->bits = max;
    if (slash != NULL) {
        unsigned long b;
        if (slash[1] < '0' || slash[1] > '9')
            return -1;
        b = strtoul(slash + 1, &end, 10);
        if (*end != '\0' || b > max)
            return -1;
        out->bits = (unsigned)b;
    }
    return 0;
}

/* Returns true when address a (all its bits) lies in network n. */
static bool net_contains(const struct net *n, const struct net *a)
{
    unsigned whole = n->bits / 8, rest = n->bits % 8;

    if (n->family != a->family || memcmp(n->a, a->a, whole) != 0)
        return false;
    if (rest == 0)
        return true;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (n->a[whole] & mask) == (a->a[whole] & mask);
}

/* Calls f on each entry of a list (common/list.h) until f returns true;
 * returns that, or false at the end. */
static bool list_any(const char *list, bool (*f)(const char *, size_t, void *),
                     void *arg)
{
    const char *e;
    size_t n;

    while ((e = list_next(&list, &n)) != NULL)
        if (f(e, n, arg))
            return true;
    return false;
}

static bool entry_bad(const char *s, size_t n, void *arg)
{
    struct net net;
    (void)arg;
    return net_parse(s, n, &net) < 0;
}

static bool entry_holds(const char *s, size_t n, void *arg)
{
    struct net net;
    return net_parse(s, n, &net) == 0 && net_contains(&net, arg);
}

bool addr_list_valid(const char *list)
{
    return !list_any(list, entry_bad, NULL);
}

bool addr_trusted(const char *peer, const char *trusted)
{
    static const unsigned char loopback4[4] = {127, 0, 0, 1};
    struct net p;

    if (net_parse(peer, strlen(peer), &p) < 0)
        return false;
    if (p.family == AF_INET ? memcmp(p.a, loopback4, 4) == 0
                            : IN6_IS_ADDR_LOOPBACK((struct in6_addr *)p.a))
        return true;
    return list_any(trusted, entry_holds, &p);
}

/* An address is hex digits, dots and colons (IPv4, IPv6). */
static bool looks_like_addr(const char *s, size_t n)
{
    if (n == 0 || n >= ADDR_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (strchr("0123456789abcdefABCDEF.:", s[i]) == NULL)
            return false;
    return true;
}

void addr_client(const char *peer, const char *xff, const char *trusted,
                 char out[ADDR_MAX])
{
    const char *use = peer;
    size_t n = strlen(peer);

    if (xff != NULL && addr_trusted(peer, trusted)) {
        const char *last = strrchr(xff, ',');
        last = last != NULL ? last + 1 : xff;
        last += strspn(last, " \t");
        size_t m = strcspn(last, " \t");
        if (looks_like_addr(last, m)) {
            use = last;
            n = m;
        }
    }
    if (n >= ADDR_MAX)
        n = ADDR_MAX - 1;
    memcpy(out, use, n);
    out[n] = '\0';
}

bool addr_host_local(const char *host)
{
    return strcasecmp(host, "localhost") == 0 || strcmp(host, "::1") == 0 ||
           (strncmp(host, "127.", 4) == 0 &&
            looks_like_addr(host, strlen(host)) && strchr(host, ':') == NULL);
}

static struct addr_entry *entry_of(struct htab_entry *e)
{
    return e != NULL ? HTAB_ITEM(e, struct addr_entry, link) : NULL;
}

struct addr_table *addr_table_new(void)
{
    struct addr_table *t = malloc(sizeof *t);

    if (t != NULL && htab_init(&t->keys, 256) < 0) {
        free(t);
        return NULL;
    }
    return t;
}

void addr_table_free(struct addr_table *t)
{
    struct htab_entry *e, *next;

    if (t == NULL)
        return;
    for (e = htab_next(&t->keys, NULL); e != NULL; e = next) {
        next = htab_next(&t->keys, e);
        free(entry_of(e));
    }
    htab_fini(&t->keys);
    free(t);
}

struct addr_entry *addr_get(struct addr_table *t, const char *key,
                            long join_burst, int64_t now_ms)
{
    struct addr_entry *e = entry_of(htab_find(&t->keys, key));

    if (e != NULL)
        return e;
    e = calloc(1, sizeof *e);
    if (e == NULL)
        return NULL;
    strncpy(e->key, key, ADDR_MAX - 1);
    bucket_init(&e->join, join_burst, now_ms);
    htab_add(&t->keys, &e->link, e->key);
    return e;
}

void addr_release(struct addr_table *t, struct addr_entry *e)
{
    if (e == NULL || e->conns > 0 || e->upgrades > 0)
        return;
    htab_del(&t->keys, &e->link);
    free(e);
}

struct addr_entry *addr_upgrade_begin(struct addr_table *t, const char *key,
                                      unsigned long cap, long join_burst,
                                      int64_t now_ms)
{
    struct addr_entry *e = addr_get(t, key, join_burst, now_ms);
    if (e == NULL)
        return NULL;
    if (e->upgrades >= cap) {
        addr_release(t, e); /* frees it when it was made just now */
        return NULL;
    }
    e->upgrades++;
    return e;
}

void addr_upgrade_end(struct addr_table *t, struct addr_entry *e)
{
    if (e == NULL || e->upgrades == 0)
        return;
    e->upgrades--;
    addr_release(t, e);
}

size_t addr_count(const struct addr_table *t)
{
    return t->keys.n;
}
