#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "msg.h"
#include "room.h"

static const struct room_cfg cfg = {3, 4, 1000, 1500, 1L << 20};
static int conns[8];

static struct peer *join(struct room_reg *reg, const char *room, int c,
                         const char *resume, enum room_join_result want)
{
    struct peer *p;
    void *old;
    struct room_seat s = {.name = "n", .audio = true, .resume = resume};
    enum room_join_result r = room_join(reg, room, &conns[c], &s, 0, &p, &old);
    CHECK(r == want);
    return p;
}

static void add_text(struct room_reg *reg, struct room *r, const char *text)
{
    struct out_msg *m = out_msg_new(text, strlen(text));
    room_history_add(reg, r, m);
    out_msg_unref(m);
}

TEST(room_ids_and_tokens_are_long_random_base64url)
{
    char a[PEER_ID_LEN + 1], b[PEER_ID_LEN + 1], t[TOKEN_LEN + 1];
    room_random_id(a, PEER_ID_LEN);
    room_random_id(b, PEER_ID_LEN);
    room_random_id(t, TOKEN_LEN);
    CHECK(strlen(a) == 16 && strlen(t) == 22);
    CHECK(strcmp(a, b) != 0);
    CHECK(strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                    "0123456789-_") == 22);
}

TEST(room_refuses_a_seat_over_the_cap)
{
    struct room_reg *reg = room_reg_new(&cfg);
    join(reg, "r", 0, NULL, ROOM_JOINED);
    join(reg, "r", 1, NULL, ROOM_JOINED);
    join(reg, "r", 2, NULL, ROOM_JOINED);
    join(reg, "r", 3, NULL, ROOM_FULL);
    join(reg, "other", 3, NULL, ROOM_JOINED);
    room_reg_free(reg);
}

TEST(grace_seats_count_toward_the_cap)
{
    struct room_reg *reg = room_reg_new(&cfg);
    struct peer *a = join(reg, "r", 0, NULL, ROOM_JOINED);
    join(reg, "r", 1, NULL, ROOM_JOINED);
    join(reg, "r", 2, NULL, ROOM_JOINED);
    room_grace(reg, a, 0);
    join(reg, "r", 3, NULL, ROOM_FULL);
    room_reg_free(reg);
}

TEST(resume_takes_back_the_seat_with_a_new_token_the_last_still_good_until_used)
{
    struct room_reg *reg = room_reg_new(&cfg);
    struct peer *a = join(reg, "r", 0, NULL, ROOM_JOINED);
    char id[PEER_ID_LEN + 1], tok[TOKEN_LEN + 1];
    REQUIRE(a != NULL);
    strcpy(id, a->id);
    strcpy(tok, a->token);
    room_grace(reg, a, 0);
    struct peer *b = join(reg, "r", 1, tok, ROOM_RESUMED);
    REQUIRE(b == a);
    CHECK_STR(b->id, id);
    CHECK(strcmp(b->token, tok) != 0);
    CHECK(b->conn == &conns[1]);
    /* until the new token is used the old one still works (its welcome
     * may have been lost), */
    char tok2[TOKEN_LEN + 1];
    strcpy(tok2, b->token);
    room_grace(reg, b, 0);
    CHECK(join(reg, "r", 2, tok, ROOM_RESUMED) == a);
    CHECK(strcmp(a->token, tok2) != 0);
    /* the newest works, and once used every token before it is spent */
    char tok3[TOKEN_LEN + 1];
    strcpy(tok3, a->token);
    room_grace(reg, a, 0);
    CHECK(join(reg, "r", 3, tok3, ROOM_RESUMED) == a);
    CHECK(join(reg, "r", 4, tok, ROOM_JOINED) != a);
    CHECK(join(reg, "r", 5, tok2, ROOM_JOINED) != a);
    room_reg_free(reg);
}

/* A page numbers its resumes: one that reaches the server after a later
 * one took the seat back (a stalled server read it late) is refused, with
 * the seat left to the later one. */
