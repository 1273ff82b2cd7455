/* SQL writer for the declarative operations, per dialect, and for the raw sections. The
 * recipes written here (the others are in plan_ops.c):
 *   add_column      expand: ADD COLUMN (nullable or with a default)   abort: drop it
 *   drop_column     contract: DROP COLUMN (expand leaves it alone)
 *   rename_column   expand: new column + sync triggers both ways; backfill: batched copy;
 *   change_type       contract: drop triggers and the old column; abort: drop new column
 *   add_index       expand: CREATE INDEX CONCURRENTLY (PostgreSQL, outside a transaction)
 *   add_constraint  PostgreSQL: ADD ... NOT VALID, then VALIDATE in backfill;
 *                   SQLite: triggers that reject new violations, then a count of old ones.
 * A raw section marked no-transaction becomes one idempotent step per statement. */
#include "migrate/plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrate/plan_ops.h"
#include "migrate/sqlsplit.h"

/* The triggers keeping columns o and n of table t equal (to_new/to_old: the values each
 * one takes from the other; kx/nx: the key matched in a row and in NEW). */
static char *sync_triggers_sql(enum database_kind kind, const char *name, const char *t,
                               const char *o, const char *n, const char *to_new, const char *to_old,
                               const char *kx, const char *nx)
{
    if (kind == DATABASE_POSTGRES)
        return plan_fmt(
            "CREATE OR REPLACE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql AS $baton$\n"
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
            name, n, o, n, to_new, o, n, o, to_old, n, n, o, to_old, o, o, n, to_new, name, t, name,
            t, name, t, name, name, t, to_new, n, name);
    else
        /* the WHEN clauses skip rows already equal: the backfill's own UPDATE does not
           bounce back into a second write of the old column */
        return plan_fmt(
            "CREATE TRIGGER %s_i AFTER INSERT ON %s BEGIN\n"
            "  UPDATE %s SET %s = %s WHERE %s = %s AND NEW.%s IS NULL AND NEW.%s IS NOT "
            "NULL;\n"
            "  UPDATE %s SET %s = %s WHERE %s = %s AND NEW.%s IS NULL AND NEW.%s IS NOT "
            "NULL;\n"
            "END;\n"
            "CREATE TRIGGER %s_o AFTER UPDATE OF %s ON %s\n"
            "  WHEN NEW.%s IS NOT OLD.%s AND %s IS NOT NEW.%s BEGIN\n"
            "  UPDATE %s SET %s = %s WHERE %s = %s;\n"
            "END;\n"
            "CREATE TRIGGER %s_n AFTER UPDATE OF %s ON %s\n"
            "  WHEN NEW.%s IS NOT OLD.%s AND %s IS NOT NEW.%s BEGIN\n"
            "  UPDATE %s SET %s = %s WHERE %s = %s;\n"
            "END;",
            name, t, t, n, to_new, kx, nx, n, o, t, o, to_old, kx, nx, o, n, name, o, t, o, o,
            to_new, n, t, n, to_new, kx, nx, name, n, t, n, n, to_old, o, t, o, to_old, kx, nx);
}

/* Two columns kept equal by triggers, old -> new with an optional type change. */
static int sync_columns(struct plan *p, const struct mfile *m, const struct mfile_op *op,
                        enum database_kind kind, const char *old_type, const char *new_type,
                        int cast)
{
    const char *t = op->table, *o = op->name, *n = op->new_column, *key = mfile_key(m, t);
    char name[64], desc[512], to_new[256], to_old[256], to_new_row[256], kx[160], nx[320];
    plan_key_exprs(key, kx, sizeof(kx), nx, sizeof(nx));
    plan_object_name(name, sizeof(name), "sync", m, op);
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
    if (plan_step(p, PLAN_EXPAND, STEP_SQL, desc,
                  plan_fmt("ALTER TABLE %s ADD COLUMN %s%s %s", t,
                           kind == DATABASE_POSTGRES ? "IF NOT EXISTS " : "", n, new_type)) < 0)
        return -1;
    snprintf(desc, sizeof(desc), "triggers keeping %s.%s and %s.%s equal", t, o, t, n);
    char *sql = sync_triggers_sql(kind, name, t, o, n, to_new, to_old, kx, nx);
    if (plan_step(p, PLAN_EXPAND, STEP_SQL, desc, sql) < 0)
        return -1;
    snprintf(desc, sizeof(desc), "copy %s.%s into %s.%s in batches by %s", t, o, t, n, key);
    if (plan_step_batch(p, desc, t, key,
                        plan_fmt("UPDATE %s SET %s = %s WHERE %s > :lo AND %s <= :hi AND %s %s %s",
                                 t, n, to_new_row, kx, kx, n,
                                 kind == DATABASE_POSTGRES ? "IS DISTINCT FROM" : "IS NOT",
                                 to_new_row)) < 0)
        return -1;
    snprintf(desc, sizeof(desc), "drop the sync triggers of %s.%s", t, n);
    char *drop =
        kind == DATABASE_POSTGRES
            ? plan_fmt("DROP TRIGGER IF EXISTS %s_i ON %s; DROP TRIGGER IF EXISTS %s_u ON %s; DROP "
                       "FUNCTION IF EXISTS %s()",
                       name, t, name, t, name)
            : plan_fmt("DROP TRIGGER IF EXISTS %s_i; DROP TRIGGER IF EXISTS %s_o; DROP "
                       "TRIGGER IF EXISTS %s_n",
                       name, name, name);
    char *drop2 = drop ? strdup(drop) : NULL;
    if (plan_step(p, PLAN_CONTRACT, STEP_SQL, desc, drop) < 0 ||
        plan_step_drop_column(p, PLAN_CONTRACT, kind, t, o) < 0)
        return free(drop2), -1;
    if (plan_step(p, PLAN_ABORT, STEP_SQL, desc, drop2) < 0 ||
        plan_step_drop_column(p, PLAN_ABORT, kind, t, n) < 0)
        return -1;
    return 0;
}

