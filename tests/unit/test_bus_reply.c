/* The bus without a server: reading the Lua scripts' answers
 * (sidecar/bus_reply.h), fed as RESP through hiredis' own reader, and what
 * bus_create refuses. */
#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>

#include "bus_fixture.h"
#include "bus_reply.h"
#include "check.h"

/* Returns the reply tree of the RESP text s; free with freeReplyObject. */
static redisReply *resp(const char *s)
{
    redisReader *rd = redisReaderCreate();
    void *r = NULL;

    if (rd == NULL)
        return NULL;
    if (redisReaderFeed(rd, s, strlen(s)) != REDIS_OK ||
        redisReaderGetReply(rd, &r) != REDIS_OK)
        r = NULL;
    redisReaderFree(rd);
    return r;
}

TEST(join_answer_gives_members_and_chat_oldest_first)
{
    redisReply *r = resp("*3\r\n$2\r\nok\r\n"
                         "*3\r\n$2\r\np1\r\n$5\r\nn1.ab\r\n$2\r\n{}\r\n"
                         "*2\r\n$3\r\nnew\r\n$3\r\nold\r\n");
    struct bus_room out;
    void *mem;

    CHECK(r != NULL);
    if (r == NULL)
        return;
    bus_reply_room(r, &out, &mem);
    CHECK(out.status == BUS_OK);
    CHECK(out.n_members == 1 && out.n_chat == 2);
    CHECK_STR(out.members[0].peer, "p1");
    CHECK_STR(out.members[0].node, "n1.ab");
    CHECK(out.members[0].json_len == 2);
    CHECK_STR(out.chat[0].s, "old");
    CHECK_STR(out.chat[1].s, "new");
    CHECK(out.peer == NULL);
    free(mem);
    freeReplyObject(r);
}

TEST(resume_answer_gives_the_seat_taken_back)
{
    redisReply *r = resp("*8\r\n$2\r\nok\r\n*0\r\n*0\r\n"
                         "*4\r\n$4\r\nhost\r\n$1\r\n1\r\n$1\r\n0\r\n$0\r\n\r\n"
                         "$2\r\np1\r\n$5\r\nn1.ab\r\n$2\r\n{}\r\n:3\r\n");
    struct bus_room out;
    void *mem;

    CHECK(r != NULL);
    if (r == NULL)
        return;
    bus_reply_room(r, &out, &mem);
    CHECK(out.status == BUS_OK && out.n_members == 0 && out.n_chat == 0);
    CHECK_STR(out.peer, "p1");
    CHECK_STR(out.old_node, "n1.ab");
    CHECK(out.peer_json_len == 2 && out.moves == 3);
    CHECK(out.host && out.locked && !out.password && out.lobby == NULL);
    free(mem);
    freeReplyObject(r);
}