TEST(resume_numbered_no_higher_than_the_last_is_stale)
{
    struct room_reg *reg = room_reg_new(&cfg);
    struct peer *a = join(reg, "r", 0, NULL, ROOM_JOINED), *p;
    char tok[TOKEN_LEN + 1];
    void *old;
    REQUIRE(a != NULL);
    strcpy(tok, a->token);
    struct room_seat s = {.name = "x", .resume = tok, .attempt = 2};
    CHECK(room_join(reg, "r", &conns[1], &s, 0, &p, &old) == ROOM_RESUMED);
    CHECK(p == a && a->attempt == 2 && a->conn == &conns[1]);
    /* the first, read late with the token still good: refused */
    s.attempt = 1;
    CHECK(room_join(reg, "r", &conns[2], &s, 0, &p, &old) == ROOM_STALE);
    CHECK(p == a && a->conn == &conns[1] && a->attempt == 2);
    s.attempt = 2; /* the same one twice */
    CHECK(room_join(reg, "r", &conns[2], &s, 0, &p, &old) == ROOM_STALE);
    /* a resume with no number (a client that sends none) is taken */
    s.attempt = 0;
    CHECK(room_join(reg, "r", &conns[2], &s, 0, &p, &old) == ROOM_RESUMED);
    CHECK(a->attempt == 2 && old == &conns[1]);
    /* a new seat counts from nothing, whatever its join carried (as Redis
     * does): only a resume's number is kept */
    struct room_seat fresh = {.name = "y", .attempt = 9};
    CHECK(room_join(reg, "r", &conns[3], &fresh, 0, &p, &old) == ROOM_JOINED);
    CHECK(p->attempt == 0);
    room_reg_free(reg);
}

TEST(resume_reports_the_old_connection_still_open)
{
    struct room_reg *reg = room_reg_new(&cfg);
    struct peer *a = join(reg, "r", 0, NULL, ROOM_JOINED), *p;
    char tok[TOKEN_LEN + 1];
    void *old;
    strcpy(tok, a->token);
    struct room_seat s = {.name = "x", .resume = tok};
    CHECK(room_join(reg, "r", &conns[1], &s, 0, &p, &old) == ROOM_RESUMED);
    CHECK(old == &conns[0]);
    room_reg_free(reg);
}

TEST(token_of_another_room_makes_a_plain_join)
{
    struct room_reg *reg = room_reg_new(&cfg);
    struct peer *a = join(reg, "r", 0, NULL, ROOM_JOINED);
    struct peer *b = join(reg, "s", 1, a->token, ROOM_JOINED);
    CHECK(strcmp(a->id, b->id) != 0);
    room_reg_free(reg);
}

static int expired_count;
static void on_expired(struct peer *p, void *ctx)
{
    (void)ctx;
    CHECK(p->conn == NULL);
    expired_count++;
}

TEST(grace_ends_after_its_period)
{
    struct room_reg *reg = room_reg_new(&cfg);
    struct peer *a = join(reg, "r", 0, NULL, ROOM_JOINED);
    join(reg, "r", 1, NULL, ROOM_JOINED);
    room_grace(reg, a, 1000);
    expired_count = 0;
    room_expire(reg, 2499, on_expired, NULL);
    CHECK(expired_count == 0);
    room_expire(reg, 2500, on_expired, NULL);
    CHECK(expired_count == 1);
    CHECK(room_find(reg, "r")->npeers == 1);
    room_reg_free(reg);
}

TEST(history_keeps_the_last_n_oldest_first)
{
    struct room_reg *reg = room_reg_new(&cfg);
    join(reg, "r", 0, NULL, ROOM_JOINED);
    struct room *r = room_find(reg, "r");
    for (int i = 0; i < 6; i++) {
        char t[8];
        snprintf(t, sizeof t, "m%d", i);
        add_text(reg, r, t);
    }
    struct out_msg *h[8];
    CHECK(room_history(r, h, 8) == 4);
    CHECK_STR(out_msg_text(h[0]), "m2");
    CHECK_STR(out_msg_text(h[3]), "m5");
    room_reg_free(reg);
}

