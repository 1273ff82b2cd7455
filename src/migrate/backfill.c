/* The backfill walker: batches over the key (integers by range, other keys by keyset
 * pagination, keyset.c) up to the largest key when the walk starts, each batch one short
 * transaction that also records its end position, so a crash resumes without skipping or
 * repeating a row; the batch size follows a time target and a duty cycle paces the walk. */
#include "migrate/backfill.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "migrate/keyset.h"
#include "migrate/runner.h"
#include "migrate/throttle.h"

/* Replaces the :lo and :hi parameters of a batch statement. Caller frees. */
static char *subst_range(const char *tmpl, int64_t lo, int64_t hi)
{
    size_t cap = strlen(tmpl) * 3 + 64, n = 0;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    for (const char *p = tmpl; *p;) {
        if (cap - n < 32) { /* room for a number or a character, and the NUL */
            cap = cap * 2;
            char *v = realloc(out, cap);
            if (!v)
                return free(out), NULL;
            out = v;
        }
        int is_lo = strncmp(p, ":lo", 3) == 0, is_hi = strncmp(p, ":hi", 3) == 0;
        char next = (is_lo || is_hi) ? p[3] : 0;
        int word = (next >= 'a' && next <= 'z') || (next >= 'A' && next <= 'Z') ||
                   (next >= '0' && next <= '9') || next == '_';
        if ((is_lo || is_hi) && !word) {
            n += (size_t)snprintf(out + n, cap - n, "%lld", (long long)(is_lo ? lo : hi));
            p += 3;
            continue;
        }
        out[n++] = *p++;
    }
    out[n] = 0;
    return out;
}

/* The longest batch time aimed at on SQLite, whatever --time-target says. */
#define SQLITE_BATCH_TARGET_MS 8.0
/* The smallest batch the time target shrinks to: below it a batch's fixed cost (its
   range query, position, fence and commit) outweighs its rows, and halving the rows no
   longer shortens the batch, so the walk would crawl a row at a time on a busy machine. */
#define BATCH_MIN_ROWS 16

struct batch_arg {
    int size;                   /* rows to walk */
    int finished;               /* set when no row is left */
    const struct keyset *ks;    /* set: the keyset walk (key not one integer column) */
    const char *id;             /* the migration, for the stored keyset position */
    char pos[KEYSET_POS_MAX];   /* keyset: the last key done, as a literal */
    int empty;                  /* the table had no row when the walk started */
    int64_t upto;               /* integers: the largest key when the walk started */
    char kupto[KEYSET_POS_MAX]; /* keyset: the same, as a literal */
    double held_ms;             /* the last batch's write transaction, begin to commit */
};

/* The first cell of `sql`'s first row into buf (*none set when there is no row). */
static int query_text(struct database *db, char *sql, char *buf, size_t cap, int *none,
                      struct err *e)
{
    struct database_rows rows;
    if (!sql)
        return err_set(e, "out of memory");
    int rc = database_query(db, sql, &rows, e);
    free(sql);
    if (rc < 0)
        return -1;
    const char *v = database_cell(&rows, 0, 0);
    *none = v == NULL;
    if (v && (strlen(v) >= cap || !keyset_literal_ok(v))) {
        db->retryable = 0;
        rc = err_set(e, "a key is too long or not a plain literal: '%.64s'", v);
    } else if (v) {
        snprintf(buf, cap, "%s", v);
    }
    database_rows_free(&rows);
    return rc;
}

/* A batch's range, read before its write transaction so the write lock (SQLite's one
   lock) is held only while the batch writes. */
struct batch_range {
    int none;  /* no row is left */
    int first; /* keyset: the first batch, lo is the smallest key */
    int64_t lo, hi;
    char klo[KEYSET_POS_MAX], khi[KEYSET_POS_MAX];
};

/* Keyset: (pos, hi] in key order, or [smallest, hi] for the first batch. */
static int keyset_range(struct run *r, const struct ledger_entry *le, const struct plan_step *s,
                        const struct batch_arg *ba, struct batch_range *g, struct err *e)
{
    enum database_kind kind = database_kind(r->db);
    g->first = !le->has_pos;
    if (g->first && query_text(r->db, keyset_first_sql(kind, s->table, ba->ks), g->klo,
                               sizeof(g->klo), &g->none, e) < 0)
        return -1;
    if (!g->first)
        snprintf(g->klo, sizeof(g->klo), "%s", ba->pos);
    if (g->none)
        return 0;
    return query_text(
        r->db,
        keyset_next_sql(kind, s->table, ba->ks, g->first ? NULL : g->klo, ba->kupto, ba->size),
        g->khi, sizeof(g->khi), &g->none, e);
}

