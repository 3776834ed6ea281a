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

static enum bus_status status_of(const redisReply *r)
{
    static const struct {
        const char *name;
        enum bus_status st;
    } tab[] = {{"ok", BUS_OK},
               {"exists", BUS_EXISTS},
               {"full", BUS_FULL},
               {"moved", BUS_MOVED},
               {"none", BUS_NONE}};

    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (bus_reply_is(r, tab[i].name))
            return tab[i].st;
    return BUS_ERR;
}

void bus_reply_room(const redisReply *r, struct bus_room *out, void **mem)
{
    *out = (struct bus_room){.status = BUS_ERR};
    *mem = NULL;
    if (r->type == REDIS_REPLY_ARRAY && r->elements >= 1)
        out->status = status_of(r->element[0]);
    if ((out->status == BUS_OK || out->status == BUS_EXISTS) &&
        (r->elements < 3 ||
         room_parse(r->element[1], r->element[2], out, mem) < 0))
        out->status = BUS_ERR;
    if (out->status == BUS_OK && r->elements == 6) { /* resume */
        for (int i = 3; i < 6; i++)
            if (r->element[i]->type != REDIS_REPLY_STRING)
                out->status = BUS_ERR;
        out->peer = r->element[3]->str;
        out->old_node = r->element[4]->str;
        out->peer_json = r->element[5]->str;
        out->peer_json_len = r->element[5]->len;
    }
    if (out->status == BUS_ERR)
        log_warn("bus: malformed script reply");
}

enum bus_status bus_reply_done(const redisReply *r)
{
    if (r->type != REDIS_REPLY_INTEGER)
        return BUS_ERR;
    return r->integer == 1 ? BUS_OK : BUS_NONE;
}
