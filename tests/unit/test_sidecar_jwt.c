/* The join tokens of jwt.c against real libcrypto: keys are generated here
 * (EVP_PKEY_Q_keygen), tokens signed here, and the public keys handed to
 * jwt_keys_new through PEM files as an operator would. */
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "b64url.h"
#include "check.h"
#include "jwt.h"

#define SECRET "0123456789abcdef0123456789abcdef" /* 32 bytes */
#define NOW 1700000000
#define HS_HEADER "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"

/* ---- signing, as an application would ---- */

/* Returns b64url(header) "." b64url(payload) in a static buffer. */
static const char *signing_input(const char *header, const char *payload)
{
    static char in[16384];
    b64url((const unsigned char *)header, strlen(header), in);
    strcat(in, ".");
    b64url((const unsigned char *)payload, strlen(payload), in + strlen(in));
    return in;
}

/* Returns in "." b64url(sig) in a static buffer. */
static const char *with_sig(const char *in, const unsigned char *sig,
                            size_t len)
{
    static char tok[16384];
    snprintf(tok, sizeof tok, "%s.", in);
    b64url(sig, len, tok + strlen(tok));
    return tok;
}

/* Signs in with pk (SHA-256); for EC, turns the DER signature into JWS'
 * r || s unless der is set. Returns the signature's length. */
static size_t pk_sign(EVP_PKEY *pk, const char *in, unsigned char *sig,
                      bool der)
{
    unsigned char buf[1024];
    size_t n = sizeof buf;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pk) != 1 ||
        EVP_DigestSign(ctx, buf, &n, (const unsigned char *)in, strlen(in)) !=
            1)
        n = 0;
    EVP_MD_CTX_free(ctx);
    if (EVP_PKEY_get_base_id(pk) != EVP_PKEY_EC || der) {
        memcpy(sig, buf, n);
        return n;
    }
    const unsigned char *p = buf;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)n);
    BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 32, 32);
    ECDSA_SIG_free(es);
    return 64;
}

/* Returns the token of header and payload: HS256 with secret (any bytes)
 * when secret is set, else signed by pk when set, else with an empty
 * signature. Static buffer. */
static const char *sign(const char *header, const char *payload,
                        const char *secret, EVP_PKEY *pk)
{
    unsigned char sig[1024];
    unsigned int n = 0;
    const char *in = signing_input(header, payload);

    if (secret != NULL)
        HMAC(EVP_sha256(), secret, (int)strlen(secret),
             (const unsigned char *)in, strlen(in), sig, &n);
    else if (pk != NULL)
        n = (unsigned)pk_sign(pk, in, sig, false);
    return with_sig(in, sig, n);
}

/* The claims every test starts from: room, name, role and exp. */
static const char *claims(const char *room, const char *name, const char *role,
                          long long exp)
{
    static char p[512];
    snprintf(p, sizeof p,
             "{\"room\":\"%s\",\"name\":\"%s\",\"role\":\"%s\",\"exp\":%lld,"
             "\"iat\":%d}",
             room, name, role, exp, NOW);
    return p;
}

static const char *good_claims(void)
{
    return claims("team", "Ann", "guest", NOW + 600);
}

/* ---- keys ---- */

static EVP_PKEY *rsa_key(void)
{
    return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
}

static EVP_PKEY *ec_key(const char *curve)
{
    return EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
}

/* Writes text to a new temporary file; path gets its name. */
static void temp_file(const char *text, char path[64])
{
    strcpy(path, "/tmp/huddle-jwt-test-XXXXXX");
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (f != NULL) {
        fputs(text, f);
        fclose(f);
    }
}

/* Returns pk's public key as PEM text in a static buffer, or NULL. */
static const char *public_pem(EVP_PKEY *pk)
{
    static char pem[4096];
    BIO *b = BIO_new(BIO_s_mem());
    char *data;
    long n = PEM_write_bio_PUBKEY(b, pk) == 1 ? BIO_get_mem_data(b, &data) : 0;
    if (n > 0 && (size_t)n < sizeof pem) {
        memcpy(pem, data, (size_t)n);
        pem[n] = '\0';
    }
    BIO_free(b);
    return n > 0 && (size_t)n < sizeof pem ? pem : NULL;
}

