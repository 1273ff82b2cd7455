/* One host's rollout as one table: action[state][event]. rollout.c raises the events
 * and runs the returned action; a reviewer reads the whole protocol here.
 *
 * forward
 *   PENDING --START--> DRAINING --OK--> UPGRADING --OK--> CHECKING --OK--> ENABLING --OK--> DONE
 *      |                  |               ^   |              |               |              |
 *      +--START_INPLACE---|---------------+   | RESUME       | FAIL          | FAIL  REVERT |
 *                         |                   v              v               v              |
 *          FAIL|TIMEOUT|  |       PROBING --OK--> CHECKING   +---------------+--------------+
 *          REVERT         v       (FAIL: UPGRADING again)                    |
 *                    RESTORING --OK--> RESTORED (HALT)                       v
 * back                                                                REVERT_DRAINING
 *   REVERT_DRAINING --OK|FAIL|TIMEOUT--> REVERTING --OK--> REVERT_CHECKING --OK-->
 *   REVERT_ENABLING --OK--> REVERTED (FINISH)
 *   REVERTING | REVERT_CHECKING | REVERT_ENABLING --FAIL--> FAILED (GIVE_UP) --REVERT--> ...
 *
 * Every state that runs a step takes LOST (host or balancer unreachable): the step is
 * kept, the deploy stops (STOP), and RESUME in a later process runs the step again
 * (UPGRADING and REVERTING ask the host first, so no host is upgraded twice).
 *
 * transition -> function (hoststep.c)
 *   PENDING|RESTORED --START--> DRAINING             HACT_DRAIN    step_balancer(drain)
 *   PENDING|RESTORED --START_INPLACE--> UPGRADING    HACT_UPGRADE  step_upgrade
 *   DRAINING --OK--> UPGRADING                       HACT_UPGRADE  step_upgrade
 *   DRAINING --FAIL|TIMEOUT|REVERT--> RESTORING      HACT_ENABLE   step_balancer(ready)
 *   UPGRADING|PROBING --OK--> CHECKING               HACT_CHECK    step_check
 *   UPGRADING --RESUME--> PROBING                    HACT_PROBE    step_probe
 *   PROBING --FAIL--> UPGRADING                      HACT_UPGRADE  step_upgrade
 *   CHECKING --OK--> ENABLING                        HACT_ENABLE   step_balancer(ready)
 *   ENABLING --OK--> DONE                            HACT_FINISH   rollout_advance
 *   RESTORING --OK--> RESTORED                       HACT_HALT     run_action: halted
 *   UPGRADING|PROBING|CHECKING|ENABLING --FAIL|REVERT--> REVERT_DRAINING  HACT_DRAIN
 *   DONE|FAILED --REVERT--> REVERT_DRAINING          HACT_DRAIN    step_balancer(drain)
 *   REVERT_DRAINING --OK|TIMEOUT|FAIL--> REVERTING   HACT_REVERT   step_revert
 *   REVERTING --OK--> REVERT_CHECKING                HACT_CHECK    step_check
 *   REVERT_CHECKING --OK--> REVERT_ENABLING          HACT_ENABLE   step_balancer(ready)
 *   REVERT_ENABLING --OK--> REVERTED                 HACT_FINISH   rollout_advance
 *   REVERTING|REVERT_CHECKING|REVERT_ENABLING --FAIL--> FAILED  HACT_GIVE_UP  run_action
 *   any running state --LOST--> same                 HACT_STOP     run_action: stopping
 *   any running state --RESUME--> same (or PROBING)  its own action, run again
 * A revert drains even when the forward step did not (in-place), and goes on when the
 * drain times out: the host is being taken back because it is bad. */
#include "deploy/hostsm.h"

#include <string.h>

struct hsm_transition {
    unsigned char valid;
    unsigned char next;
    unsigned char action;
};

#define T(next, act)                                                                               \
    {                                                                                              \
        1, HS_##next, HACT_##act                                                                   \
    }
#define BAD                                                                                        \
    {                                                                                              \
        0, 0, 0                                                                                    \
    }

/* A row per state, its cells in event order on three lines: the two ways to start, a
 * step's result, what interrupts a step. */
