/* libFuzzer harness: bus_url_parse (HUDDLE_REDIS_URL) and, through an
 * include of bus.c, the readers of what comes back from Redis:
 * envelope_parse (every message other nodes publish) and req_room_reply
 * (the Lua scripts' answers, fed as RESP through hiredis' own reader).
 * Input: first byte modulo 3 picks the target. */
#include "../../sidecar/bus.c"

#include <assert.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_url(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    struct bus_url u;

    if (s == NULL)
        return;
    memcpy(s, data, size);
    s[size] = '\0';
    if (bus_url_parse(s, &u) == 0) {
        assert(u.port >= 1 && u.port <= 65535);
        assert(u.db >= 0 && u.db <= 65535);
        assert(u.host[0] != '\0' && strlen(u.host) <= BUS_HOST_MAX);
        assert(!u.has_password || u.password[0] != '\0');
    }
    free(s);
}

static void fuzz_envelope(const uint8_t *data, size_t size)
{
    char origin[BUS_ID_MAX + 1];
    const char *json;
    size_t len;
    char *p = malloc(size ? size : 1); /* exact size: overreads show */

    if (p == NULL)
        return;
    memcpy(p, data, size);
    if (envelope_parse(p, size, origin, &json, &len) == 0) {
        assert(json > p && json + len < p + size);
        assert(len > 0 && strlen(origin) <= BUS_ID_MAX);
    }
    free(p);
}

/* Reads everything a bus_room callback may read. */
static void room_seen(void *arg, const struct bus_room *r)
{
    size_t sum = 0;

    for (size_t i = 0; i < r->n_members; i++)
        sum += strlen(r->members[i].peer) + strlen(r->members[i].node) +
               strlen(r->members[i].json) + r->members[i].json_len;
    for (size_t i = 0; i < r->n_chat; i++)
        sum += strlen(r->chat[i].s) + r->chat[i].len;
    if (r->status == BUS_OK && r->peer != NULL)
        sum += strlen(r->peer) + strlen(r->old_node) + strlen(r->peer_json);
    *(size_t *)arg += sum;
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

static void fuzz_reply(const uint8_t *data, size_t size)
{
    redisReader *rd = redisReaderCreate();
    void *reply = NULL;
    size_t sum = 0;
    struct bus_req q = {.kind = REQ_ROOM, .room_cb = room_seen, .arg = &sum};

    if (rd == NULL)
        return;
    if (huge_array(data, size)) {
        redisReaderFree(rd);
        return;
    }
    if (redisReaderFeed(rd, (const char *)data, size) == REDIS_OK &&
        redisReaderGetReply(rd, &reply) == REDIS_OK && reply != NULL &&
        ((redisReply *)reply)->type != REDIS_REPLY_ERROR)
        req_room_reply(&q, reply);
    freeReplyObject(reply);
    redisReaderFree(rd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    log_threshold = LOG_ERROR;
    switch (data[0] % 3) {
    case 0:
        fuzz_url(data + 1, size - 1);
        break;
    case 1:
        fuzz_envelope(data + 1, size - 1);
        break;
    default:
        fuzz_reply(data + 1, size - 1);
        break;
    }
    return 0;
}
