/* The phases engine of `baton migrate`: takes the runner lease, then walks each
 * migration through its phases, one committed step at a time, recording every step in
 * the ledger inside the step's own transaction so a killed run resumes exactly there.
 *
 *   pending --expand--> expanding --> expanded --backfill--> backfilling --> backfilled
 *      ^                    |             |                      |               |
 *      |                    +-------------+------abort-----------+---------------+
 *      |                                          v                              |
 *      +------(expand again)------ aborted <-- aborting                     contract
 *                                                                                v
 *                                                   contracted <-- contracting --+
 *
 * Transition -> function:
 *   pending/aborted/expanding -> expanded     run_phase(PLAN_EXPAND)
 *   expanded/backfilling      -> backfilled   run_phase(PLAN_BACKFILL)  (batches)
 *   backfilled/contracting    -> contracted   run_phase(PLAN_CONTRACT)
 *   expanding..backfilled     -> aborted      run_phase(PLAN_ABORT)
 * The table `action[phase][command]` below says which transition a command takes. */
#include "migrate/migrate.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "migrate/ledger.h"
#include "migrate/lint.h"
#include "migrate/database.h"
#include "migrate/migration_set.h"
#include "migrate/plan.h"
#include "migrate/backfill.h"
#include "migrate/runner.h"

enum cmd { CMD_EXPAND, CMD_BACKFILL, CMD_CONTRACT, CMD_ABORT, CMD_COUNT };
enum act {
    A_DONE,     /* this migration is where the command wants it */
    A_NOTREADY, /* an earlier phase must run first: the command stops here */
    A_EXPAND,
    A_BACKFILL,
    A_CONTRACT,
    A_ABORT,
    A_REFUSE, /* the command can never apply (abort after contract) */
};

static const enum act action[PH_COUNT][CMD_COUNT] = {
    /*                  expand      backfill     contract     abort */
    [PH_PENDING] = {A_EXPAND, A_NOTREADY, A_NOTREADY, A_REFUSE},
    [PH_EXPANDING] = {A_EXPAND, A_NOTREADY, A_NOTREADY, A_ABORT},
    [PH_EXPANDED] = {A_BACKFILL, A_BACKFILL, A_NOTREADY, A_ABORT},
    [PH_BACKFILLING] = {A_BACKFILL, A_BACKFILL, A_NOTREADY, A_ABORT},
    [PH_BACKFILLED] = {A_DONE, A_DONE, A_CONTRACT, A_ABORT},
    [PH_CONTRACTING] = {A_DONE, A_DONE, A_CONTRACT, A_REFUSE},
    [PH_CONTRACTED] = {A_DONE, A_DONE, A_DONE, A_REFUSE},
    [PH_ABORTING] = {A_NOTREADY, A_NOTREADY, A_NOTREADY, A_ABORT},
    [PH_ABORTED] = {A_EXPAND, A_DONE, A_DONE, A_DONE},
};

void migrate_opts_init(struct migrate_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->db_url = getenv("BATON_DB");
    o->dir = getenv("BATON_MIGRATIONS");
    o->lease_ms = 30000;
    o->wait_ms = 120000;
    o->lock_timeout_ms = 500;
    o->retries = 30;
    o->batch_size = 500;
    o->batch_max = 50000;
    o->time_target_ms = 50;
    o->duty_percent = 50;
    o->probe_sql = "SELECT 1";
    o->small_table_rows = 1000;
    const char *s = getenv("BATON_MIGRATE_BATCH_SLEEP_MS");
    o->batch_sleep_ms = s ? atoi(s) : 0;
}

static void run_close(struct run *r)
{
    if (r->db) {
        lease_release(r->db, &r->lease);
        database_close(r->db);
        r->db = NULL;
    }
    ledger_free(&r->led);
    migration_set_free(&r->set);
    free(r->batch_ms);
    r->batch_ms = NULL;
}

static int run_open(const struct migrate_opts *o, struct run *r, struct err *e)
{
    memset(r, 0, sizeof(*r));
    r->o = o;
    if (migration_set_load(o, &r->set, e) < 0)
        return -1;
    if (database_open(o->db_url, &r->db, e) < 0)
        goto fail;
    r->lease.lease_ms = o->lease_ms;
    if (lease_acquire(r->db, &r->lease, o->wait_ms, e) < 0)
        goto fail;
    if (ledger_load(r->db, &r->led, e) < 0)
        goto fail;
    return 0;
fail:
    run_close(r);
    return -1;
}

