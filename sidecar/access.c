#include "access.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "room.h"

/* PBKDF2 iterations. A room password lives only as long as its room and
 * is only ever tried online, through the rate limits of docs/access.md;
 * the hash keeps a dump of the sidecar's memory from showing it. Each try
 * runs on the event loop, so it must stay short: 1,000 iterations take
 * about 2.5 ms on a 2-core test machine (10,000 took 26 ms). */
#define PW_ITERATIONS 1000

static void random_bytes(unsigned char *out, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(out + got, n - got, 0);
        if (r > 0)
            got += (size_t)r; /* EINTR just retries */
    }
}

static int pw_hash(const unsigned char salt[16], const char *password,
                   unsigned char out[32])
{
    return PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, 16,
                             PW_ITERATIONS, EVP_sha256(), 32, out) == 1
               ? 0
               : -1;
}

int access_pw_set(struct access_pw *pw, const char *password)
{
    struct access_pw next = {0};

    if (password[0] != '\0') {
        random_bytes(next.salt, sizeof next.salt);
        if (pw_hash(next.salt, password, next.hash) < 0)
            return -1;
        next.set = true;
    }
    *pw = next;
    return 0;
}

bool access_pw_check(const struct access_pw *pw, const char *password)
{
    unsigned char h[32];

    if (!pw->set || pw_hash(pw->salt, password, h) < 0)
        return false;
    return CRYPTO_memcmp(h, pw->hash, sizeof h) == 0;
}

static void to_hex(const unsigned char *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", in[i]);
}

void access_pw_salt(char salt[33])
{
    unsigned char s[16];

    random_bytes(s, sizeof s);
    to_hex(s, sizeof s, salt);
}

int access_pw_hex(const char *salt, const char *password, char hash[65])
{
    unsigned char s[16], h[32];

    if (strlen(salt) != 32 || strspn(salt, "0123456789abcdef") != 32)
        return -1;
    for (size_t i = 0; i < sizeof s; i++)
        if (sscanf(salt + 2 * i, "%2hhx", &s[i]) != 1)
            return -1;
    if (pw_hash(s, password, h) < 0)
        return -1;
    to_hex(h, sizeof h, hash);
    return 0;
}

struct knock *lobby_add(struct lobby *l, struct room *room, const char *name,
                        bool audio, bool video, void *conn, int64_t since)
{
    struct knock *k = calloc(1, sizeof *k), **tail = &l->head;

    if (k == NULL || (k->name = strdup(name)) == NULL) {
        free(k);
        return NULL;
    }
    room_random_id(k->id, ACCESS_KNOCK_ID_LEN);
    k->room = room;
    k->audio = audio;
    k->video = video;
    k->conn = conn;
    k->since = since;
    while (*tail != NULL)
        tail = &(*tail)->next;
    *tail = k;
    l->n++;
    return k;
}

struct knock *lobby_find(const struct lobby *l, const char *id)
{
    for (struct knock *k = l->head; k != NULL; k = k->next)
        if (strcmp(k->id, id) == 0)
            return k;
    return NULL;
}

void lobby_remove(struct lobby *l, struct knock *k)
{
    struct knock **pp = &l->head;

    while (*pp != k)
        pp = &(*pp)->next;
    *pp = k->next;
    l->n--;
    free(k->name);
    free(k);
}

/* ---- bans ---------------------------------------------------------- */

struct ban {
    struct htab_entry link;
    int64_t until;
    char key[160]; /* "room addr" */
};

struct bans {
    struct htab t;
    size_t max;
};

static struct ban *ban_of(struct htab_entry *e)
{
    return e != NULL ? HTAB_ITEM(e, struct ban, link) : NULL;
}

struct bans *bans_new(size_t max)
{
    struct bans *b = malloc(sizeof *b);

    if (b != NULL && htab_init(&b->t, 64) < 0) {
        free(b);
        return NULL;
    }
    if (b != NULL)
        b->max = max;
    return b;
}

void bans_free(struct bans *b)
{
    if (b == NULL)
        return;
    bans_sweep(b, INT64_MAX);
    htab_fini(&b->t);
    free(b);
}

/* The key of (room, addr), or -1 when it does not fit. */
static int ban_key(char *out, size_t n, const char *room, const char *addr)
{
    int w = snprintf(out, n, "%s %s", room, addr);
    return w < 0 || (size_t)w >= n ? -1 : 0;
}

int bans_add(struct bans *b, const char *room, const char *addr, int64_t now,
             int64_t until)
{
    char key[sizeof((struct ban *)0)->key];
    struct ban *x;

    if (ban_key(key, sizeof key, room, addr) < 0)
        return -1;
    if ((x = ban_of(htab_find(&b->t, key))) != NULL) {
        if (until > x->until)
            x->until = until;
        return 0;
    }
    if (b->t.n >= b->max)
        bans_sweep(b, now);
    if (b->t.n >= b->max || (x = calloc(1, sizeof *x)) == NULL)
        return -1;
    memcpy(x->key, key, sizeof key);
    x->until = until;
    htab_add(&b->t, &x->link, x->key); /* the table keeps x; sweeps free it */
    return 0; // NOLINT(clang-analyzer-unix.Malloc): held through x->link
}

bool bans_hit(struct bans *b, const char *room, const char *addr, int64_t now)
{
    char key[sizeof((struct ban *)0)->key];
    struct ban *x;

    if (ban_key(key, sizeof key, room, addr) < 0 ||
        (x = ban_of(htab_find(&b->t, key))) == NULL)
        return false;
    if (x->until > now)
        return true;
    htab_del(&b->t, &x->link);
    free(x);
    return false;
}

void bans_sweep(struct bans *b, int64_t now)
{
    struct htab_entry *e, *next;

    for (e = htab_next(&b->t, NULL); e != NULL; e = next) {
        next = htab_next(&b->t, e);
        if (ban_of(e)->until <= now) {
            htab_del(&b->t, e);
            free(ban_of(e));
        }
    }
}

size_t bans_count(const struct bans *b)
{
    return b->t.n;
}
