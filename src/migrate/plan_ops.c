/* SQL writer for the operations that replace the statements the linter refuses:
 *   drop_index       contract: DROP INDEX CONCURRENTLY (outside a transaction)
 *   add_unique       expand: unique index built CONCURRENTLY, then ADD CONSTRAINT ... UNIQUE
 *                    USING INDEX (a short lock, no scan); SQLite: a unique index
 *   add_primary_key  expand: as add_unique, with the key columns made NOT NULL through
 *                    validated CHECKs first so SET NOT NULL does not scan under its lock
 *   add_foreign_key  expand: ADD ... NOT VALID; backfill: VALIDATE in its own transaction
 *   reindex          expand: REINDEX INDEX CONCURRENTLY; SQLite: REINDEX
 *   set_not_null     expand: CHECK (col IS NOT NULL) NOT VALID; backfill: VALIDATE;
 *                    contract: SET NOT NULL (proved by the check, no scan), drop the check
 *   rename_table     expand: the table takes its new name and a view keeps the old one,
 *                    writable (PostgreSQL: automatically updatable; SQLite: INSTEAD OF
 *                    triggers); contract: drop the view
 * Validations of add_foreign_key and set_not_null run after the raw [backfill] (c->late),
 * so a backfill may first fix the rows they check. */
#include "migrate/plan_ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/str.h"

int plan_drop_index(const struct plan_ctx *c, const struct mfile_op *op)
{
    char desc[256];
    snprintf(desc, sizeof(desc), "drop index %s of %s", op->name, op->table);
    if (c->kind == DATABASE_POSTGRES)
        return plan_step_no_tx(c, c->p, PLAN_CONTRACT, desc,
                               plan_fmt("DROP INDEX CONCURRENTLY IF EXISTS %s", op->name));
    return plan_step(c->p, PLAN_CONTRACT, STEP_SQL, desc,
                     plan_fmt("DROP INDEX IF EXISTS %s", op->name));
}

/* "ALTER TABLE t <verb> CONSTRAINT <name>_<k>" for each key column k, joined by ", ". */
static char *each_column(const struct mfile_op *op, const char *name, int add)
{
    char *out = strdup(""), *cols = strdup(op->rest);
    int k = 0;
    for (char *save = NULL, *col = cols ? strtok_r(cols, ", ", &save) : NULL; out && col;
         col = strtok_r(NULL, ", ", &save), k++) {
        char *next =
            add ? plan_fmt("%sALTER TABLE %s DROP CONSTRAINT IF EXISTS %s_%d; ALTER TABLE %s ADD "
                           "CONSTRAINT %s_%d CHECK (%s IS NOT NULL) NOT VALID; ",
                           out, op->table, name, k, op->table, name, k, col)
                : plan_fmt("%s%s %s_%d", out, k ? "," : "", name, k);
        free(out);
        out = next;
    }
    free(cols);
    return out;
}

/* The ALTER TABLE clauses "ALTER COLUMN a SET NOT NULL, ..." of the key columns. */
static char *set_not_null_clauses(const struct mfile_op *op)
{
    char *out = strdup(""), *cols = strdup(op->rest);
    for (char *save = NULL, *col = cols ? strtok_r(cols, ", ", &save) : NULL; out && col;
         col = strtok_r(NULL, ", ", &save)) {
        char *next = plan_fmt("%s%sALTER COLUMN %s SET NOT NULL", out, *out ? ", " : "", col);
        free(out);
        out = next;
    }
    free(cols);
    return out;
}

/* add_primary_key's key columns made NOT NULL without a scan under ACCESS EXCLUSIVE:
 * CHECKs NOT VALID, VALIDATE (no write lock), then SET NOT NULL, which the checks prove. */
