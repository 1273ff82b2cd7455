/* SQL writer for the declarative operations, per dialect. The recipes:
 *   add_column      expand: ADD COLUMN (nullable or with a default)   abort: drop it
 *   drop_column     contract: DROP COLUMN (expand leaves it alone)
 *   rename_column   expand: new column + sync triggers both ways; backfill: batched copy;
 *   change_type       contract: drop triggers and the old column; abort: drop new column
 *   add_index       expand: CREATE INDEX CONCURRENTLY (PostgreSQL, outside a transaction)
 *   add_constraint  PostgreSQL: ADD ... NOT VALID, then VALIDATE in backfill;
 *                   SQLite: triggers that reject new violations, then a count of old ones. */
#include "migrate/plan.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *plan_phase_name(enum plan_phase ph)
{
    static const char *names[] = {"expand", "backfill", "contract", "abort"};
    return ph < PLAN_NPHASES ? names[ph] : "?";
}

static struct plan_step *add_step(struct plan *p, enum plan_phase ph, enum step_kind kind)
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

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    char *s = NULL;
    if (vasprintf(&s, f, ap) < 0)
        s = NULL;
    va_end(ap);
    return s;
}

/* Adds a step with formatted desc and sql; returns -1 on allocation failure. */
static int step(struct plan *p, enum plan_phase ph, enum step_kind kind, const char *desc,
                char *sql)
{
    struct plan_step *s = add_step(p, ph, kind);
    if (!s || !sql) {
        free(sql);
        return -1;
    }
    s->desc = strdup(desc);
    s->sql = sql;
    return s->desc ? 0 : -1;
}

static int step_batch(struct plan *p, const char *desc, const char *table, const char *key,
                      char *sql)
{
    if (step(p, PLAN_BACKFILL, STEP_BATCH, desc, sql) < 0)
        return -1;
    struct plan_step *s = &p->steps[PLAN_BACKFILL][p->n[PLAN_BACKFILL] - 1];
    snprintf(s->table, sizeof(s->table), "%s", table);
    snprintf(s->key, sizeof(s->key), "%s", key);
    return 0;
}

static int step_drop_column(struct plan *p, enum plan_phase ph, enum mdb_kind kind,
                            const char *table, const char *col)
{
    char desc[256];
    snprintf(desc, sizeof(desc), "drop column %s.%s", table, col);
    if (kind == MDB_POSTGRES)
        return step(p, ph, STEP_SQL, desc,
                    fmt("ALTER TABLE %s DROP COLUMN IF EXISTS %s", table, col));
    if (step(p, ph, STEP_DROP_COLUMN, desc, fmt("ALTER TABLE %s DROP COLUMN %s", table, col)) < 0)
        return -1;
    struct plan_step *s = &p->steps[ph][p->n[ph] - 1];
    snprintf(s->table, sizeof(s->table), "%s", table);
    snprintf(s->key, sizeof(s->key), "%s", col);
    return 0;
}

/* A short stable name for the objects baton creates for one operation. */
static void object_name(char *out, size_t cap, const char *prefix, const struct mfile *m,
                        const struct mop *op)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    const char *parts[] = {m->id, op->table, op->a, op->b};
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

