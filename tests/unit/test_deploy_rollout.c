/* Unit tests of a host's rollout state machine (deploy/hostsm.c): every (state, event)
 * pair against the transition list written out again here, the paths a deploy takes
 * end to end, and the names the progress file stores. */
#include "unit.h"

#include <string.h>

#include "deploy/hostsm.h"

struct expect {
    enum host_state from;
    enum host_event ev;
    enum host_state to;
    enum host_action act;
};

/* The whole protocol; any pair missing here must be refused. */
static const struct expect table[] = {
    {HS_PENDING, HEV_START, HS_DRAINING, HACT_DRAIN},
    {HS_PENDING, HEV_START_INPLACE, HS_UPGRADING, HACT_UPGRADE},
    {HS_PENDING, HEV_REVERT, HS_PENDING, HACT_NONE},
    {HS_PENDING, HEV_RESUME, HS_PENDING, HACT_NONE},
    {HS_DRAINING, HEV_OK, HS_UPGRADING, HACT_UPGRADE},
    {HS_DRAINING, HEV_FAIL, HS_RESTORING, HACT_ENABLE},
    {HS_DRAINING, HEV_TIMEOUT, HS_RESTORING, HACT_ENABLE},
    {HS_DRAINING, HEV_LOST, HS_DRAINING, HACT_STOP},
    {HS_DRAINING, HEV_REVERT, HS_RESTORING, HACT_ENABLE},
    {HS_DRAINING, HEV_RESUME, HS_DRAINING, HACT_DRAIN},
    {HS_UPGRADING, HEV_OK, HS_CHECKING, HACT_CHECK},
    {HS_UPGRADING, HEV_FAIL, HS_REVERT_DRAINING, HACT_DRAIN},
    {HS_UPGRADING, HEV_LOST, HS_UPGRADING, HACT_STOP},
    {HS_UPGRADING, HEV_REVERT, HS_REVERT_DRAINING, HACT_DRAIN},
    {HS_UPGRADING, HEV_RESUME, HS_PROBING, HACT_PROBE},
    {HS_PROBING, HEV_OK, HS_CHECKING, HACT_CHECK},
    {HS_PROBING, HEV_FAIL, HS_UPGRADING, HACT_UPGRADE},
    {HS_PROBING, HEV_LOST, HS_UPGRADING, HACT_STOP},
    {HS_PROBING, HEV_REVERT, HS_REVERT_DRAINING, HACT_DRAIN},
    {HS_PROBING, HEV_RESUME, HS_PROBING, HACT_PROBE},
    {HS_CHECKING, HEV_OK, HS_ENABLING, HACT_ENABLE},
    {HS_CHECKING, HEV_FAIL, HS_REVERT_DRAINING, HACT_DRAIN},
    {HS_CHECKING, HEV_LOST, HS_CHECKING, HACT_STOP},
    {HS_CHECKING, HEV_REVERT, HS_REVERT_DRAINING, HACT_DRAIN},
    {HS_CHECKING, HEV_RESUME, HS_CHECKING, HACT_CHECK},
    {HS_ENABLING, HEV_OK, HS_DONE, HACT_FINISH},
    {HS_ENABLING, HEV_FAIL, HS_REVERT_DRAINING, HACT_DRAIN},
    {HS_ENABLING, HEV_LOST, HS_ENABLING, HACT_STOP},
    {HS_ENABLING, HEV_REVERT, HS_REVERT_DRAINING, HACT_DRAIN},
    {HS_ENABLING, HEV_RESUME, HS_ENABLING, HACT_ENABLE},
    {HS_DONE, HEV_REVERT, HS_REVERT_DRAINING, HACT_DRAIN},
    {HS_DONE, HEV_RESUME, HS_DONE, HACT_NONE},
    {HS_RESTORING, HEV_OK, HS_RESTORED, HACT_HALT},
    {HS_RESTORING, HEV_FAIL, HS_RESTORING, HACT_STOP},
    {HS_RESTORING, HEV_LOST, HS_RESTORING, HACT_STOP},
    {HS_RESTORING, HEV_REVERT, HS_RESTORING, HACT_NONE},
    {HS_RESTORING, HEV_RESUME, HS_RESTORING, HACT_ENABLE},
    {HS_RESTORED, HEV_START, HS_DRAINING, HACT_DRAIN},
    {HS_RESTORED, HEV_START_INPLACE, HS_UPGRADING, HACT_UPGRADE},
    {HS_RESTORED, HEV_REVERT, HS_RESTORED, HACT_NONE},
    {HS_RESTORED, HEV_RESUME, HS_RESTORED, HACT_NONE},
    {HS_REVERT_DRAINING, HEV_OK, HS_REVERTING, HACT_REVERT},
    {HS_REVERT_DRAINING, HEV_FAIL, HS_REVERTING, HACT_REVERT},
    {HS_REVERT_DRAINING, HEV_TIMEOUT, HS_REVERTING, HACT_REVERT},
    {HS_REVERT_DRAINING, HEV_LOST, HS_REVERT_DRAINING, HACT_STOP},
    {HS_REVERT_DRAINING, HEV_REVERT, HS_REVERT_DRAINING, HACT_NONE},
    {HS_REVERT_DRAINING, HEV_RESUME, HS_REVERT_DRAINING, HACT_DRAIN},
    {HS_REVERTING, HEV_OK, HS_REVERT_CHECKING, HACT_CHECK},
    {HS_REVERTING, HEV_FAIL, HS_FAILED, HACT_GIVE_UP},
    {HS_REVERTING, HEV_LOST, HS_REVERTING, HACT_STOP},
    {HS_REVERTING, HEV_REVERT, HS_REVERTING, HACT_NONE},
    {HS_REVERTING, HEV_RESUME, HS_REVERTING, HACT_REVERT},
    {HS_REVERT_CHECKING, HEV_OK, HS_REVERT_ENABLING, HACT_ENABLE},
    {HS_REVERT_CHECKING, HEV_FAIL, HS_FAILED, HACT_GIVE_UP},
    {HS_REVERT_CHECKING, HEV_LOST, HS_REVERT_CHECKING, HACT_STOP},
    {HS_REVERT_CHECKING, HEV_REVERT, HS_REVERT_CHECKING, HACT_NONE},
    {HS_REVERT_CHECKING, HEV_RESUME, HS_REVERT_CHECKING, HACT_CHECK},
    {HS_REVERT_ENABLING, HEV_OK, HS_REVERTED, HACT_FINISH},
    {HS_REVERT_ENABLING, HEV_FAIL, HS_FAILED, HACT_GIVE_UP},
    {HS_REVERT_ENABLING, HEV_LOST, HS_REVERT_ENABLING, HACT_STOP},
    {HS_REVERT_ENABLING, HEV_REVERT, HS_REVERT_ENABLING, HACT_NONE},
    {HS_REVERT_ENABLING, HEV_RESUME, HS_REVERT_ENABLING, HACT_ENABLE},
    {HS_REVERTED, HEV_REVERT, HS_REVERTED, HACT_NONE},
    {HS_REVERTED, HEV_RESUME, HS_REVERTED, HACT_NONE},
    {HS_FAILED, HEV_REVERT, HS_REVERT_DRAINING, HACT_DRAIN},
    {HS_FAILED, HEV_RESUME, HS_FAILED, HACT_NONE},
};