/* Returns jwt_keys_new(secret, a PEM file of pk's public key or NULL). */
static struct jwt_keys *keys(const char *secret, EVP_PKEY *pk, char *err,
                             size_t errlen)
{
    char path[64];
    const char *pem = pk != NULL ? public_pem(pk) : NULL;

    if (pem == NULL)
        return jwt_keys_new(secret, NULL, err, errlen);
    temp_file(pem, path);
    struct jwt_keys *k = jwt_keys_new(secret, path, err, errlen);
    unlink(path);
    return k;
}

static struct jwt_keys *hs_keys(void)
{
    char err[256];
    return keys(SECRET, NULL, err, sizeof err);
}

/* jwt_verify of token for room "team" at NOW, claims discarded. */
static enum jwt_result verify(const struct jwt_keys *k, const char *token)
{
    struct jwt_claims c;
    return jwt_verify(k, token, "team", NOW, &c);
}

/* ---- valid tokens ---- */

TEST(hs256_token_verifies_and_gives_its_claims)
{
    struct jwt_keys *k = hs_keys();
    struct jwt_claims c;
    REQUIRE(k != NULL);
    const char *p = "{\"room\":\"team\",\"name\":\"Zo\xc3\xa9 K\",\"role\":"
                    "\"host\",\"exp\":1700000600.75,\"sub\":\"user-42\"}";
    CHECK(jwt_verify(k, sign(HS_HEADER, p, SECRET, NULL), "team", NOW, &c) ==
          JWT_OK);
    CHECK_STR(c.room, "team");
    CHECK_STR(c.name, "Zo\xc3\xa9 K");
    CHECK(c.host);
    CHECK(c.exp == 1700000600);
    CHECK_STR(c.sub, "user-42");
    CHECK_STR(jwt_keys_algs(k), "HS256");
    jwt_keys_free(k);
}

TEST(guest_token_without_typ_or_sub_verifies)
{
    struct jwt_keys *k = hs_keys();
    struct jwt_claims c;
    REQUIRE(k != NULL);
    CHECK(jwt_verify(k,
                     sign("{\"alg\":\"HS256\"}", good_claims(), SECRET, NULL),
                     "team", NOW, &c) == JWT_OK);
    CHECK(!c.host);
    CHECK_STR(c.sub, "");
    jwt_keys_free(k);
}

TEST(rs256_token_verifies)
{
    EVP_PKEY *pk = rsa_key();
    char err[256];
    struct jwt_keys *k = keys(NULL, pk, err, sizeof err);
    REQUIRE(k != NULL);
    CHECK_STR(jwt_keys_algs(k), "RS256");
    CHECK(verify(k, sign("{\"alg\":\"RS256\",\"typ\":\"JWT\"}", good_claims(),
                         NULL, pk)) == JWT_OK);
    jwt_keys_free(k);
    EVP_PKEY_free(pk);
}

TEST(es256_token_verifies)
{
    EVP_PKEY *pk = ec_key("P-256");
    char err[256];
    struct jwt_keys *k = keys(SECRET, pk, err, sizeof err);
    REQUIRE(k != NULL);
    CHECK_STR(jwt_keys_algs(k), "HS256+ES256");
    CHECK(verify(k, sign("{\"alg\":\"ES256\"}", good_claims(), NULL, pk)) ==
          JWT_OK);
    /* With both keys configured, either kind of token is accepted. */
    CHECK(verify(k, sign(HS_HEADER, good_claims(), SECRET, NULL)) == JWT_OK);
    jwt_keys_free(k);
    EVP_PKEY_free(pk);
}

TEST(star_room_admits_any_room)
{
    struct jwt_keys *k = hs_keys();
    struct jwt_claims c;
    REQUIRE(k != NULL);
    const char *t =
        sign(HS_HEADER, claims("*", "Ann", "host", NOW + 60), SECRET, NULL);
    CHECK(jwt_verify(k, t, "standup", NOW, &c) == JWT_OK);
    CHECK_STR(c.room, "*");
    CHECK(jwt_verify(k, t, "other-room", NOW, &c) == JWT_OK);
    jwt_keys_free(k);
}

/* ---- time ---- */

