/* What every cmocka unit test program in tests/unit starts with: cmocka and the headers
 * it needs before it, assert_refused, and UNIT_MAIN, the program's main(). */
#ifndef BATON_TESTS_UNIT_H
#define BATON_TESTS_UNIT_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

/* CALL fails (-1) and the message MSG it filled holds NEEDLE: a refusal that names its
 * cause. A macro, so that cmocka reports a failure at the caller's line. */
#define assert_refused(call, msg, needle)                                                          \
    do {                                                                                           \
        assert_int_equal((call), -1);                                                              \
        assert_non_null(strstr((msg), (needle)));                                                  \
    } while (0)

/* main(): runs the tests listed (cmocka_unit_test entries) as the group NAME, with the
 * group's SETUP and TEARDOWN (NULL for none); exits with the number that failed. */
#define UNIT_MAIN(name, setup, teardown, ...)                                                      \
    int main(void)                                                                                 \
    {                                                                                              \
        const struct CMUnitTest tests[] = {__VA_ARGS__};                                           \
        return cmocka_run_group_tests_name(name, tests, setup, teardown);                          \
    }

#endif