TEST(short_answers_and_malformed_ones_read_as_they_should)
{
    static const struct {
        const char *resp;
        enum bus_status st;
    } cases[] = {
        {"*1\r\n$4\r\nfull\r\n", BUS_FULL},
        {"*1\r\n$5\r\nmoved\r\n", BUS_MOVED},
        {"*1\r\n$4\r\nnone\r\n", BUS_NONE},
        {"*1\r\n$5\r\nstale\r\n", BUS_ERR}, /* no peer */
        {"*2\r\n$5\r\nstale\r\n$2\r\np1\r\n", BUS_STALE},
        /* a resume's answer without its moves */
        {"*7\r\n$2\r\nok\r\n*0\r\n*0\r\n*4\r\n$4\r\nhost\r\n$1\r\n1\r\n"
         "$1\r\n0\r\n$0\r\n\r\n$2\r\np1\r\n$1\r\nn\r\n$2\r\n{}\r\n",
         BUS_ERR},
        {"*1\r\n$2\r\nok\r\n", BUS_ERR},              /* no arrays */
        {"*3\r\n$2\r\nok\r\n*1\r\n$1\r\np\r\n*0\r\n", /* not triples */
         BUS_ERR},
        {"*3\r\n$2\r\nok\r\n*0\r\n*1\r\n:1\r\n", BUS_ERR}, /* chat type */
        {"*1\r\n$3\r\nwho\r\n", BUS_ERR},
        {":1\r\n", BUS_ERR},
        {"*1\r\n$6\r\nbanned\r\n", BUS_BANNED},
        {"*1\r\n$5\r\nknock\r\n", BUS_KNOCK},
        /* a resume's: the knock its token is, with its since */
        {"*3\r\n$5\r\nknock\r\n$2\r\nk1\r\n:1234\r\n", BUS_KNOCK},
        {"*2\r\n$5\r\nknock\r\n$2\r\nk1\r\n", BUS_ERR},
        {"*3\r\n$5\r\nknock\r\n$2\r\nk1\r\n$4\r\n1234\r\n", BUS_ERR},
        {"*1\r\n$8\r\npassword\r\n", BUS_ERR}, /* no salt */
        {"*2\r\n$8\r\npassword\r\n$2\r\nab\r\n", BUS_PASSWORD},
        {"*1\r\n$14\r\nwrong-password\r\n", BUS_WRONG_PASSWORD},
        {"*1\r\n$6\r\ndenied\r\n", BUS_ERR}, /* no reason */
        {"*2\r\n$6\r\ndenied\r\n$5\r\nended\r\n", BUS_DENIED},
        {"*1\r\n$5\r\nerror\r\n", BUS_ERR}, /* not a script's answer */
        /* an access array of the wrong shape */
        {"*4\r\n$2\r\nok\r\n*0\r\n*0\r\n*1\r\n$4\r\nhost\r\n", BUS_ERR},
        {"*4\r\n$2\r\nok\r\n*0\r\n*0\r\n*4\r\n$4\r\nhost\r\n$1\r\n0\r\n$"
         "1\r\n0\r\n$9\r\n{\"lobby\"}\r\n",
         BUS_OK},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        redisReply *r = resp(cases[i].resp);
        struct bus_room out;
        void *mem;
        CHECK(r != NULL);
        if (r == NULL)
            continue;
        bus_reply_room(r, &out, &mem);
        if (out.status == BUS_DENIED)
            CHECK(strcmp(out.reason, "ended") == 0);
        if (out.status == BUS_KNOCK && out.peer != NULL)
            CHECK(strcmp(out.peer, "k1") == 0 && out.since == 1234);
        if (out.status != cases[i].st) {
            fprintf(stderr, "case %zu: status %d\n", i, (int)out.status);
            check_failed = 1;
        }
        free(mem);
        freeReplyObject(r);
    }
}

TEST(done_answers_are_ok_none_a_named_status_or_error)
{
    redisReply *one = resp(":1\r\n"), *zero = resp(":0\r\n"),
               *str = resp("$2\r\nok\r\n"), *no = resp("$9\r\nforbidden\r\n"),
               *arr = resp("*1\r\n:1\r\n");

    CHECK(one && zero && str && no && arr);
    if (one && zero && str && no && arr) {
        CHECK(bus_reply_done(one) == BUS_OK);
        CHECK(bus_reply_done(zero) == BUS_NONE);
        CHECK(bus_reply_done(str) == BUS_OK);
        CHECK(bus_reply_done(no) == BUS_FORBIDDEN);
        CHECK(bus_reply_done(arr) == BUS_ERR);
        CHECK(bus_reply_is(str, "ok") && !bus_reply_is(str, "o"));
    }
    freeReplyObject(one);
    freeReplyObject(zero);
    freeReplyObject(str);
    freeReplyObject(no);
    freeReplyObject(arr);
}

TEST(bus_create_refuses_a_bad_url_or_node_id)
{
    uv_loop_t loop;
    struct bus_config cfg;
    struct bus_callbacks cb = {0};

    uv_loop_init(&loop);
    bus_test_config(&cfg);
    cfg.url = "redis://127.0.0.1:1";
    cfg.node_id = "bad id";
    CHECK(bus_create(&loop, &cfg, &cb, NULL) == NULL);
    cfg.node_id = NULL;
    CHECK(bus_create(&loop, &cfg, &cb, NULL) == NULL);
    cfg.node_id = "n1";
    cfg.url = "redis://127.0.0.1";
    CHECK(bus_create(&loop, &cfg, &cb, NULL) == NULL);
    CHECK(uv_loop_close(&loop) == 0);
}
