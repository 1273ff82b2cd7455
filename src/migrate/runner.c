/* One runner's steps, for the phases engine (engine.c) and the backfill walker
 * (backfill.c) alike: a step's transaction (lock, lease fence, lock timeout), its commit
 * with the ledger row, and the retries of a step that met a lock or a busy database. */
#include "migrate/runner.h"

#include "core/log.h"

/* Opens a step's transaction: the write lock, the fence, and the lock timeout. */
int run_step_begin(struct run *r, struct err *e)
{
    if (database_begin(r->db, e) < 0)
        return -1;
    if (lease_fence(r->db, &r->lease, e) < 0)
        goto fail;
    if (r->db->drv->set_lock_timeout(r->db, r->o->lock_timeout_ms, 1, e) < 0)
        goto fail;
    return 0;
fail:
    database_rollback(r->db);
    return -1;
}

int run_step_commit(struct run *r, struct ledger_entry *le, struct err *e)
{
    ledger_now(le->updated_at, sizeof(le->updated_at));
    if (ledger_put(r->db, le, e) < 0 || database_commit(r->db, e) < 0) {
        database_rollback(r->db);
        return -1;
    }
    return 0;
}

/* Retries `attempt` while it fails on a lock timeout or a busy database, with jittered
 * exponential backoff; the ledger row is restored before each try and after a failure. */
int run_with_retries(struct run *r, struct ledger_entry *le, attempt_fn attempt,
                     const struct plan_step *s, int idx, void *arg, struct err *e)
{
    struct ledger_entry saved = *le;
    int pause = 50;
    for (int try = 0;; try++) {
        *le = saved;
        if (attempt(r, le, s, idx, arg, e) == 0)
            return 0;
        if (!r->db->retryable || try >= r->o->retries || !r->lease.held) {
            *le = saved;
            return -1;
        }
        log_warn("%s; retrying", e->msg);
        jitter_sleep_ms(pause);
        if (pause < 2000)
            pause *= 2;
    }
}
