#include "jwt.h"

#include <assert.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg_text.h"
#include "roomid.h"

/* A segment decodes to 3 bytes per 4 characters, up to 2 for a last
 * partial group, and a NUL. */
#define JWT_DECODED_MAX (JWT_TOKEN_MAX / 4 * 3 + 3)

enum jwt_alg { JWT_HS256, JWT_RS256, JWT_ES256 };

struct jwt_keys {
    unsigned char *secret; /* NULL: no HS256 */
    size_t secret_len;
    EVP_PKEY *pkey;        /* NULL: no RS256 or ES256 */
    enum jwt_alg pkey_alg; /* JWT_RS256 or JWT_ES256, with pkey */
};

/* The token cut at its dots, each segment decoded and NUL-terminated. */
struct jwt_parts {
    size_t signed_len; /* bytes of "header.payload", what is signed */
    unsigned char header[JWT_DECODED_MAX];
    unsigned char payload[JWT_DECODED_MAX];
    unsigned char sig[JWT_DECODED_MAX];
    size_t header_len, payload_len, sig_len;
};

/* ---- base64url (RFC 4648 section 5, no padding) ---- */

static int b64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1; /* '=', '+', '/', whitespace, anything else */
}

/* Decodes the n characters at s into out (>= n / 4 * 3 + 3 bytes) and
 * NUL-terminates it. Returns the decoded length, or -1 for a byte outside
 * the alphabet, a length of 4k + 1, or unused low bits that are not zero
 * (so each value has one encoding and a token cannot be altered in its
 * last character without changing what it says). */
static long b64url_decode(const char *s, size_t n, unsigned char *out)
{
    unsigned acc = 0, bits = 0;
    size_t o = 0;

    if (n % 4 == 1)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int v = b64url_value((unsigned char)s[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0)
        return -1;
    out[o] = '\0';
    return (long)o;
}

/* Cuts token (len bytes) into its three segments and decodes them into p.
 * Returns 0, or -1 for any other number of segments or bad base64url. */
static int jwt_split(const char *token, size_t len, struct jwt_parts *p)
{
    const char *d1 = memchr(token, '.', len);
    const char *d2 =
        d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token)) : NULL;
    if (d2 == NULL || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)))
        return -1;
    const char *end = token + len;
    long h = b64url_decode(token, (size_t)(d1 - token), p->header);
    long y = b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), p->payload);
    long s = b64url_decode(d2 + 1, (size_t)(end - d2 - 1), p->sig);
    if (h <= 0 || y <= 0 || s < 0)
        return -1;
    p->header_len = (size_t)h;
    p->payload_len = (size_t)y;
    p->sig_len = (size_t)s;
    p->signed_len = (size_t)(d2 - token);
    return 0;
}

/* ---- JSON ---- */

/* Parses the len bytes at buf (NUL-terminated) as one JSON object and
 * nothing after it. A NUL byte or an escaped one (\u0000, where cJSON
 * would cut the string short) is refused. Returns the object (free with
 * cJSON_Delete), or NULL and sets *nomem when cJSON ran out of memory. */
static cJSON *jwt_parse_object(unsigned char *buf, size_t len, bool *nomem)
{
    char *s = (char *)buf;
    const char *end = NULL;

    *nomem = false;
    if (memchr(s, 0, len) != NULL || msg_escaped_nul(s, len, false))
        return NULL;
    unsigned long failed = msg_json_nomem();
    cJSON *j = cJSON_ParseWithLengthOpts(s, len, &end, 0);
    if (j == NULL) {
        *nomem = msg_json_nomem() != failed;
        return NULL;
    }
    while (end < s + len && strchr(" \t\r\n", *end) != NULL)
        end++;
    if (end != s + len || !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

/* Returns the member key of obj (case-sensitive), or NULL. cJSON keeps
 * duplicate keys and its getters return the first: *dup is set when key
 * appears more than once, and the caller refuses the object. */
static const cJSON *jwt_member(const cJSON *obj, const char *key, bool *dup)
{
    const cJSON *found = NULL;

    for (const cJSON *c = obj->child; c != NULL; c = c->next) {
        if (c->string == NULL || strcmp(c->string, key) != 0)
            continue;
        if (found != NULL)
            *dup = true;
        else
            found = c;
    }
    return found;
}

/* ---- signatures ---- */

/* Returns true when sig is the signature of the len bytes at in by k's
 * public key, with SHA-256 (RSA: PKCS #1 v1.5; EC: DER-encoded ECDSA). */
static bool jwt_digest_verify(const struct jwt_keys *k, const char *in,
                              size_t len, const unsigned char *sig,
                              size_t siglen)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok =
        ctx != NULL &&
        EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, k->pkey) == 1 &&
        EVP_DigestVerify(ctx, sig, siglen, (const unsigned char *)in, len) == 1;
    EVP_MD_CTX_free(ctx);
    ERR_clear_error(); /* a refused signature leaves errors queued */
    return ok;
}

