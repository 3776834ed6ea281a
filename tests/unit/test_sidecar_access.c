/* access.c: room passwords, lobbies and marks (bans, return tickets),
 * without a hub. */
#include <stdio.h>
#include <string.h>

#include "access.h"
#include "check.h"

TEST(password_checks_only_the_password_it_was_set_to_and_clears)
{
    struct access_pw pw = {0}, again = {0};

    CHECK(!access_pw_check(&pw, "anything"));
    CHECK(access_pw_set(&pw, "blue-falcon") == 0 && pw.set);
    CHECK(access_pw_check(&pw, "blue-falcon"));
    CHECK(!access_pw_check(&pw, "blue-falcoN"));
    CHECK(!access_pw_check(&pw, "blue-falco"));
    CHECK(!access_pw_check(&pw, ""));
    /* The same password again gets a new salt, so another hash. */
    CHECK(access_pw_set(&again, "blue-falcon") == 0);
    CHECK(memcmp(pw.salt, again.salt, sizeof pw.salt) != 0);
    CHECK(memcmp(pw.hash, again.hash, sizeof pw.hash) != 0);
    CHECK(access_pw_check(&again, "blue-falcon"));
    CHECK(access_pw_set(&pw, "") == 0 && !pw.set);
    CHECK(!access_pw_check(&pw, "blue-falcon"));
}

TEST(password_in_hex_for_redis_hashes_with_the_salt_it_is_given)
{
    char salt[33], other[33], a[65], b[65], c[65];

    access_pw_salt(salt);
    access_pw_salt(other);
    CHECK(strlen(salt) == 32 && strcmp(salt, other) != 0);
    CHECK(strspn(salt, "0123456789abcdef") == 32);
    REQUIRE(access_pw_hex(salt, "blue-falcon", a) == 0);
    REQUIRE(access_pw_hex(salt, "blue-falcon", b) == 0);
    REQUIRE(access_pw_hex(other, "blue-falcon", c) == 0);
    CHECK(strlen(a) == 64 && strcmp(a, b) == 0 && strcmp(a, c) != 0);
    CHECK(access_pw_hex(salt, "blue-falcoN", b) == 0 && strcmp(a, b) != 0);
    /* A salt that is not 32 lower-case hex digits is refused. */
    CHECK(access_pw_hex("", "x", b) < 0);
    CHECK(access_pw_hex("00112233445566778899aabbccddeeff00", "x", b) < 0);
    CHECK(access_pw_hex("00112233445566778899AABBCCDDEEFF", "x", b) < 0);
    CHECK(access_pw_hex("0x112233445566778899aabbccddeeff", "x", b) < 0);
}

TEST(lobby_keeps_knocks_in_order_with_distinct_ids)
{
    struct lobby l = {0};
    int conn[3];
    struct knock *a = lobby_add(&l, NULL, "Ann", true, false, &conn[0], 10);
    struct knock *b = lobby_add(&l, NULL, "Bob", false, true, &conn[1], 20);
    struct knock *c = lobby_add(&l, NULL, "Cy", false, false, &conn[2], 30);

    REQUIRE(a != NULL && b != NULL && c != NULL);
    CHECK(l.n == 3 && l.head == a && a->next == b && b->next == c);
    CHECK(strlen(a->id) == ACCESS_KNOCK_ID_LEN && strcmp(a->id, b->id) != 0);
    CHECK(lobby_find(&l, b->id) == b && b->conn == &conn[1] && b->video);
    CHECK(lobby_find(&l, "nobody") == NULL);
    lobby_remove(&l, b);
    CHECK(l.n == 2 && a->next == c);
    lobby_remove(&l, a);
    lobby_remove(&l, c);
    CHECK(l.n == 0 && l.head == NULL);
}

TEST(marks_hold_until_their_end_per_room_and_key)
{
    struct marks *b = marks_new(100);

    REQUIRE(b != NULL);
    CHECK(marks_add(b, "room", "10.0.0.5", 0, 0, 1000) == 0);
    CHECK(marks_hit(b, "room", "10.0.0.5", 999, NULL));
    CHECK(!marks_hit(b, "room", "10.0.0.6", 999, NULL));
    CHECK(!marks_hit(b, "other", "10.0.0.5", 999, NULL));
    /* A later ban of the same pair extends it; an earlier one does not
     * shorten it. */
    CHECK(marks_add(b, "room", "10.0.0.5", 0, 500, 2000) == 0);
    CHECK(marks_add(b, "room", "10.0.0.5", 0, 600, 1500) == 0);
    CHECK(marks_count(b) == 1);
    CHECK(marks_hit(b, "room", "10.0.0.5", 1999, NULL));
    CHECK(!marks_hit(b, "room", "10.0.0.5", 2000, NULL));
    CHECK(marks_count(b) == 0); /* an ended mark met is dropped */
    marks_free(b);
}

TEST(a_mark_keeps_its_value_and_a_taken_one_is_used_once)
{
    struct marks *t = marks_new(100);
    int64_t v = -1;

    REQUIRE(t != NULL);
    CHECK(marks_add(t, "room", "tokenA", 1, 0, 1000) == 0);
    CHECK(marks_add(t, "room", "tokenB", 0, 0, 1000) == 0);
    CHECK(marks_hit(t, "room", "tokenA", 10, &v) && v == 1);
    CHECK(marks_hit(t, "room", "tokenA", 10, NULL)); /* a hit keeps it */
    v = -1;
    CHECK(marks_take(t, "room", "tokenA", 20, &v) && v == 1);
    CHECK(!marks_take(t, "room", "tokenA", 20, &v));
    CHECK(!marks_take(t, "other", "tokenB", 20, &v));
    v = -1;
    CHECK(!marks_take(t, "room", "tokenB", 1000, &v) && v == -1); /* ended */
    CHECK(marks_count(t) == 0);
    marks_free(t);
}

TEST(marks_are_bounded_ended_ones_make_way_and_sweep_drops_them)
{
    struct marks *b = marks_new(3);
    char addr[32];

    REQUIRE(b != NULL);
    for (int i = 0; i < 3; i++) {
        snprintf(addr, sizeof addr, "10.0.0.%d", i);
        CHECK(marks_add(b, "room", addr, 0, 0, 100 + i) == 0);
    }
    CHECK(marks_add(b, "room", "10.0.1.1", 0, 50, 500) <
          0); /* full, none ended */
    CHECK(marks_add(b, "room", "10.0.1.1", 0, 101, 500) == 0); /* two ended */
    CHECK(marks_count(b) == 2);
    marks_sweep(b, 499);
    CHECK(marks_count(b) == 1);
    marks_sweep(b, 500);
    CHECK(marks_count(b) == 0);
    /* A key too long for the table is refused, not cut. */
    char room[200];
    memset(room, 'r', sizeof room - 1);
    room[sizeof room - 1] = '\0';
    CHECK(marks_add(b, room, "10.0.0.1", 0, 0, 10) < 0);
    CHECK(!marks_hit(b, room, "10.0.0.1", 0, NULL));
    marks_free(b);
}