static int add_index(const struct plan_ctx *c, const struct mfile_op *op)
{
    const char *cols = op->rest;
    int unique = 0;
    if (strncasecmp(cols, "unique ", 7) == 0) {
        unique = 1;
        cols += 7;
    }
    int paren = cols[0] == '(';
    char desc[512];
    snprintf(desc, sizeof(desc), "create %sindex %s on %s%s%s%s", unique ? "unique " : "", op->name,
             op->table, paren ? "" : " (", cols, paren ? "" : ")");
    struct plan *p = c->p;
    if (c->kind == DATABASE_POSTGRES) {
        if (plan_step_no_tx(c, p, PLAN_EXPAND, desc,
                            plan_fmt("CREATE %sINDEX CONCURRENTLY IF NOT EXISTS %s ON %s %s%s%s",
                                     unique ? "UNIQUE " : "", op->name, op->table, paren ? "" : "(",
                                     cols, paren ? "" : ")")) < 0)
            return -1;
        snprintf(desc, sizeof(desc), "drop index %s", op->name);
        return plan_step_no_tx(c, p, PLAN_ABORT, desc,
                               plan_fmt("DROP INDEX CONCURRENTLY IF EXISTS %s", op->name));
    }
    if (plan_step(p, PLAN_EXPAND, STEP_SQL, desc,
                  plan_fmt("CREATE %sINDEX IF NOT EXISTS %s ON %s %s%s%s", unique ? "UNIQUE " : "",
                           op->name, op->table, paren ? "" : "(", cols, paren ? "" : ")")) < 0)
        return -1;
    snprintf(desc, sizeof(desc), "drop index %s", op->name);
    return plan_step(p, PLAN_ABORT, STEP_SQL, desc, plan_fmt("DROP INDEX IF EXISTS %s", op->name));
}

static int add_constraint(const struct plan_ctx *c, const struct mfile_op *op)
{
    const char *expr = op->rest + 5; /* after CHECK */
    while (*expr == ' ')
        expr++;
    if (c->kind != DATABASE_POSTGRES)
        return plan_sqlite_check(c, c->p, op, op->name, expr);
    char desc[1200];
    snprintf(desc, sizeof(desc), "add constraint %s CHECK %s NOT VALID", op->name, expr);
    if (plan_step(c->p, PLAN_EXPAND, STEP_SQL, desc,
                  plan_fmt("ALTER TABLE %s DROP CONSTRAINT IF EXISTS %s; ALTER TABLE %s ADD "
                           "CONSTRAINT %s CHECK %s NOT VALID",
                           op->table, op->name, op->table, op->name, expr)) < 0)
        return -1;
    snprintf(desc, sizeof(desc), "validate constraint %s", op->name);
    if (plan_step(c->p, PLAN_BACKFILL, STEP_SQL, desc,
                  plan_fmt("ALTER TABLE %s VALIDATE CONSTRAINT %s", op->table, op->name)) < 0)
        return -1;
    snprintf(desc, sizeof(desc), "drop constraint %s", op->name);
    return plan_step(c->p, PLAN_ABORT, STEP_SQL, desc,
                     plan_fmt("ALTER TABLE %s DROP CONSTRAINT IF EXISTS %s", op->table, op->name));
}

