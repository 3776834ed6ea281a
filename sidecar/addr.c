#include "addr.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ADDR_BUCKETS 1024

struct addr_table {
    struct addr_entry *slot[ADDR_BUCKETS];
    size_t n;
};

static bool in_list(const char *s, const char *list)
{
    size_t len = strlen(s);
    for (const char *p = list; p != NULL && *p;) {
        p += strspn(p, ", ");
        size_t n = strcspn(p, ", ");
        if (n > 0 && n == len && strncasecmp(p, s, n) == 0)
            return true;
        p += n;
    }
    return false;
}

bool addr_trusted(const char *peer, const char *trusted)
{
    return strcmp(peer, "127.0.0.1") == 0 || strcmp(peer, "::1") == 0 ||
           strcasecmp(peer, "::ffff:127.0.0.1") == 0 || in_list(peer, trusted);
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

static unsigned hash(const char *s)
{
    unsigned h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h % ADDR_BUCKETS;
}

struct addr_table *addr_table_new(void)
{
    return calloc(1, sizeof(struct addr_table));
}

void addr_table_free(struct addr_table *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < ADDR_BUCKETS; i++) {
        struct addr_entry *e = t->slot[i];
        while (e != NULL) {
            struct addr_entry *next = e->next;
            free(e);
            e = next;
        }
    }
    free(t);
}

struct addr_entry *addr_get(struct addr_table *t, const char *key,
                            long join_burst, int64_t now_ms)
{
    unsigned h = hash(key);
    for (struct addr_entry *e = t->slot[h]; e != NULL; e = e->next)
        if (strcmp(e->key, key) == 0)
            return e;
    struct addr_entry *e = calloc(1, sizeof *e);
    if (e == NULL)
        return NULL;
    strncpy(e->key, key, ADDR_MAX - 1);
    bucket_init(&e->join, join_burst, now_ms);
    e->next = t->slot[h];
    t->slot[h] = e;
    t->n++;
    return e;
}

void addr_release(struct addr_table *t, struct addr_entry *e)
{
    if (e == NULL || e->conns > 0 || e->upgrades > 0)
        return;
    for (struct addr_entry **pp = &t->slot[hash(e->key)]; *pp != NULL;
         pp = &(*pp)->next) {
        if (*pp == e) {
            *pp = e->next;
            free(e);
            t->n--;
            return;
        }
    }
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
    return t->n;
}