/* The ledger row of `m`, added as pending if the ledger has none. */
static struct ledger_entry *entry_of(struct run *r, const struct mfile *m, struct err *e)
{
    struct ledger_entry *le = ledger_find(&r->led, m->id);
    if (le)
        return le;
    struct ledger_entry *v = realloc(r->led.v, (size_t)(r->led.n + 1) * sizeof(*v));
    if (!v) {
        err_set(e, "out of memory");
        return NULL;
    }
    r->led.v = v;
    le = &v[r->led.n++];
    memset(le, 0, sizeof(*le));
    snprintf(le->id, sizeof(le->id), "%s", m->id);
    snprintf(le->checksum, sizeof(le->checksum), "%s", m->checksum);
    return le;
}

static int check_checksum(const struct mfile *m, struct ledger_entry *le, struct err *e)
{
    if (le->phase == PH_PENDING || le->phase == PH_ABORTED) {
        snprintf(le->checksum, sizeof(le->checksum), "%s", m->checksum);
        return 0;
    }
    if (strcmp(le->checksum, m->checksum) != 0)
        return err_set(e,
                       "migration '%s' changed after it was applied (ledger %s, file %s): "
                       "migrations are forward only, write a new one",
                       m->id, le->checksum, m->checksum);
    return 0;
}

static int column_exists(struct run *r, const char *table, const char *col)
{
    char type[128];
    return plan_db_type(r->db, table, col, type, sizeof(type)) == 0;
}

/* Whether a STEP_SQL's `only_if` query (none: always) returns a row. */
static int step_applies(struct run *r, const struct plan_step *s, int *yes, struct err *e)
{
    *yes = 1;
    if (!s->only_if)
        return 0;
    struct database_rows rows;
    if (database_query(r->db, s->only_if, &rows, e) < 0)
        return -1;
    *yes = rows.nrows > 0;
    database_rows_free(&rows);
    return 0;
}

static int sql_step_once(struct run *r, struct ledger_entry *le, const struct plan_step *s, int idx,
                         void *arg, struct err *e)
{
    if (run_step_begin(r, e) < 0)
        return -1;
    int rc = 0, yes = 1;
    if (s->kind == STEP_ASSERT_ZERO) {
        int64_t n;
        int isnull;
        rc = database_query_i64(r->db, s->sql, &n, &isnull, e);
        if (rc == 0 && n != 0) {
            r->db->retryable = 0;
            rc = err_set(e, "%s: %lld rows fail it; fix them and run again", s->desc, (long long)n);
        }
    } else if (s->kind == STEP_DROP_COLUMN) {
        if (column_exists(r, s->table, s->key))
            rc = database_exec(r->db, s->sql, e);
    } else if ((rc = step_applies(r, s, &yes, e)) == 0 && yes) {
        rc = database_exec(r->db, s->sql, e);
    }
    if (rc < 0) {
        database_rollback(r->db);
        return err_wrap(e, "%s", s->desc);
    }
    le->step = idx + 1;
    return run_step_commit(r, le, e);
}

/* Runs the statements a step's guard query returns (each row's first cell). */
static int run_guard(struct run *r, const struct plan_step *s, struct err *e)
{
    struct database_rows rows;
    if (database_query(r->db, s->guard, &rows, e) < 0)
        return -1;
    int rc = 0;
    for (int i = 0; i < rows.nrows && rc == 0; i++) {
        const char *stmt = database_cell(&rows, i, 0);
        if (!stmt)
            continue;
        log_info("%s: first removing what a killed run left behind: %s", s->desc, stmt);
        rc = database_exec(r->db, stmt, e);
    }
    database_rows_free(&rows);
    return rc;
}

static int no_tx_step_once(struct run *r, struct ledger_entry *le, const struct plan_step *s,
                           int idx, void *arg, struct err *e)
{
    if (r->db->drv->set_lock_timeout(r->db, r->o->lock_timeout_ms, 0, e) < 0)
        return -1;
    int rc = s->guard ? run_guard(r, s, e) : 0;
    if (rc == 0)
        rc = database_exec(r->db, s->sql, e);
    struct err ignored;
    int keep = r->db->retryable;
    r->db->drv->set_lock_timeout(r->db, 0, 0, &ignored);
    r->db->retryable = keep;
    if (rc < 0)
        return err_wrap(e, "%s", s->desc);
    if (run_step_begin(r, e) < 0)
        return -1;
    le->step = idx + 1;
    return run_step_commit(r, le, e);
}

/* Records the end of a phase (`idx` carries the phase reached). */
static int phase_done_once(struct run *r, struct ledger_entry *le, const struct plan_step *s,
                           int idx, void *arg, struct err *e)
{
    if (run_step_begin(r, e) < 0)
        return -1;
    le->phase = (enum mphase)idx;
    le->step = 0;
    le->has_pos = 0;
    if (le->phase == PH_EXPANDED)
        ledger_now(le->expanded_at, sizeof(le->expanded_at));
    if (le->phase == PH_CONTRACTED)
        ledger_now(le->contracted_at, sizeof(le->contracted_at));
    return run_step_commit(r, le, e);
}

