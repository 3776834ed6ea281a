/* The iceServers list of welcome: STUN and TURN URLs from the environment
 * and, with a shared secret, TURN credentials minted per peer as coturn's
 * use-auth-secret expects (docs/design.md, "Security"). With a secret and no
 * TURN URL list, the URLs are built from one host (HUDDLE_PUBLIC_HOST, or the
 * host of the websocket request) and the TURN/TURNS ports. No I/O. */
#ifndef HUDDLE_ICE_H
#define HUDDLE_ICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hostport.h"

/* bytes of a host as a URL names it (brackets of IPv6 included) */
#define ICE_HOST_MAX HOSTPORT_URL_HOST_MAX

struct ice {
    char *stun_json; /* JSON array of URL strings, or NULL */
    char *turn_json; /* JSON array of URL strings, or NULL */
    char *secret;    /* NULL: no TURN credentials */
    long ttl_s;
    /* Built URLs (ice_set_host_urls): with a secret and no turn_json. */
    bool host_urls;
    /* HUDDLE_PUBLIC_HOST as a URL names it (IPv6 in brackets), set with or
     * without built URLs; NULL: unset, built URLs take the request's host */
    char *public_host;
    long turn_port, turns_port;
};

/* Fills ice from comma-separated URL lists (either may be NULL or empty)
 * and the secret (NULL or empty: none). Returns 0, or -1 when out of
 * memory, a URL is not of its list's schemes (STUN: stun: or stuns:;
 * TURN: those and turn: or turns:) or holds a quote, backslash or control
 * character. */
int ice_init(struct ice *ice, const char *stun_urls, const char *turn_urls,
             const char *secret, long ttl_s);
void ice_clear(struct ice *ice);

/* Keeps public_host (NULL or empty: none), checked with ice_host_parse
 * without a port, as ice->public_host. With a secret and no TURN URL
 * list, welcome then offers turn:H:<turn_port>?transport=udp,
 * turn:H:<turn_port>?transport=tcp and turns:H:<turns_port>?transport=tcp
 * (not with turns_port 0: a TURN server without a certificate), and,
 * without STUN URLs, stun:H:<turn_port>, where H is public_host or, when
 * NULL, the host the request named. Returns 0, or -1 for a bad
 * public_host or no memory. */
int ice_set_host_urls(struct ice *ice, const char *public_host, long turn_port,
                      long turns_port);

/* True when ice_servers_json needs the request's host. */
bool ice_wants_request_host(const struct ice *ice);

/* Checks a host as in a Host header (with_port: a ":port" may follow it)
 * or in HUDDLE_PUBLIC_HOST (no port; an IPv6 address with or without
 * brackets), by common/hostport.h's rules with HOSTPORT_DNS, and writes it
 * as a URL names it (without port, IPv6 in brackets) into out (>=
 * ICE_HOST_MAX bytes). Returns 0, or -1 for anything else. */
int ice_host_parse(const char *s, bool with_port, char *out, size_t outsz);

/* Writes base64(HMAC-SHA1(secret, username)) into out (>= 29 bytes).
 * Returns 0 or -1. */
int ice_turn_credential(const char *secret, const char *username, char *out,
                        size_t outsz);

/* Returns the RTCIceServer array for peer_id at time now_s (seconds since
 * the epoch), malloc'd, or NULL when out of memory. req_host: the host of
 * the request, already checked by ice_host_parse (NULL when unknown: then
 * built URLs are left out unless public_host is set). */
char *ice_servers_json(const struct ice *ice, const char *peer_id,
                       int64_t now_s, const char *req_host);

#endif