/* clang-format off */
static const struct hsm_transition action[HS_NSTATES][HEV_NEVENTS] = {
    /*  START                         START_INPLACE
        OK                            FAIL                          TIMEOUT
        LOST                          REVERT                        RESUME */
    [HS_PENDING] = {
        T(DRAINING, DRAIN),           T(UPGRADING, UPGRADE),
        BAD,                          BAD,                          BAD,
        BAD,                          T(PENDING, NONE),             T(PENDING, NONE)},
    [HS_DRAINING] = {
        BAD,                          BAD,
        T(UPGRADING, UPGRADE),        T(RESTORING, ENABLE),         T(RESTORING, ENABLE),
        T(DRAINING, STOP),            T(RESTORING, ENABLE),         T(DRAINING, DRAIN)},
    [HS_UPGRADING] = {
        BAD,                          BAD,
        T(CHECKING, CHECK),           T(REVERT_DRAINING, DRAIN),    BAD,
        T(UPGRADING, STOP),           T(REVERT_DRAINING, DRAIN),    T(PROBING, PROBE)},
    [HS_PROBING] = {
        BAD,                          BAD,
        T(CHECKING, CHECK),           T(UPGRADING, UPGRADE),        BAD,
        T(UPGRADING, STOP),           T(REVERT_DRAINING, DRAIN),    T(PROBING, PROBE)},
    [HS_CHECKING] = {
        BAD,                          BAD,
        T(ENABLING, ENABLE),          T(REVERT_DRAINING, DRAIN),    BAD,
        T(CHECKING, STOP),            T(REVERT_DRAINING, DRAIN),    T(CHECKING, CHECK)},
    [HS_ENABLING] = {
        BAD,                          BAD,
        T(DONE, FINISH),              T(REVERT_DRAINING, DRAIN),    BAD,
        T(ENABLING, STOP),            T(REVERT_DRAINING, DRAIN),    T(ENABLING, ENABLE)},
    [HS_DONE] = {
        BAD,                          BAD,
        BAD,                          BAD,                          BAD,
        BAD,                          T(REVERT_DRAINING, DRAIN),    T(DONE, NONE)},
    [HS_RESTORING] = {
        BAD,                          BAD,
        T(RESTORED, HALT),            T(RESTORING, STOP),           BAD,
        T(RESTORING, STOP),           T(RESTORING, NONE),           T(RESTORING, ENABLE)},
    [HS_RESTORED] = {
        T(DRAINING, DRAIN),           T(UPGRADING, UPGRADE),
        BAD,                          BAD,                          BAD,
        BAD,                          T(RESTORED, NONE),            T(RESTORED, NONE)},
    [HS_REVERT_DRAINING] = {
        BAD,                          BAD,
        T(REVERTING, REVERT),         T(REVERTING, REVERT),         T(REVERTING, REVERT),
        T(REVERT_DRAINING, STOP),     T(REVERT_DRAINING, NONE),     T(REVERT_DRAINING, DRAIN)},
    [HS_REVERTING] = {
        BAD,                          BAD,
        T(REVERT_CHECKING, CHECK),    T(FAILED, GIVE_UP),           BAD,
        T(REVERTING, STOP),           T(REVERTING, NONE),           T(REVERTING, REVERT)},
    [HS_REVERT_CHECKING] = {
        BAD,                          BAD,
        T(REVERT_ENABLING, ENABLE),   T(FAILED, GIVE_UP),           BAD,
        T(REVERT_CHECKING, STOP),     T(REVERT_CHECKING, NONE),     T(REVERT_CHECKING, CHECK)},
    [HS_REVERT_ENABLING] = {
        BAD,                          BAD,
        T(REVERTED, FINISH),          T(FAILED, GIVE_UP),           BAD,
        T(REVERT_ENABLING, STOP),     T(REVERT_ENABLING, NONE),     T(REVERT_ENABLING, ENABLE)},
    [HS_REVERTED] = {
        BAD,                          BAD,
        BAD,                          BAD,                          BAD,
        BAD,                          T(REVERTED, NONE),            T(REVERTED, NONE)},
    [HS_FAILED] = {
        BAD,                          BAD,
        BAD,                          BAD,                          BAD,
        BAD,                          T(REVERT_DRAINING, DRAIN),    T(FAILED, NONE)},
};
/* clang-format on */

int hsm_step(enum host_state *state, enum host_event ev)
{
    if ((unsigned)*state >= HS_NSTATES || (unsigned)ev >= HEV_NEVENTS)
        return -1;
    const struct hsm_transition *t = &action[*state][ev];
    if (!t->valid)
        return -1;
    *state = (enum host_state)t->next;
    return t->action;
}

static const char *const state_names[HS_NSTATES] = {
    "pending",         "draining",        "upgrading", "probing",
    "checking",        "enabling",        "done",      "restoring",
    "restored",        "revert-draining", "reverting", "revert-checking",
    "revert-enabling", "reverted",        "failed"};
static const char *const event_names[HEV_NEVENTS] = {
    "start", "start-inplace", "ok", "fail", "timeout", "lost", "revert", "resume"};
static const char *const action_names[HACT_NACTIONS] = {"none",  "drain",   "upgrade", "probe",
                                                        "check", "enable",  "revert",  "finish",
                                                        "halt",  "give-up", "stop"};

const char *hsm_state_name(enum host_state s)
{
    return (unsigned)s < HS_NSTATES ? state_names[s] : "unknown";
}

const char *hsm_event_name(enum host_event ev)
{
    return (unsigned)ev < HEV_NEVENTS ? event_names[ev] : "unknown";
}

const char *hsm_action_name(enum host_action a)
{
    return (unsigned)a < HACT_NACTIONS ? action_names[a] : "unknown";
}

int hsm_state_parse(const char *name)
{
    for (int i = 0; i < HS_NSTATES; i++)
        if (strcmp(name, state_names[i]) == 0)
            return i;
    return -1;
}

int hsm_is_at_rest(enum host_state s)
{
    return s == HS_PENDING || s == HS_DONE || s == HS_RESTORED || s == HS_REVERTED ||
           s == HS_FAILED;
}

int hsm_may_be_upgraded(enum host_state s)
{
    return s != HS_PENDING && s != HS_DRAINING && s != HS_RESTORING && s != HS_RESTORED &&
           s != HS_REVERTED;
}
