/* The iceServers list of welcome: STUN and TURN URLs from the environment
 * and, with a shared secret, TURN credentials minted per peer as coturn's
 * use-auth-secret expects (DESIGN.md section 6). No I/O. */
#ifndef HUDDLE_ICE_H
#define HUDDLE_ICE_H

#include <stddef.h>
#include <stdint.h>

struct ice {
    char *stun_json; /* JSON array of URL strings, or NULL */
    char *turn_json; /* JSON array of URL strings, or NULL */
    char *secret;    /* NULL: no TURN credentials */
    long ttl_s;
};

/* Fills ice from comma-separated URL lists (either may be NULL or empty)
 * and the secret (NULL or empty: none). Returns 0, or -1 when out of
 * memory or a URL holds a quote, backslash or control character. */
int ice_init(struct ice *ice, const char *stun_urls, const char *turn_urls,
             const char *secret, long ttl_s);
void ice_clear(struct ice *ice);

/* Writes base64(HMAC-SHA1(secret, username)) into out (>= 29 bytes).
 * Returns 0 or -1. */
int ice_turn_credential(const char *secret, const char *username, char *out,
                        size_t outsz);

/* Returns the RTCIceServer array for peer_id at time now_s (seconds since
 * the epoch), malloc'd, or NULL when out of memory. */
char *ice_servers_json(const struct ice *ice, const char *peer_id,
                       int64_t now_s);

#endif