TEST(expired_token_is_refused_past_the_leeway)
{
    struct jwt_keys *k = hs_keys();
    struct jwt_claims c;
    REQUIRE(k != NULL);
    const char *t =
        sign(HS_HEADER, claims("team", "Ann", "guest", NOW - 31), SECRET, NULL);
    CHECK(jwt_verify(k, t, "team", NOW, &c) == JWT_EXPIRED);
    CHECK(c.name[0] == '\0'); /* out stays zeroed on refusal */
    t = sign(HS_HEADER, claims("team", "Ann", "guest", NOW - 30), SECRET, NULL);
    CHECK(verify(k, t) == JWT_EXPIRED); /* exp + leeway is now: past */
    jwt_keys_free(k);
}

TEST(token_within_the_leeway_of_exp_is_accepted)
{
    struct jwt_keys *k = hs_keys();
    REQUIRE(k != NULL);
    CHECK(verify(k, sign(HS_HEADER, claims("team", "Ann", "guest", NOW - 29),
                         SECRET, NULL)) == JWT_OK);
    jwt_keys_free(k);
}

TEST(nbf_in_the_future_is_refused_past_the_leeway)
{
    struct jwt_keys *k = hs_keys();
    REQUIRE(k != NULL);
    const char *late = "{\"room\":\"team\",\"name\":\"Ann\",\"role\":\"guest\","
                       "\"exp\":1700000600,\"nbf\":1700000031}";
    CHECK(verify(k, sign(HS_HEADER, late, SECRET, NULL)) == JWT_NOT_YET_VALID);
    const char *near = "{\"room\":\"team\",\"name\":\"Ann\",\"role\":\"guest\","
                       "\"exp\":1700000600,\"nbf\":1700000030}";
    CHECK(verify(k, sign(HS_HEADER, near, SECRET, NULL)) == JWT_OK);
    jwt_keys_free(k);
}

/* ---- room ---- */

TEST(token_for_another_room_is_refused)
{
    struct jwt_keys *k = hs_keys();
    struct jwt_claims c;
    REQUIRE(k != NULL);
    const char *t = sign(HS_HEADER, good_claims(), SECRET, NULL);
    CHECK(jwt_verify(k, t, "Team", NOW, &c) == JWT_WRONG_ROOM);
    CHECK(jwt_verify(k, t, "team2", NOW, &c) == JWT_WRONG_ROOM);
    CHECK(c.room[0] == '\0');
    jwt_keys_free(k);
}

/* ---- signatures and algorithms ---- */

TEST(wrong_signature_is_refused)
{
    struct jwt_keys *k = hs_keys();
    REQUIRE(k != NULL);
    CHECK(verify(k, sign(HS_HEADER, good_claims(),
                         "0123456789abcdef0123456789abcdeX", NULL)) ==
          JWT_BAD_SIGNATURE);
    jwt_keys_free(k);

    EVP_PKEY *pk = ec_key("P-256"), *other = ec_key("P-256");
    char err[256];
    k = keys(NULL, pk, err, sizeof err);
    REQUIRE(k != NULL);
    CHECK(verify(k, sign("{\"alg\":\"ES256\"}", good_claims(), NULL, other)) ==
          JWT_BAD_SIGNATURE);
    jwt_keys_free(k);
    EVP_PKEY_free(pk);
    EVP_PKEY_free(other);
}

TEST(rs256_signed_by_another_key_is_refused)
{
    EVP_PKEY *pk = rsa_key(), *other = rsa_key();
    char err[256];
    struct jwt_keys *k = keys(NULL, pk, err, sizeof err);
    REQUIRE(k != NULL);
    CHECK(verify(k, sign("{\"alg\":\"RS256\"}", good_claims(), NULL, other)) ==
          JWT_BAD_SIGNATURE);
    jwt_keys_free(k);
    EVP_PKEY_free(pk);
    EVP_PKEY_free(other);
}

TEST(es256_signature_in_der_form_is_refused)
{
    EVP_PKEY *pk = ec_key("P-256");
    unsigned char sig[1024] = {0};
    char err[256];
    struct jwt_keys *k = keys(NULL, pk, err, sizeof err);
    REQUIRE(k != NULL);
    const char *in = signing_input("{\"alg\":\"ES256\"}", good_claims());
    size_t n = pk_sign(pk, in, sig, true);
    CHECK(n != 64);
    CHECK(verify(k, with_sig(in, sig, n)) == JWT_BAD_SIGNATURE);
    n = pk_sign(pk, in, sig, false);
    CHECK(verify(k, with_sig(in, sig, n)) == JWT_OK);
    sig[64] = 0; /* r || s and one byte more */
    CHECK(verify(k, with_sig(in, sig, 65)) == JWT_BAD_SIGNATURE);
    sig[10] ^= 1; /* r changed */
    CHECK(verify(k, with_sig(in, sig, n)) == JWT_BAD_SIGNATURE);
    jwt_keys_free(k);
    EVP_PKEY_free(pk);
}

