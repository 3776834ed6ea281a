/* libFuzzer harness: bus_reply_room (sidecar/bus_reply.c), the reader of
 * the Lua scripts' answers, fed as RESP through hiredis' own reader. */
#include <assert.h>
#include <hiredis/hiredis.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bus_reply.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile size_t sink; /* keeps the reads of room_seen */

/* Reads everything a bus_room callback may read; returns a sum so the
 * reads are not optimised away. */
static size_t room_seen(const struct bus_room *r)
{
    size_t sum = 0;

    for (size_t i = 0; i < r->n_members; i++)
        sum += strlen(r->members[i].peer) + strlen(r->members[i].node) +
               strlen(r->members[i].json) + r->members[i].json_len;
    for (size_t i = 0; i < r->n_chat; i++)
        sum += strlen(r->chat[i].s) + r->chat[i].len;
    if (r->status == BUS_OK && r->peer != NULL)
        sum += strlen(r->peer) + strlen(r->old_node) + strlen(r->peer_json);
    if (r->lobby != NULL)
        sum += strlen(r->lobby) + r->lobby_len;
    if (r->salt != NULL)
        sum += strlen(r->salt);
    return sum;
}

/* hiredis 0.14 allocates as many elements as an array header announces
 * (it has no maxelements): a Redis-side size, not ours to fuzz. */
static bool huge_array(const uint8_t *data, size_t size)
{
    for (size_t i = 0; i < size; i++) {
        if (data[i] != '*')
            continue;
        size_t n = 0;
        while (i + 1 < size && data[i + 1] >= '0' && data[i + 1] <= '9') {
            if (++n > 4)
                return true;
            i++;
        }
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    redisReader *rd;
    void *reply = NULL, *mem = NULL;
    struct bus_room out;

    log_threshold = LOG_ERROR;
    if (huge_array(data, size) || (rd = redisReaderCreate()) == NULL)
        return 0;
    if (redisReaderFeed(rd, (const char *)data, size) == REDIS_OK &&
        redisReaderGetReply(rd, &reply) == REDIS_OK && reply != NULL &&
        ((redisReply *)reply)->type != REDIS_REPLY_ERROR) {
        bus_reply_room(reply, &out, &mem);
        assert(out.n_members == 0 || out.members != NULL);
        assert(out.n_chat == 0 || out.chat != NULL);
        sink += room_seen(&out);
        free(mem);
    }
    freeReplyObject(reply);
    redisReaderFree(rd);
    return 0;
}