/* Runs the steps of one phase from the ledger's step on, then records `done`. */
static int run_phase(struct run *r, const struct mfile *m, struct ledger_entry *le,
                     const struct plan *p, enum plan_phase pp, enum mphase running,
                     enum mphase done, struct err *e)
{
    if (le->phase != running) {
        le->phase = running;
        le->step = 0;
        le->has_pos = 0;
        if (running == PH_EXPANDING) {
            ledger_now(le->started_at, sizeof(le->started_at));
            le->batches = 0;
        }
    }
    log_info("%s: %s (%d steps, from step %d)", m->id, plan_phase_name(pp), p->n[pp], le->step);
    for (int i = le->step; i < p->n[pp]; i++) {
        const struct plan_step *s = &p->steps[pp][i];
        log_info("%s: %s step %d: %s", m->id, plan_phase_name(pp), i + 1, s->desc);
        int rc;
        if (s->kind == STEP_BATCH)
            rc = backfill_run(r, m, le, s, i, e);
        else if (s->kind == STEP_SQL_NO_TX)
            rc = run_with_retries(r, le, no_tx_step_once, s, i, NULL, e);
        else
            rc = run_with_retries(r, le, sql_step_once, s, i, NULL, e);
        if (rc < 0)
            return -1;
    }
    if (run_with_retries(r, le, phase_done_once, NULL, (int)done, NULL, e) < 0)
        return -1;
    log_info("%s: %s", m->id, ledger_phase_name(done));
    return 0;
}

/* Runs whatever `cmd` needs for migration `m`. Returns 1 when the command must stop at
 * this migration (an earlier phase has not run), 0 when done, -1 on error. */
static int advance(struct run *r, const struct mfile *m, enum cmd cmd, struct err *e)
{
    struct ledger_entry *le = entry_of(r, m, e);
    if (!le || check_checksum(m, le, e) < 0)
        return -1;
    for (;;) {
        enum act a = action[le->phase][cmd];
        if (a == A_DONE)
            return 0;
        if (a == A_NOTREADY)
            return 1;
        if (a == A_REFUSE)
            return err_set(e, "cannot abort '%s': it is %s%s", m->id, ledger_phase_name(le->phase),
                           le->phase == PH_PENDING ? "" : " (its contract has run)");
        struct plan p;
        struct plan_lookup look = plan_db_lookup(r->db);
        if (plan_build(m, database_kind(r->db), &look, &p, e) < 0)
            return -1;
        int rc = 0;
        switch (a) {
        case A_EXPAND:
            if (p.unresolved) {
                rc = err_set(e, "'%s': a table or column it renames or retypes does not exist",
                             m->id);
                break;
            }
            rc = run_phase(r, m, le, &p, PLAN_EXPAND, PH_EXPANDING, PH_EXPANDED, e);
            break;
        case A_BACKFILL:
            rc = run_phase(r, m, le, &p, PLAN_BACKFILL, PH_BACKFILLING, PH_BACKFILLED, e);
            break;
        case A_CONTRACT:
            rc = run_phase(r, m, le, &p, PLAN_CONTRACT, PH_CONTRACTING, PH_CONTRACTED, e);
            break;
        case A_ABORT:
            rc = run_phase(r, m, le, &p, PLAN_ABORT, PH_ABORTING, PH_ABORTED, e);
            break;
        default:
            break;
        }
        plan_free(&p);
        if (rc < 0)
            return err_wrap(e, "migration '%s'", m->id);
    }
}

/* The refusal to leap-frog: expanding a migration of a release that comes after a
 * checkpoint needs every migration of the checkpoint (and before) contracted. */
static int check_checkpoints(struct run *r, int last, struct err *e)
{
    if (!r->set.has_releases)
        return 0;
    const struct releases *rel = &r->set.releases;
    for (int i = 0; i <= last; i++) {
        const struct mfile *m = r->set.m[i];
        struct ledger_entry *le = ledger_find(&r->led, m->id);
        enum mphase ph = le ? le->phase : PH_PENDING;
        if (ph != PH_PENDING && ph != PH_ABORTED && ph != PH_EXPANDING)
            continue; /* already expanded */
        int ri = releases_of_migration(rel, m->id);
        for (int c = 0; c < ri; c++) {
            if (!rel->v[c].checkpoint)
                continue;
            for (int k = 0; k <= c; k++)
                for (int j = 0; j < rel->v[k].nmigs; j++) {
                    struct ledger_entry *x = ledger_find(&r->led, rel->v[k].migs[j]);
                    enum mphase xp = x ? x->phase : PH_PENDING;
                    if (xp == PH_CONTRACTED)
                        continue;
                    return err_set(
                        e,
                        "refusing to expand '%s' (release %s): it is past checkpoint release %s, "
                        "whose contract has not run ('%s' is %s); pass through release %s: "
                        "'baton migrate expand --to %s', deploy %s and declare it stable, "
                        "'baton migrate contract --to %s', then expand again",
                        m->id, rel->v[ri].name, rel->v[c].name, rel->v[k].migs[j],
                        ledger_phase_name(xp), rel->v[c].name, releases_last_migration(rel, c),
                        rel->v[c].name, releases_last_migration(rel, c));
                }
        }
    }
    return 0;
}

