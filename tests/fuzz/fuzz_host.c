/* libFuzzer harness: the Host header of a websocket request on its way into
 * welcome's iceServers (ice_host_parse, then ice_servers_json building TURN
 * URLs on that host), HUDDLE_PUBLIC_HOST (a host without port, a bare IPv6
 * address allowed), the HUDDLE_STUN_URLS / HUDDLE_TURN_URLS lists
 * (ice_init), and an origin (hostport_origin: HUDDLE_ALLOWED_ORIGINS and
 * the Origin header). Whatever goes in, what comes out must be valid JSON,
 * and a host taken holds nothing a URL would read as more than a host.
 * Input: first byte modulo 4 picks the target; for the URL lists a NUL
 * byte separates the STUN list from the TURN list. */
#include <assert.h>
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hostport.h"
#include "ice.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Returns the iceServers JSON of ice for one peer, checked to parse as an
 * array; the caller frees it. */
static char *servers(const struct ice *ice, const char *req_host)
{
    char *json =
        ice_servers_json(ice, "AbCdEfGhIjKlMnOp", 1700000000, req_host);
    cJSON *j;

    if (json == NULL)
        return NULL; /* out of memory only */
    j = cJSON_Parse(json);
    assert(cJSON_IsArray(j));
    cJSON_Delete(j);
    return json;
}

/* A Host header (with_port) or HUDDLE_PUBLIC_HOST (without). */
static void fuzz_host(const char *s, bool with_port)
{
    char host[ICE_HOST_MAX];
    struct ice ice;
    char *json;

    if (ice_host_parse(s, with_port, host, sizeof host) < 0)
        return;
    assert(strlen(host) < sizeof host && host[0] != '\0');
    assert(strpbrk(host, "\"\\/?#@ ") == NULL);
    if (ice_init(&ice, NULL, NULL, "secret", 86400) < 0)
        return;
    if (with_port) {
        if (ice_set_host_urls(&ice, NULL, 3478, 5349) == 0) {
            json = servers(&ice, host);
            assert(json == NULL || strstr(json, host) != NULL);
            free(json);
        }
    } else if (ice_set_host_urls(&ice, s, 3478, 5349) == 0) {
        free(servers(&ice, NULL));
    }
    ice_clear(&ice);
}

/* The two URL lists, split at the first NUL (the rest is the TURN list). */
static void fuzz_lists(const char *p, size_t n)
{
    const char *stun = p;
    const char *turn = memchr(p, '\0', n) != NULL ? p + strlen(p) + 1 : NULL;
    struct ice ice;

    if (ice_init(&ice, stun, turn, "secret", 600) == 0)
        free(servers(&ice, "example.org"));
    ice_clear(&ice);
}

/* An origin of n bytes at s (NUL bytes included). */
static void fuzz_origin(const char *s, size_t n)
{
    char host[ICE_HOST_MAX];
    struct origin o;

    if (hostport_origin(s, n, &o) < 0)
        return;
    assert(o.scheme[0] >= 'a' && o.scheme[0] <= 'z');
    assert(strpbrk(o.scheme, "ABCDEFGHIJKLMNOPQRSTUVWXYZ:/") == NULL);
    assert(o.hp.host[0] != '\0' && o.hp.port >= 0 && o.hp.port <= 65535);
    assert(strpbrk(o.hp.host, o.hp.v6 ? "/@?#[] g" : ":/@?#[] ") == NULL);
    assert(hostport_url_host(&o.hp, host, sizeof host) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *p;

    if (size == 0)
        return 0;
    p = malloc(size + 1); /* data after the selector, NUL added */
    if (p == NULL)
        return 0;
    memcpy(p, data + 1, size - 1);
    p[size - 1] = '\0';
    p[size] = '\0';
    switch (data[0] % 4) {
    case 0:
        fuzz_host(p, true);
        break;
    case 1:
        fuzz_host(p, false);
        break;
    case 2:
        fuzz_lists(p, size - 1);
        break;
    default:
        fuzz_origin(p, size - 1);
        break;
    }
    free(p);
    return 0;
}
