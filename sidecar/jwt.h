/* jwt: the signed join tokens an operator's application hands out
 * (docs/tokens.md): a JSON Web Token (RFC 7519) in JWS compact form,
 * header.payload.signature in base64url without padding, that names the
 * room, the person's name and role, and an expiry.
 *
 * The keys are configured once at start: a shared secret (HS256) and/or a
 * PEM public key (RS256 for RSA, ES256 for EC P-256). A token is accepted
 * only when its header's alg is the algorithm of a configured key; alg
 * "none", any other alg, a crit header or a typ other than "JWT" are
 * refused, so a token signed for one key type is never checked with
 * another (an HS256 token "signed" with the RSA public key as the secret
 * is refused before any MAC is computed).
 *
 * Pure: no I/O but reading the PEM file in jwt_keys_new; no clock (the
 * caller gives the time). The keys are read-only after jwt_keys_new, so
 * jwt_verify may run on any thread. */
#ifndef HUDDLE_JWT_H
#define HUDDLE_JWT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JWT_TOKEN_MAX 4096    /* bytes of a token; longer is refused */
#define JWT_SECRET_MIN 32     /* bytes of an HS256 secret */
#define JWT_LEEWAY_S 30       /* clock skew allowed on exp and nbf */
#define JWT_RSA_MIN_BITS 2048 /* smallest RSA key accepted */

struct jwt_keys; /* the configured keys */

/* Returns the keys for secret (HS256; NULL or "": none) and the PEM public
 * key at pem_path (NULL or "": none), to free with jwt_keys_free. Returns
 * NULL in two cases, told apart by err (errlen > 0): both absent, err ""
 * (tokens are off, rooms stay open); or a bad key (a secret under
 * JWT_SECRET_MIN bytes, a file that cannot be read or holds no PEM public
 * key, a key neither RSA of JWT_RSA_MIN_BITS bits or more nor EC P-256,
 * out of memory), with a one-line reason in err. */
struct jwt_keys *jwt_keys_new(const char *secret, const char *pem_path,
                              char *err, size_t errlen);

/* Frees k; NULL is a no-op. */
void jwt_keys_free(struct jwt_keys *k);

/* The algorithms of the keys in k, as "HS256", "RS256", "ES256" or
 * "HS256+RS256" or "HS256+ES256", for the configuration line logged at
 * start. Static; k non-NULL. */
const char *jwt_keys_algs(const struct jwt_keys *k);

/* What a valid token says: strings NUL-terminated. */
struct jwt_claims {
    char room[65]; /* a room id, or "*" for any room */
    char name[65]; /* passed msg_name_valid */
    bool host;     /* role "host"; false for "guest" */
    int64_t exp;   /* expiry, seconds since the epoch (rounded down) */
    char sub[65];  /* passed msg_name_valid; "" when the token has none */
};

/* Every outcome of jwt_verify, in the order it checks them. */
enum jwt_result {
    JWT_OK,
    JWT_MISSING,       /* no token (NULL or "") */
    JWT_NOMEM,         /* out of memory: not the token's fault */
    JWT_MALFORMED,     /* too long, not 3 segments, bad base64url, bad header */
    JWT_BAD_ALG,       /* alg none, unknown, or without a configured key */
    JWT_BAD_SIGNATURE, /* the signature does not match */
    JWT_BAD_CLAIMS,    /* payload not an object; a claim missing or invalid */
    JWT_EXPIRED,       /* exp + leeway is past */
    JWT_NOT_YET_VALID, /* nbf - leeway is still ahead */
    JWT_WRONG_ROOM,    /* room is neither the room asked for nor "*" */
};

/* Checks token (NUL-terminated, untrusted) against k (non-NULL) for a join
 * of room (a valid room id) at now_s (seconds since the epoch). Returns
 * JWT_OK and fills out, or another result (see the enum) and leaves out
 * zeroed. The signature is checked before the payload is parsed; a claim
 * read twice in the payload (a duplicate key) is refused, as is a
 * duplicate alg or typ in the header. */
enum jwt_result jwt_verify(const struct jwt_keys *k, const char *token,
                           const char *room, int64_t now_s,
                           struct jwt_claims *out);

/* Returns a short reason for r, for the error message sent to the client
 * ("the token has expired"). Static. */
const char *jwt_result_text(enum jwt_result r);

/* Returns r's name in the protocol, for the `reason` of a bad-token error
 * ("expired"; docs/protocol.md): a page words it in its own language.
 * Static. */
const char *jwt_result_code(enum jwt_result r);

#endif