/* Two columns kept equal by triggers, old -> new with an optional type change. */
static int sync_columns(struct plan *p, const struct mfile *m, const struct mop *op,
                        enum mdb_kind kind, const char *old_type, const char *new_type, int cast)
{
    const char *t = op->table, *o = op->a, *n = op->b, *key = mfile_key(m, t);
    char name[64], desc[512], to_new[256], to_old[256], to_new_row[256];
    object_name(name, sizeof(name), "sync", m, op);
    if (cast) {
        snprintf(to_new, sizeof(to_new), "CAST(NEW.%s AS %s)", o, new_type);
        snprintf(to_old, sizeof(to_old), "CAST(NEW.%s AS %s)", n, old_type);
        snprintf(to_new_row, sizeof(to_new_row), "CAST(%s AS %s)", o, new_type);
    } else {
        snprintf(to_new, sizeof(to_new), "NEW.%s", o);
        snprintf(to_old, sizeof(to_old), "NEW.%s", n);
        snprintf(to_new_row, sizeof(to_new_row), "%s", o);
    }
    snprintf(desc, sizeof(desc), "add column %s.%s %s", t, n, new_type);
    if (step(p, PLAN_EXPAND, STEP_SQL, desc,
             fmt("ALTER TABLE %s ADD COLUMN %s%s %s", t,
                 kind == MDB_POSTGRES ? "IF NOT EXISTS " : "", n, new_type)) < 0)
        return -1;
    snprintf(desc, sizeof(desc), "triggers keeping %s.%s and %s.%s equal", t, o, t, n);
    char *sql;
    if (kind == MDB_POSTGRES)
        sql = fmt("CREATE OR REPLACE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql AS $baton$\n"
                  "BEGIN\n"
                  "  IF TG_OP = 'INSERT' THEN\n"
                  "    IF NEW.%s IS NULL AND NEW.%s IS NOT NULL THEN NEW.%s := %s;\n"
                  "    ELSIF NEW.%s IS NULL AND NEW.%s IS NOT NULL THEN NEW.%s := %s;\n"
                  "    END IF;\n"
                  "  ELSIF NEW.%s IS DISTINCT FROM OLD.%s THEN NEW.%s := %s;\n"
                  "  ELSIF NEW.%s IS DISTINCT FROM OLD.%s THEN NEW.%s := %s;\n"
                  "  END IF;\n"
                  "  RETURN NEW;\n"
                  "END $baton$;\n"
                  "DROP TRIGGER IF EXISTS %s_i ON %s;\n"
                  "DROP TRIGGER IF EXISTS %s_u ON %s;\n"
                  "CREATE TRIGGER %s_i BEFORE INSERT ON %s FOR EACH ROW EXECUTE FUNCTION %s();\n"
                  "CREATE TRIGGER %s_u BEFORE UPDATE ON %s FOR EACH ROW\n"
                  "  WHEN (%s IS DISTINCT FROM NEW.%s) EXECUTE FUNCTION %s();",
                  name, n, o, n, to_new, o, n, o, to_old, n, n, o, to_old, o, o, n, to_new, name, t,
                  name, t, name, t, name, name, t, to_new, n, name);
    else
        /* the WHEN clauses skip rows already equal: the backfill's own UPDATE does not
           bounce back into a second write of the old column */
        sql = fmt("CREATE TRIGGER %s_i AFTER INSERT ON %s BEGIN\n"
                  "  UPDATE %s SET %s = %s WHERE %s = NEW.%s AND NEW.%s IS NULL AND NEW.%s IS NOT "
                  "NULL;\n"
                  "  UPDATE %s SET %s = %s WHERE %s = NEW.%s AND NEW.%s IS NULL AND NEW.%s IS NOT "
                  "NULL;\n"
                  "END;\n"
                  "CREATE TRIGGER %s_o AFTER UPDATE OF %s ON %s\n"
                  "  WHEN NEW.%s IS NOT OLD.%s AND %s IS NOT NEW.%s BEGIN\n"
                  "  UPDATE %s SET %s = %s WHERE %s = NEW.%s;\n"
                  "END;\n"
                  "CREATE TRIGGER %s_n AFTER UPDATE OF %s ON %s\n"
                  "  WHEN NEW.%s IS NOT OLD.%s AND %s IS NOT NEW.%s BEGIN\n"
                  "  UPDATE %s SET %s = %s WHERE %s = NEW.%s;\n"
                  "END;",
                  name, t, t, n, to_new, key, key, n, o, t, o, to_old, key, key, o, n, name, o, t,
                  o, o, to_new, n, t, n, to_new, key, key, name, n, t, n, n, to_old, o, t, o,
                  to_old, key, key);
    if (step(p, PLAN_EXPAND, STEP_SQL, desc, sql) < 0)
        return -1;
    snprintf(desc, sizeof(desc), "copy %s.%s into %s.%s in batches by %s", t, o, t, n, key);
    if (step_batch(p, desc, t, key,
                   fmt("UPDATE %s SET %s = %s WHERE %s > :lo AND %s <= :hi AND %s %s %s", t, n,
                       to_new_row, key, key, n,
                       kind == MDB_POSTGRES ? "IS DISTINCT FROM" : "IS NOT", to_new_row)) < 0)
        return -1;
    snprintf(desc, sizeof(desc), "drop the sync triggers of %s.%s", t, n);
    char *drop =
        kind == MDB_POSTGRES
            ? fmt("DROP TRIGGER IF EXISTS %s_i ON %s; DROP TRIGGER IF EXISTS %s_u ON %s; DROP "
                  "FUNCTION IF EXISTS %s()",
                  name, t, name, t, name)
            : fmt("DROP TRIGGER IF EXISTS %s_i; DROP TRIGGER IF EXISTS %s_o; DROP "
                  "TRIGGER IF EXISTS %s_n",
                  name, name, name);
    char *drop2 = drop ? strdup(drop) : NULL;
    if (step(p, PLAN_CONTRACT, STEP_SQL, desc, drop) < 0 ||
        step_drop_column(p, PLAN_CONTRACT, kind, t, o) < 0)
        return free(drop2), -1;
    if (step(p, PLAN_ABORT, STEP_SQL, desc, drop2) < 0 ||
        step_drop_column(p, PLAN_ABORT, kind, t, n) < 0)
        return -1;
    return 0;
}

