#include "room.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

struct room_reg {
    struct room_cfg cfg;
    struct htab rooms;  /* struct room by id */
    struct room *watch; /* rooms with grace seats or no seats, newest first */
    size_t hist_bytes;  /* every room's hist_bytes added up */
    size_t nseats;      /* every room's npeers added up */
    size_t ngrace;      /* every room's ngrace added up */
};

void room_random_id(char *out, size_t n)
{
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char raw[24];
    size_t got = 0;

    assert(n <= 32);
    while (got < sizeof raw) {
        ssize_t r = getrandom(raw + got, sizeof raw - got, 0);
        if (r > 0)
            got += (size_t)r;
        /* getrandom on Linux >= 3.17 does not fail once seeded; EINTR
         * just retries. */
    }
    /* 6 bits per character: 16 chars = 96 bits, 22 chars = 132 bits. */
    for (size_t i = 0; i < n; i++) {
        size_t bit = i * 6;
        unsigned v =
            ((unsigned)raw[bit / 8] << 8 | raw[bit / 8 + 1]) >> (10 - bit % 8);
        out[i] = b64[v & 63];
    }
    out[n] = '\0';
}

struct room_reg *room_reg_new(const struct room_cfg *cfg)
{
    struct room_reg *reg = calloc(1, sizeof *reg);
    if (reg == NULL)
        return NULL;
    reg->cfg = *cfg;
    if (htab_init(&reg->rooms, 1024) < 0) {
        free(reg);
        return NULL;
    }
    return reg;
}

static void peer_free(struct peer *p)
{
    if (p == NULL)
        return;
    free(p->name);
    free(p);
}

/* Drops r's history entries (the registry's byte count is the caller's). */
static void history_clear(struct room *r)
{
    for (size_t i = 0; i < r->hist_len; i++)
        out_msg_unref(r->hist[(r->hist_start + i) % r->hist_cap]);
    r->hist_bytes = r->hist_len = r->hist_start = 0;
}

static void room_free(struct room *r)
{
    struct peer *p = r->peers;
    while (p != NULL) {
        struct peer *next = p->next;
        peer_free(p);
        p = next;
    }
    history_clear(r);
    free(r->hist);
    while (r->lobby.head != NULL)
        lobby_remove(&r->lobby, r->lobby.head);
    free(r);
}

void room_reg_free(struct room_reg *reg)
{
    if (reg == NULL)
        return;
    struct htab_entry *e, *next;
    for (e = htab_next(&reg->rooms, NULL); e != NULL; e = next) {
        next = htab_next(&reg->rooms, e);
        room_free(HTAB_ITEM(e, struct room, link));
    }
    htab_fini(&reg->rooms);
    free(reg);
}

size_t room_reg_count(const struct room_reg *reg)
{
    return reg->rooms.n;
}

void room_reg_seats(const struct room_reg *reg, size_t *seats, size_t *grace)
{
    *seats = reg->nseats;
    *grace = reg->ngrace;
}

struct room *room_find(struct room_reg *reg, const char *id)
{
    struct htab_entry *e = htab_find(&reg->rooms, id);
    return e != NULL ? HTAB_ITEM(e, struct room, link) : NULL;
}

static void watch(struct room_reg *reg, struct room *r, bool on)
{
    if (on == r->watched)
        return;
    if (on) {
        r->wprev = NULL;
        r->wnext = reg->watch;
        if (reg->watch != NULL)
            reg->watch->wprev = r;
        reg->watch = r;
    } else {
        if (r->wprev != NULL)
            r->wprev->wnext = r->wnext;
        else
            reg->watch = r->wnext;
        if (r->wnext != NULL)
            r->wnext->wprev = r->wprev;
        r->wprev = r->wnext = NULL;
    }
    r->watched = on;
}

static void update_watch(struct room_reg *reg, struct room *r)
{
    watch(reg, r, r->npeers == 0 || r->ngrace > 0);
}

static struct room *room_create(struct room_reg *reg, const char *id)
{
    struct room *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    size_t len = strlen(id);
    assert(len < sizeof r->id);
    memcpy(r->id, id, len + 1);
    htab_add(&reg->rooms, &r->link, r->id);
    return r;
}