static void every_pair(void **state)
{
    int valid = 0;
    for (int s = 0; s < HS_NSTATES; s++)
        for (int ev = 0; ev < HEV_NEVENTS; ev++) {
            const struct expect *x = NULL;
            for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
                if ((int)table[i].from == s && (int)table[i].ev == ev)
                    x = &table[i];
            enum host_state st = (enum host_state)s;
            int act = hsm_step(&st, (enum host_event)ev);
            if (!x) {
                if (act != -1 || (int)st != s)
                    fail_msg("%s --%s--> accepted, should be refused", hsm_state_name(s),
                             hsm_event_name(ev));
                continue;
            }
            valid++;
            if (act != (int)x->act || st != x->to)
                fail_msg("%s --%s--> %s/%s, want %s/%s", hsm_state_name(s), hsm_event_name(ev),
                         hsm_state_name(st), act < 0 ? "refused" : hsm_action_name(act),
                         hsm_state_name(x->to), hsm_action_name(x->act));
        }
    assert_int_equal(valid, (int)(sizeof(table) / sizeof(table[0])));
}

static enum host_state run(enum host_state s, const enum host_event *evs, size_t n,
                           enum host_action last)
{
    int act = -1;
    for (size_t i = 0; i < n; i++) {
        act = hsm_step(&s, evs[i]);
        assert_true(act >= 0);
    }
    assert_int_equal(act, last);
    return s;
}