static int primary_key_steps(const struct plan_ctx *c, const struct mfile_op *op)
{
    char nn[64], desc[1400];
    plan_object_name(nn, sizeof(nn), "pknn", c->m, op);
    char *validate = each_column(op, nn, 0), *drops = each_column(op, nn, 0);
    char *set = set_not_null_clauses(op);
    snprintf(desc, sizeof(desc), "checks (COL IS NOT NULL) NOT VALID on %s (%s)", op->table,
             op->rest);
    int rc = plan_step(c->p, PLAN_EXPAND, STEP_SQL, desc, each_column(op, nn, 1));
    snprintf(desc, sizeof(desc), "validate the NOT NULL checks of %s (%s)", op->table, op->rest);
    if (rc == 0 && validate)
        rc = plan_step(c->p, PLAN_EXPAND, STEP_SQL, desc,
                       plan_fmt("ALTER TABLE %s VALIDATE CONSTRAINT%s", op->table, validate));
    snprintf(desc, sizeof(desc), "set %s (%s) NOT NULL, add primary key %s using its index",
             op->table, op->rest, op->name);
    if (rc == 0 && set && drops)
        rc = plan_step(c->p, PLAN_EXPAND, STEP_SQL, desc,
                       plan_fmt("ALTER TABLE %s %s; ALTER TABLE %s ADD CONSTRAINT %s PRIMARY KEY "
                                "USING INDEX %s; ALTER TABLE %s DROP CONSTRAINT IF EXISTS%s",
                                op->table, set, op->table, op->name, op->name, op->table, drops));
    free(validate);
    free(set);
    snprintf(desc, sizeof(desc), "drop primary key %s and its NOT NULL checks", op->name);
    if (rc == 0 && drops)
        rc = plan_step(c->p, PLAN_ABORT, STEP_SQL, desc,
                       plan_fmt("ALTER TABLE %s DROP CONSTRAINT IF EXISTS %s; ALTER TABLE %s DROP "
                                "CONSTRAINT IF EXISTS%s",
                                op->table, op->name, op->table, drops));
    free(drops);
    return rc == 0 && validate && set ? 0 : -1;
}

int plan_add_key(const struct plan_ctx *c, const struct mfile_op *op)
{
    int pk = op->kind == MFILE_OP_ADD_PRIMARY_KEY;
    char desc[1200];
    snprintf(desc, sizeof(desc), "create unique index %s on %s (%s)", op->name, op->table,
             op->rest);
    if (c->kind != DATABASE_POSTGRES) {
        if (pk)
            return err_set(c->e,
                           "%s:%d: add_primary_key: SQLite cannot add a primary key to an existing "
                           "table (it takes a rebuild of the table); use 'add_unique %s %s %s'",
                           c->m->id, op->line, op->table, op->name, op->rest);
        if (plan_step(c->p, PLAN_EXPAND, STEP_SQL, desc,
                      plan_fmt("CREATE UNIQUE INDEX IF NOT EXISTS %s ON %s (%s)", op->name,
                               op->table, op->rest)) < 0)
            return -1;
        snprintf(desc, sizeof(desc), "drop index %s", op->name);
        return plan_step(c->p, PLAN_ABORT, STEP_SQL, desc,
                         plan_fmt("DROP INDEX IF EXISTS %s", op->name));
    }
    if (plan_step_no_tx(c, c->p, PLAN_EXPAND, desc,
                        plan_fmt("CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS %s ON %s (%s)",
                                 op->name, op->table, op->rest)) < 0)
        return -1;
    if (pk) {
        if (primary_key_steps(c, op) < 0)
            return -1;
    } else {
        snprintf(desc, sizeof(desc), "add unique constraint %s using its index", op->name);
        if (plan_step(c->p, PLAN_EXPAND, STEP_SQL, desc,
                      plan_fmt("ALTER TABLE %s ADD CONSTRAINT %s UNIQUE USING INDEX %s", op->table,
                               op->name, op->name)) < 0)
            return -1;
        snprintf(desc, sizeof(desc), "drop unique constraint %s", op->name);
        if (plan_step(
                c->p, PLAN_ABORT, STEP_SQL, desc,
                plan_fmt("ALTER TABLE %s DROP CONSTRAINT IF EXISTS %s", op->table, op->name)) < 0)
            return -1;
    }
    snprintf(desc, sizeof(desc), "drop index %s", op->name);
    return plan_step_no_tx(c, c->p, PLAN_ABORT, desc,
                           plan_fmt("DROP INDEX CONCURRENTLY IF EXISTS %s", op->name));
}

/* A constraint added NOT VALID in expand and validated in its own transaction after the
 * raw [backfill]; dropped by abort. `def` is the constraint after its name. */
static int not_valid_then_validate(const struct plan_ctx *c, const struct mfile_op *op,
                                   const char *name, const char *def)
{
    char desc[1400];
    snprintf(desc, sizeof(desc), "add constraint %s %s NOT VALID", name, def);
    if (plan_step(c->p, PLAN_EXPAND, STEP_SQL, desc,
                  plan_fmt("ALTER TABLE %s DROP CONSTRAINT IF EXISTS %s; ALTER TABLE %s ADD "
                           "CONSTRAINT %s %s NOT VALID",
                           op->table, name, op->table, name, def)) < 0)
        return -1;
    snprintf(desc, sizeof(desc), "validate constraint %s", name);
    if (plan_step(c->late, PLAN_BACKFILL, STEP_SQL, desc,
                  plan_fmt("ALTER TABLE %s VALIDATE CONSTRAINT %s", op->table, name)) < 0)
        return -1;
    snprintf(desc, sizeof(desc), "drop constraint %s", name);
    return plan_step(c->p, PLAN_ABORT, STEP_SQL, desc,
                     plan_fmt("ALTER TABLE %s DROP CONSTRAINT IF EXISTS %s", op->table, name));
}

