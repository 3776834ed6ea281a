#include <cjson/cJSON.h>
#include <stdlib.h>

#include "check.h"
#include "ice.h"
#include "ratelimit.h"

TEST(bucket_allows_the_burst_then_refuses)
{
    struct bucket b;
    bucket_init(&b, 5, 1000);
    for (int i = 0; i < 5; i++)
        CHECK(bucket_take(&b, 2, 5, 1000));
    CHECK(!bucket_take(&b, 2, 5, 1000));
}

TEST(bucket_refills_at_its_rate_up_to_the_burst)
{
    struct bucket b;
    bucket_init(&b, 5, 0);
    for (int i = 0; i < 5; i++)
        bucket_take(&b, 2, 5, 0);
    CHECK(!bucket_take(&b, 2, 5, 499)); /* 0.998 tokens */
    CHECK(bucket_take(&b, 2, 5, 500));  /* one token per 500 ms */
    CHECK(!bucket_take(&b, 2, 5, 500));
    int n = 0;
    while (bucket_take(&b, 2, 5, 100000))
        n++;
    CHECK(n == 5); /* capped at the burst */
}

TEST(turn_credential_matches_rfc2202_hmac_sha1)
{
    char out[64];
    CHECK(ice_turn_credential("Jefe", "what do ya want for nothing?", out,
                              sizeof out) == 0);
    CHECK_STR(out, "7/zfauXrL6LSdBbV8YTfnCWafHk=");
}

TEST(ice_servers_mint_turn_credentials_per_peer)
{
    struct ice ice;
    CHECK(ice_init(&ice, "stun:a.example:3478, stun:b.example",
                   "turn:t.example:3478?transport=udp", "north", 100) == 0);
    char *s = ice_servers_json(&ice, "peerA", 1699999900);
    CHECK(s != NULL);
    cJSON *j = s ? cJSON_Parse(s) : NULL;
    CHECK(cJSON_GetArraySize(j) == 2);
    cJSON *stun = cJSON_GetArrayItem(j, 0), *turn = cJSON_GetArrayItem(j, 1);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(stun, "urls")) == 2);
    CHECK_STR(
        cJSON_GetArrayItem(cJSON_GetObjectItem(stun, "urls"), 1)->valuestring,
        "stun:b.example");
    CHECK_STR(cJSON_GetObjectItem(turn, "username")->valuestring,
              "1700000000:peerA");
    CHECK_STR(cJSON_GetObjectItem(turn, "credential")->valuestring,
              "lERoVosZqH9mm9y1PfB76zDyNLc=");
    cJSON_Delete(j);
    free(s);
    ice_clear(&ice);
}

TEST(ice_servers_leave_out_turn_without_a_secret)
{
    struct ice ice;
    CHECK(ice_init(&ice, NULL, "turn:t.example", NULL, 100) == 0);
    char *s = ice_servers_json(&ice, "p", 0);
    CHECK_STR(s, "[]");
    free(s);
    ice_clear(&ice);
}

TEST(ice_init_refuses_urls_with_quotes)
{
    struct ice ice;
    CHECK(ice_init(&ice, "stun:\"x", NULL, NULL, 100) < 0);
}
