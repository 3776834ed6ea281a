#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

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

TEST(log_repeats_of_one_shape_are_suppressed_and_counted)
{
    char path[] = "/tmp/huddle-logtest-XXXXXX";
    int fd = mkstemp(path);
    int saved = dup(2);
    CHECK(fd >= 0 && saved >= 0);
    fflush(stderr);
    dup2(fd, 2);
    for (int i = 0; i < 1000; i++)
        log_write(LOG_WARN, "accept: errno %d try %d", 24, i);
    log_write(LOG_WARN, "another line");
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    FILE *f = fdopen(fd, "r");
    rewind(f);
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, f) != NULL)
        n++;
    fclose(f);
    unlink(path);
    /* 5 a second at most of the accept line (a second may turn over once
     * within the loop, and each second opens with a count), and the other. */
    CHECK(n >= 6 && n <= 12);
}
