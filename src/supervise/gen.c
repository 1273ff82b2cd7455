/* The generation state machine as one table: action[state][event]. The master
 * (supervise/upgrade.c) raises events and runs the returned action.
 *
 *                 ALL_READY            PROMOTE
 *   STARTING ---------------> READY -------------> SERVING ---- WORKER_EXIT: RESTART
 *      |                        |                     |            (backoff)
 *      | WORKER_EXIT            | WORKER_EXIT         | STOP
 *      | READY_TIMEOUT          | STOP                v
 *      | STOP                   |                  DRAINING ---- DRAIN_TIMEOUT: KILL
 *      v                        |                     |
 *   FAILED <--------------------+                     | ALL_EXITED
 *      |  DRAIN_TIMEOUT: KILL                         v
 *      |  ALL_EXITED: RETIRE (freed)               EXITED (RETIRE: freed)
 *
 * transition -> function (upgrade.c)
 *   STARTING --ALL_READY--> READY      GACT_HOLD     gen_hold
 *   READY    --PROMOTE--->  SERVING    GACT_PROMOTE  gen_promote
 *   STARTING|READY --WORKER_EXIT|READY_TIMEOUT|STOP--> FAILED  GACT_FAIL  gen_fail
 *   SERVING  --WORKER_EXIT--> SERVING  GACT_RESTART  gen_restart_slot
 *   SERVING  --STOP-------> DRAINING   GACT_DRAIN    gen_drain
 *   SERVING  --ALL_EXITED-> EXITED     GACT_RETIRE   gen_retire (recovered orphans only)
 *   DRAINING|FAILED --DRAIN_TIMEOUT--> same        GACT_KILL     gen_kill
 *   DRAINING --ALL_EXITED--> EXITED    GACT_RETIRE   gen_retire
 *   FAILED   --ALL_EXITED--> FAILED    GACT_RETIRE   gen_retire
 * Any pair not listed is either a no-op (noted, e.g. STOP while DRAINING) or invalid.
 * In --mode proxy the replaced generation stays SERVING (no longer current) until the
 * proxy worker reports its backends drained, and only then gets STOP (proxyworker.c). */
#include "supervise/gen.h"

#include <string.h>

struct gen_transition {
    unsigned char valid;
    unsigned char next;
    unsigned char action;
};

#define T(next, act)                                                                               \
    {                                                                                              \
        1, GEN_##next, GACT_##act                                                                  \
    }
#define NOOP(state)                                                                                \
    {                                                                                              \
        1, GEN_##state, GACT_NONE                                                                  \
    }
#define BAD                                                                                        \
    {                                                                                              \
        0, 0, 0                                                                                    \
    }

static const struct gen_transition action[GEN_NSTATES][GEV_NEVENTS] =
    {
        [GEN_STARTING] =
            {
                [GEV_ALL_READY] = T(READY, HOLD),
                [GEV_PROMOTE] = BAD,
                [GEV_WORKER_EXIT] = T(FAILED, FAIL),
                [GEV_READY_TIMEOUT] = T(FAILED, FAIL),
                [GEV_STOP] = T(FAILED, FAIL),
                [GEV_DRAIN_TIMEOUT] = BAD,
                [GEV_ALL_EXITED] = BAD,
            },
        [GEN_READY] =
            {
                [GEV_ALL_READY] = BAD,
                [GEV_PROMOTE] = T(SERVING, PROMOTE),
                [GEV_WORKER_EXIT] = T(FAILED, FAIL),
                [GEV_READY_TIMEOUT] = NOOP(READY),
                [GEV_STOP] = T(FAILED, FAIL),
                [GEV_DRAIN_TIMEOUT] = BAD,
                [GEV_ALL_EXITED] = BAD,
            },
        [GEN_SERVING] =
            {
                [GEV_ALL_READY] = NOOP(SERVING),
                [GEV_PROMOTE] = BAD,
                [GEV_WORKER_EXIT] = T(SERVING, RESTART),
                [GEV_READY_TIMEOUT] = NOOP(SERVING),
                [GEV_STOP] = T(DRAINING, DRAIN),
                [GEV_DRAIN_TIMEOUT] = BAD,
                [GEV_ALL_EXITED] = T(EXITED, RETIRE),
            },
        [GEN_DRAINING] =
            {
                [GEV_ALL_READY] = NOOP(DRAINING),
                [GEV_PROMOTE] = BAD,
                [GEV_WORKER_EXIT] = NOOP(DRAINING),
                [GEV_READY_TIMEOUT] = NOOP(DRAINING),
                [GEV_STOP] = NOOP(DRAINING),
                [GEV_DRAIN_TIMEOUT] = T(DRAINING, KILL),
                [GEV_ALL_EXITED] = T(EXITED, RETIRE),
            },
        [GEN_EXITED] =
            {
                [GEV_ALL_READY] = BAD,
                [GEV_PROMOTE] = BAD,
                [GEV_WORKER_EXIT] = BAD,
                [GEV_READY_TIMEOUT] = BAD,
                [GEV_STOP] = NOOP(EXITED),
                [GEV_DRAIN_TIMEOUT] = BAD,
                [GEV_ALL_EXITED] = BAD,
            },
        [GEN_FAILED] =
            {
                [GEV_ALL_READY] = NOOP(FAILED),
                [GEV_PROMOTE] = BAD,
                [GEV_WORKER_EXIT] = NOOP(FAILED),
                [GEV_READY_TIMEOUT] = NOOP(FAILED),
                [GEV_STOP] = NOOP(FAILED),
                [GEV_DRAIN_TIMEOUT] = T(FAILED, KILL),
                [GEV_ALL_EXITED] = T(FAILED, RETIRE),
            },
};

int gen_step(enum gen_state *state, enum gen_event ev)
{
    if ((unsigned)*state >= GEN_NSTATES || (unsigned)ev >= GEV_NEVENTS)
        return -1;
    const struct gen_transition *t = &action[*state][ev];
    if (!t->valid)
        return -1;
    *state = (enum gen_state)t->next;
    return t->action;
}

static const char *const state_names[GEN_NSTATES] = {"starting", "ready",  "serving",
                                                     "draining", "exited", "failed"};
static const char *const event_names[GEV_NEVENTS] = {
    "all_ready", "promote", "worker_exit", "ready_timeout", "stop", "drain_timeout", "all_exited"};
static const char *const action_names[] = {"none",    "hold",  "promote", "fail",
                                           "restart", "drain", "kill",    "retire"};

const char *gen_state_name(enum gen_state s)
{
    return (unsigned)s < GEN_NSTATES ? state_names[s] : "unknown";
}

const char *gen_event_name(enum gen_event ev)
{
    return (unsigned)ev < GEV_NEVENTS ? event_names[ev] : "unknown";
}

const char *gen_action_name(enum gen_action a)
{
    return (unsigned)a < sizeof(action_names) / sizeof(action_names[0]) ? action_names[a]
                                                                        : "unknown";
}

int gen_state_parse(const char *name)
{
    for (int i = 0; i < GEN_NSTATES; i++)
        if (strcmp(name, state_names[i]) == 0)
            return i;
    return -1;
}
