/* Unit tests of the backfill throttle's decision (src/migrate/throttle.c): each signal
 * backs off, a quiet batch comes back slowly, the cap and the floor hold. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "migrate/throttle.h"

static const struct throttle_sample quiet = {.probe_ms = 1, .rest_ms = 1, .lag_ms = -1};

static void quiet_batches_rise_to_the_cap(void **state)
{
    struct throttle_limits l = {.duty_percent = 50};
    const char *why = "x";
    assert_true(throttle_next_duty(20, &l, &quiet, &why) == 21);
    assert_null(why);
    struct throttle_sample none = quiet;
    none.probe_ms = -1;
    none.no_probe = 1; /* no probe overlapped the batch: no news, no change */
    assert_true(throttle_next_duty(20, &l, &none, &why) == 20);
    assert_null(why);
    assert_true(throttle_next_duty(49, &l, &quiet, &why) == 50);
    assert_true(throttle_next_duty(80, &l, &quiet, &why) == 50); /* a lowered cap */
}

static void each_signal_backs_off(void **state)
{
    struct throttle_limits l = {
        .duty_percent = 50, .probe_target_ms = 10, .max_active = 4, .max_lag_ms = 1000};
    /* a sample, the duty that follows 40% and its reason */
    static const struct {
        struct throttle_sample s;
        double duty;
        const char *why;
    } cases[] = {
        {{.probe_ms = 1, .rest_ms = 1, .lag_ms = -1, .lock_waits = 1},
         28,
         "sessions wait for a lock of the backfill"},
        {{.probe_ms = 11, .rest_ms = 1, .lag_ms = -1}, 28, "probe latency over its target"},
        {{.probe_ms = 1, .rest_ms = 1, .lag_ms = -1, .active = 5},
         28,
         "active sessions over --max-active"},
        {{.probe_ms = 1, .rest_ms = 1, .lag_ms = 1500}, 28, "replica lag over --max-lag"},
        /* at the limits is not over them */
        {{.probe_ms = 10, .rest_ms = 1, .lag_ms = 1000, .active = 4}, 41, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *why;
        double duty = throttle_next_duty(40, &l, &cases[i].s, &why);
        if (cases[i].why)
            assert_string_equal(why, cases[i].why);
        else
            assert_null(why);
        assert_true(duty == cases[i].duty);
    }
}

static void auto_target_follows_the_rest_latency(void **state)
{
    struct throttle_limits l = {.duty_percent = 50};
    const char *why;
    struct throttle_sample s = {.probe_ms = 4.9, .rest_ms = 0.2, .lag_ms = -1};
    throttle_next_duty(40, &l, &s, &why);
    assert_null(why); /* under the 5 ms floor of the target */
    s.probe_ms = 5.1;
    throttle_next_duty(40, &l, &s, &why);
    assert_non_null(why);
    s.rest_ms = 3;
    s.probe_ms = 11.9;
    throttle_next_duty(40, &l, &s, &why);
    assert_null(why); /* 4 times the rest latency */
    s.rest_ms = 0;    /* no probe between batches yet: no automatic target */
    s.probe_ms = 18;
    throttle_next_duty(40, &l, &s, &why);
    assert_null(why);
    s.probe_ms = -1; /* no probe finished */
    throttle_next_duty(40, &l, &s, &why);
    assert_null(why);
}

static void never_below_the_floor(void **state)
{
    struct throttle_limits l = {.duty_percent = 50, .max_active = 1};
    struct throttle_sample s = quiet;
    s.active = 9;
    const char *why;
    double d = 50;
    for (int i = 0; i < 50; i++)
        d = throttle_next_duty(d, &l, &s, &why);
    assert_true(d == 5);
    l.duty_percent = 3; /* a cap under the floor wins */
    assert_true(throttle_next_duty(d, &l, &s, &why) == 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(quiet_batches_rise_to_the_cap),
        cmocka_unit_test(each_signal_backs_off),
        cmocka_unit_test(auto_target_follows_the_rest_latency),
        cmocka_unit_test(never_below_the_floor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
