/* One runner's state and its step helpers (runner.c), below the phases engine (engine.c)
 * and the backfill walker (backfill.c) that both use them. Not a public header. */
#ifndef BATON_MIGRATE_RUNNER_H
#define BATON_MIGRATE_RUNNER_H

#include "core/err.h"
#include "migrate/ledger.h"
#include "migrate/database.h"
#include "migrate/migration_set.h"
#include "migrate/plan.h"

struct run {
    const struct migrate_opts *o;
    struct database *db;
    struct lease lease;
    struct migration_set set;
    struct ledger led;
    double *batch_ms; /* durations of the current backfill step's batches */
    int nbatch, capbatch;
};

/* One try of a step: 0 done, -1 failed (db->retryable says whether to try again). */
typedef int (*attempt_fn)(struct run *r, struct ledger_entry *le, const struct plan_step *s,
                          int idx, void *arg, struct err *e);

/* Opens a step's write transaction: the lock, the lease fence, the lock timeout. */
int run_step_begin(struct run *r, struct err *e);
/* Records `le` and commits the step's transaction (rolls back on failure). */
int run_step_commit(struct run *r, struct ledger_entry *le, struct err *e);
/* Retries `attempt` while it fails on a lock timeout or a busy database, with jittered
 * exponential backoff; `le` is restored before each try and after a failure. */
int run_with_retries(struct run *r, struct ledger_entry *le, attempt_fn attempt,
                     const struct plan_step *s, int idx, void *arg, struct err *e);

#endif