static void paths(void **state)
{
    /* remove-upgrade-add, all well */
    static const enum host_event rua[] = {HEV_START, HEV_OK, HEV_OK, HEV_OK, HEV_OK};
    assert_int_equal(run(HS_PENDING, rua, 5, HACT_FINISH), HS_DONE);
    /* in-place: no drain on the way forward */
    static const enum host_event inplace[] = {HEV_START_INPLACE, HEV_OK, HEV_OK, HEV_OK};
    assert_int_equal(run(HS_PENDING, inplace, 4, HACT_FINISH), HS_DONE);
    /* a drain that never empties: put back, nothing upgraded, the rollout halts */
    static const enum host_event stuck[] = {HEV_START, HEV_TIMEOUT, HEV_OK};
    assert_int_equal(run(HS_PENDING, stuck, 3, HACT_HALT), HS_RESTORED);
    /* a canary failing its health check is drained, reverted, checked, put back */
    static const enum host_event sick[] = {
        HEV_START_INPLACE, HEV_OK, HEV_FAIL, HEV_OK, HEV_OK, HEV_OK, HEV_OK};
    assert_int_equal(run(HS_PENDING, sick, 7, HACT_FINISH), HS_REVERTED);
    /* a finished host reverted because a later one failed */
    static const enum host_event back[] = {HEV_REVERT, HEV_TIMEOUT, HEV_OK, HEV_OK, HEV_OK};
    assert_int_equal(run(HS_DONE, back, 5, HACT_FINISH), HS_REVERTED);
    /* a revert that fails leaves the host for an operator; abort may try again */
    static const enum host_event broken[] = {HEV_REVERT, HEV_OK, HEV_FAIL};
    assert_int_equal(run(HS_DONE, broken, 3, HACT_GIVE_UP), HS_FAILED);
    enum host_state s = HS_FAILED;
    assert_int_equal(hsm_step(&s, HEV_REVERT), HACT_DRAIN);
}

static void resume_after_a_crash(void **state)
{
    /* killed while upgrading: ask the host before upgrading again */
    enum host_state s = HS_UPGRADING;
    assert_int_equal(hsm_step(&s, HEV_RESUME), HACT_PROBE);
    enum host_state already = s;
    assert_int_equal(hsm_step(&already, HEV_OK), HACT_CHECK); /* it runs the new release */
    assert_int_equal(already, HS_CHECKING);
    assert_int_equal(hsm_step(&s, HEV_FAIL), HACT_UPGRADE); /* it does not: upgrade */
    assert_int_equal(s, HS_UPGRADING);
    /* ssh lost: the step is kept for the next resume */
    assert_int_equal(hsm_step(&s, HEV_LOST), HACT_STOP);
    assert_int_equal(s, HS_UPGRADING);
    /* a drained host is drained again (and waited for), never left drained */
    s = HS_DRAINING;
    assert_int_equal(hsm_step(&s, HEV_RESUME), HACT_DRAIN);
    s = HS_RESTORING;
    assert_int_equal(hsm_step(&s, HEV_RESUME), HACT_ENABLE);
    /* a finished host is never started again */
    s = HS_DONE;
    assert_int_equal(hsm_step(&s, HEV_START), -1);
    assert_int_equal(hsm_step(&s, HEV_START_INPLACE), -1);
    assert_int_equal(hsm_step(&s, HEV_RESUME), HACT_NONE);
}

static void names(void **state)
{
    for (int s = 0; s < HS_NSTATES; s++)
        assert_int_equal(hsm_state_parse(hsm_state_name(s)), s);
    assert_int_equal(hsm_state_parse("bogus"), -1);
    assert_string_equal(hsm_state_name(HS_NSTATES), "unknown");
    assert_string_equal(hsm_event_name(HEV_NEVENTS), "unknown");
    assert_string_equal(hsm_action_name(HACT_NACTIONS), "unknown");
    enum host_state s = HS_NSTATES;
    assert_int_equal(hsm_step(&s, HEV_OK), -1);
    s = HS_DONE;
    assert_int_equal(hsm_step(&s, HEV_NEVENTS), -1);
    assert_true(hsm_is_at_rest(HS_DONE) && hsm_is_at_rest(HS_PENDING));
    assert_false(hsm_is_at_rest(HS_DRAINING));
    assert_true(hsm_may_be_upgraded(HS_DONE) && hsm_may_be_upgraded(HS_UPGRADING));
    assert_false(hsm_may_be_upgraded(HS_RESTORED) || hsm_may_be_upgraded(HS_DRAINING));
}

UNIT_MAIN("deploy_rollout", NULL, NULL, cmocka_unit_test(every_pair), cmocka_unit_test(paths),
          cmocka_unit_test(resume_after_a_crash), cmocka_unit_test(names))