static int add_index(struct plan *p, const struct mfile *m, const struct mop *op,
                     enum mdb_kind kind)
{
    const char *cols = op->rest;
    int unique = 0;
    if (strncasecmp(cols, "unique ", 7) == 0) {
        unique = 1;
        cols += 7;
    }
    int paren = cols[0] == '(';
    char desc[512];
    snprintf(desc, sizeof(desc), "create %sindex %s on %s%s%s%s", unique ? "unique " : "", op->a,
             op->table, paren ? "" : " (", cols, paren ? "" : ")");
    if (kind == MDB_POSTGRES) {
        if (step(p, PLAN_EXPAND, STEP_SQL_NO_TX, desc,
                 fmt("CREATE %sINDEX CONCURRENTLY IF NOT EXISTS %s ON %s %s%s%s",
                     unique ? "UNIQUE " : "", op->a, op->table, paren ? "" : "(", cols,
                     paren ? "" : ")")) < 0)
            return -1;
        struct plan_step *s = &p->steps[PLAN_EXPAND][p->n[PLAN_EXPAND] - 1];
        s->guard = fmt("SELECT 1 FROM pg_index WHERE indexrelid = to_regclass('%s') AND NOT "
                       "indisvalid",
                       op->a);
        s->fix = fmt("DROP INDEX CONCURRENTLY IF EXISTS %s", op->a);
        if (!s->guard || !s->fix)
            return -1;
        snprintf(desc, sizeof(desc), "drop index %s", op->a);
        return step(p, PLAN_ABORT, STEP_SQL_NO_TX, desc,
                    fmt("DROP INDEX CONCURRENTLY IF EXISTS %s", op->a));
    }
    if (step(p, PLAN_EXPAND, STEP_SQL, desc,
             fmt("CREATE %sINDEX IF NOT EXISTS %s ON %s %s%s%s", unique ? "UNIQUE " : "", op->a,
                 op->table, paren ? "" : "(", cols, paren ? "" : ")")) < 0)
        return -1;
    snprintf(desc, sizeof(desc), "drop index %s", op->a);
    return step(p, PLAN_ABORT, STEP_SQL, desc, fmt("DROP INDEX IF EXISTS %s", op->a));
}

