#include "bus_reply.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"

bool bus_reply_is(const redisReply *r, const char *s)
{
    return r->type == REDIS_REPLY_STRING && r->len == strlen(s) &&
           memcmp(r->str, s, r->len) == 0;
}

/* Fills members and chat of *out from the script's arrays. Returns 0, or
 * -1 for a malformed reply or no memory (*mem then NULL). */
static int room_parse(const redisReply *flat, const redisReply *chat,
                      struct bus_room *out, void **mem)
{
    size_t nm, nc;
    struct bus_member *m;
    struct bus_text *t;

    *mem = NULL;
    if (flat->type != REDIS_REPLY_ARRAY || chat->type != REDIS_REPLY_ARRAY ||
        flat->elements % 3 != 0)
        return -1;
    nm = flat->elements / 3;
    nc = chat->elements;
    for (size_t i = 0; i < flat->elements; i++)
        if (flat->element[i]->type != REDIS_REPLY_STRING)
            return -1;
    for (size_t i = 0; i < nc; i++)
        if (chat->element[i]->type != REDIS_REPLY_STRING)
            return -1;
    *mem = malloc(nm * sizeof *m + nc * sizeof *t + 1);
    if (*mem == NULL)
        return -1;
    m = *mem;
    t = (struct bus_text *)(m + nm);
    for (size_t i = 0; i < nm; i++) {
        m[i].peer = flat->element[3 * i]->str;
        m[i].node = flat->element[3 * i + 1]->str;
        m[i].json = flat->element[3 * i + 2]->str;
        m[i].json_len = flat->element[3 * i + 2]->len;
    }
    for (size_t i = 0; i < nc; i++) { /* LRANGE gives newest first */
        const redisReply *e = chat->element[nc - 1 - i];
        t[i].s = e->str;
        t[i].len = e->len;
    }
    out->members = m;
    out->n_members = nm;
    out->chat = t;
    out->n_chat = nc;
    return 0;
}

const char *bus_status_name(enum bus_status st)
{
    static const char *const names[] = {
        "ok",         "exists",         "full",       "moved",
        "none",       "stale",          "error",      "banned",
        "password",   "wrong-password", "pw-limited", "knock",
        "lobby-full", "denied",         "forbidden",  "last"};

    return (unsigned)st < sizeof names / sizeof names[0] ? names[st] : "?";
}

/* The status a script answered by its name (bus_status_name). */
static enum bus_status status_of(const redisReply *r)
{
    for (int st = BUS_OK; st <= BUS_LAST; st++)
        if (st != BUS_ERR && bus_reply_is(r, bus_status_name(st)))
            return (enum bus_status)st;
    return BUS_ERR;
}

/* Returns true when the n elements of r from the first are strings. */
static bool strings_from(const redisReply *r, size_t first, size_t n)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements < first + n)
        return false;
    for (size_t i = first; i < first + n; i++)
        if (r->element[i]->type != REDIS_REPLY_STRING)
            return false;
    return true;
}

/* Reads a seat's access array {role, locked, password, lobby} into out.
 * Returns 0, or -1 when it is not of that shape. */
static int access_parse(const redisReply *a, struct bus_room *out)
{
    if (!strings_from(a, 0, 4) || a->elements != 4)
        return -1;
    out->host = bus_reply_is(a->element[0], "host");
    out->locked = bus_reply_is(a->element[1], "1");
    out->password = bus_reply_is(a->element[2], "1");
    if (a->element[3]->len > 0) {
        out->lobby = a->element[3]->str;
        out->lobby_len = a->element[3]->len;
    }
    return 0;
}

void bus_reply_room(const redisReply *r, struct bus_room *out, void **mem)
{
    bool seat;

    *out = (struct bus_room){.status = BUS_ERR};
    *mem = NULL;
    if (r->type == REDIS_REPLY_ARRAY && r->elements >= 1)
        out->status = status_of(r->element[0]);
    seat = out->status == BUS_OK || out->status == BUS_EXISTS;
    if (seat && (r->elements < 3 ||
                 room_parse(r->element[1], r->element[2], out, mem) < 0))
        out->status = BUS_ERR;
    /* join and resume give the seat's access; the room script does not */
    if (seat && r->elements >= 4 && access_parse(r->element[3], out) < 0)
        out->status = BUS_ERR;
    if (out->status == BUS_OK && r->elements > 4) { /* resume */
        if (r->elements == 8 && strings_from(r, 4, 3) &&
            r->element[7]->type == REDIS_REPLY_INTEGER) {
            out->peer = r->element[4]->str;
            out->old_node = r->element[5]->str;
            out->peer_json = r->element[6]->str;
            out->peer_json_len = r->element[6]->len;
            out->moves = r->element[7]->integer;
        } else {
            out->status = BUS_ERR;
        }
    }
    if (out->status == BUS_KNOCK && r->elements > 1) { /* resume */
        if (r->elements == 3 && strings_from(r, 1, 1) &&
            r->element[2]->type == REDIS_REPLY_INTEGER) {
            out->peer = r->element[1]->str;
            out->since = r->element[2]->integer;
        } else {
            out->status = BUS_ERR;
        }
    }
    if (out->status == BUS_PASSWORD || out->status == BUS_DENIED ||
        out->status == BUS_STALE) {
        if (!strings_from(r, 1, 1))
            out->status = BUS_ERR;
        else if (out->status == BUS_PASSWORD)
            out->salt = r->element[1]->str;
        else if (out->status == BUS_DENIED)
            out->reason = r->element[1]->str;
        else
            out->peer = r->element[1]->str;
    }
    if (out->status == BUS_ERR) { /* nothing of it is to be read */
        log_warn("bus: malformed script reply");
        free(*mem);
        *mem = NULL;
        *out = (struct bus_room){.status = BUS_ERR};
    }
}

enum bus_status bus_reply_done(const redisReply *r)
{
    if (r->type == REDIS_REPLY_STRING) /* the host script */
        return status_of(r);
    if (r->type != REDIS_REPLY_INTEGER)
        return BUS_ERR;
    return r->integer == 1 ? BUS_OK : BUS_NONE;
}