static bool jwt_hs256_ok(const struct jwt_keys *k, const char *in, size_t len,
                         const unsigned char *sig, size_t siglen)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;

    if (siglen != 32 ||
        HMAC(EVP_sha256(), k->secret, (int)k->secret_len,
             (const unsigned char *)in, len, mac, &maclen) == NULL ||
        maclen != 32)
        return false;
    return CRYPTO_memcmp(mac, sig, 32) == 0;
}

static bool jwt_rs256_ok(const struct jwt_keys *k, const char *in, size_t len,
                         const unsigned char *sig, size_t siglen)
{
    /* RFC 7518 3.3: the signature is exactly as long as the modulus. */
    if (siglen != (size_t)EVP_PKEY_get_size(k->pkey))
        return false;
    return jwt_digest_verify(k, in, len, sig, siglen);
}

/* ES256's signature is r || s, 32 bytes each (RFC 7518 3.4); OpenSSL
 * verifies the DER form, so it is rebuilt as an ECDSA-Sig-Value. */
static bool jwt_es256_ok(const struct jwt_keys *k, const char *in, size_t len,
                         const unsigned char *sig, size_t siglen)
{
    unsigned char der[80]; /* at most 72 for P-256 */
    unsigned char *p = der;
    bool ok = false;

    if (siglen != 64)
        return false;
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);
    if (es == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
        BN_free(r);
        BN_free(s);
        goto done;
    }
    int n = i2d_ECDSA_SIG(es, NULL);
    if (n > 0 && (size_t)n <= sizeof der && i2d_ECDSA_SIG(es, &p) == n)
        ok = jwt_digest_verify(k, in, len, der, (size_t)n);
done:
    ECDSA_SIG_free(es); /* frees r and s once set0 took them */
    ERR_clear_error();
    return ok;
}

/* The algorithms a header may name, each with its check. */
static const struct jwt_alg_entry {
    const char *name;
    enum jwt_alg alg;
    bool (*verify)(const struct jwt_keys *k, const char *in, size_t len,
                   const unsigned char *sig, size_t siglen);
} jwt_algs[] = {
    {"HS256", JWT_HS256, jwt_hs256_ok},
    {"RS256", JWT_RS256, jwt_rs256_ok},
    {"ES256", JWT_ES256, jwt_es256_ok},
};

/* Returns the entry for name when k holds its key, else NULL ("none",
 * unknown names, and an algorithm whose key is not configured). */
static const struct jwt_alg_entry *jwt_alg_find(const struct jwt_keys *k,
                                                const char *name)
{
    for (size_t i = 0; i < sizeof jwt_algs / sizeof jwt_algs[0]; i++) {
        const struct jwt_alg_entry *a = &jwt_algs[i];
        if (strcmp(a->name, name) != 0)
            continue;
        if (a->alg == JWT_HS256)
            return k->secret != NULL ? a : NULL;
        return k->pkey != NULL && k->pkey_alg == a->alg ? a : NULL;
    }
    return NULL;
}

/* ---- the token ---- */

/* Reads the header: alg names a configured key; typ, if any, is "JWT";
 * no crit (no extension is understood), no duplicate alg or typ. */
static enum jwt_result jwt_header(const struct jwt_keys *k, struct jwt_parts *p,
                                  const struct jwt_alg_entry **alg)
{
    bool nomem, dup = false;
    cJSON *h = jwt_parse_object(p->header, p->header_len, &nomem);

    if (h == NULL)
        return nomem ? JWT_NOMEM : JWT_MALFORMED;
    enum jwt_result r = JWT_MALFORMED;
    const cJSON *a = jwt_member(h, "alg", &dup);
    const cJSON *typ = jwt_member(h, "typ", &dup);
    if (dup || !cJSON_IsString(a) || jwt_member(h, "crit", &dup) != NULL)
        goto done;
    if (typ != NULL &&
        (!cJSON_IsString(typ) || strcmp(typ->valuestring, "JWT") != 0))
        goto done;
    *alg = jwt_alg_find(k, a->valuestring);
    r = *alg != NULL ? JWT_OK : JWT_BAD_ALG;
done:
    cJSON_Delete(h);
    return r;
}