static int lint_before_run(struct run *r, int last, struct err *e)
{
    struct lint_report rep = {0};
    struct lint_facts facts = lint_facts_db(r->db);
    struct lint_opts lo = {&facts, r->o->small_table_rows, r->o->lint_style};
    for (int i = 0; i <= last; i++) {
        struct ledger_entry *le = ledger_find(&r->led, r->set.m[i]->id);
        enum mphase ph = le ? le->phase : PH_PENDING;
        if (ph == PH_PENDING || ph == PH_ABORTED)
            lint_mfile(r->set.m[i], database_kind(r->db), &lo, &rep);
    }
    if (rep.n == 0)
        return 0;
    lint_print(&rep, stderr);
    int n = rep.n;
    lint_report_free(&rep);
    return err_set(e, "refusing to expand: %d lint finding%s (printed above)", n,
                   n == 1 ? "" : "s");
}

/* The index of the last migration up to `to`, or -1 with an error. */
static int range_end(struct run *r, const char *to, struct err *e)
{
    if (!to)
        return r->set.n - 1;
    int i = migration_set_index(&r->set, to);
    if (i < 0)
        return err_set(e, "no migration '%s' in '%s'", to, r->o->dir);
    return i;
}

static int run_command(const struct migrate_opts *o, enum cmd cmd, const char *to, struct err *e)
{
    struct run r;
    if (run_open(o, &r, e) < 0)
        return -1;
    int rc = 0;
    int last = range_end(&r, to, e);
    if (last < -1 || (to && last < 0)) {
        rc = -1;
        goto out;
    }
    if (cmd == CMD_EXPAND &&
        (check_checkpoints(&r, last, e) < 0 || lint_before_run(&r, last, e) < 0)) {
        rc = -1;
        goto out;
    }
    for (int i = 0; i <= last; i++) {
        int s = advance(&r, r.set.m[i], cmd, e);
        if (s < 0) {
            rc = -1;
            break;
        }
        if (s == 1) {
            if (to)
                rc = err_set(e, "cannot %s '%s': migration '%s' has not been %s",
                             cmd == CMD_CONTRACT ? "contract" : "backfill", to, r.set.m[i]->id,
                             cmd == CMD_CONTRACT ? "expanded and backfilled" : "expanded");
            else
                log_info("stopping at '%s': it has not been %s yet", r.set.m[i]->id,
                         cmd == CMD_CONTRACT ? "expanded and backfilled" : "expanded");
            break;
        }
    }
out:
    run_close(&r);
    return rc;
}

int migrate_expand(const struct migrate_opts *o, const char *to, struct err *e)
{
    return run_command(o, CMD_EXPAND, to, e);
}

int migrate_backfill(const struct migrate_opts *o, struct err *e)
{
    return run_command(o, CMD_BACKFILL, NULL, e);
}

int migrate_contract(const struct migrate_opts *o, const char *to, struct err *e)
{
    return run_command(o, CMD_CONTRACT, to, e);
}

int migrate_abort(const struct migrate_opts *o, const char *id, struct err *e)
{
    struct run r;
    if (run_open(o, &r, e) < 0)
        return -1;
    int rc = -1;
    int idx = migration_set_index(&r.set, id);
    if (idx < 0) {
        err_set(e, "no migration '%s' in '%s'", id, o->dir);
        goto out;
    }
    for (int i = idx + 1; i < r.set.n; i++) {
        struct ledger_entry *le = ledger_find(&r.led, r.set.m[i]->id);
        if (le && le->phase != PH_PENDING && le->phase != PH_ABORTED) {
            err_set(e, "cannot abort '%s': the later migration '%s' is %s; abort it first", id,
                    le->id, ledger_phase_name(le->phase));
            goto out;
        }
    }
    const struct mfile *m = r.set.m[idx];
    if (m->expand.sql && !m->abort_.sql) {
        err_set(e,
                "cannot abort '%s': its raw [expand] section has no [abort] section saying how "
                "to undo it; add one (it may run after a partial expand: use IF EXISTS)",
                id);
        goto out;
    }
    struct ledger_entry *le = ledger_find(&r.led, id);
    if (!le || le->phase == PH_PENDING) {
        err_set(e, "cannot abort '%s': it has not been expanded", id);
        goto out;
    }
    rc = advance(&r, r.set.m[idx], CMD_ABORT, e) < 0 ? -1 : 0;
out:
    run_close(&r);
    return rc;
}