int plan_add_foreign_key(const struct plan_ctx *c, const struct mfile_op *op)
{
    if (c->kind != DATABASE_POSTGRES)
        return err_set(c->e,
                       "%s:%d: add_foreign_key: SQLite cannot add a foreign key to an existing "
                       "table (it takes a rebuild of the table); declare it when the table is "
                       "created",
                       c->m->id, op->line);
    char def[MFILE_REST_MAX + 32];
    snprintf(def, sizeof(def), "FOREIGN KEY %s", op->rest);
    return not_valid_then_validate(c, op, op->name, def);
}

int plan_reindex(const struct plan_ctx *c, const struct mfile_op *op)
{
    char desc[256];
    snprintf(desc, sizeof(desc), "rebuild index %s of %s", op->name, op->table);
    if (c->kind == DATABASE_POSTGRES)
        return plan_step_no_tx(c, c->p, PLAN_EXPAND, desc,
                               plan_fmt("REINDEX INDEX CONCURRENTLY %s", op->name));
    return plan_step(c->p, PLAN_EXPAND, STEP_SQL, desc, plan_fmt("REINDEX %s", op->name));
}

int plan_set_not_null(const struct plan_ctx *c, const struct mfile_op *op)
{
    char name[64], def[MFILE_IDENT_MAX + 32], desc[256];
    plan_object_name(name, sizeof(name), "nn", c->m, op);
    snprintf(def, sizeof(def), "CHECK (%s IS NOT NULL)", op->name);
    if (c->kind != DATABASE_POSTGRES)
        return plan_sqlite_check(c, c->late, op, name, def + 6);
    if (not_valid_then_validate(c, op, name, def) < 0)
        return -1;
    snprintf(desc, sizeof(desc),
             "set %s.%s NOT NULL (proved by the validated check), drop the check", op->table,
             op->name);
    return plan_step(c->p, PLAN_CONTRACT, STEP_SQL, desc,
                     plan_fmt("ALTER TABLE %s ALTER COLUMN %s SET NOT NULL; ALTER TABLE %s DROP "
                              "CONSTRAINT IF EXISTS %s",
                              op->table, op->name, op->table, name));
}

/* `name` as a double-quoted SQLite identifier. Caller frees. */
static char *quoted(const char *name)
{
    char *out = malloc(2 * strlen(name) + 3), *o = out;
    if (!out)
        return NULL;
    *o++ = '"';
    for (const char *p = name; *p; p++) {
        if (*p == '"')
            *o++ = '"';
        *o++ = *p;
    }
    *o++ = '"';
    *o = 0;
    return out;
}

/* The INSTEAD OF triggers that make SQLite view `old` over table `new` writable: rows
 * are found by the primary key; an INSERT that leaves a column out gets its default. */
static char *sqlite_view_triggers(const char *name, const char *old, const char *new,
                                  const struct plan_column *cols, int n)
{
    char *cl = strdup(""), *vals = strdup(""), *sets = strdup(""), *key = strdup("");
    for (int i = 0; i < n; i++) {
        char *q = quoted(cols[i].name);
        if (!q) {
            free(cl);
            cl = NULL;
            break;
        }
        const char *sep = i ? ", " : "";
        str_appendf(&cl, "%s%s", sep, q);
        if (cols[i].dflt)
            str_appendf(&vals, "%scoalesce(NEW.%s, %s)", sep, q, cols[i].dflt);
        else
            str_appendf(&vals, "%sNEW.%s", sep, q);
        str_appendf(&sets, "%s%s = NEW.%s", sep, q, q);
        if (cols[i].pk && key)
            str_appendf(&key, "%s%s = OLD.%s", *key ? " AND " : "", q, q);
        free(q);
    }
    char *sql =
        cl && vals && sets && key
            ? plan_fmt("CREATE TRIGGER %s_i INSTEAD OF INSERT ON %s BEGIN INSERT INTO %s "
                       "(%s) VALUES (%s); END;\n"
                       "CREATE TRIGGER %s_u INSTEAD OF UPDATE ON %s BEGIN UPDATE %s SET "
                       "%s WHERE %s; END;\n"
                       "CREATE TRIGGER %s_d INSTEAD OF DELETE ON %s BEGIN DELETE FROM %s "
                       "WHERE %s; END;",
                       name, old, new, cl, vals, name, old, new, sets, key, name, old, new, key)
            : NULL;
    free(cl);
    free(vals);
    free(sets);
    free(key);
    return sql;
}