/* A NumericDate: a number (fractions allowed) within int64_t. */
static bool jwt_seconds(const cJSON *j, double *out)
{
    if (!cJSON_IsNumber(j) || !(j->valuedouble >= -9223372036854775808.0 &&
                                j->valuedouble < 9223372036854775808.0))
        return false;
    *out = j->valuedouble;
    return true;
}

/* Copies a string claim that passes valid into out (65 bytes). */
static bool jwt_copy(const cJSON *j, bool (*valid)(const char *), char *out)
{
    if (!cJSON_IsString(j) || !valid(j->valuestring) ||
        strlen(j->valuestring) > 64)
        return false;
    strcpy(out, j->valuestring);
    return true;
}

static bool jwt_room_valid(const char *s)
{
    return strcmp(s, "*") == 0 || roomid_valid(s, strlen(s));
}

static bool jwt_role(const cJSON *j, bool *host)
{
    if (!cJSON_IsString(j))
        return false;
    *host = strcmp(j->valuestring, "host") == 0;
    return *host || strcmp(j->valuestring, "guest") == 0;
}

/* Reads the claims of payload pl into out and checks them against room
 * and now_s. */
static enum jwt_result jwt_claims(const cJSON *pl, const char *room,
                                  int64_t now_s, struct jwt_claims *out)
{
    bool dup = false;
    const cJSON *jroom = jwt_member(pl, "room", &dup);
    const cJSON *name = jwt_member(pl, "name", &dup);
    const cJSON *role = jwt_member(pl, "role", &dup);
    const cJSON *exp = jwt_member(pl, "exp", &dup);
    const cJSON *nbf = jwt_member(pl, "nbf", &dup);
    const cJSON *sub = jwt_member(pl, "sub", &dup);
    double e = 0, nb = 0;

    if (dup || !jwt_copy(jroom, jwt_room_valid, out->room) ||
        !jwt_copy(name, msg_name_valid, out->name) ||
        !jwt_role(role, &out->host) || !jwt_seconds(exp, &e) ||
        (nbf != NULL && !jwt_seconds(nbf, &nb)) ||
        (sub != NULL && !jwt_copy(sub, msg_name_valid, out->sub)))
        return JWT_BAD_CLAIMS;
    /* RFC 7519: valid before exp and from nbf on; the leeway widens both. */
    if ((double)now_s - JWT_LEEWAY_S >= e)
        return JWT_EXPIRED;
    if (nbf != NULL && (double)now_s + JWT_LEEWAY_S < nb)
        return JWT_NOT_YET_VALID;
    if (strcmp(out->room, "*") != 0 && strcmp(out->room, room) != 0)
        return JWT_WRONG_ROOM;
    out->exp = (int64_t)e;
    if ((double)out->exp > e) /* round down, negative fractions too */
        out->exp--;
    return JWT_OK;
}

enum jwt_result jwt_verify(const struct jwt_keys *k, const char *token,
                           const char *room, int64_t now_s,
                           struct jwt_claims *out)
{
    struct jwt_parts p;
    const struct jwt_alg_entry *alg = NULL;
    bool nomem;

    assert(k != NULL && room != NULL && out != NULL);
    memset(out, 0, sizeof *out);
    if (token == NULL || *token == '\0')
        return JWT_MISSING;
    size_t len = strnlen(token, JWT_TOKEN_MAX + 1);
    if (len > JWT_TOKEN_MAX || jwt_split(token, len, &p) < 0)
        return JWT_MALFORMED;
    enum jwt_result r = jwt_header(k, &p, &alg);
    if (r != JWT_OK)
        return r;
    if (!alg->verify(k, token, p.signed_len, p.sig, p.sig_len))
        return JWT_BAD_SIGNATURE;
    cJSON *pl = jwt_parse_object(p.payload, p.payload_len, &nomem);
    if (pl == NULL)
        return nomem ? JWT_NOMEM : JWT_BAD_CLAIMS;
    r = jwt_claims(pl, room, now_s, out);
    cJSON_Delete(pl);
    if (r != JWT_OK)
        memset(out, 0, sizeof *out);
    return r;
}

/* ---- keys ---- */

