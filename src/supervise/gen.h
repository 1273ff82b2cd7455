/* The generation state machine of `baton run`: the states a generation of workers goes
 * through and the table that maps (state, event) to the next state and an action. */
#ifndef BATON_SUPERVISE_GEN_H
#define BATON_SUPERVISE_GEN_H

enum gen_state {
    GEN_STARTING, /* workers spawned, waiting for readiness */
    GEN_READY,    /* all workers ready; held for --min-ready while the old one serves */
    GEN_SERVING,  /* the current generation; crashed workers are restarted */
    GEN_DRAINING, /* stop signal sent; SIGKILL at the drain timeout */
    GEN_EXITED,   /* all workers gone after a drain (terminal) */
    GEN_FAILED,   /* did not become the current one; workers stopped (terminal) */
    GEN_NSTATES
};

enum gen_event {
    GEV_ALL_READY,     /* every worker is ready (notify, probe or delay) */
    GEV_PROMOTE,       /* the --min-ready hold is over: take over from the old one */
    GEV_WORKER_EXIT,   /* a worker exited while the generation still wanted it */
    GEV_READY_TIMEOUT, /* --ready-timeout passed in STARTING */
    GEV_STOP,          /* stop: upgrade replaced it, or the master stops */
    GEV_DRAIN_TIMEOUT, /* --drain-timeout passed after the stop signal */
    GEV_ALL_EXITED,    /* no worker left */
    GEV_NEVENTS
};

enum gen_action {
    GACT_NONE,    /* nothing to do (event noted) */
    GACT_HOLD,    /* arm the --min-ready timer (promote at once when it is 0) */
    GACT_PROMOTE, /* become the current generation; the old one gets GEV_STOP */
    GACT_FAIL,    /* stop the workers (signal, then kill at the drain timeout), report */
    GACT_RESTART, /* respawn the exited worker after a backoff */
    GACT_DRAIN,   /* send the stop signal to every worker, arm the drain timer */
    GACT_KILL,    /* SIGKILL every remaining worker */
    GACT_RETIRE,  /* drop the generation's timers and free it */
};

/* Applies `ev` to *state. Returns the action the caller must run and updates *state,
 * or returns -1 (state unchanged) when the event cannot happen in that state. */
int gen_step(enum gen_state *state, enum gen_event ev);

const char *gen_state_name(enum gen_state s);
const char *gen_event_name(enum gen_event ev);
const char *gen_action_name(enum gen_action a);
/* The state named `name` ("serving"...), or -1. */
int gen_state_parse(const char *name);

#endif