TEST(hs256_mac_with_bytes_added_is_refused)
{
    struct jwt_keys *k = hs_keys();
    unsigned char mac[40] = {0};
    unsigned int n = 0;
    REQUIRE(k != NULL);
    const char *in = signing_input(HS_HEADER, good_claims());
    HMAC(EVP_sha256(), SECRET, 32, (const unsigned char *)in, strlen(in), mac,
         &n);
    CHECK(verify(k, with_sig(in, mac, 32)) == JWT_OK);
    CHECK(verify(k, with_sig(in, mac, 33)) == JWT_BAD_SIGNATURE);
    CHECK(verify(k, with_sig(in, mac, 31)) == JWT_BAD_SIGNATURE);
    jwt_keys_free(k);
}

TEST(tampered_payload_is_refused)
{
    struct jwt_keys *k = hs_keys();
    char tok[2048], payload[512];
    REQUIRE(k != NULL);
    /* A guest's token made a host's: same signature, payload re-encoded. */
    snprintf(tok, sizeof tok, "%s",
             sign(HS_HEADER, claims("team", "Ann", "guest", NOW + 600), SECRET,
                  NULL));
    const char *sig = strrchr(tok, '.');
    snprintf(payload, sizeof payload, "%s",
             claims("team", "Ann", "guest", NOW + 600));
    char *g = strstr(payload, "guest");
    g[1] = 'h';
    g[2] = 'o';
    CHECK(verify(k, tok) == JWT_OK);
    CHECK(verify(k, with_sig(signing_input(HS_HEADER, payload), NULL, 0)) ==
          JWT_BAD_SIGNATURE);
    char forged[2048];
    snprintf(forged, sizeof forged, "%s%s", signing_input(HS_HEADER, payload),
             sig);
    CHECK(verify(k, forged) == JWT_BAD_SIGNATURE);
    jwt_keys_free(k);
}

TEST(alg_none_is_refused)
{
    struct jwt_keys *k = hs_keys();
    REQUIRE(k != NULL);
    CHECK(verify(k, sign("{\"alg\":\"none\",\"typ\":\"JWT\"}", good_claims(),
                         NULL, NULL)) == JWT_BAD_ALG);
    CHECK(verify(k, sign("{\"alg\":\"none\"}", good_claims(), SECRET, NULL)) ==
          JWT_BAD_ALG);
    CHECK(verify(k, sign("{\"alg\":\"hs256\"}", good_claims(), SECRET, NULL)) ==
          JWT_BAD_ALG);
    CHECK(verify(k, sign("{\"alg\":\"HS512\"}", good_claims(), SECRET, NULL)) ==
          JWT_BAD_ALG);
    CHECK(verify(k, sign("{\"alg\":\"RS256\"}", good_claims(), SECRET, NULL)) ==
          JWT_BAD_ALG);
    jwt_keys_free(k);
}

/* The classic key confusion: an attacker who knows the RSA public key
 * signs an HS256 token with its PEM text as the HMAC secret. */
TEST(hs256_made_with_the_public_key_is_refused)
{
    EVP_PKEY *pk = rsa_key();
    char err[256];
    char pem[4096];
    REQUIRE(public_pem(pk) != NULL);
    strcpy(pem, public_pem(pk));
    struct jwt_keys *k = keys(NULL, pk, err, sizeof err);
    REQUIRE(k != NULL);
    CHECK(verify(k, sign(HS_HEADER, good_claims(), pem, NULL)) == JWT_BAD_ALG);
    jwt_keys_free(k);
    /* With a secret configured as well, the MAC is checked with it only. */
    k = keys(SECRET, pk, err, sizeof err);
    REQUIRE(k != NULL);
    CHECK(verify(k, sign(HS_HEADER, good_claims(), pem, NULL)) ==
          JWT_BAD_SIGNATURE);
    jwt_keys_free(k);
    EVP_PKEY_free(pk);
}

