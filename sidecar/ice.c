#include "ice.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostport.h"
#include "list.h"
#include "outmsg.h"

/* Whether the n bytes at p are a URL of scheme ("stun" or "turn") or its
 * TLS form ("stuns", "turns"), with something after the colon: browsers
 * refuse a whole configuration with another (every call would fail). */
static bool url_of(const char *p, size_t n, const char *scheme)
{
    size_t k = strlen(scheme);
    if (n <= k || strncmp(p, scheme, k) != 0)
        return false;
    if (p[k] == 's')
        k++;
    return n > k + 1 && p[k] == ':';
}

/* Turns "a, b,c" (common/list.h) into ["a","b","c"], each a stun: URL,
 * or with turn also a turn: URL (url_of; a TURN server's list may name
 * its STUN side too: the credentials are ignored there); NULL for an
 * empty list. Returns 0, or -1 for a bad URL or no memory. */
static int url_list(const char *list, bool turn, char **out)
{
    struct sb b = {0};
    bool any = false;

    *out = NULL;
    if (list == NULL)
        return 0;
    sb_puts(&b, "[");
    const char *p, *rest = list;
    size_t n;
    while ((p = list_next(&rest, &n)) != NULL) {
        if (!url_of(p, n, "stun") && !(turn && url_of(p, n, "turn"))) {
            free(b.p);
            return -1;
        }
        for (size_t i = 0; i < n; i++) {
            if (p[i] == '"' || p[i] == '\\' || (unsigned char)p[i] < 0x20) {
                free(b.p);
                return -1;
            }
        }
        sb_puts(&b, any ? ",\"" : "\"");
        sb_putn(&b, p, n);
        sb_puts(&b, "\"");
        any = true;
    }
    sb_puts(&b, "]");
    if (!any) {
        free(b.p);
        return 0;
    }
    *out = sb_take(&b);
    return *out != NULL ? 0 : -1;
}

int ice_init(struct ice *ice, const char *stun_urls, const char *turn_urls,
             const char *secret, long ttl_s)
{
    memset(ice, 0, sizeof *ice);
    ice->ttl_s = ttl_s;
    if (url_list(stun_urls, false, &ice->stun_json) < 0 ||
        url_list(turn_urls, true, &ice->turn_json) < 0)
        goto fail;
    if (secret != NULL && *secret != '\0' &&
        (ice->secret = strdup(secret)) == NULL)
        goto fail;
    return 0;
fail:
    ice_clear(ice);
    return -1;
}

void ice_clear(struct ice *ice)
{
    free(ice->stun_json);
    free(ice->turn_json);
    free(ice->secret);
    free(ice->public_host);
    memset(ice, 0, sizeof *ice);
}

int ice_turn_credential(const char *secret, const char *username, char *out,
                        size_t outsz)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;

    if (HMAC(EVP_sha1(), secret, (int)strlen(secret),
             (const unsigned char *)username, strlen(username), mac,
             &maclen) == NULL)
        return -1;
    if (outsz < 4 * ((maclen + 2) / 3) + 1)
        return -1;
    EVP_EncodeBlock((unsigned char *)out, mac, (int)maclen);
    return 0;
}

/* The TURN server object: urls (a JSON array) with a credential for
 * peer_id valid until now_s + ttl. Returns 0 or -1. */
static int put_turn(struct sb *b, const struct ice *ice, const char *urls,
                    const char *peer_id, int64_t now_s)
{
    char user[96], cred[64];

    snprintf(user, sizeof user, "%lld:%s", (long long)(now_s + ice->ttl_s),
             peer_id);
    if (ice_turn_credential(ice->secret, user, cred, sizeof cred) < 0)
        return -1;
    sb_puts(b, "{\"urls\":");
    sb_puts(b, urls);
    sb_puts(b, ",\"username\":");
    sb_json_str(b, user);
    sb_puts(b, ",\"credential\":");
    sb_json_str(b, cred);
    sb_puts(b, "}");
    return 0;
}

/* Appends "<scheme>:<host>:<port><tail>" as a JSON string. */
static void put_url(struct sb *b, const char *scheme, const char *host,
                    long port, const char *tail)
{
    char url[ICE_HOST_MAX + 48];
    snprintf(url, sizeof url, "%s:%s:%ld%s", scheme, host, port, tail);
    sb_json_str(b, url);
}

/* The TURN URLs built from host, as a JSON array (malloc'd) or NULL; no
 * turns: URL with turns_port 0 (a coturn without a certificate). */
static char *host_turn_urls(const struct ice *ice, const char *host)
{
    struct sb u = {0};
    sb_puts(&u, "[");
    put_url(&u, "turn", host, ice->turn_port, "?transport=udp");
    sb_puts(&u, ",");
    put_url(&u, "turn", host, ice->turn_port, "?transport=tcp");
    if (ice->turns_port != 0) {
        sb_puts(&u, ",");
        put_url(&u, "turns", host, ice->turns_port, "?transport=tcp");
    }
    sb_puts(&u, "]");
    return sb_take(&u);
}

char *ice_servers_json(const struct ice *ice, const char *peer_id,
                       int64_t now_s, const char *req_host)
{
    const char *host = ice->public_host ? ice->public_host : req_host;
    bool built = ice->host_urls && host != NULL;
    char *turn = NULL;
    struct sb b = {0};

    sb_puts(&b, "[");
    if (ice->stun_json != NULL) {
        sb_puts(&b, "{\"urls\":");
        sb_puts(&b, ice->stun_json);
        sb_puts(&b, "}");
    } else if (built) {
        sb_puts(&b, "{\"urls\":[");
        put_url(&b, "stun", host, ice->turn_port, "");
        sb_puts(&b, "]}");
    }
    /* Browsers refuse a turn: URL without credentials: without a secret
     * the TURN list is left out (main.c warns at start). */
    if (ice->secret != NULL && (ice->turn_json != NULL || built)) {
        const char *urls = ice->turn_json;
        if (urls == NULL && (urls = turn = host_turn_urls(ice, host)) == NULL)
            goto fail;
        if (b.len > 1)
            sb_puts(&b, ",");
        if (put_turn(&b, ice, urls, peer_id, now_s) < 0)
            goto fail;
    }
    sb_puts(&b, "]");
    free(turn);
    return sb_take(&b);
fail:
    free(turn);
    free(b.p);
    return NULL;
}

int ice_set_host_urls(struct ice *ice, const char *public_host, long turn_port,
                      long turns_port)
{
    char host[ICE_HOST_MAX];

    if (public_host != NULL && *public_host != '\0') {
        if (ice_host_parse(public_host, false, host, sizeof host) < 0)
            return -1;
        free(ice->public_host);
        ice->public_host = strdup(host);
        if (ice->public_host == NULL)
            return -1;
    }
    if (ice->secret == NULL || ice->turn_json != NULL)
        return 0;
    ice->host_urls = true;
    ice->turn_port = turn_port;
    ice->turns_port = turns_port;
    return 0;
}

bool ice_wants_request_host(const struct ice *ice)
{
    return ice->host_urls && ice->public_host == NULL;
}

/* ---- host parsing ------------------------------------------------------- */

int ice_host_parse(const char *s, bool with_port, char *out, size_t outsz)
{
    struct hostport hp;
    int flags =
        HOSTPORT_DNS | (with_port ? HOSTPORT_PORT_OPTIONAL : HOSTPORT_NO_PORT);

    if (s == NULL || hostport_parse(s, strlen(s), flags, &hp) < 0)
        return -1;
    return hostport_url_host(&hp, out, outsz);
}
