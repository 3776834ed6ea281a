/* A minimal unit-test harness: one binary per suite, one ctest test per
 * TEST() (tests/unit/CMakeLists.txt finds the names in the source).
 *
 *   TEST(room_id_rejects_65_chars) { CHECK(!roomid_valid(s, 65)); }
 *
 * Run a binary with no argument to run every test in it, or with a test
 * name to run one. CHECK failures print file:line and mark the test failed;
 * the test goes on, so one run shows every broken check. */
#ifndef HUDDLE_CHECK_H
#define HUDDLE_CHECK_H

#include <stdio.h>
#include <string.h>

struct check_test {
    const char *name;
    void (*fn)(void);
};

#define CHECK_MAX_TESTS 512
extern struct check_test check_tests[CHECK_MAX_TESTS];
extern int check_count;
extern int check_failed;

#define TEST(name)                                                             \
    static void name(void);                                                    \
    __attribute__((constructor)) static void name##_register(void)             \
    {                                                                          \
        if (check_count < CHECK_MAX_TESTS)                                     \
            check_tests[check_count++] = (struct check_test){#name, name};     \
    }                                                                          \
    static void name(void)

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__,   \
                    #cond);                                                    \
            check_failed = 1;                                                  \
        }                                                                      \
    } while (0)

/* A CHECK that also ends the test when it fails: for what the rest of the
 * test relies on (a pointer it dereferences). */
#define REQUIRE(cond)                                                          \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: REQUIRE(%s) failed\n", __FILE__, __LINE__, \
                    #cond);                                                    \
            check_failed = 1;                                                  \
            return;                                                            \
        }                                                                      \
    } while (0)

#define CHECK_STR(got, want)                                                   \
    do {                                                                       \
        const char *check_got_ = (got), *check_want_ = (want);                 \
        if (check_got_ == NULL || strcmp(check_got_, check_want_) != 0) {      \
            fprintf(stderr, "%s:%d: got \"%s\", want \"%s\"\n", __FILE__,      \
                    __LINE__, check_got_ ? check_got_ : "(null)",              \
                    check_want_);                                              \
            check_failed = 1;                                                  \
        }                                                                      \
    } while (0)

#endif