static int jwt_set_secret(struct jwt_keys *k, const char *secret, char *err,
                          size_t errlen)
{
    size_t n = strlen(secret);

    if (n < JWT_SECRET_MIN || n > INT_MAX) {
        snprintf(err, errlen,
                 "the HS256 secret has %zu bytes; it needs at least %d", n,
                 JWT_SECRET_MIN);
        return -1;
    }
    k->secret = malloc(n);
    if (k->secret == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memcpy(k->secret, secret, n);
    k->secret_len = n;
    return 0;
}

/* True when the EC key pk is on P-256 (prime256v1, secp256r1). */
static bool jwt_is_p256(EVP_PKEY *pk)
{
    char group[64];
    size_t n = 0;

    return EVP_PKEY_get_group_name(pk, group, sizeof group, &n) == 1 &&
           OBJ_sn2nid(group) == NID_X9_62_prime256v1;
}

/* Reads the PEM public key at path into k: RSA for RS256, P-256 for
 * ES256. Returns 0, or -1 with the reason in err. */
static int jwt_load_pem(struct jwt_keys *k, const char *path, char *err,
                        size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    EVP_PKEY *pk = PEM_read_PUBKEY(f, NULL, NULL, NULL);
    fclose(f);
    ERR_clear_error();
    if (pk == NULL) {
        snprintf(err, errlen,
                 "%s holds no PEM public key (-----BEGIN PUBLIC KEY-----)",
                 path);
        return -1;
    }
    int id = EVP_PKEY_get_base_id(pk);
    if (id == EVP_PKEY_RSA && EVP_PKEY_get_bits(pk) >= JWT_RSA_MIN_BITS) {
        k->pkey_alg = JWT_RS256;
    } else if (id == EVP_PKEY_RSA) {
        snprintf(err, errlen, "%s: an RSA key of %d bits; at least %d needed",
                 path, EVP_PKEY_get_bits(pk), JWT_RSA_MIN_BITS);
        goto fail;
    } else if (id == EVP_PKEY_EC && jwt_is_p256(pk)) {
        k->pkey_alg = JWT_ES256;
    } else {
        snprintf(err, errlen, "%s: neither an RSA nor an EC P-256 key", path);
        goto fail;
    }
    k->pkey = pk;
    return 0;
fail:
    EVP_PKEY_free(pk);
    ERR_clear_error();
    return -1;
}

struct jwt_keys *jwt_keys_new(const char *secret, const char *pem_path,
                              char *err, size_t errlen)
{
    bool has_secret = secret != NULL && *secret != '\0';
    bool has_pem = pem_path != NULL && *pem_path != '\0';

    if (errlen > 0)
        err[0] = '\0';
    if (!has_secret && !has_pem)
        return NULL;
    struct jwt_keys *k = calloc(1, sizeof *k);
    if (k == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if ((has_secret && jwt_set_secret(k, secret, err, errlen) < 0) ||
        (has_pem && jwt_load_pem(k, pem_path, err, errlen) < 0)) {
        jwt_keys_free(k);
        return NULL;
    }
    return k;
}

void jwt_keys_free(struct jwt_keys *k)
{
    if (k == NULL)
        return;
    if (k->secret != NULL)
        OPENSSL_cleanse(k->secret, k->secret_len);
    free(k->secret);
    EVP_PKEY_free(k->pkey);
    free(k);
}

const char *jwt_keys_algs(const struct jwt_keys *k)
{
    if (k->pkey == NULL)
        return "HS256";
    if (k->secret == NULL)
        return k->pkey_alg == JWT_RS256 ? "RS256" : "ES256";
    return k->pkey_alg == JWT_RS256 ? "HS256+RS256" : "HS256+ES256";
}

/* Each result's words for people and its name in the protocol. JWT_OK's
 * and JWT_NOMEM's are never sent (a valid token is no error; out of memory
 * is answered `unavailable`): they are here so that every result has both. */
static const struct {
    const char *text, *code;
} results[] = {
    [JWT_OK] = {"the token is valid", "ok"},
    [JWT_MISSING] = {"this room needs a token", "missing"},
    [JWT_NOMEM] = {"out of memory", "unavailable"},
    [JWT_MALFORMED] = {"the token is malformed", "malformed"},
    [JWT_BAD_ALG] = {"the token's algorithm is not accepted", "algorithm"},
    [JWT_BAD_SIGNATURE] = {"the token's signature does not match", "signature"},
    [JWT_BAD_CLAIMS] = {"the token's claims are missing or invalid", "claims"},
    [JWT_EXPIRED] = {"the token has expired", "expired"},
    [JWT_NOT_YET_VALID] = {"the token is not valid yet", "not-yet-valid"},
    [JWT_WRONG_ROOM] = {"the token is for another room", "wrong-room"},
};

static bool known_result(enum jwt_result r)
{
    return (unsigned)r < sizeof results / sizeof results[0] &&
           results[r].text != NULL;
}

const char *jwt_result_text(enum jwt_result r)
{
    return known_result(r) ? results[r].text : "the token is refused";
}

const char *jwt_result_code(enum jwt_result r)
{
    return known_result(r) ? results[r].code : "refused";
}