TEST(empty_room_keeps_history_until_the_ttl)
{
    struct room_reg *reg = room_reg_new(&cfg);
    struct peer *a = join(reg, "r", 0, NULL, ROOM_JOINED);
    join(reg, "quiet", 1, NULL, ROOM_JOINED);
    add_text(reg, room_find(reg, "r"), "x");
    room_leave(reg, a, 100);
    room_leave(reg, room_find(reg, "quiet")->peers, 100);
    room_expire(reg, 200, on_expired, NULL);
    CHECK(room_find(reg, "r") != NULL);
    CHECK(room_find(reg, "quiet") == NULL); /* no history: gone at once */
    room_expire(reg, 1100, on_expired, NULL);
    CHECK(room_find(reg, "r") == NULL);
    CHECK(room_reg_count(reg) == 0);
    room_reg_free(reg);
}

TEST(many_rooms_survive_rehashing)
{
    struct room_reg *reg = room_reg_new(&cfg);
    char id[16];
    for (int i = 0; i < 3000; i++) {
        snprintf(id, sizeof id, "room%d", i);
        join(reg, id, 0, NULL, ROOM_JOINED);
    }
    CHECK(room_reg_count(reg) == 3000);
    CHECK(room_find(reg, "room2999") != NULL);
    CHECK(room_find(reg, "room0") != NULL);
    room_reg_free(reg);
}

TEST(history_over_the_byte_budget_frees_empty_rooms_then_keeps_no_more)
{
    /* 100 bytes for all rooms' history; each message below is 40. */
    const struct room_cfg small = {3, 4, 1000000, 1500, 100};
    const char *forty = "0123456789012345678901234567890123456789";
    struct room_reg *reg = room_reg_new(&small);
    struct peer *a = join(reg, "a", 0, NULL, ROOM_JOINED);
    add_text(reg, a->room, forty);
    add_text(reg, a->room, forty);
    room_leave(reg, a, 0); /* empty, history kept for its TTL */
    CHECK(room_find(reg, "a") != NULL);

    struct peer *b = join(reg, "b", 1, NULL, ROOM_JOINED);
    struct room *rb = b->room;
    add_text(reg, rb, forty); /* 120 > 100: the empty room "a" goes */
    CHECK(room_find(reg, "a") == NULL);
    add_text(reg, rb, forty);
    add_text(reg, rb, forty); /* nothing left to free: not kept */
    struct out_msg *h[4];
    CHECK(room_history(rb, h, 4) == 2);
    room_reg_free(reg);
}

TEST(seat_totals_follow_joins_grace_resumes_and_leaves)
{
    struct room_reg *reg = room_reg_new(&cfg);
    size_t seats, grace;
    struct peer *a = join(reg, "x", 0, NULL, ROOM_JOINED);
    struct peer *b = join(reg, "y", 1, NULL, ROOM_JOINED);
    room_grace(reg, a, 0);
    room_reg_seats(reg, &seats, &grace);
    CHECK(seats == 2 && grace == 1);
    char tok[TOKEN_LEN + 1];
    memcpy(tok, a->token, sizeof tok);
    join(reg, "x", 2, tok, ROOM_RESUMED);
    room_reg_seats(reg, &seats, &grace);
    CHECK(seats == 2 && grace == 0);
    room_grace(reg, b, 0);
    room_expire(reg, 100000, on_expired, NULL);
    room_reg_seats(reg, &seats, &grace);
    CHECK(seats == 1 && grace == 0);
    room_leave(reg, a, 0);
    room_reg_seats(reg, &seats, &grace);
    CHECK(seats == 0 && grace == 0);
    room_reg_free(reg);
}

TEST(join_with_a_given_id_and_token_keeps_them)
{
    struct room_reg *reg = room_reg_new(&cfg);
    struct room_seat s = {.name = "n",
                          .id = "AAAAAAAAAAAAAAAA",
                          .token = "BBBBBBBBBBBBBBBBBBBBBB"};
    struct peer *p, *q;
    void *old;
    REQUIRE(room_join(reg, "r", &conns[0], &s, 0, &p, &old) == ROOM_JOINED);
    CHECK_STR(p->id, s.id);
    CHECK_STR(p->token, s.token);
    struct room_seat back = {.name = "n",
                             .resume = "BBBBBBBBBBBBBBBBBBBBBB",
                             .token = "CCCCCCCCCCCCCCCCCCCCCC"};
    REQUIRE(room_join(reg, "r", &conns[1], &back, 0, &q, &old) == ROOM_RESUMED);
    CHECK(q == p && old == &conns[0]);
    CHECK_STR(q->token, back.token);
    room_reg_free(reg);
}