TEST(alg_of_the_other_key_type_is_refused)
{
    EVP_PKEY *rsa = rsa_key(), *ec = ec_key("P-256");
    char err[256];
    struct jwt_keys *k = keys(NULL, rsa, err, sizeof err);
    REQUIRE(k != NULL);
    CHECK(verify(k, sign("{\"alg\":\"ES256\"}", good_claims(), NULL, ec)) ==
          JWT_BAD_ALG);
    jwt_keys_free(k);
    k = keys(NULL, ec, err, sizeof err);
    REQUIRE(k != NULL);
    CHECK(verify(k, sign("{\"alg\":\"RS256\"}", good_claims(), NULL, rsa)) ==
          JWT_BAD_ALG);
    jwt_keys_free(k);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec);
}

/* ---- header ---- */

TEST(header_with_crit_bad_typ_or_duplicate_alg_is_refused)
{
    struct jwt_keys *k = hs_keys();
    REQUIRE(k != NULL);
    static const char *const bad[] = {
        "{\"alg\":\"HS256\",\"crit\":[\"exp\"]}",
        "{\"alg\":\"HS256\",\"typ\":\"JOSE\"}",
        "{\"alg\":\"HS256\",\"typ\":1}",
        "{\"alg\":\"HS256\",\"alg\":\"HS256\"}",
        "{\"alg\":\"none\",\"alg\":\"HS256\"}",
        "{\"typ\":\"JWT\"}",
        "{\"alg\":256}",
        "[\"HS256\"]",
        "{\"alg\":\"HS256\"} x",
        "{\"alg\":\"HS256\\u0000\"}",
        "not json",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (verify(k, sign(bad[i], good_claims(), SECRET, NULL)) !=
            JWT_MALFORMED) {
            fprintf(stderr, "accepted header %s\n", bad[i]);
            check_failed = 1;
        }
    }
    jwt_keys_free(k);
}

/* ---- encoding ---- */

TEST(padding_and_bytes_outside_base64url_are_refused)
{
    struct jwt_keys *k = hs_keys();
    char t[2048];
    REQUIRE(k != NULL);
    /* 26 bytes of header: 35 characters, which padding would make 36. */
    const char *good = sign(HS_HEADER, good_claims(), SECRET, NULL);
    CHECK(verify(k, good) == JWT_OK);
    const char *dot = strchr(good, '.');
    snprintf(t, sizeof t, "%.*s=%s", (int)(dot - good), good, dot);
    CHECK(verify(k, t) == JWT_MALFORMED);
    snprintf(t, sizeof t, "%s=", good); /* the 43-char HMAC, padded */
    CHECK(verify(k, t) == JWT_MALFORMED);
    snprintf(t, sizeof t, " %s", good);
    CHECK(verify(k, t) == JWT_MALFORMED);
    snprintf(t, sizeof t, "%s\n", good);
    CHECK(verify(k, t) == JWT_MALFORMED);
    /* Standard base64's '+' and '/' instead of '-' and '_'. */
    snprintf(t, sizeof t, "%s", good);
    char *minus = strpbrk(t, "-_");
    if (minus != NULL) {
        *minus = *minus == '-' ? '+' : '/';
        CHECK(verify(k, t) == JWT_MALFORMED);
    }
    /* Unused low bits set in the last character: another encoding of the
     * same signature bytes. 32 bytes end in a character carrying 2 bits. */
    snprintf(t, sizeof t, "%s", good);
    char *last = t + strlen(t) - 1;
    *last = b64url_abc[(strchr(b64url_abc, *last) - b64url_abc) | 1];
    CHECK(verify(k, t) == JWT_MALFORMED);
    /* 4k + 1 characters can encode nothing. */
    snprintf(t, sizeof t, "%.*sA%s", (int)(dot - good), good, dot);
    CHECK(verify(k, t) == JWT_MALFORMED);
    jwt_keys_free(k);
}