/* Integers: (pos, hi], pos starting below the smallest key, hi at most the bound. */
static int int_range(struct run *r, const struct ledger_entry *le, const struct plan_step *s,
                     const struct batch_arg *ba, struct batch_range *g, struct err *e)
{
    char sql[640];
    int isnull = 0;
    g->lo = le->pos;
    if (!le->has_pos) {
        int64_t min = 0;
        snprintf(sql, sizeof(sql), "SELECT min(%s) FROM %s", s->key, s->table);
        if (database_query_i64(r->db, sql, &min, &isnull, e) < 0)
            return -1;
        if (!isnull && min == INT64_MIN) {
            r->db->retryable = 0;
            return err_set(e, "key '%s.%s' holds the smallest integer; batches start after it",
                           s->table, s->key);
        }
        g->lo = isnull ? 0 : min - 1;
    }
    snprintf(sql, sizeof(sql),
             "SELECT max(%s) FROM (SELECT %s FROM %s WHERE %s > %lld AND %s <= %lld ORDER BY %s "
             "LIMIT %d) b",
             s->key, s->key, s->table, s->key, (long long)g->lo, s->key, (long long)ba->upto,
             s->key, ba->size);
    if (database_query_i64(r->db, sql, &g->hi, &g->none, e) < 0)
        return -1;
    return 0;
}

/* The batch's statement and the new position, inside the transaction. */
static int batch_write(struct run *r, struct ledger_entry *le, int idx, struct batch_arg *ba,
                       const struct plan_step *s, const struct batch_range *g, struct err *e)
{
    char *q = ba->ks ? keyset_subst(s->sql, g->klo, g->khi, g->first, e)
                     : subst_range(s->sql, g->lo, g->hi);
    if (!q) {
        r->db->retryable = 0;
        return ba->ks ? -1 : err_set(e, "out of memory");
    }
    int rc = database_exec(r->db, q, e);
    free(q);
    if (rc < 0 || (ba->ks && keyset_pos_put(r->db, ba->id, idx, g->khi, e) < 0))
        return -1;
    le->has_pos = 1;
    le->pos = ba->ks ? 0 : g->hi;
    le->batches++;
    return 0;
}

/* One batch in its own transaction, the new position recorded in the same one. */
static int batch_once(struct run *r, struct ledger_entry *le, const struct plan_step *s, int idx,
                      void *arg, struct err *e)
{
    struct batch_arg *ba = arg;
    ba->finished = 0;
    struct batch_range *g = calloc(1, sizeof(*g));
    if (!g)
        return err_set(e, "out of memory");
    int rc = 0;
    if (ba->empty)
        g->none = 1;
    else
        rc = ba->ks ? keyset_range(r, le, s, ba, g, e) : int_range(r, le, s, ba, g, e);
    if (rc < 0)
        goto out;
    if ((rc = run_step_begin(r, e)) < 0)
        goto out;
    double t_in = (double)clock_now_us() / 1e3;
    if (g->none) {
        le->step = idx + 1;
        le->has_pos = 0;
    } else if ((rc = batch_write(r, le, idx, ba, s, g, e)) < 0) {
        database_rollback(r->db);
        goto out;
    }
    if ((rc = run_step_commit(r, le, e)) == 0) {
        ba->held_ms = (double)clock_now_us() / 1e3 - t_in;
        ba->finished = g->none;
        if (ba->ks && !g->none)
            snprintf(ba->pos, sizeof(ba->pos), "%s", g->khi);
    }
out:
    free(g);
    return rc < 0 ? err_wrap(e, "%s", s->desc) : 0;
}

/* Prepares the keyset walk: its table, and the stored position when resuming. */
static int keyset_walk_start(struct run *r, const struct mfile *m, struct ledger_entry *le, int idx,
                             struct batch_arg *ba, struct err *e)
{
    if (keyset_ensure(r->db, e) < 0)
        return -1;
    if (!le->has_pos)
        return 0;
    int found = 0;
    if (keyset_pos_load(r->db, m->id, idx, ba->pos, sizeof(ba->pos), &found, e) < 0)
        return -1;
    if (!found)
        return err_set(e,
                       "the ledger says the backfill of '%s' is under way but its key "
                       "position (table baton_backfill_pos, step %d) is missing",
                       m->id, idx);
    log_info("%s: resuming the keyset walk after %s", m->id, ba->pos);
    return 0;
}

/* The walk's bound: the largest key now, at the start of the walk or of a resumed one.
   Rows above it were inserted after expand put the sync triggers in place, which filled
   them, so the walk does not chase an app that keeps inserting. */
