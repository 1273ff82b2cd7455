/* The rollout of one host as a state machine: which step a host is at, and what the
 * deploy does next when that step succeeds, fails, times out or loses the host. The
 * table is in hostsm.c; the deploy (rollout.c) raises the events and runs the actions. */
#ifndef BATON_DEPLOY_HOSTSM_H
#define BATON_DEPLOY_HOSTSM_H

enum host_state {
    HS_PENDING,         /* not started */
    HS_DRAINING,        /* drained in every balancer; waiting for 0 connections */
    HS_UPGRADING,       /* the upgrade command runs on the host */
    HS_PROBING,         /* after a restart: asking the host which release it runs */
    HS_CHECKING,        /* health checks of the new release */
    HS_ENABLING,        /* set ready in every balancer; waiting until each says UP */
    HS_DONE,            /* serves the new release */
    HS_RESTORING,       /* the drain did not finish: set ready again, nothing upgraded */
    HS_RESTORED,        /* as it was before the deploy; the rollout stopped */
    HS_REVERT_DRAINING, /* going back: out of the balancers first */
    HS_REVERTING,       /* the revert command runs (baton rollback / previous release) */
    HS_REVERT_CHECKING, /* health checks of the previous release */
    HS_REVERT_ENABLING, /* set ready again */
    HS_REVERTED,        /* serves the previous release */
    HS_FAILED,          /* the revert failed: left out of the balancers for an operator */
    HS_NSTATES
};

enum host_event {
    HEV_START,         /* begin (remove-upgrade-add: drain first) */
    HEV_START_INPLACE, /* begin (in-place: baton upgrade, no drain) */
    HEV_OK,            /* the running step succeeded */
    HEV_FAIL,          /* it failed (exit status, health deadline, balancer refused) */
    HEV_TIMEOUT,       /* drain-timeout passed with connections left */
    HEV_LOST,          /* the host or a balancer cannot be reached: stop, keep the step */
    HEV_REVERT,        /* take this host back to the previous release */
    HEV_RESUME,        /* a new deploy process continues from the recorded state */
    HEV_NEVENTS
};

enum host_action {
    HACT_NONE,
    HACT_DRAIN,   /* set drain in every balancer, wait for 0 connections */
    HACT_UPGRADE, /* run the upgrade (in-place: baton upgrade --json) */
    HACT_PROBE,   /* ask the host which release it runs */
    HACT_CHECK,   /* health-check until it passes or the progress deadline */
    HACT_ENABLE,  /* set ready in every balancer, wait until UP */
    HACT_REVERT,  /* run the revert (in-place: baton rollback, if upgraded) */
    HACT_FINISH,  /* the host reached DONE or REVERTED: start the next one */
    HACT_HALT,    /* the host is as it was, but the rollout cannot go on */
    HACT_GIVE_UP, /* the revert failed: stop and tell the operator */
    HACT_STOP,    /* lost contact: stop; resume continues at this step */
    HACT_NACTIONS
};

/* Applies `ev` to *state. Returns the action to run (HACT_NONE for a harmless event),
 * or -1 when the event cannot happen in this state (the state is left unchanged). */
int hsm_step(enum host_state *state, enum host_event ev);

const char *hsm_state_name(enum host_state s);
const char *hsm_event_name(enum host_event ev);
const char *hsm_action_name(enum host_action a);
/* The state named `name` (as in the progress file), or -1. */
int hsm_state_parse(const char *name);

/* Whether the host is out of the rollout's way (DONE, RESTORED, REVERTED, FAILED or
 * PENDING) rather than in the middle of a step. */
int hsm_is_at_rest(enum host_state s);
/* Whether the host may hold the new release (a revert has something to undo). */
int hsm_may_be_upgraded(enum host_state s);

#endif