TEST(token_of_two_or_four_segments_is_refused)
{
    struct jwt_keys *k = hs_keys();
    char t[2048];
    REQUIRE(k != NULL);
    const char *good = sign(HS_HEADER, good_claims(), SECRET, NULL);
    snprintf(t, sizeof t, "%.*s", (int)(strrchr(good, '.') - good), good);
    CHECK(verify(k, t) == JWT_MALFORMED);
    snprintf(t, sizeof t, "%s.", good);
    CHECK(verify(k, t) == JWT_MALFORMED);
    snprintf(t, sizeof t, "%s.e30", good);
    CHECK(verify(k, t) == JWT_MALFORMED);
    CHECK(verify(k, "..") == JWT_MALFORMED);
    CHECK(verify(k, "abc") == JWT_MALFORMED);
    jwt_keys_free(k);
}

TEST(missing_token_is_told_apart)
{
    struct jwt_keys *k = hs_keys();
    REQUIRE(k != NULL);
    CHECK(verify(k, NULL) == JWT_MISSING);
    CHECK(verify(k, "") == JWT_MISSING);
    jwt_keys_free(k);
}

TEST(token_over_4096_bytes_is_refused)
{
    struct jwt_keys *k = hs_keys();
    char p[8192], pad[4096];
    REQUIRE(k != NULL);
    /* Grow an ignored claim until the token is just over the cap. */
    const char *t = NULL;
    size_t n = 0;
    for (n = 2900; n < 3200; n++) {
        memset(pad, 'x', n);
        pad[n] = '\0';
        snprintf(p, sizeof p,
                 "{\"room\":\"team\",\"name\":\"Ann\",\"role\":\"guest\","
                 "\"exp\":1700000600,\"pad\":\"%s\"}",
                 pad);
        t = sign(HS_HEADER, p, SECRET, NULL);
        if (strlen(t) > JWT_TOKEN_MAX)
            break;
        CHECK(verify(k, t) == JWT_OK);
    }
    CHECK(strlen(t) > JWT_TOKEN_MAX && strlen(t) < JWT_TOKEN_MAX + 8);
    CHECK(verify(k, t) == JWT_MALFORMED);
    jwt_keys_free(k);
}

/* ---- claims ---- */

TEST(missing_or_invalid_claims_are_refused)
{
    struct jwt_keys *k = hs_keys();
    REQUIRE(k != NULL);
    static const char *const bad[] = {
        "{\"name\":\"Ann\",\"role\":\"guest\",\"exp\":1700000600}",
        "{\"room\":\"team\",\"role\":\"guest\",\"exp\":1700000600}",
        "{\"room\":\"team\",\"name\":\"Ann\",\"exp\":1700000600}",
        "{\"room\":\"team\",\"name\":\"Ann\",\"role\":\"guest\"}",
        /* bad role, name, room */
        "{\"room\":\"team\",\"name\":\"Ann\",\"role\":\"admin\",\"exp\":"
        "1700000600}",
        "{\"room\":\"team\",\"name\":\"Ann\",\"role\":\"Host\",\"exp\":"
        "1700000600}",
        "{\"room\":\"team\",\"name\":\"Ann\",\"role\":true,\"exp\":1700000600}",
        "{\"room\":\"team\",\"name\":\"A\\u0007nn\",\"role\":\"guest\","
        "\"exp\":1700000600}",
        "{\"room\":\"team\",\"name\":\"A\\u0000nn\",\"role\":\"guest\","
        "\"exp\":1700000600}",
        "{\"room\":\"team\",\"name\":\"\",\"role\":\"guest\",\"exp\":"
        "1700000600}",
        "{\"room\":\"team\",\"name\":\"   \",\"role\":\"guest\",\"exp\":"
        "1700000600}",
        "{\"room\":\"team\",\"name\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxx\",\"role\":\"guest\",\"exp\":1700000600}",
        "{\"room\":\"team\",\"name\":7,\"role\":\"guest\",\"exp\":1700000600}",
        "{\"room\":\"ws\",\"name\":\"Ann\",\"role\":\"guest\",\"exp\":"
        "1700000600}",
        "{\"room\":\"a/b\",\"name\":\"Ann\",\"role\":\"guest\",\"exp\":"
        "1700000600}",
        "{\"room\":[\"team\"],\"name\":\"Ann\",\"role\":\"guest\",\"exp\":"
        "1700000600}",
        /* exp and nbf not numbers, or out of int64_t */
        "{\"room\":\"team\",\"name\":\"Ann\",\"role\":\"guest\",\"exp\":"
        "\"1700000600\"}",
        "{\"room\":\"team\",\"name\":\"Ann\",\"role\":\"guest\",\"exp\":1e19}",
        "{\"room\":\"team\",\"name\":\"Ann\",\"role\":\"guest\",\"exp\":1e999}",
        "{\"room\":\"team\",\"name\":\"Ann\",\"role\":\"guest\",\"exp\":"
        "1700000600,\"nbf\":null}",
        /* sub: a name's rules */
        "{\"room\":\"team\",\"name\":\"Ann\",\"role\":\"guest\",\"exp\":"
        "1700000600,\"sub\":\"a\\nb\"}",
        "{\"room\":\"team\",\"name\":\"Ann\",\"role\":\"guest\",\"exp\":"
        "1700000600,\"sub\":42}",
        "{\"room\":\"team\",\"name\":\"Ann\",\"role\":\"guest\",\"exp\":"
        "1700000600,\"sub\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxx\"}",
        /* a claim given twice: cJSON would read the first */
        "{\"room\":\"team\",\"name\":\"Ann\",\"role\":\"guest\",\"role\":"
        "\"host\",\"exp\":1700000600}",
        "{\"room\":\"team\",\"name\":\"Ann\",\"role\":\"guest\",\"exp\":"
        "1700000600,\"exp\":1}",
        /* not an object */
        "[1,2]",
        "\"team\"",
        "{\"room\":\"team\",\"name\":\"Ann\",\"role\":\"guest\",\"exp\":"
        "1700000600}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (verify(k, sign(HS_HEADER, bad[i], SECRET, NULL)) !=
            JWT_BAD_CLAIMS) {
            fprintf(stderr, "accepted claims %s\n", bad[i]);
            check_failed = 1;
        }
    }
    jwt_keys_free(k);
}