/* The columns of `table` into *cols (caller frees); returns whether it has a primary key. */
static int table_columns(const struct plan_ctx *c, const char *table, struct plan_column **cols,
                         int *n)
{
    *cols = NULL;
    *n = 0;
    if (!c->look->columns_of || c->look->columns_of(c->look->ctx, table, cols, n) < 0)
        return 0;
    int has_key = 0;
    for (int i = 0; i < *n; i++)
        has_key |= (*cols)[i].pk > 0;
    return has_key;
}

/* The expand step of rename_table: rename, then the old name as a writable view. */
static char *rename_table_sql(const struct plan_ctx *c, const struct mfile_op *op)
{
    const char *old = op->table, *new = op->name;
    if (c->kind == DATABASE_POSTGRES)
        return plan_fmt(
            "ALTER TABLE %s RENAME TO %s;\n"
            "CREATE VIEW %s AS SELECT * FROM %s;\n"
            "DO $baton$ DECLARE g record; BEGIN\n"
            "  FOR g IN SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE "
            "quote_ident(pg_get_userbyid(a.grantee)) END AS who, a.privilege_type AS what\n"
            "    FROM pg_class t, aclexplode(t.relacl) a WHERE t.oid = '%s'::regclass AND "
            "a.grantee <> t.relowner LOOP\n"
            "    EXECUTE format('GRANT %%s ON %%I TO %%s', g.what, '%s', g.who);\n"
            "  END LOOP;\n"
            "END $baton$;",
            old, new, old, new, new, old);
    struct plan_column *cols = NULL;
    int n = 0, has_key = table_columns(c, old, &cols, &n);
    if (!has_key && n > 0) { /* OLD is already the view: expand ran, NEW is the table */
        struct plan_column *renamed = NULL;
        int nr = 0;
        if (table_columns(c, new, &renamed, &nr)) {
            plan_columns_free(cols, n);
            cols = renamed;
            n = nr;
            has_key = 1;
        } else {
            plan_columns_free(renamed, nr);
        }
    }
    if (n == 0)
        c->p->unresolved = 1;
    char name[64];
    plan_object_name(name, sizeof(name), "view", c->m, op);
    char *triggers = NULL;
    if (n > 0 && !has_key)
        err_set(c->e,
                "%s:%d: rename_table: '%s' has no primary key, which the view's triggers need "
                "to find the rows it writes",
                c->m->id, op->line, old);
    else
        triggers = sqlite_view_triggers(name, old, new, cols, n);
    plan_columns_free(cols, n);
    char *sql = triggers ? plan_fmt("ALTER TABLE %s RENAME TO %s;\nCREATE VIEW %s AS SELECT * "
                                    "FROM %s;\n%s",
                                    old, new, old, new, triggers)
                         : NULL;
    free(triggers);
    return sql;
}

int plan_rename_table(const struct plan_ctx *c, const struct mfile_op *op)
{
    const char *old = op->table, *new = op->name;
    char desc[256];
    snprintf(desc, sizeof(desc), "rename table %s to %s, keep %s as a writable view", old, new,
             old);
    if (plan_step(c->p, PLAN_EXPAND, STEP_SQL, desc, rename_table_sql(c, op)) < 0)
        return -1;
    snprintf(desc, sizeof(desc), "drop view %s (the old name)", old);
    if (plan_step(c->p, PLAN_CONTRACT, STEP_SQL, desc, plan_fmt("DROP VIEW IF EXISTS %s", old)) < 0)
        return -1;
    snprintf(desc, sizeof(desc), "drop view %s, rename table %s back to %s", old, new, old);
    if (plan_step(c->p, PLAN_ABORT, STEP_SQL, desc,
                  plan_fmt("DROP VIEW %s; ALTER TABLE %s RENAME TO %s", old, new, old)) < 0)
        return -1;
    struct plan_step *s = plan_last(c->p, PLAN_ABORT);
    s->only_if =
        c->kind == DATABASE_POSTGRES
            ? plan_fmt("SELECT 1 FROM pg_class WHERE oid = to_regclass('%s') AND "
                       "relkind = 'v'",
                       old)
            : plan_fmt("SELECT 1 FROM sqlite_master WHERE type = 'view' AND name = '%s'", old);
    return s->only_if ? 0 : -1;
}
