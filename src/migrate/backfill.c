/* The backfill walker: batches over the key (integers by range, other keys by keyset
 * pagination, keyset.c), each batch one short transaction that also records its end
 * position, so a crash resumes without skipping or repeating a row; the batch size
 * follows a time target and a duty cycle paces the walk. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "migrate/keyset.h"
#include "migrate/runner.h"

/* Replaces the :lo and :hi parameters of a batch statement. Caller frees. */
static char *subst_range(const char *tmpl, int64_t lo, int64_t hi)
{
    size_t cap = strlen(tmpl) * 3 + 64, n = 0;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    for (const char *p = tmpl; *p;) {
        int is_lo = strncmp(p, ":lo", 3) == 0, is_hi = strncmp(p, ":hi", 3) == 0;
        char next = (is_lo || is_hi) ? p[3] : 0;
        int word = (next >= 'a' && next <= 'z') || (next >= 'A' && next <= 'Z') ||
                   (next >= '0' && next <= '9') || next == '_';
        if ((is_lo || is_hi) && !word) {
            if (cap - n < 32) {
                cap = cap * 2;
                char *v = realloc(out, cap);
                if (!v)
                    return free(out), NULL;
                out = v;
            }
            n += (size_t)snprintf(out + n, cap - n, "%lld", (long long)(is_lo ? lo : hi));
            p += 3;
            continue;
        }
        if (cap - n < 32) {
            cap = cap * 2;
            char *v = realloc(out, cap);
            if (!v)
                return free(out), NULL;
            out = v;
        }
        out[n++] = *p++;
    }
    out[n] = 0;
    return out;
}

struct batch_arg {
    int size;                 /* rows to walk */
    int finished;             /* set when no row is left */
    const struct keyset *ks;  /* set: the keyset walk (key not one integer column) */
    const char *id;           /* the migration, for the stored keyset position */
    char pos[KEYSET_POS_MAX]; /* keyset: the last key done, as a literal */
};

/* The first cell of `sql`'s first row into buf (*none set when there is no row). */
static int query_text(struct mdb *db, char *sql, char *buf, size_t cap, int *none, struct err *e)
{
    struct mdb_rows rows;
    if (!sql)
        return err_set(e, "out of memory");
    int rc = mdb_query(db, sql, &rows, e);
    free(sql);
    if (rc < 0)
        return -1;
    const char *v = mdb_cell(&rows, 0, 0);
    *none = v == NULL;
    if (v && (strlen(v) >= cap || !keyset_literal_ok(v))) {
        db->retryable = 0;
        rc = err_set(e, "a key is too long or not a plain literal: '%.64s'", v);
    } else if (v) {
        snprintf(buf, cap, "%s", v);
    }
    mdb_rows_free(&rows);
    return rc;
}

/* One keyset batch: (pos, hi] in key order, or [smallest, hi] for the first one; the
   position literal is stored in the batch's transaction. */
static int keyset_batch(struct run *r, struct ledger_entry *le, const struct plan_step *s, int idx,
                        struct batch_arg *ba, struct err *e)
{
    enum mdb_kind kind = mdb_kind(r->db);
    char lo[KEYSET_POS_MAX], hi[KEYSET_POS_MAX];
    int first = !le->has_pos, none = 0;
    if (first &&
        query_text(r->db, keyset_first_sql(kind, s->table, ba->ks), lo, sizeof(lo), &none, e) < 0)
        return -1;
    if (!first)
        snprintf(lo, sizeof(lo), "%s", ba->pos);
    if (!none &&
        query_text(r->db, keyset_next_sql(kind, s->table, ba->ks, first ? NULL : lo, ba->size), hi,
                   sizeof(hi), &none, e) < 0)
        return -1;
    if (none) {
        le->step = idx + 1;
        le->has_pos = 0;
        ba->finished = 1;
        return 0;
    }
    char *q = keyset_subst(s->sql, lo, hi, first, e);
    if (!q) {
        r->db->retryable = 0;
        return -1;
    }
    int rc = mdb_exec(r->db, q, e);
    free(q);
    if (rc < 0 || keyset_pos_put(r->db, ba->id, idx, hi, e) < 0)
        return -1;
    le->has_pos = 1;
    le->pos = 0;
    le->batches++;
    snprintf(ba->pos, sizeof(ba->pos), "%s", hi);
    return 0;
}

