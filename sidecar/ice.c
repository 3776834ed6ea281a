#include "ice.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"

/* Turns "a, b,c" into ["a","b","c"]; NULL for an empty list. */
static int url_list(const char *list, char **out)
{
    struct sb b = {0};
    bool any = false;

    *out = NULL;
    if (list == NULL)
        return 0;
    sb_puts(&b, "[");
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t n = strcspn(p, ",");
        while (n > 0 && p[n - 1] == ' ')
            n--;
        if (n == 0)
            break;
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
        p += n;
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
    if (url_list(stun_urls, &ice->stun_json) < 0 ||
        url_list(turn_urls, &ice->turn_json) < 0)
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

char *ice_servers_json(const struct ice *ice, const char *peer_id,
                       int64_t now_s)
{
    struct sb b = {0};
    char user[96], cred[64];

    sb_puts(&b, "[");
    if (ice->stun_json != NULL) {
        sb_puts(&b, "{\"urls\":");
        sb_puts(&b, ice->stun_json);
        sb_puts(&b, "}");
    }
    /* Browsers refuse a turn: URL without credentials: without a secret
     * the TURN list is left out (main.c warns at start). */
    if (ice->turn_json != NULL && ice->secret != NULL) {
        snprintf(user, sizeof user, "%lld:%s", (long long)(now_s + ice->ttl_s),
                 peer_id);
        if (ice_turn_credential(ice->secret, user, cred, sizeof cred) < 0) {
            free(b.p);
            return NULL;
        }
        sb_puts(&b, ice->stun_json != NULL ? ",{\"urls\":" : "{\"urls\":");
        sb_puts(&b, ice->turn_json);
        sb_puts(&b, ",\"username\":");
        sb_json_str(&b, user);
        sb_puts(&b, ",\"credential\":");
        sb_json_str(&b, cred);
        sb_puts(&b, "}");
    }
    sb_puts(&b, "]");
    return sb_take(&b);
}
