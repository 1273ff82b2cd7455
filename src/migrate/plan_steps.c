/* A plan's steps: the phases, the steps each phase runs, and the helpers every
 * operation's writer (plan.c, plan_ops.c) adds its steps with. Below the planner: it
 * calls nothing of theirs. */
#include "migrate/plan_steps.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrate/sqlsplit.h"

const char *plan_phase_name(enum plan_phase ph)
{
    static const char *names[] = {"expand", "backfill", "contract", "abort"};
    return ph < PLAN_NPHASES ? names[ph] : "?";
}

struct plan_step *plan_step_new(struct plan *p, enum plan_phase ph, enum step_kind kind)
{
    struct plan_step *v = realloc(p->steps[ph], (size_t)(p->n[ph] + 1) * sizeof(*v));
    if (!v)
        return NULL;
    p->steps[ph] = v;
    struct plan_step *s = &v[p->n[ph]++];
    memset(s, 0, sizeof(*s));
    s->kind = kind;
    return s;
}

char *plan_vfmt(const char *f, va_list ap)
{
    char *s = NULL;
    if (vasprintf(&s, f, ap) < 0)
        s = NULL;
    return s;
}

char *plan_fmt(const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    char *s = plan_vfmt(f, ap);
    va_end(ap);
    return s;
}

int plan_step(struct plan *p, enum plan_phase ph, enum step_kind kind, const char *desc, char *sql)
{
    struct plan_step *s = plan_step_new(p, ph, kind);
    if (!s || !sql) {
        free(sql);
        return -1;
    }
    s->desc = strdup(desc);
    s->sql = sql;
    return s->desc ? 0 : -1;
}

int plan_step_batch(struct plan *p, const char *desc, const char *table, const char *key, char *sql)
{
    if (plan_step(p, PLAN_BACKFILL, STEP_BATCH, desc, sql) < 0)
        return -1;
    struct plan_step *s = &p->steps[PLAN_BACKFILL][p->n[PLAN_BACKFILL] - 1];
    snprintf(s->table, sizeof(s->table), "%s", table);
    snprintf(s->key, sizeof(s->key), "%s", key);
    return 0;
}

int plan_step_drop_column(struct plan *p, enum plan_phase ph, enum database_kind kind,
                          const char *table, const char *col)
{
    char desc[256];
    snprintf(desc, sizeof(desc), "drop column %s.%s", table, col);
    if (kind == DATABASE_POSTGRES)
        return plan_step(p, ph, STEP_SQL, desc,
                         plan_fmt("ALTER TABLE %s DROP COLUMN IF EXISTS %s", table, col));
    if (plan_step(p, ph, STEP_DROP_COLUMN, desc,
                  plan_fmt("ALTER TABLE %s DROP COLUMN %s", table, col)) < 0)
        return -1;
    struct plan_step *s = &p->steps[ph][p->n[ph] - 1];
    snprintf(s->table, sizeof(s->table), "%s", table);
    snprintf(s->key, sizeof(s->key), "%s", col);
    return 0;
}

void plan_object_name(char *out, size_t cap, const char *prefix, const struct mfile *m,
                      const struct mfile_op *op)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    const char *parts[] = {m->id, op->table, op->name, op->new_column};
    for (size_t i = 0; i < 4; i++) {
        for (const char *c = parts[i]; *c; c++) {
            h ^= (unsigned char)*c;
            h *= 0x100000001b3ULL;
        }
        h ^= '/';
        h *= 0x100000001b3ULL;
    }
    snprintf(out, cap, "baton_%s_%012llx", prefix, (unsigned long long)(h & 0xffffffffffffULL));
}

void plan_key_exprs(const char *key, char *kx, size_t kcap, char *nx, size_t ncap)
{
    int multi = strchr(key, ',') != NULL;
    size_t k = (size_t)snprintf(kx, kcap, "%s", multi ? "(" : "");
    size_t n = (size_t)snprintf(nx, ncap, "%sNEW.", multi ? "(" : "");
    for (const char *p = key; *p && k + 8 < kcap && n + 8 < ncap; p++) {
        if (*p == ',') {
            k += (size_t)snprintf(kx + k, kcap - k, ", ");
            n += (size_t)snprintf(nx + n, ncap - n, ", NEW.");
            continue;
        }
        kx[k++] = *p;
        nx[n++] = *p;
    }
    snprintf(kx + k, kcap - k, "%s", multi ? ")" : "");
    snprintf(nx + n, ncap - n, "%s", multi ? ")" : "");
}

struct plan_step *plan_last(struct plan *p, enum plan_phase ph)
{
    return &p->steps[ph][p->n[ph] - 1];
}

int plan_step_no_tx(const struct plan_ctx *c, struct plan *p, enum plan_phase ph, const char *desc,
                    char *sql)
{
    char *guard = c->kind == DATABASE_POSTGRES && sql ? sqlsplit_pg_leftover_guard(sql) : NULL;
    if (plan_step(p, ph, STEP_SQL_NO_TX, desc, sql) < 0) {
        free(guard);
        return -1;
    }
    plan_last(p, ph)->guard = guard;
    return 0;
}

int plan_sqlite_check(const struct plan_ctx *c, struct plan *bf, const struct mfile_op *op,
                      const char *name, const char *expr)
{
    const char *key = mfile_key(c->m, op->table);
    char desc[1200], kx[160], nx[320];
    plan_key_exprs(key, kx, sizeof(kx), nx, sizeof(nx));
    snprintf(desc, sizeof(desc), "triggers rejecting rows of %s that fail CHECK %s", op->table,
             expr);
    if (plan_step(
            c->p, PLAN_EXPAND, STEP_SQL, desc,
            plan_fmt("CREATE TRIGGER %s_i AFTER INSERT ON %s BEGIN SELECT RAISE(ABORT, 'CHECK "
                     "constraint failed: %s') FROM %s WHERE %s = %s AND NOT %s; END;\n"
                     "CREATE TRIGGER %s_u AFTER UPDATE ON %s BEGIN SELECT RAISE(ABORT, 'CHECK "
                     "constraint failed: %s') FROM %s WHERE %s = %s AND NOT %s; END;",
                     name, op->table, name, op->table, kx, nx, expr, name, op->table, name,
                     op->table, kx, nx, expr)) < 0)
        return -1;
    snprintf(desc, sizeof(desc), "validate: no row of %s fails CHECK %s", op->table, expr);
    if (plan_step(bf, PLAN_BACKFILL, STEP_ASSERT_ZERO, desc,
                  plan_fmt("SELECT count(*) FROM %s WHERE NOT %s", op->table, expr)) < 0)
        return -1;
    snprintf(desc, sizeof(desc), "drop the triggers of constraint %s", name);
    return plan_step(
        c->p, PLAN_ABORT, STEP_SQL, desc,
        plan_fmt("DROP TRIGGER IF EXISTS %s_i; DROP TRIGGER IF EXISTS %s_u", name, name));
}

void plan_free(struct plan *p)
{
    for (int ph = 0; ph < PLAN_NPHASES; ph++) {
        for (int i = 0; i < p->n[ph]; i++) {
            free(p->steps[ph][i].desc);
            free(p->steps[ph][i].sql);
            free(p->steps[ph][i].guard);
            free(p->steps[ph][i].only_if);
        }
        free(p->steps[ph]);
        p->steps[ph] = NULL;
        p->n[ph] = 0;
    }
}

void plan_columns_free(struct plan_column *cols, int n)
{
    for (int i = 0; i < n; i++) {
        free(cols[i].name);
        free(cols[i].dflt);
    }
    free(cols);
}