static int add_op(const struct plan_ctx *c, const struct mfile_op *op)
{
    char desc[1200], old_type[128];
    struct plan *p = c->p;
    switch (op->kind) {
    case MFILE_OP_ADD_COLUMN:
        snprintf(desc, sizeof(desc), "add column %s.%s %s", op->table, op->name, op->rest);
        if (plan_step(p, PLAN_EXPAND, STEP_SQL, desc,
                      plan_fmt("ALTER TABLE %s ADD COLUMN %s%s %s", op->table,
                               c->kind == DATABASE_POSTGRES ? "IF NOT EXISTS " : "", op->name,
                               op->rest)) < 0)
            return -1;
        return plan_step_drop_column(p, PLAN_ABORT, c->kind, op->table, op->name);
    case MFILE_OP_DROP_COLUMN:
        return plan_step_drop_column(p, PLAN_CONTRACT, c->kind, op->table, op->name);
    case MFILE_OP_RENAME_COLUMN:
    case MFILE_OP_CHANGE_TYPE:
        if (c->look->type_of(c->look->ctx, op->table, op->name, old_type, sizeof(old_type)) < 0) {
            p->unresolved = 1;
            snprintf(old_type, sizeof(old_type), "TEXT");
        }
        if (op->kind == MFILE_OP_RENAME_COLUMN)
            return sync_columns(p, c->m, op, c->kind, old_type, op->rest[0] ? op->rest : old_type,
                                0);
        return sync_columns(p, c->m, op, c->kind, old_type, op->rest, 1);
    case MFILE_OP_ADD_INDEX:
        return add_index(c, op);
    case MFILE_OP_ADD_CONSTRAINT:
        return add_constraint(c, op);
    case MFILE_OP_KEY:
        return 0;
    case MFILE_OP_DROP_INDEX:
        return plan_drop_index(c, op);
    case MFILE_OP_ADD_UNIQUE:
    case MFILE_OP_ADD_PRIMARY_KEY:
        return plan_add_key(c, op);
    case MFILE_OP_ADD_FOREIGN_KEY:
        return plan_add_foreign_key(c, op);
    case MFILE_OP_REINDEX:
        return plan_reindex(c, op);
    case MFILE_OP_SET_NOT_NULL:
        return plan_set_not_null(c, op);
    case MFILE_OP_RENAME_TABLE:
        return plan_rename_table(c, op);
    }
    return 0;
}

/* A raw section: one step in one transaction, or, marked no-transaction, one idempotent
 * step per statement. */
static int raw_section(const struct plan_ctx *c, const struct msection *sec, enum plan_phase ph,
                       struct err *e)
{
    char desc[160];
    snprintf(desc, sizeof(desc), "raw [%s] section", plan_phase_name(ph));
    if (!sec->no_tx)
        return plan_step(c->p, ph, STEP_SQL, desc, strdup(sec->sql)) < 0
                   ? err_set(e, "out of memory building the plan of '%s'", c->m->id)
                   : 0;
    struct sql_stmt *v;
    int n;
    size_t at;
    if (sqlsplit(c->kind, sec->sql, &v, &n, &at, e) < 0)
        return err_wrap(e, "%s:%d", c->m->id, sec->line + 1 + sqlsplit_line(sec->sql, at));
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        snprintf(desc, sizeof(desc), "raw [%s no-transaction] statement %d (line %d): %.60s",
                 plan_phase_name(ph), i + 1, sec->line + 1 + v[i].line, sec->sql + v[i].off);
        for (char *d = desc; *d; d++)
            if (*d == '\n' || *d == '\t')
                *d = ' ';
        if (plan_step_no_tx(c, c->p, ph, desc, strndup(sec->sql + v[i].off, v[i].len)) < 0)
            rc = err_set(e, "out of memory building the plan of '%s'", c->m->id);
    }
    free(v);
    return rc;
}

static int raw_backfill(const struct plan_ctx *c)
{
    const struct mfile *m = c->m;
    char desc[256];
    snprintf(desc, sizeof(desc), "raw [backfill] in batches of %s by %s", m->backfill.table,
             m->backfill.key);
    return plan_step_batch(c->p, desc, m->backfill.table, m->backfill.key, strdup(m->backfill.sql));
}

/* Moves the steps of `from` (phase ph) to the end of `to`. */
static int move_steps(struct plan *to, struct plan *from, enum plan_phase ph)
{
    for (int i = 0; i < from->n[ph]; i++) {
        struct plan_step *s = plan_step_new(to, ph, from->steps[ph][i].kind);
        if (!s)
            return -1;
        *s = from->steps[ph][i];
        memset(&from->steps[ph][i], 0, sizeof(from->steps[ph][i]));
    }
    return 0;
}