static int add_constraint(struct plan *p, const struct mfile *m, const struct mop *op,
                          enum mdb_kind kind)
{
    const char *expr = op->rest + 5; /* after CHECK */
    while (*expr == ' ')
        expr++;
    const char *key = mfile_key(m, op->table);
    char desc[1200];
    if (kind == MDB_POSTGRES) {
        snprintf(desc, sizeof(desc), "add constraint %s CHECK %s NOT VALID", op->a, expr);
        if (step(p, PLAN_EXPAND, STEP_SQL, desc,
                 fmt("ALTER TABLE %s DROP CONSTRAINT IF EXISTS %s; ALTER TABLE %s ADD CONSTRAINT "
                     "%s CHECK %s NOT VALID",
                     op->table, op->a, op->table, op->a, expr)) < 0)
            return -1;
        snprintf(desc, sizeof(desc), "validate constraint %s", op->a);
        if (step(p, PLAN_BACKFILL, STEP_SQL, desc,
                 fmt("ALTER TABLE %s VALIDATE CONSTRAINT %s", op->table, op->a)) < 0)
            return -1;
        snprintf(desc, sizeof(desc), "drop constraint %s", op->a);
        return step(p, PLAN_ABORT, STEP_SQL, desc,
                    fmt("ALTER TABLE %s DROP CONSTRAINT IF EXISTS %s", op->table, op->a));
    }
    snprintf(desc, sizeof(desc), "triggers rejecting rows of %s that fail CHECK %s", op->table,
             expr);
    if (step(p, PLAN_EXPAND, STEP_SQL, desc,
             fmt("CREATE TRIGGER %s_i AFTER INSERT ON %s BEGIN SELECT RAISE(ABORT, 'CHECK "
                 "constraint failed: %s') FROM %s WHERE %s = NEW.%s AND NOT %s; END;\n"
                 "CREATE TRIGGER %s_u AFTER UPDATE ON %s BEGIN SELECT RAISE(ABORT, 'CHECK "
                 "constraint failed: %s') FROM %s WHERE %s = NEW.%s AND NOT %s; END;",
                 op->a, op->table, op->a, op->table, key, key, expr, op->a, op->table, op->a,
                 op->table, key, key, expr)) < 0)
        return -1;
    snprintf(desc, sizeof(desc), "validate: no row of %s fails CHECK %s", op->table, expr);
    if (step(p, PLAN_BACKFILL, STEP_ASSERT_ZERO, desc,
             fmt("SELECT count(*) FROM %s WHERE NOT %s", op->table, expr)) < 0)
        return -1;
    snprintf(desc, sizeof(desc), "drop the triggers of constraint %s", op->a);
    return step(p, PLAN_ABORT, STEP_SQL, desc,
                fmt("DROP TRIGGER IF EXISTS %s_i; DROP TRIGGER IF EXISTS %s_u", op->a, op->a));
}

static int add_op(struct plan *p, const struct mfile *m, const struct mop *op, enum mdb_kind kind,
                  plan_type_fn type_of, void *ctx)
{
    char desc[1200], old_type[128];
    switch (op->kind) {
    case MOP_ADD_COLUMN:
        snprintf(desc, sizeof(desc), "add column %s.%s %s", op->table, op->a, op->rest);
        if (step(p, PLAN_EXPAND, STEP_SQL, desc,
                 fmt("ALTER TABLE %s ADD COLUMN %s%s %s", op->table,
                     kind == MDB_POSTGRES ? "IF NOT EXISTS " : "", op->a, op->rest)) < 0)
            return -1;
        return step_drop_column(p, PLAN_ABORT, kind, op->table, op->a);
    case MOP_DROP_COLUMN:
        return step_drop_column(p, PLAN_CONTRACT, kind, op->table, op->a);
    case MOP_RENAME_COLUMN:
    case MOP_CHANGE_TYPE:
        if (type_of(ctx, op->table, op->a, old_type, sizeof(old_type)) < 0) {
            p->unresolved = 1;
            snprintf(old_type, sizeof(old_type), "TEXT");
        }
        if (op->kind == MOP_RENAME_COLUMN)
            return sync_columns(p, m, op, kind, old_type, op->rest[0] ? op->rest : old_type, 0);
        return sync_columns(p, m, op, kind, old_type, op->rest, 1);
    case MOP_ADD_INDEX:
        return add_index(p, m, op, kind);
    case MOP_ADD_CONSTRAINT:
        return add_constraint(p, m, op, kind);
    case MOP_KEY:
        return 0;
    }
    return 0;
}

