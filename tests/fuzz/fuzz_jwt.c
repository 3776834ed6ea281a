/* libFuzzer harness: join tokens (jwt.h) checked against an HS256 secret
 * and an ES256 key, both configured. Input: first byte modulo 3 picks
 *   0: the rest is a token as a client sends it. It must never verify:
 *      the fuzzer does not know the keys, so JWT_OK would be a forgery;
 *   1: the rest is header JSON, a NUL, payload JSON: encoded and signed
 *      here with the secret (HS256), so the header and claim checks are
 *      reached whatever the header's alg says;
 *   2: the same, signed with the ES256 key.
 * A token that verifies keeps jwt.h's promises: a valid name (and sub), a
 * room that is "*" or the one asked for, not expired at the time given. */
#include <assert.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../unit/b64url.h"
#include "jwt.h"
#include "msg_text.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SECRET "fuzz-secret-fuzz-secret-fuzz-secret!"
#define ROOM "demo"
#define NOW 1700000000

/* A P-256 key made for this harness alone. */
static const char ec_private_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg2HQa01Vv1SxFflHB\n"
    "VFlEKYXjR5FwpqUn5g3ZPgpnHWahRANCAAT65wAvrRdjLiJspSLEBihIxGN4qhop\n"
    "+xkSquHKHFEYSGLNDOuMlilyRZFwmvTgQx3aNIkiQqt+nlQtrkJySwZ/\n"
    "-----END PRIVATE KEY-----\n";

static struct jwt_keys *keys;
static EVP_PKEY *ec_key;

/* Loads the keys as the sidecar would: the public key through a file. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char path[] = "/tmp/huddle-fuzz-jwt-XXXXXX", err[256];
    (void)argc;
    (void)argv;
    BIO *b = BIO_new_mem_buf(ec_private_pem, -1);
    ec_key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    BIO_free(b);
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    assert(ec_key != NULL && f != NULL);
    PEM_write_PUBKEY(f, ec_key);
    fclose(f);
    keys = jwt_keys_new(SECRET, path, err, sizeof err);
    unlink(path);
    assert(keys != NULL);
    return 0;
}

/* Signs in with the harness' secret (HS256) or EC key (ES256, as r || s).
 * Returns the signature's length, 0 when signing failed. */
static size_t sign(bool es256, const char *in, unsigned char sig[64])
{
    unsigned char der[128];
    size_t n = sizeof der;
    unsigned int maclen = 0;

    if (!es256) {
        HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET),
             (const unsigned char *)in, strlen(in), sig, &maclen);
        return maclen;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx != NULL &&
             EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, ec_key) == 1 &&
             EVP_DigestSign(ctx, der, &n, (const unsigned char *)in,
                            strlen(in)) == 1;
    EVP_MD_CTX_free(ctx);
    const unsigned char *p = der;
    ECDSA_SIG *es = ok ? d2i_ECDSA_SIG(NULL, &p, (long)n) : NULL;
    if (es == NULL)
        return 0;
    BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 32, 32);
    ECDSA_SIG_free(es);
    return 64;
}

/* header NUL payload (len bytes at p) made into a signed token. */
static char *signed_token(const uint8_t *p, size_t len, bool es256)
{
    const uint8_t *nul = memchr(p, 0, len);
    size_t hlen = nul != NULL ? (size_t)(nul - p) : len;
    size_t plen = nul != NULL ? len - hlen - 1 : 0;
    unsigned char sig[64];
    char *t = malloc(len / 3 * 4 + 128);

    if (t == NULL)
        return NULL;
    size_t o = b64url(p, hlen, t);
    t[o++] = '.';
    o += b64url(nul != NULL ? nul + 1 : p + len, plen, t + o);
    size_t n = sign(es256, t, sig);
    t[o++] = '.';
    b64url(sig, n, t + o);
    return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct jwt_claims c;
    char *token;

    if (size == 0)
        return 0;
    int mode = data[0] % 3;
    if (mode == 0) {
        token = malloc(size);
        if (token == NULL)
            return 0;
        memcpy(token, data + 1, size - 1);
        token[size - 1] = '\0';
    } else {
        token = signed_token(data + 1, size - 1, mode == 2);
        if (token == NULL)
            return 0;
    }
    enum jwt_result r = jwt_verify(keys, token, ROOM, NOW, &c);
    /* Every result jwt_verify gives has its words and its name. */
    assert(strcmp(jwt_result_text(r), "the token is refused") != 0 &&
           strcmp(jwt_result_code(r), "refused") != 0);
    if (r == JWT_OK) {
        assert(mode != 0); /* nothing the fuzzer wrote verifies by itself */
        assert(msg_name_valid(c.name));
        assert(c.sub[0] == '\0' || msg_name_valid(c.sub));
        assert(strcmp(c.room, "*") == 0 || strcmp(c.room, ROOM) == 0);
        assert(c.exp + JWT_LEEWAY_S >= NOW);
    } else {
        assert(c.name[0] == '\0' && c.room[0] == '\0');
    }
    free(token);
    return 0;
}
