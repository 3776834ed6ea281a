#include "check.h"
#include "env.h"
#include "log.h"

TEST(env_parse_accepts_plain_numbers_in_range)
{
    long v = 0;
    CHECK(env_parse_long("8", 1, 64, &v) == 0 && v == 8);
    CHECK(env_parse_long("-3", -5, 5, &v) == 0 && v == -3);
}

TEST(env_parse_rejects_junk_empty_and_out_of_range)
{
    long v = 42;
    CHECK(env_parse_long("", 0, 10, &v) < 0);
    CHECK(env_parse_long("8x", 0, 10, &v) < 0);
    CHECK(env_parse_long(" 8", 0, 10, &v) < 0);
    CHECK(env_parse_long("+8", 0, 10, &v) < 0);
    CHECK(v == 42);
    CHECK(env_parse_long("11", 0, 10, &v) < 0);
    CHECK(env_parse_long("99999999999999999999999", 0, 10, &v) < 0);
    CHECK(env_parse_long(NULL, 0, 10, &v) < 0);
}

TEST(log_escape_hides_control_bytes_and_cuts_long_input)
{
    char out[64];
    CHECK_STR(log_escape(out, sizeof out, "a\nb\"", 4, 64), "a\\x0ab\\x22");
    CHECK_STR(log_escape(out, sizeof out, "abcdef", 6, 3), "abc...");
    CHECK_STR(log_escape(out, sizeof out, "", 0, 3), "");
}
