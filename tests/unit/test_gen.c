/* Unit tests of the generation state machine (supervise/gen.c): every transition of
 * the diagram, the rollback paths, and that impossible events leave the state alone. */
#include "unit.h"

#include <string.h>

#include "supervise/gen.h"

static enum gen_state step(enum gen_state s, enum gen_event ev, int expect_action)
{
    int act = gen_step(&s, ev);
    assert_int_equal(act, expect_action);
    return s;
}

static void happy_path(void **state)
{
    enum gen_state s = GEN_STARTING;
    s = step(s, GEV_ALL_READY, GACT_HOLD);
    assert_int_equal(s, GEN_READY);
    s = step(s, GEV_PROMOTE, GACT_PROMOTE);
    assert_int_equal(s, GEN_SERVING);
    s = step(s, GEV_WORKER_EXIT, GACT_RESTART); /* crash in steady state: restart */
    assert_int_equal(s, GEN_SERVING);
    s = step(s, GEV_STOP, GACT_DRAIN);
    assert_int_equal(s, GEN_DRAINING);
    s = step(s, GEV_WORKER_EXIT, GACT_NONE);
    s = step(s, GEV_STOP, GACT_NONE); /* a second stop changes nothing */
    assert_int_equal(s, GEN_DRAINING);
    s = step(s, GEV_DRAIN_TIMEOUT, GACT_KILL);
    assert_int_equal(s, GEN_DRAINING);
    s = step(s, GEV_ALL_EXITED, GACT_RETIRE);
    assert_int_equal(s, GEN_EXITED);
}

/* One transition: from state FROM, event EV answers ACTION and leads to state TO. */
struct transition {
    enum gen_state from;
    enum gen_event ev;
    int action;
    enum gen_state to;
};

/* The paths off the happy one: rollbacks, and late events that must change nothing. */
static void rollback_paths_and_late_events(void **state)
{
    static const struct transition t[] = {
        /* exits at start, never ready, crashes during --min-ready, stopped mid-upgrade */
        {GEN_STARTING, GEV_WORKER_EXIT, GACT_FAIL, GEN_FAILED},
        {GEN_STARTING, GEV_READY_TIMEOUT, GACT_FAIL, GEN_FAILED},
        {GEN_READY, GEV_WORKER_EXIT, GACT_FAIL, GEN_FAILED},
        {GEN_STARTING, GEV_STOP, GACT_FAIL, GEN_FAILED},
        {GEN_READY, GEV_STOP, GACT_FAIL, GEN_FAILED},
        /* a failed generation's workers are killed at the drain timeout, then it is freed */
        {GEN_FAILED, GEV_WORKER_EXIT, GACT_NONE, GEN_FAILED},
        {GEN_FAILED, GEV_DRAIN_TIMEOUT, GACT_KILL, GEN_FAILED},
        {GEN_FAILED, GEV_ALL_EXITED, GACT_RETIRE, GEN_FAILED},
        /* late: a READY=1 after failing, a ready timeout racing the promotion */
        {GEN_FAILED, GEV_ALL_READY, GACT_NONE, GEN_FAILED},
        {GEN_READY, GEV_READY_TIMEOUT, GACT_NONE, GEN_READY},
        {GEN_SERVING, GEV_READY_TIMEOUT, GACT_NONE, GEN_SERVING},
        {GEN_EXITED, GEV_STOP, GACT_NONE, GEN_EXITED},
        /* recovered orphans that all exit */
        {GEN_SERVING, GEV_ALL_EXITED, GACT_RETIRE, GEN_EXITED},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        assert_int_equal(step(t[i].from, t[i].ev, t[i].action), t[i].to);
}

static void impossible_events_are_refused(void **state)
{
    static const struct {
        enum gen_state s;
        enum gen_event ev;
    } bad[] = {
        {GEN_STARTING, GEV_PROMOTE},    {GEN_STARTING, GEV_DRAIN_TIMEOUT},
        {GEN_STARTING, GEV_ALL_EXITED}, {GEN_READY, GEV_ALL_READY},
        {GEN_SERVING, GEV_PROMOTE},     {GEN_SERVING, GEV_DRAIN_TIMEOUT},
        {GEN_DRAINING, GEV_PROMOTE},    {GEN_EXITED, GEV_WORKER_EXIT},
        {GEN_EXITED, GEV_ALL_EXITED},   {GEN_FAILED, GEV_PROMOTE},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        enum gen_state s = bad[i].s;
        assert_int_equal(gen_step(&s, bad[i].ev), -1);
        assert_int_equal(s, bad[i].s);
    }
    enum gen_state s = (enum gen_state)99;
    assert_int_equal(gen_step(&s, GEV_STOP), -1);
    s = GEN_SERVING;
    assert_int_equal(gen_step(&s, (enum gen_event)99), -1);
}

static void every_pair_is_decided(void **state)
{
    /* terminal states never go back to a live state */
    for (int ev = 0; ev < GEV_NEVENTS; ev++) {
        enum gen_state s = GEN_EXITED;
        gen_step(&s, (enum gen_event)ev);
        assert_int_equal(s, GEN_EXITED);
        s = GEN_FAILED;
        gen_step(&s, (enum gen_event)ev);
        assert_int_equal(s, GEN_FAILED);
    }
}

static void names_round_trip(void **state)
{
    for (int s = 0; s < GEN_NSTATES; s++)
        assert_int_equal(gen_state_parse(gen_state_name((enum gen_state)s)), s);
    assert_int_equal(gen_state_parse("bogus"), -1);
    assert_string_equal(gen_state_name(GEN_DRAINING), "draining");
    assert_string_equal(gen_event_name(GEV_READY_TIMEOUT), "ready_timeout");
    assert_string_equal(gen_action_name(GACT_RESTART), "restart");
}

UNIT_MAIN("gen", NULL, NULL, cmocka_unit_test(happy_path),
          cmocka_unit_test(rollback_paths_and_late_events),
          cmocka_unit_test(impossible_events_are_refused), cmocka_unit_test(every_pair_is_decided),
          cmocka_unit_test(names_round_trip))
