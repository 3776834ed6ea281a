/* libFuzzer harness: the client address of a websocket request (addr.h):
 * X-Forwarded-For as a trusted proxy hands it on (addr_client), the socket
 * peer against HUDDLE_TRUSTED_PROXIES (addr_trusted, addr_list_valid), and
 * an Origin's host (addr_host_local). Input: first byte modulo 3 picks the
 * target; where two strings are needed a NUL byte separates them. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* X-Forwarded-For from a trusted proxy: the client is its last entry when
 * that looks like an address, else the proxy itself. */
static void fuzz_xff(const char *xff)
{
    char out[ADDR_MAX];

    addr_client("127.0.0.1", xff, NULL, out);
    assert(strlen(out) < ADDR_MAX && out[0] != '\0');
    if (strcmp(out, "127.0.0.1") != 0) {
        assert(strstr(xff, out) != NULL);
        assert(strspn(out, "0123456789abcdefABCDEF.:") == strlen(out));
    }
}

/* Any peer: an untrusted one is its own client address, whatever it
 * sends; trust by the list only adds to loopback's. */
static void fuzz_peer(const char *peer, const char *second)
{
    static const char trusted[] = "10.0.0.0/8, 192.0.2.7 fd00::/8";
    char out[ADDR_MAX];

    addr_client(peer, second, trusted, out);
    assert(strlen(out) < ADDR_MAX);
    if (!addr_trusted(peer, trusted))
        assert(strncmp(out, peer, ADDR_MAX - 1) == 0);
    if (addr_trusted(peer, NULL))
        assert(addr_trusted(peer, second));
    (void)addr_list_valid(second);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *p;
    const char *second;

    if (size == 0)
        return 0;
    p = malloc(size + 1); /* data after the selector, two NULs added */
    if (p == NULL)
        return 0;
    memcpy(p, data + 1, size - 1);
    p[size - 1] = '\0';
    p[size] = '\0';
    second = p + strlen(p) + 1; /* "" when there was no NUL */
    switch (data[0] % 3) {
    case 0:
        fuzz_xff(p);
        break;
    case 1:
        fuzz_peer(p, second);
        break;
    default:
        (void)addr_host_local(p);
        break;
    }
    free(p);
    return 0;
}
