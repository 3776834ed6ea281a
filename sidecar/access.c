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
    room_random_id(k->token, TOKEN_LEN);
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

struct knock *lobby_find_token(const struct lobby *l, const char *token)
{
    for (struct knock *k = l->head; k != NULL; k = k->next)
        if (room_token_eq(k->token, token))
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

/* ---- marks: bans and return tickets ------------------------------- */

struct mark {
    struct htab_entry link;
    int64_t until;
    int64_t value;
    char key[160]; /* "room key" */
};

struct marks {
    struct htab t;
    size_t max;
};

static struct mark *mark_of(struct htab_entry *e)
{
    return e != NULL ? HTAB_ITEM(e, struct mark, link) : NULL;
}

struct marks *marks_new(size_t max)
{
    struct marks *t = malloc(sizeof *t);

    if (t != NULL && htab_init(&t->t, 64) < 0) {
        free(t);
        return NULL;
    }
    if (t != NULL)
        t->max = max;
    return t;
}

void marks_free(struct marks *t)
{
    if (t == NULL)
        return;
    marks_sweep(t, INT64_MAX);
    htab_fini(&t->t);
    free(t);
}

/* The table's key of (room, key), or -1 when it does not fit. */
static int mark_key(char *out, size_t n, const char *room, const char *key)
{
    int w = snprintf(out, n, "%s %s", room, key);
    return w < 0 || (size_t)w >= n ? -1 : 0;
}

int marks_add(struct marks *t, const char *room, const char *key, int64_t value,
              int64_t now, int64_t until)
{
    char k[sizeof((struct mark *)0)->key];
    struct mark *x;

    if (mark_key(k, sizeof k, room, key) < 0)
        return -1;
    if ((x = mark_of(htab_find(&t->t, k))) != NULL) {
        if (until > x->until)
            x->until = until;
        x->value = value;
        return 0;
    }
    if (t->t.n >= t->max)
        marks_sweep(t, now);
    if (t->t.n >= t->max || (x = calloc(1, sizeof *x)) == NULL)
        return -1;
    memcpy(x->key, k, sizeof k);
    x->until = until;
    x->value = value;
    htab_add(&t->t, &x->link, x->key); /* the table keeps x; sweeps free it */
    return 0; // NOLINT(clang-analyzer-unix.Malloc): held through x->link
}

/* The mark of (room, key) at now (removed when take), or false. */
static bool find(struct marks *t, const char *room, const char *key,
                 int64_t now, bool take, int64_t *value)
{
    char k[sizeof((struct mark *)0)->key];
    struct mark *x;

    if (mark_key(k, sizeof k, room, key) < 0 ||
        (x = mark_of(htab_find(&t->t, k))) == NULL)
        return false;
    bool live = x->until > now;
    if (live && value != NULL)
        *value = x->value;
    if (!live || take) {
        htab_del(&t->t, &x->link);
        free(x);
    }
    return live;
}

bool marks_hit(struct marks *t, const char *room, const char *key, int64_t now,
               int64_t *value)
{
    return find(t, room, key, now, false, value);
}

bool marks_take(struct marks *t, const char *room, const char *key, int64_t now,
                int64_t *value)
{
    return find(t, room, key, now, true, value);
}

void marks_sweep(struct marks *t, int64_t now)
{
    struct htab_entry *e, *next;

    for (e = htab_next(&t->t, NULL); e != NULL; e = next) {
        next = htab_next(&t->t, e);
        if (mark_of(e)->until <= now) {
            htab_del(&t->t, e);
            free(mark_of(e));
        }
    }
}

size_t marks_count(const struct marks *t)
{
    return t->t.n;
}
