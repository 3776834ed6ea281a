#include "check.h"

struct check_test check_tests[CHECK_MAX_TESTS];
int check_count;
int check_failed;

int main(int argc, char **argv)
{
    int failures = 0, ran = 0;

    for (int i = 0; i < check_count; i++) {
        if (argc > 1 && strcmp(argv[1], check_tests[i].name) != 0)
            continue;
        check_failed = 0;
        check_tests[i].fn();
        ran++;
        printf("%s %s\n", check_failed ? "FAIL" : "ok  ", check_tests[i].name);
        failures += check_failed;
    }
    if (ran == 0) {
        fprintf(stderr, "no test named %s\n", argc > 1 ? argv[1] : "(any)");
        return 2;
    }
    return failures ? 1 : 0;
}
