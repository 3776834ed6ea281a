#include "htab.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static size_t hash_key(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a, 64 bits */

    for (; *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return (size_t)h;
}

int htab_init(struct htab *t, size_t nbuckets)
{
    t->n = 0;
    t->nbuckets = nbuckets;
    t->buckets = calloc(nbuckets, sizeof *t->buckets);
    return t->buckets != NULL ? 0 : -1;
}

void htab_fini(struct htab *t)
{
    free(t->buckets);
    t->buckets = NULL;
    t->n = t->nbuckets = 0;
}

struct htab_entry *htab_find(const struct htab *t, const char *key)
{
    size_t h = hash_key(key);
    struct htab_entry *e = t->buckets[h & (t->nbuckets - 1)];

    while (e != NULL && (e->hash != h || strcmp(e->key, key) != 0))
        e = e->next;
    return e;
}

/* Doubles the bucket array; without memory, keeps the old one. */
static void grow(struct htab *t)
{
    size_t n = t->nbuckets * 2;
    struct htab_entry **b = calloc(n, sizeof *b);

    if (b == NULL)
        return;
    for (size_t i = 0; i < t->nbuckets; i++) {
        struct htab_entry *e = t->buckets[i], *next;
        for (; e != NULL; e = next) {
            next = e->next;
            e->next = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
        }
    }
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = n;
}

void htab_add(struct htab *t, struct htab_entry *e, const char *key)
{
    struct htab_entry **head;

    if (t->n >= t->nbuckets)
        grow(t);
    e->key = key;
    e->hash = hash_key(key);
    head = &t->buckets[e->hash & (t->nbuckets - 1)];
    e->next = *head;
    *head = e;
    t->n++;
}

void htab_del(struct htab *t, struct htab_entry *e)
{
    struct htab_entry **pp = &t->buckets[e->hash & (t->nbuckets - 1)];

    while (*pp != e)
        pp = &(*pp)->next;
    *pp = e->next;
    t->n--;
}

struct htab_entry *htab_next(const struct htab *t, const struct htab_entry *e)
{
    size_t i = 0;

    if (e != NULL) {
        if (e->next != NULL)
            return e->next;
        i = (e->hash & (t->nbuckets - 1)) + 1;
    }
    for (; i < t->nbuckets; i++)
        if (t->buckets[i] != NULL)
            return t->buckets[i];
    return NULL;
}
