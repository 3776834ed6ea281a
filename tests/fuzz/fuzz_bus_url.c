/* libFuzzer harness: the bus' pure wire (sidecar/bus_wire.c), linked
 * alone: bus_url_parse (HUDDLE_REDIS_URL, redis:// and unix://, and through
 * it common/hostport.c) and bus_envelope_parse (every message other nodes
 * publish), also behind bus_relay_parse (a room message relayed to one
 * node's channel). Input:
 * first byte even picks the URL, odd the message. The scripts' answers
 * have their own harness, fuzz_bus_reply.c. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bus_wire.h"

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
        if (u.path[0] != '\0') { /* unix:// */
            assert(u.path[0] == '/' && strlen(u.path) <= BUS_PATH_MAX);
            assert(u.host[0] == '\0' && u.port == 0);
            assert(strcmp(u.where, u.path) == 0);
        } else {
            assert(u.port >= 1 && u.port <= 65535);
            assert(u.host[0] != '\0' && strlen(u.host) <= BUS_HOST_MAX);
            assert(strstr(u.where, u.host) != NULL);
        }
        assert(u.db >= 0 && u.db <= 65535);
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
    if (bus_envelope_parse(p, size, origin, &json, &len) == 0) {
        assert(json > p && json + len < p + size);
        assert(len > 0 && strlen(origin) <= BUS_ID_MAX);
        /* What parses writes back the same. */
        char *again = malloc(bus_envelope_size(origin, len));
        if (again != NULL) {
            size_t n = bus_envelope_write(again, origin, json, len);
            assert(n == size && memcmp(again, p, n) == 0);
            free(again);
        }
    }
    free(p);
}

/* As bus_conn.c's on_message reads a node channel's message: a relayed
 * room message first, then its envelope. */
static void fuzz_relay(const uint8_t *data, size_t size)
{
    char room[ROOMID_MAX + 1];
    const char *env;
    size_t len;
    char *p = malloc(size ? size : 1);

    if (p == NULL)
        return;
    memcpy(p, data, size);
    if (bus_relay_parse(p, size, room, &env, &len) == 0) {
        assert(env > p && env + len == p + size && env[-1] == ' ');
        assert(bus_room_ok(room) &&
               strlen(room) ==
                   (size_t)(env - 1 - p) - (sizeof BUS_ROOM_CH - 1));
        fuzz_envelope((const uint8_t *)env, len);
    }
    free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] % 2 == 0)
        fuzz_url(data + 1, size - 1);
    else {
        fuzz_envelope(data + 1, size - 1);
        fuzz_relay(data + 1, size - 1);
    }
    return 0;
}