TEST(name_and_sub_of_64_bytes_are_accepted)
{
    struct jwt_keys *k = hs_keys();
    struct jwt_claims c;
    char p[512], x[65];
    REQUIRE(k != NULL);
    memset(x, 'x', 64);
    x[64] = '\0';
    snprintf(p, sizeof p,
             "{\"room\":\"team\",\"name\":\"%s\",\"role\":\"guest\","
             "\"exp\":1700000600,\"sub\":\"%s\",\"aud\":\"ignored\"}",
             x, x);
    CHECK(jwt_verify(k, sign(HS_HEADER, p, SECRET, NULL), "team", NOW, &c) ==
          JWT_OK);
    CHECK_STR(c.name, x);
    CHECK_STR(c.sub, x);
    jwt_keys_free(k);
}

/* ---- keys ---- */

TEST(keys_new_without_keys_means_tokens_are_off)
{
    char err[64] = "x";
    CHECK(jwt_keys_new(NULL, NULL, err, sizeof err) == NULL);
    CHECK_STR(err, "");
    strcpy(err, "x");
    CHECK(jwt_keys_new("", "", err, sizeof err) == NULL);
    CHECK_STR(err, "");
    jwt_keys_free(NULL);
}

TEST(keys_new_refuses_a_short_secret)
{
    char err[128] = "";
    CHECK(jwt_keys_new("0123456789abcdef0123456789abcde", NULL, err,
                       sizeof err) == NULL);
    CHECK(strstr(err, "31 bytes") != NULL);
}

TEST(keys_new_refuses_unreadable_or_unfit_key_files)
{
    char err[256] = "", path[64];
    CHECK(jwt_keys_new(SECRET, "/nonexistent/key.pem", err, sizeof err) ==
          NULL);
    CHECK(strstr(err, "/nonexistent/key.pem") != NULL);

    temp_file("not a key\n", path);
    err[0] = '\0';
    CHECK(jwt_keys_new(NULL, path, err, sizeof err) == NULL);
    CHECK(strstr(err, "no PEM public key") != NULL);
    unlink(path);

    /* A private key is not a public one. */
    EVP_PKEY *pk = ec_key("P-256");
    BIO *b = BIO_new(BIO_s_mem());
    char *data;
    PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL);
    long n = BIO_get_mem_data(b, &data);
    char *priv = strndup(data, (size_t)n);
    BIO_free(b);
    temp_file(priv, path);
    free(priv);
    CHECK(jwt_keys_new(NULL, path, err, sizeof err) == NULL);
    unlink(path);
    EVP_PKEY_free(pk);

    /* Other curves, short RSA keys. */
    pk = ec_key("P-384");
    CHECK(keys(NULL, pk, err, sizeof err) == NULL);
    CHECK(strstr(err, "neither an RSA nor an EC P-256 key") != NULL);
    EVP_PKEY_free(pk);
    pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    CHECK(keys(NULL, pk, err, sizeof err) == NULL);
    CHECK(strstr(err, "1024 bits") != NULL);
    EVP_PKEY_free(pk);
    pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    CHECK(keys(NULL, pk, err, sizeof err) == NULL);
    EVP_PKEY_free(pk);
}

