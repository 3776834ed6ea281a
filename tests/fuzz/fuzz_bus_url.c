/* libFuzzer harness: bus_url_parse (HUDDLE_REDIS_URL) and, through an
 * include of bus.c, envelope_parse, which reads every message other nodes
 * publish on Redis. Input: first byte picks the target. */
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] & 1)
        fuzz_envelope(data + 1, size - 1);
    else
        fuzz_url(data + 1, size - 1);
    return 0;
}
