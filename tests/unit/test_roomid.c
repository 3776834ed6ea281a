#include "check.h"
#include "roomid.h"

static int valid(const char *s)
{
    return roomid_valid(s, strlen(s));
}

TEST(room_id_accepts_uuid_and_typed_names)
{
    CHECK(valid("0b7e5f43-8c3f-4a57-9d0e-3f2b6c1a9e21"));
    CHECK(valid("team-standup"));
    CHECK(valid("A"));
    CHECK(valid("a_b-C9"));
}

TEST(room_id_rejects_bad_first_char)
{
    CHECK(!valid("-team"));
    CHECK(!valid("_team"));
    CHECK(!valid(""));
}

TEST(room_id_accepts_64_and_rejects_65_chars)
{
    char s[66];
    memset(s, 'a', sizeof s);
    CHECK(roomid_valid(s, 64));
    CHECK(!roomid_valid(s, 65));
}

TEST(room_id_rejects_path_tricks_and_odd_bytes)
{
    CHECK(!valid("../etc"));
    CHECK(!valid("a/b"));
    CHECK(!valid("a.b"));
    CHECK(!valid("a b"));
    CHECK(!valid("a%00"));
    CHECK(!valid("caf\xc3\xa9"));
    CHECK(!roomid_valid("ab\0cd", 5));
    CHECK(!roomid_valid(NULL, 3));
}

TEST(room_id_rejects_reserved_names_in_any_case)
{
    CHECK(!valid("ws"));
    CHECK(!valid("healthz"));
    CHECK(!valid("assets"));
    CHECK(!valid("api"));
    CHECK(!valid("peerjs"));
    CHECK(!valid("metrics"));
    CHECK(!valid("WS"));
    CHECK(!valid("HEALTHZ"));
    CHECK(!valid("Assets"));
    CHECK(!valid("mEtRiCs"));
    CHECK(valid("wss"));
    CHECK(valid("api2"));
}