TEST(result_text_and_code_name_every_result)
{
    for (int r = JWT_OK; r <= JWT_WRONG_ROOM; r++) {
        const char *t = jwt_result_text((enum jwt_result)r);
        const char *code = jwt_result_code((enum jwt_result)r);
        REQUIRE(t != NULL && code != NULL);
        CHECK(strcmp(t, "the token is refused") != 0);
        CHECK(strcmp(code, "refused") != 0);
        for (int q = JWT_OK; q < r; q++) {
            CHECK(strcmp(t, jwt_result_text((enum jwt_result)q)) != 0);
            CHECK(strcmp(code, jwt_result_code((enum jwt_result)q)) != 0);
        }
    }
    CHECK_STR(jwt_result_text(JWT_EXPIRED), "the token has expired");
    CHECK_STR(jwt_result_code(JWT_EXPIRED), "expired");
    CHECK_STR(jwt_result_code(JWT_WRONG_ROOM), "wrong-room");
    CHECK_STR(jwt_result_code((enum jwt_result)99), "refused");
}

/* ---- scripts/mint-token.sh ---- */

/* Runs the script with args; returns its first line of output in out
 * ("" when none) and its exit status. */
static int mint_script(const char *args, char *out, size_t outsz)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "env -u HUDDLE_JWT_SECRET %s %s 2>/dev/null",
             HUDDLE_MINT_SCRIPT, args);
    FILE *f = popen(cmd, "r");
    out[0] = '\0';
    if (f == NULL)
        return -1;
    if (fgets(out, (int)outsz, f) != NULL)
        out[strcspn(out, "\n")] = '\0';
    return pclose(f);
}

TEST(mint_script_makes_a_token_that_verifies)
{
    struct jwt_keys *k = hs_keys();
    struct jwt_claims c;
    char tok[4096];
    REQUIRE(k != NULL);
    CHECK(mint_script("--secret " SECRET " --room team --name "
                      "'Ann \"A\\B\" Lee' --role host --ttl 120 --sub u-1",
                      tok, sizeof tok) == 0);
    int64_t now = (int64_t)time(NULL);
    CHECK(jwt_verify(k, tok, "team", now, &c) == JWT_OK);
    CHECK_STR(c.name, "Ann \"A\\B\" Lee");
    CHECK(c.host);
    CHECK_STR(c.sub, "u-1");
    CHECK(c.exp >= now + 100 && c.exp <= now + 120);
    /* Without --ttl the token lasts an hour: expired two hours on. */
    CHECK(mint_script("--secret " SECRET " --room '*' --name Bo --role guest",
                      tok, sizeof tok) == 0);
    CHECK(jwt_verify(k, tok, "any", now, &c) == JWT_OK);
    CHECK(!c.host);
    CHECK(jwt_verify(k, tok, "any", now + 7200, &c) == JWT_EXPIRED);
    jwt_keys_free(k);
}

TEST(mint_script_refuses_bad_arguments)
{
    char out[4096];
    CHECK(mint_script("--secret " SECRET " --room team --name Ann --role boss",
                      out, sizeof out) != 0);
    CHECK(mint_script("--secret short --room team --name Ann --role host", out,
                      sizeof out) != 0);
    CHECK(mint_script("--secret " SECRET " --room 'a b' --name Ann "
                      "--role host",
                      out, sizeof out) != 0);
    CHECK(mint_script("--secret " SECRET " --room team --name Ann "
                      "--role host --ttl 1x",
                      out, sizeof out) != 0);
    CHECK(mint_script("--room team --name Ann --role host", out, sizeof out) !=
          0);
    CHECK(out[0] == '\0');
}