static int walk_bound(struct run *r, const struct mfile *m, const struct plan_step *s,
                      struct batch_arg *ba, struct err *e)
{
    if (ba->ks) {
        if (query_text(r->db, keyset_last_sql(database_kind(r->db), s->table, ba->ks), ba->kupto,
                       sizeof(ba->kupto), &ba->empty, e) < 0)
            return -1;
    } else {
        char sql[512];
        snprintf(sql, sizeof(sql), "SELECT max(%s) FROM %s", s->key, s->table);
        if (database_query_i64(r->db, sql, &ba->upto, &ba->empty, e) < 0)
            return -1;
        snprintf(ba->kupto, sizeof(ba->kupto), "%lld", (long long)ba->upto);
    }
    if (ba->empty)
        log_info("%s: %s has no row to walk", m->id, s->table);
    else
        log_info("%s: walking %s up to key %s %s", m->id, s->table, s->key, ba->kupto);
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void batch_stats(struct run *r, const struct mfile *m, const struct plan_step *s)
{
    if (r->nbatch == 0)
        return;
    qsort(r->batch_ms, (size_t)r->nbatch, sizeof(double), cmp_double);
    int i50 = r->nbatch / 2, i99 = (int)((double)r->nbatch * 0.99);
    if (i99 >= r->nbatch)
        i99 = r->nbatch - 1;
    log_info("backfill stats: migration=%s batches=%d p50_ms=%.1f p99_ms=%.1f max_ms=%.1f (%s)",
             m->id, r->nbatch, r->batch_ms[i50], r->batch_ms[i99], r->batch_ms[r->nbatch - 1],
             s->desc);
    r->nbatch = 0;
}

/* Records a batch's duration for the step's stats. */
static void record_batch(struct run *r, double took)
{
    if (r->nbatch == r->capbatch && r->capbatch < (1 << 22)) {
        int cap = r->capbatch ? r->capbatch * 2 : 1024;
        double *v = realloc(r->batch_ms, (size_t)cap * sizeof(*v));
        if (v) {
            r->batch_ms = v;
            r->capbatch = cap;
        }
    }
    if (r->nbatch < r->capbatch)
        r->batch_ms[r->nbatch++] = took;
}

/* The batches of one step, each sized to the time target and followed by the pause the
   throttle asks for. The size follows the batch's write transaction (time spent waiting
   for the app's locks before it does not shrink with fewer rows); the pause follows the
   whole batch, range read and waits included, so a busy database gets more rest. */
static int walk(struct run *r, struct ledger_entry *le, const struct plan_step *s, int idx,
                struct batch_arg *ba, struct throttle *th, struct err *e)
{
    const struct migrate_opts *o = r->o;
    int size = o->batch_size > 0 ? o->batch_size : 500;
    int max = o->batch_max > 0 ? o->batch_max : 50000;
    if (size > max)
        size = max;
    double cost = 0; /* smoothed milliseconds per row */
    /* SQLite has one write lock: every app writer waits for the whole batch (and then for
       its busy handler's next try), so its batches stay short */
    double target_ms = o->time_target_ms;
    if (database_kind(r->db) == DATABASE_SQLITE && target_ms > SQLITE_BATCH_TARGET_MS)
        target_ms = SQLITE_BATCH_TARGET_MS;
    for (;;) {
        ba->size = size;
        ba->finished = 0;
        double t0 = (double)clock_now_us() / 1e3;
        throttle_batch_begin(th);
        if (run_with_retries(r, le, batch_once, s, idx, ba, e) < 0)
            return -1;
        if (ba->finished)
            return 0;
        double took = ba->held_ms;
        record_batch(r, took);
        /* aim at the time target from a smoothed cost per row; grow slowly (x1.25) and
           shrink fast (down to a half at once) so a slow spell does not make long batches */
        double per_row = took / (double)size;
        cost = cost > 0 ? 0.7 * cost + 0.3 * per_row : per_row;
        if (per_row > cost)
            cost = per_row;
        double want = target_ms / (cost > 1e-6 ? cost : 1e-6);
        if (want > size * 1.25 + 1) /* + 1: a batch of one row can grow too */
            want = size * 1.25 + 1;
        if (want < size / 2.0)
            want = size / 2.0;
        size = (int)want;
        if (size < BATCH_MIN_ROWS)
            size = BATCH_MIN_ROWS;
        if (size > max)
            size = max;
        int pause_ms = throttle_after_batch(th, r->db, (double)clock_now_us() / 1e3 - t0);
        if (pause_ms > 0)
            jitter_sleep_ms(pause_ms);
    }
}

int backfill_run(struct run *r, const struct mfile *m, struct ledger_entry *le,
                 const struct plan_step *s, int idx, struct err *e)
{
    r->nbatch = 0;
    struct keyset ks;
    struct batch_arg ba = {.id = m->id};
    if (keyset_parse(s->key, &ks, e) < 0)
        return err_wrap(e, "%s", s->desc);
    if (!keyset_is_integer(r->db, s->table, &ks)) {
        ba.ks = &ks;
        if (keyset_walk_start(r, m, le, idx, &ba, e) < 0)
            return err_wrap(e, "%s", s->desc);
    }
    if (walk_bound(r, m, s, &ba, e) < 0)
        return err_wrap(e, "%s", s->desc);
    struct throttle th;
    if (throttle_start(&th, r->o, r->db, e) < 0)
        return err_wrap(e, "%s", s->desc);
    int rc = walk(r, le, s, idx, &ba, &th, e);
    throttle_stop(&th);
    if (rc == 0)
        batch_stats(r, m, s);
    return rc;
}