/* One batch in its own transaction, the new position recorded in the same one. */
static int batch_once(struct run *r, struct ledger_entry *le, const struct plan_step *s, int idx,
                      void *arg, struct err *e)
{
    struct batch_arg *ba = arg;
    int size = ba->size;
    int *finished = &ba->finished;
    *finished = 0;
    if (run_step_begin(r, e) < 0)
        return -1;
    if (ba->ks) {
        char keep[KEYSET_POS_MAX];
        snprintf(keep, sizeof(keep), "%s", ba->pos);
        if (keyset_batch(r, le, s, idx, ba, e) < 0 || run_step_commit(r, le, e) < 0) {
            snprintf(ba->pos, sizeof(ba->pos), "%s", keep);
            ba->finished = 0;
            goto fail;
        }
        return 0;
    }
    char sql[512];
    int64_t hi = 0;
    int isnull = 0;
    if (!le->has_pos) {
        snprintf(sql, sizeof(sql), "SELECT min(%s) FROM %s", s->key, s->table);
        if (mdb_query_i64(r->db, sql, &hi, &isnull, e) < 0)
            goto fail;
        if (!isnull && hi == INT64_MIN) {
            r->db->retryable = 0;
            err_set(e, "key '%s.%s' holds the smallest integer; batches start after it", s->table,
                    s->key);
            goto fail;
        }
        le->has_pos = 1;
        le->pos = isnull ? 0 : hi - 1;
    }
    snprintf(sql, sizeof(sql),
             "SELECT max(%s) FROM (SELECT %s FROM %s WHERE %s > %lld ORDER BY %s LIMIT %d) b",
             s->key, s->key, s->table, s->key, (long long)le->pos, s->key, size);
    if (mdb_query_i64(r->db, sql, &hi, &isnull, e) < 0)
        goto fail;
    if (isnull) {
        le->step = idx + 1;
        le->has_pos = 0;
        *finished = 1;
        return run_step_commit(r, le, e);
    }
    char *q = subst_range(s->sql, le->pos, hi);
    if (!q) {
        err_set(e, "out of memory");
        goto fail;
    }
    int rc = mdb_exec(r->db, q, e);
    free(q);
    if (rc < 0)
        goto fail;
    le->pos = hi;
    le->batches++;
    return run_step_commit(r, le, e);
fail:
    mdb_rollback(r->db);
    return err_wrap(e, "%s", s->desc);
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

int backfill_run(struct run *r, const struct mfile *m, struct ledger_entry *le,
                 const struct plan_step *s, int idx, struct err *e)
{
    const struct migrate_opts *o = r->o;
    int size = o->batch_size > 0 ? o->batch_size : 500;
    int max = o->batch_max > 0 ? o->batch_max : 50000;
    if (size > max)
        size = max;
    r->nbatch = 0;
    double cost = 0; /* smoothed milliseconds per row */
    struct keyset ks;
    struct batch_arg ba = {.id = m->id};
    if (keyset_parse(s->key, &ks, e) < 0)
        return err_wrap(e, "%s", s->desc);
    if (!keyset_is_integer(r->db, s->table, &ks)) {
        ba.ks = &ks;
        if (keyset_walk_start(r, m, le, idx, &ba, e) < 0)
            return err_wrap(e, "%s", s->desc);
    }
    for (;;) {
        ba.size = size;
        ba.finished = 0;
        double t0 = run_mono_ms();
        if (run_with_retries(r, le, batch_once, s, idx, &ba, e) < 0)
            return -1;
        if (ba.finished)
            break;
        double took = run_mono_ms() - t0;
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
        /* aim at the time target from a smoothed cost per row; grow slowly (x1.25) and
           shrink fast (down to a half at once) so a slow spell does not make long batches */
        double per_row = took / (double)size;
        cost = cost > 0 ? 0.7 * cost + 0.3 * per_row : per_row;
        if (per_row > cost)
            cost = per_row;
        double want = (double)o->time_target_ms / (cost > 1e-6 ? cost : 1e-6);
        if (want > size * 1.25)
            want = size * 1.25;
        if (want < size / 2.0)
            want = size / 2.0;
        size = (int)want;
        if (size < 1)
            size = 1;
        if (size > max)
            size = max;
        int duty = o->duty_percent > 0 && o->duty_percent <= 100 ? o->duty_percent : 100;
        int pause_ms = (int)(took * (100 - duty) / duty) + o->batch_sleep_ms;
        if (pause_ms > 0)
            jitter_sleep_ms(pause_ms);
    }
    batch_stats(r, m, s);
    return 0;
}