/* abort undoes expand backwards: raw [abort] first (raw [expand] ran last), then each
 * operation's own undo steps, last operation first, each group kept in its order. */
static int order_abort(const struct plan_ctx *c, const int *group, struct err *e)
{
    struct plan ops = {0};
    struct plan *out = c->p;
    ops.steps[PLAN_ABORT] = out->steps[PLAN_ABORT];
    ops.n[PLAN_ABORT] = out->n[PLAN_ABORT];
    out->steps[PLAN_ABORT] = NULL;
    out->n[PLAN_ABORT] = 0;
    int rc = 0;
    if (c->m->abort_.sql)
        rc = raw_section(c, &c->m->abort_, PLAN_ABORT, e);
    for (int g = c->m->nops - 1; g >= 0 && rc == 0; g--)
        for (int i = group[g]; i < group[g + 1] && rc == 0; i++) {
            struct plan_step *s = plan_step_new(out, PLAN_ABORT, ops.steps[PLAN_ABORT][i].kind);
            if (!s) {
                rc = err_set(e, "out of memory building the plan of '%s'", c->m->id);
                break;
            }
            *s = ops.steps[PLAN_ABORT][i];
            memset(&ops.steps[PLAN_ABORT][i], 0, sizeof(ops.steps[PLAN_ABORT][i]));
        }
    plan_free(&ops);
    return rc;
}

int plan_build(const struct mfile *m, enum database_kind kind, const struct plan_lookup *look,
               struct plan *out, struct err *e)
{
    memset(out, 0, sizeof(*out));
    struct plan late = {0};
    struct plan_ctx c = {.p = out, .late = &late, .m = m, .kind = kind, .look = look, .e = e};
    int group[MFILE_OPS_MAX + 1]; /* where each operation's abort steps start */
    e->msg[0] = 0;
    for (int i = 0; i < m->nops; i++) {
        group[i] = out->n[PLAN_ABORT];
        if (add_op(&c, &m->ops[i]) < 0)
            goto fail;
    }
    group[m->nops] = out->n[PLAN_ABORT];
    if ((m->expand.sql && raw_section(&c, &m->expand, PLAN_EXPAND, e) < 0) ||
        (m->backfill.sql && raw_backfill(&c) < 0) || move_steps(out, &late, PLAN_BACKFILL) < 0 ||
        (m->contract.sql && raw_section(&c, &m->contract, PLAN_CONTRACT, e) < 0) ||
        order_abort(&c, group, e) < 0)
        goto fail;
    plan_free(&late);
    return 0;
fail:
    plan_free(&late);
    plan_free(out);
    if (!e->msg[0])
        err_set(e, "out of memory building the plan of '%s'", m->id);
    return -1;
}

int plan_db_type(void *ctx, const char *table, const char *column, char *type, size_t cap)
{
    struct database *db = ctx;
    return db->drv->column_type(db, table, column, type, cap);
}

static int db_columns(void *ctx, const char *table, struct plan_column **cols, int *n)
{
    struct database *db = ctx;
    char sql[512];
    if (database_kind(db) == DATABASE_SQLITE)
        snprintf(sql, sizeof(sql),
                 "SELECT name, dflt_value, pk FROM pragma_table_info('%s') ORDER BY cid", table);
    else
        snprintf(sql, sizeof(sql),
                 "SELECT a.attname, pg_get_expr(d.adbin, d.adrelid), 0 FROM pg_attribute a LEFT "
                 "JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum WHERE "
                 "a.attrelid = to_regclass('%s') AND a.attnum > 0 AND NOT a.attisdropped ORDER "
                 "BY a.attnum",
                 table);
    struct database_rows r;
    struct err e;
    *cols = NULL;
    *n = 0;
    if (database_query(db, sql, &r, &e) < 0 || r.nrows == 0) {
        database_rows_free(&r);
        return -1;
    }
    *cols = calloc((size_t)r.nrows, sizeof(**cols));
    for (int i = 0; *cols && i < r.nrows; i++) {
        const char *name = database_cell(&r, i, 0), *dflt = database_cell(&r, i, 1);
        (*cols)[i].name = strdup(name ? name : "");
        (*cols)[i].dflt = dflt ? strdup(dflt) : NULL;
        (*cols)[i].pk = database_cell(&r, i, 2) ? atoi(database_cell(&r, i, 2)) : 0;
        *n = i + 1;
    }
    database_rows_free(&r);
    return *cols ? 0 : -1;
}

struct plan_lookup plan_db_lookup(struct database *db)
{
    return (struct plan_lookup){.type_of = plan_db_type, .columns_of = db_columns, .ctx = db};
}
