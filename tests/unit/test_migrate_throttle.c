/* Unit tests of the backfill throttle's decision (src/migrate/throttle.c): each signal
 * backs off, a quiet batch comes back slowly, the automatic rule keeps the app's loss
 * within its budget, the cap and the floor hold. */
#include "unit.h"

#include <math.h>
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

static void budget_duty_from_the_app_speed(void **state)
{
    /* the app at half speed during batches, at full speed between them: 10% of the time
       in batches costs it 5% */
    struct throttle_sample s = {.probe_ms = 2, .rest_ms = 1, .base_ms = 1, .lag_ms = -1};
    assert_true(fabs(throttle_budget_duty(&s) - 10) < 1e-9);
    s.rest_ms = 0; /* no probe between batches yet: counted as full speed */
    assert_true(fabs(throttle_budget_duty(&s) - 10) < 1e-9);
    s.probe_ms = 1.04; /* batches cost the app under 5% even when they run all the time */
    assert_true(throttle_budget_duty(&s) == 100);
    s.probe_ms = 0.5; /* faster than before the backfill: no cost */
    assert_true(throttle_budget_duty(&s) == 100);
    /* the pauses already cost 2.5% (1 / 1.025 - 1 below full speed): half the budget
       left, the batches cost 50% more than the pauses */
    s.rest_ms = 1 / 0.975;
    s.probe_ms = 1 / (0.975 - 0.5);
    assert_true(fabs(throttle_budget_duty(&s) - 5) < 1e-6);
    s.rest_ms = 1.06; /* the pauses alone cost the whole budget (and more) */
    assert_true(throttle_budget_duty(&s) == 0);
    s.probe_ms = s.rest_ms; /* batches no slower than pauses, however slow */
    assert_true(throttle_budget_duty(&s) == 0);
}

static void auto_rule_keeps_the_duty_within_the_budget(void **state)
{
    struct throttle_limits l = {.duty_percent = 50};
    struct throttle_sample s = {.probe_ms = 2, .rest_ms = 1, .base_ms = 1, .lag_ms = -1};
    const char *why;
    assert_true(fabs(throttle_next_duty(40, &l, &s, &why) - 10) < 1e-9); /* straight down */
    assert_string_equal(why, "the app slows down past the backfill's budget");
    assert_true(fabs(throttle_next_duty(8, &l, &s, &why) - 9) < 1e-9); /* 1 point up */
    assert_null(why);
    assert_true(fabs(throttle_next_duty(9.5, &l, &s, &why) - 10) < 1e-9); /* up to it */
    assert_null(why);
    s.probe_ms = 4; /* the app slows more: the budget's duty drops */
    assert_true(fabs(throttle_next_duty(10, &l, &s, &why) - 100 * 0.05 / 0.75) < 1e-9);
    assert_non_null(why);
    s.rest_ms = 2; /* the pauses cost it all: the floor (2%), the walk still goes on */
    assert_true(throttle_next_duty(10, &l, &s, &why) == 2);
    assert_non_null(why);
    s = (struct throttle_sample){.probe_ms = 1.01, .rest_ms = 1, .base_ms = 1, .lag_ms = -1};
    assert_true(throttle_next_duty(49.5, &l, &s, &why) == 50); /* cheap batches: the cap */
    s.lock_waits = 1; /* the other signals still back off by 30% */
    assert_true(fabs(throttle_next_duty(40, &l, &s, &why) - 28) < 1e-9);
    assert_string_equal(why, "sessions wait for a lock of the backfill");
}

static void auto_rule_needs_a_base_and_a_probe(void **state)
{
    struct throttle_limits l = {.duty_percent = 50};
    const char *why;
    struct throttle_sample s = {.probe_ms = 30, .rest_ms = 1, .base_ms = 0, .lag_ms = -1};
    assert_true(throttle_next_duty(20, &l, &s, &why) == 21); /* no base: no budget */
    assert_null(why);
    s.base_ms = 1;
    s.probe_ms = -1; /* no probe finished while batches ran */
    assert_true(throttle_next_duty(20, &l, &s, &why) == 21);
    assert_null(why);
    s.probe_ms = 30;
    l.probe_target_ms = 40; /* a target set: it rules, not the budget */
    assert_true(throttle_next_duty(20, &l, &s, &why) == 21);
    assert_null(why);
    s.probe_ms = 41;
    assert_true(fabs(throttle_next_duty(20, &l, &s, &why) - 14) < 1e-9);
    assert_string_equal(why, "probe latency over its target");
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
    assert_true(d == 2); /* the floor */
    l.duty_percent = 1;  /* a cap under the floor wins */
    assert_true(throttle_next_duty(d, &l, &s, &why) == 1);
}

UNIT_MAIN("migrate_throttle", NULL, NULL, cmocka_unit_test(quiet_batches_rise_to_the_cap),
          cmocka_unit_test(each_signal_backs_off), cmocka_unit_test(budget_duty_from_the_app_speed),
          cmocka_unit_test(auto_rule_keeps_the_duty_within_the_budget),
          cmocka_unit_test(auto_rule_needs_a_base_and_a_probe),
          cmocka_unit_test(never_below_the_floor))