static void room_remove(struct room_reg *reg, struct room *r)
{
    htab_del(&reg->rooms, &r->link);
    watch(reg, r, false);
    reg->hist_bytes -= r->hist_bytes;
    room_free(r);
}

struct peer *room_peer_find(struct room *r, const char *id)
{
    for (struct peer *p = r->peers; p != NULL; p = p->next)
        if (strcmp(p->id, id) == 0)
            return p;
    return NULL;
}

void room_forget(struct room_reg *reg, struct room *r)
{
    assert(r->npeers == 0);
    reg->hist_bytes -= r->hist_bytes;
    history_clear(r);
}

int room_peer_set_name(struct peer *p, const char *name)
{
    char *n = strdup(name);
    if (n == NULL)
        return -1;
    free(p->name);
    p->name = n;
    return 0;
}

bool room_token_eq(const char *a, const char *b)
{
    unsigned char d = 0;
    if (strlen(b) != TOKEN_LEN)
        return false;
    for (size_t i = 0; i < TOKEN_LEN; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

/* p, with no connection, starts its grace period. */
static void start_grace(struct room_reg *reg, struct peer *p, int64_t now)
{
    p->grace_until = now + reg->cfg.grace_ms;
    p->room->ngrace++;
    reg->ngrace++;
    update_watch(reg, p->room);
}

/* The seat whose token, or previous token, is token; *current tells which. */
static struct peer *find_token(struct room *r, const char *token, bool *current)
{
    for (struct peer *p = r->peers; p != NULL; p = p->next) {
        *current = room_token_eq(p->token, token);
        if (*current ||
            (p->prev_token[0] != '\0' && room_token_eq(p->prev_token, token)))
            return p;
    }
    return NULL;
}

struct peer *room_token_seat(struct room *r, const char *token)
{
    bool current;
    return find_token(r, token, &current);
}

/* Copies id (n chars) into out, or mints one when id is NULL. */
static void id_or_random(char *out, const char *id, size_t n)
{
    if (id != NULL)
        snprintf(out, n + 1, "%s", id);
    else
        room_random_id(out, n);
}

/* used_current: the resume named the seat's current token, which then
 * becomes the previous one; a resume with the previous token (its welcome
 * was lost) keeps that one good. */
static enum room_join_result resume_seat(struct room_reg *reg, struct room *r,
                                         struct peer *p, void *conn,
                                         bool used_current,
                                         const struct room_seat *s,
                                         struct peer **out, void **old_conn)
{
    *out = p;
    if (s->attempt > 0 && s->attempt <= p->attempt)
        return ROOM_STALE;
    if (s->attempt > 0)
        p->attempt = s->attempt;
    *old_conn = p->conn;
    if (p->conn == NULL) {
        r->ngrace--;
        reg->ngrace--;
        update_watch(reg, r);
    }
    p->conn = conn;
    if (used_current)
        memcpy(p->prev_token, p->token, sizeof p->prev_token);
    id_or_random(p->token, s->token, TOKEN_LEN);
    return ROOM_RESUMED;
}

enum room_join_result room_join(struct room_reg *reg, const char *id,
                                void *conn, const struct room_seat *s,
                                int64_t now, struct peer **out, void **old_conn)
{
    struct room *r = room_find(reg, id);
    struct peer *p;
    bool current;

    *out = NULL;
    *old_conn = NULL;
    if (r != NULL && s->resume != NULL &&
        (p = find_token(r, s->resume, &current)) != NULL)
        return resume_seat(reg, r, p, conn, current, s, out, old_conn);
    if (r != NULL && r->npeers >= (size_t)reg->cfg.max_peers)
        return ROOM_FULL;
    p = calloc(1, sizeof *p);
    if (p == NULL || (p->name = strdup(s->name)) == NULL)
        goto nomem;
    if (r == NULL && (r = room_create(reg, id)) == NULL)
        goto nomem;
    id_or_random(p->id, s->id, PEER_ID_LEN);
    id_or_random(p->token, s->token, TOKEN_LEN);
    p->audio = s->audio;
    p->video = s->video;
    p->conn = conn;
    p->room = r;
    struct peer **tail = &r->peers;
    while (*tail != NULL)
        tail = &(*tail)->next;
    *tail = p;
    r->npeers++;
    reg->nseats++;
    if (conn == NULL)
        start_grace(reg, p, now);
    update_watch(reg, r);
    *out = p;
    return ROOM_JOINED;
nomem:
    peer_free(p);
    return ROOM_NOMEM;
}

void room_leave(struct room_reg *reg, struct peer *p, int64_t now)
{
    struct room *r = p->room;
    struct peer **pp = &r->peers;

    while (*pp != p)
        pp = &(*pp)->next;
    *pp = p->next;
    r->npeers--;
    reg->nseats--;
    if (p->conn == NULL) {
        r->ngrace--;
        reg->ngrace--;
    }
    peer_free(p);
    if (r->npeers == 0) { /* who may enter belongs to the meeting */
        assert(r->lobby.n == 0);
        r->empty_since = now;
        r->locked = false;
        memset(&r->pw, 0, sizeof r->pw);
    }
    update_watch(reg, r);
}

void room_grace(struct room_reg *reg, struct peer *p, int64_t now)
{
    assert(p->conn != NULL);
    p->conn = NULL;
    start_grace(reg, p, now);
}

static void expire_room(struct room_reg *reg, struct room *r, int64_t now,
                        void (*expired)(struct peer *p, void *ctx), void *ctx)
{
    struct peer *p = r->peers;
    while (p != NULL && r->ngrace > 0) {
        struct peer *next = p->next;
        if (p->conn == NULL && p->grace_until <= now) {
            expired(p, ctx); /* before the seat is freed */
            room_leave(reg, p, now);
        }
        p = next;
    }
}

void room_expire(struct room_reg *reg, int64_t now,
                 void (*expired)(struct peer *p, void *ctx), void *ctx)
{
    struct room *r = reg->watch;
    while (r != NULL) {
        struct room *next = r->wnext;
        if (r->ngrace > 0)
            expire_room(reg, r, now, expired, ctx);
        if (r->npeers == 0 && (r->hist_len == 0 ||
                               now - r->empty_since >= reg->cfg.history_ttl_ms))
            room_remove(reg, r);
        r = next;
    }
}

/* Frees rooms nobody is in (but keep), longest empty first, until need
 * more bytes of history fit the budget. Returns 0 when they fit, else -1. */
static int history_make_room(struct room_reg *reg, struct room *keep,
                             size_t need)
{
    size_t budget = (size_t)reg->cfg.history_max_bytes;
    struct room *r = reg->watch;

    if (reg->hist_bytes + need <= budget)
        return 0;
    while (r != NULL && r->wnext != NULL)
        r = r->wnext; /* the tail: on the watch list longest */
    while (r != NULL && reg->hist_bytes + need > budget) {
        struct room *prev = r->wprev;
        if (r != keep && r->npeers == 0 && r->hist_len > 0)
            room_remove(reg, r);
        r = prev;
    }
    return reg->hist_bytes + need <= budget ? 0 : -1;
}

void room_history_add(struct room_reg *reg, struct room *r, struct out_msg *m)
{
    size_t cap = (size_t)reg->cfg.history;
    size_t slot;

    if (cap == 0 || history_make_room(reg, r, m->len) < 0)
        return;
    if (r->hist == NULL) {
        r->hist = calloc(cap, sizeof *r->hist);
        if (r->hist == NULL)
            return; /* history is best effort */
        r->hist_cap = cap;
    }
    if (r->hist_len == cap) { /* full: the oldest makes way */
        slot = r->hist_start;
        r->hist_bytes -= r->hist[slot]->len;
        reg->hist_bytes -= r->hist[slot]->len;
        out_msg_unref(r->hist[slot]);
        r->hist_start = (r->hist_start + 1) % cap;
    } else {
        slot = (r->hist_start + r->hist_len) % cap;
        r->hist_len++;
    }
    r->hist[slot] = out_msg_ref(m);
    r->hist_bytes += m->len;
    reg->hist_bytes += m->len;
}

size_t room_history(const struct room *r, struct out_msg **out, size_t max)
{
    size_t n = r->hist_len < max ? r->hist_len : max;
    for (size_t i = 0; i < n; i++)
        out[i] = r->hist[(r->hist_start + (r->hist_len - n) + i) % r->hist_cap];
    return n;
}