int plan_build(const struct mfile *m, enum mdb_kind kind, plan_type_fn type_of, void *ctx,
               struct plan *out, struct err *e)
{
    memset(out, 0, sizeof(*out));
    int group[MFILE_OPS_MAX + 1]; /* where each operation's abort steps start */
    for (int i = 0; i < m->nops; i++) {
        group[i] = out->n[PLAN_ABORT];
        if (add_op(out, m, &m->ops[i], kind, type_of, ctx) < 0)
            goto oom;
    }
    group[m->nops] = out->n[PLAN_ABORT];
    if (m->expand.sql &&
        step(out, PLAN_EXPAND, STEP_SQL, "raw [expand] section", strdup(m->expand.sql)) < 0)
        goto oom;
    if (m->backfill.sql) {
        char desc[256];
        snprintf(desc, sizeof(desc), "raw [backfill] in batches of %s by %s", m->backfill.table,
                 m->backfill.key);
        if (step_batch(out, desc, m->backfill.table, m->backfill.key, strdup(m->backfill.sql)) < 0)
            goto oom;
    }
    if (m->contract.sql &&
        step(out, PLAN_CONTRACT, STEP_SQL, "raw [contract] section", strdup(m->contract.sql)) < 0)
        goto oom;
    /* abort undoes expand backwards: raw [abort] first (raw [expand] ran last), then each
       operation's own undo steps, last operation first, each group kept in its order */
    int nops_steps = out->n[PLAN_ABORT];
    struct plan_step *ops_steps = out->steps[PLAN_ABORT];
    out->steps[PLAN_ABORT] = NULL;
    out->n[PLAN_ABORT] = 0;
    int rc = 0;
    if (m->abort_.sql)
        rc = step(out, PLAN_ABORT, STEP_SQL, "raw [abort] section", strdup(m->abort_.sql));
    for (int g = m->nops - 1; g >= 0 && rc == 0; g--)
        for (int i = group[g]; i < group[g + 1] && rc == 0; i++) {
            struct plan_step *s = add_step(out, PLAN_ABORT, ops_steps[i].kind);
            if (!s) {
                rc = -1;
                break;
            }
            *s = ops_steps[i];
            memset(&ops_steps[i], 0, sizeof(ops_steps[i]));
        }
    for (int i = 0; i < nops_steps; i++) {
        free(ops_steps[i].desc);
        free(ops_steps[i].sql);
        free(ops_steps[i].guard);
        free(ops_steps[i].fix);
    }
    free(ops_steps);
    if (rc < 0)
        goto oom;
    return 0;
oom:
    plan_free(out);
    return err_set(e, "out of memory building the plan of '%s'", m->id);
}

void plan_free(struct plan *p)
{
    for (int ph = 0; ph < PLAN_NPHASES; ph++) {
        for (int i = 0; i < p->n[ph]; i++) {
            free(p->steps[ph][i].desc);
            free(p->steps[ph][i].sql);
            free(p->steps[ph][i].guard);
            free(p->steps[ph][i].fix);
        }
        free(p->steps[ph]);
        p->steps[ph] = NULL;
        p->n[ph] = 0;
    }
}

int plan_db_type(void *ctx, const char *table, const char *column, char *type, size_t cap)
{
    struct mdb *db = ctx;
    return db->drv->column_type(db, table, column, type, cap);
}
