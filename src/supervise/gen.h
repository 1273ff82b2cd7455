/* A generation of `baton run`: the states a generation of workers goes through, the
 * table that maps (state, event) to the next state and an action, and one generation
 * with its slots and workers. Everything about a generation (its fields, its record in
 * the state file and its part of `status`) lives in gen.c; the set of them in gens.c. */
#ifndef BATON_SUPERVISE_GEN_H
#define BATON_SUPERVISE_GEN_H

#include <jansson.h>
#include <sys/types.h>

#include "core/err.h"
#include "supervise/ctx.h"
#include "supervise/notify.h"

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
    GACT_PROMOTE, /* become the current generation; the mode moves traffic from the old one */
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

/* --- one generation -------------------------------------------------------------------- */

struct gen;

/* Who holds a generation (gens.c): told when it becomes current, fails or is gone, so
 * that a generation knows nothing of the others. */
struct gen_owner {
    void (*promoted)(struct gen_owner *o, struct gen *g);
    void (*failed)(struct gen_owner *o, struct gen *g);
    void (*retired)(struct gen_owner *o, struct gen *g); /* g is freed after this returns */
};

/* A STARTING generation `id` of argv with `nslots` workers (none spawned yet); NULL on
 * out of memory. */
struct gen *gen_new(struct gen_owner *owner, struct run_ctx *ctx, char *const *argv, unsigned id,
                    int nslots);
/* Frees g without signalling its workers (they keep running). */
void gen_free(struct gen *g);

unsigned gen_id(const struct gen *g);
enum gen_state gen_state(const struct gen *g);
int gen_orphan(const struct gen *g);
int gen_nslots(const struct gen *g);
int gen_port(const struct gen *g, int slot);
char *const *gen_argv(const struct gen *g);
const char *gen_reason(const struct gen *g);
/* 1 when every worker said STOPPING=1, exited or was killed. */
int gen_stopped_accepting(const struct gen *g);
/* When it had all its workers ready (clock_now_us), or 0 while it has not. */
uint64_t gen_ready_us(const struct gen *g);
/* When the last of its workers executed its command (clock_now_us), or 0. */
uint64_t gen_exec_us(const struct gen *g);
/* 1 when `pid` is one of g's workers, or `port` one of its slots' ports. */
int gen_has_worker(const struct gen *g, pid_t pid);
int gen_has_port(const struct gen *g, int port);

/* Starts its readiness checks and spawns its workers; a worker that cannot be spawned
 * fails the generation before this returns. */
void gen_start(struct gen *g);
/* GEV_STOP; `reason` (may be NULL) is kept when g had not become current. */
void gen_stop(struct gen *g, const char *reason);
/* READY=1, STOPPING=1 or STATUS= from worker `worker_pid` (sent by `pid`). */
void gen_notify(struct gen *g, pid_t worker_pid, pid_t pid, const struct notify_msg *msg);

/* Its entry in the "generations" array of `status`. */
json_t *gen_status(const struct gen *g, int current);
/* Its record in the state file, and back: gen_from_json records the workers without
 * watching them. */
json_t *gen_to_json(const struct gen *g);
int gen_from_json(struct gen_owner *owner, struct run_ctx *ctx, json_t *jg, struct gen **out,
                  struct err *e);
/* After a re-exec: watches the recorded workers (an orphan's only when its start time
 * matches) and re-arms the drain timer. */
void gen_resume(struct gen *g);
/* Then: restarts slots whose worker ended around the exec, or ends a generation left
 * without workers. */
void gen_settle(struct gen *g);
/* After a killed master: drops the records of workers that are gone; returns how many
 * are left, their pids in pids[0..max). */
int gen_survivors(struct gen *g, pid_t *pids, int max);
/* Then: watches them as orphans, SERVING (the caller stops the ones not current);
 * returns how many it watches. */
int gen_adopt(struct gen *g);

#endif
