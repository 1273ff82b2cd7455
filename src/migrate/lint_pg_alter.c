/* The PostgreSQL lint rules over the subcommands of an ALTER TABLE that add or change
 * columns and constraints: each a small function over one statement's parse tree; their
 * names, hazards and recipes are in the table of lint_pg_rules.c. */
#include "migrate/lint_pg_alter.h"

#include <pg_query.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const serial_types[] = {"serial",  "bigserial", "smallserial", "serial2",
                                           "serial4", "serial8",   NULL};

/* Calls fn for each column an ADD COLUMN of the statement adds to a table, with the
 * command's table. */
typedef void (*added_fn)(const struct pg_stmt *s, const struct lint_rule *r, json_t *coldef,
                         struct pg_table *t);
static void each_added_column(const struct pg_stmt *s, const struct lint_rule *r, added_fn fn)
{
    json_t *cmds = pg_alter_cmds(s);
    for (size_t i = 0; i < json_array_size(cmds); i++) {
        json_t *cmd = pg_cmd_at(cmds, i), *coldef = pg_as(pg_get(cmd, "def"), "ColumnDef");
        if (!pg_is(cmd, "subtype", "AT_AddColumn") || !coldef)
            continue;
        struct pg_table t;
        pg_table_of(s, pg_get(s->node, "relation"), &t);
        fn(s, r, coldef, &t);
    }
}

static void not_null_added(const struct pg_stmt *s, const struct lint_rule *r, json_t *coldef,
                           struct pg_table *t)
{
    int not_null = pg_column_constraint(coldef, "CONSTR_NOTNULL") ||
                   pg_column_constraint(coldef, "CONSTR_PRIMARY");
    int filled = pg_column_constraint(coldef, "CONSTR_DEFAULT") ||
                 pg_column_constraint(coldef, "CONSTR_IDENTITY") ||
                 pg_column_constraint(coldef, "CONSTR_GENERATED") ||
                 pg_type_is(coldef, serial_types);
    if (not_null && !filled && !pg_new(s, t))
        lint_hit(s->f, r, pg_line(s, coldef), NULL,
                 "ADD COLUMN %s ... NOT NULL without a DEFAULT "
                 "on %s",
                 pg_str(coldef, "colname"), t->disp);
}

void lint_pg_add_column_not_null(const struct pg_stmt *s, const struct lint_rule *r)
{
    each_added_column(s, r, not_null_added);
}

/* Functions a DEFAULT may call without a rewrite (not VOLATILE), and some that are. */
static const char *const stable_functions[] = {"now",
                                               "statement_timestamp",
                                               "transaction_timestamp",
                                               "lower",
                                               "upper",
                                               "length",
                                               "concat",
                                               "concat_ws",
                                               "to_char",
                                               "to_jsonb",
                                               "jsonb_build_object",
                                               "json_build_object",
                                               "jsonb_build_array",
                                               "make_interval",
                                               "date_trunc",
                                               "abs",
                                               "round",
                                               "btrim",
                                               "replace",
                                               "md5",
                                               "current_setting",
                                               "to_timestamp",
                                               "to_date",
                                               NULL};
static const char *const volatile_functions[] = {
    "random",           "gen_random_uuid", "uuid_generate_v1",
    "uuid_generate_v4", "clock_timestamp", "timeofday",
    "nextval",          "setval",          NULL};

static int listed(const char *name, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(name, *list) == 0)
            return 1;
    return 0;
}

/* Whether an expression may be VOLATILE: it calls a function not known to be stable.
 * `fn` gets the function's name; `note` what was assumed about it without a database. */
static int may_be_volatile(const struct pg_stmt *s, json_t *expr, int depth, char *fn, size_t fncap,
                           char *note, size_t cap)
{
    if (depth > 100) {
        snprintf(note, cap, "an expression too deep to read is assumed VOLATILE");
        return 1;
    }
    json_t *call = pg_as(expr, "FuncCall");
    if (call) {
        const char *schema, *name = pg_last_name(pg_get(call, "funcname"), &schema);
        snprintf(fn, fncap, "%s()", name ? name : "?");
        const struct lint_facts *facts = s->f->o->facts;
        int v = !name                              ? 1
                : listed(name, volatile_functions) ? 1
                : listed(name, stable_functions)   ? 0
                : facts && facts->volatile_function
                    ? facts->volatile_function(facts->ctx, schema, name)
                    : -1;
        if (v < 0)
            snprintf(note, cap, "%s: assuming %s is VOLATILE",
                     facts ? "not found in the database" : "no database", fn);
        if (v != 0)
            return 1;
    }
    const char *key;
    json_t *value;
    size_t i;
    json_t *item;
    if (json_is_array(expr)) {
        json_array_foreach(expr, i, item)
        {
            if (may_be_volatile(s, item, depth + 1, fn, fncap, note, cap))
                return 1;
        }
    }
    json_object_foreach(expr, key, value)
    {
        if (may_be_volatile(s, value, depth + 1, fn, fncap, note, cap))
            return 1;
    }
    return 0;
}

/* Both assumptions a finding made, joined. */
static const char *notes(const char *a, const char *b, char *buf, size_t cap)
{
    if (a && b && *b)
        snprintf(buf, cap, "%s; %s", a, b);
    else
        snprintf(buf, cap, "%s", a ? a : b ? b : "");
    return *buf ? buf : NULL;
}

static void volatile_added(const struct pg_stmt *s, const struct lint_rule *r, json_t *coldef,
                           struct pg_table *t)
{
    json_t *d = pg_column_constraint(coldef, "CONSTR_DEFAULT");
    char fn[128] = "", note[256] = "", both[600];
    if (!d || !may_be_volatile(s, pg_get(d, "raw_expr"), 0, fn, sizeof(fn), note, sizeof(note)) ||
        pg_cheap(s, t))
        return;
    lint_hit(s->f, r, pg_line(s, d), notes(t->note, note, both, sizeof(both)),
             "ADD COLUMN %s DEFAULT %s on %s", pg_str(coldef, "colname"), fn, t->disp);
}

void lint_pg_add_column_volatile_default(const struct pg_stmt *s, const struct lint_rule *r)
{
    each_added_column(s, r, volatile_added);
}

static void generated_added(const struct pg_stmt *s, const struct lint_rule *r, json_t *coldef,
                            struct pg_table *t)
{
    json_t *g = pg_column_constraint(coldef, "CONSTR_GENERATED");
    if (g && !pg_cheap(s, t))
        lint_hit(s->f, r, pg_line(s, g), t->note, "ADD COLUMN %s GENERATED ... STORED on %s",
                 pg_str(coldef, "colname"), t->disp);
}

void lint_pg_add_column_generated_stored(const struct pg_stmt *s, const struct lint_rule *r)
{
    each_added_column(s, r, generated_added);
}

static void serial_added(const struct pg_stmt *s, const struct lint_rule *r, json_t *coldef,
                         struct pg_table *t)
{
    json_t *id = pg_column_constraint(coldef, "CONSTR_IDENTITY");
    if ((id || pg_type_is(coldef, serial_types)) && !pg_cheap(s, t))
        lint_hit(s->f, r, pg_line(s, coldef), t->note, "ADD COLUMN %s %s on %s",
                 pg_str(coldef, "colname"), id ? "GENERATED ... AS IDENTITY" : pg_type_name(coldef),
                 t->disp);
}

void lint_pg_add_column_serial(const struct pg_stmt *s, const struct lint_rule *r)
{
    each_added_column(s, r, serial_added);
}

static void json_added(const struct pg_stmt *s, const struct lint_rule *r, json_t *coldef,
                       struct pg_table *t)
{
    static const char *const json[] = {"json", NULL};
    if (pg_type_is(coldef, json) && !pg_new(s, t))
        lint_hit(s->f, r, pg_line(s, coldef), NULL, "ADD COLUMN %s json on %s",
                 pg_str(coldef, "colname"), t->disp);
}

void lint_pg_add_column_json(const struct pg_stmt *s, const struct lint_rule *r)
{
    each_added_column(s, r, json_added);
}

/* Whether a type change is one PostgreSQL does without a rewrite (a varchar limit raised
 * or dropped, varchar to text, numeric precision raised at the same scale), which needs
 * the column's current type from the database. */
static int no_rewrite(const struct pg_stmt *s, const struct pg_table *t, json_t *cmd,
                      json_t *coldef)
{
    const struct lint_facts *facts = s->f->o->facts;
    char old[128];
    if (!facts || !facts->column_type || pg_get(coldef, "raw_default") ||
        facts->column_type(facts->ctx, t->schema, t->name, pg_str(cmd, "name"), old, sizeof(old)) !=
            1)
        return 0;
    long oldm[2] = {-1, -1}, newm[2];
    const char *paren = strchr(old, '(');
    size_t base = paren ? (size_t)(paren - old) : strlen(old);
    if (paren && sscanf(paren, "(%ld,%ld)", &oldm[0], &oldm[1]) < 1)
        return 0;
    int nnew = pg_typmods(coldef, newm, 2);
    const char *to = pg_type_name(coldef);
    int was_varchar = strncmp(old, "character varying", base) == 0 && base == 17;
    int was_text = strcmp(old, "text") == 0;
    if (!to)
        return 0;
    if (strcmp(to, "text") == 0)
        return was_varchar || was_text;
    if (strcmp(to, "varchar") == 0)
        return (was_varchar && (nnew == 0 || (oldm[0] >= 0 && newm[0] >= oldm[0]))) ||
               (was_text && nnew == 0);
    if (strcmp(to, "numeric") == 0 && strncmp(old, "numeric", base) == 0 && base == 7)
        return nnew == 0 || (oldm[0] >= 0 && newm[0] >= oldm[0] &&
                             (nnew > 1 ? newm[1] : 0) == (oldm[1] >= 0 ? oldm[1] : 0));
    return 0;
}

void lint_pg_alter_column_type(const struct pg_stmt *s, const struct lint_rule *r)
{
    json_t *cmds = pg_alter_cmds(s);
    struct pg_table t;
    pg_table_of(s, pg_get(s->node, "relation"), &t);
    for (size_t i = 0; i < json_array_size(cmds); i++) {
        json_t *cmd = pg_cmd_at(cmds, i), *coldef = pg_as(pg_get(cmd, "def"), "ColumnDef");
        if (!pg_is(cmd, "subtype", "AT_AlterColumnType") || !coldef || pg_cheap(s, &t) ||
            no_rewrite(s, &t, cmd, coldef))
            continue;
        lint_hit(s->f, r, pg_line(s, coldef),
                 t.note           ? t.note
                 : s->f->o->facts ? NULL
                                  : "no database: the current type is unknown",
                 "ALTER COLUMN %s TYPE %s on %s", pg_str(cmd, "name"), pg_type_name(coldef),
                 t.disp);
    }
}

/* Whether CHECK text `check` (an operation's "CHECK (...)") is exactly "col IS NOT NULL". */
static int check_is_not_null(const char *check, const char *col)
{
    char *sql = NULL;
    if (asprintf(&sql, "ALTER TABLE t ADD %s", check) < 0)
        return 0;
    PgQueryParseResult r = pg_query_parse(sql);
    free(sql);
    json_t *root = r.error ? NULL : json_loads(r.parse_tree, 0, NULL);
    pg_query_free_parse_result(r);
    json_t *stmt =
        pg_as(pg_get(json_array_get(pg_get(root, "stmts"), 0), "stmt"), "AlterTableStmt");
    json_t *cmd = pg_as(json_array_get(pg_get(stmt, "cmds"), 0), "AlterTableCmd");
    json_t *test = pg_as(pg_get(pg_as(pg_get(cmd, "def"), "Constraint"), "raw_expr"), "NullTest");
    json_t *ref = pg_get(pg_as(pg_get(test, "arg"), "ColumnRef"), "fields");
    const char *name = json_array_size(ref) == 1 ? pg_last_name(ref, NULL) : NULL;
    int yes = pg_is(test, "nulltesttype", "IS_NOT_NULL") && name && strcmp(name, col) == 0;
    json_decref(root);
    return yes;
}

/* Whether a validated CHECK (col IS NOT NULL) lets SET NOT NULL skip its scan: one of this
 * migration's operations validated it (when SET NOT NULL is in [contract]), or the
 * database has it. */
static int not_null_proved(const struct pg_stmt *s, const struct pg_table *t, const char *col)
{
    const struct mfile *m = s->f->m;
    for (int i = 0; s->f->sec == SEC_CONTRACT && i < m->nops; i++) {
        const struct mfile_op *op = &m->ops[i];
        if (strcmp(op->table, t->name) != 0)
            continue;
        if ((op->kind == MFILE_OP_SET_NOT_NULL && strcmp(op->name, col) == 0) ||
            (op->kind == MFILE_OP_ADD_CONSTRAINT && check_is_not_null(op->rest, col)))
            return 1;
    }
    const struct lint_facts *facts = s->f->o->facts;
    return facts && facts->not_null_proved &&
           facts->not_null_proved(facts->ctx, t->schema, t->name, col) == 1;
}

void lint_pg_set_not_null(const struct pg_stmt *s, const struct lint_rule *r)
{
    json_t *cmds = pg_alter_cmds(s);
    struct pg_table t;
    pg_table_of(s, pg_get(s->node, "relation"), &t);
    for (size_t i = 0; i < json_array_size(cmds); i++) {
        json_t *cmd = pg_cmd_at(cmds, i);
        const char *col = pg_str(cmd, "name");
        if (pg_is(cmd, "subtype", "AT_SetNotNull") && col && !pg_cheap(s, &t) &&
            !not_null_proved(s, &t, col))
            lint_hit(s->f, r, s->line, t.note, "ALTER COLUMN %s SET NOT NULL on %s", col, t.disp);
    }
}

/* Calls fn for each constraint the statement adds to an existing table: ADD CONSTRAINT,
 * and the constraints written inline in ADD COLUMN. */
typedef void (*con_fn)(const struct pg_stmt *s, const struct lint_rule *r, json_t *con,
                       struct pg_table *t, const char *col);
static void each_added_constraint(const struct pg_stmt *s, const struct lint_rule *r, con_fn fn)
{
    json_t *cmds = pg_alter_cmds(s);
    struct pg_table t;
    pg_table_of(s, pg_get(s->node, "relation"), &t);
    for (size_t i = 0; i < json_array_size(cmds); i++) {
        json_t *cmd = pg_cmd_at(cmds, i), *def = pg_get(cmd, "def");
        if (pg_is(cmd, "subtype", "AT_AddConstraint") && pg_as(def, "Constraint"))
            fn(s, r, pg_as(def, "Constraint"), &t, NULL);
        json_t *coldef = pg_as(def, "ColumnDef");
        size_t k;
        json_t *c;
        if (pg_is(cmd, "subtype", "AT_AddColumn"))
            json_array_foreach(pg_get(coldef, "constraints"), k, c)
            {
                if (pg_as(c, "Constraint"))
                    fn(s, r, pg_as(c, "Constraint"), &t, pg_str(coldef, "colname"));
            }
    }
}

static void check_added(const struct pg_stmt *s, const struct lint_rule *r, json_t *con,
                        struct pg_table *t, const char *col)
{
    if (pg_is(con, "contype", "CONSTR_CHECK") && !pg_true(con, "skip_validation") &&
        !pg_cheap(s, t))
        lint_hit(s->f, r, pg_line(s, con), t->note, "%s %s CHECK%s on %s",
                 col ? "ADD COLUMN" : "ADD CONSTRAINT", col ? col : pg_con_name(con),
                 col ? "" : " without NOT VALID", t->disp);
}

void lint_pg_add_constraint_not_valid(const struct pg_stmt *s, const struct lint_rule *r)
{
    each_added_constraint(s, r, check_added);
}

static void foreign_key_added(const struct pg_stmt *s, const struct lint_rule *r, json_t *con,
                              struct pg_table *t, const char *col)
{
    const char *schema, *name;
    pg_rel(pg_get(con, "pktable"), &schema, &name);
    if (pg_is(con, "contype", "CONSTR_FOREIGN") && !pg_true(con, "skip_validation") &&
        !pg_cheap(s, t))
        lint_hit(s->f, r, pg_line(s, con), t->note, "%s%s%s REFERENCES %s%s%s on %s",
                 col ? "ADD COLUMN " : "FOREIGN KEY ", col ? col : pg_con_name(con),
                 col ? "" : " without NOT VALID", schema ? schema : "", schema ? "." : "",
                 name ? name : "?", t->disp);
}

void lint_pg_add_foreign_key(const struct pg_stmt *s, const struct lint_rule *r)
{
    each_added_constraint(s, r, foreign_key_added);
}

/* A UNIQUE or PRIMARY KEY constraint (`contype`, written `word`) that builds its index
   under the table's lock, rather than taking one built CONCURRENTLY (USING INDEX). */
static void key_added(const struct pg_stmt *s, const struct lint_rule *r, json_t *con,
                      struct pg_table *t, const char *col, const char *contype, const char *word)
{
    if (pg_is(con, "contype", contype) && !pg_str(con, "indexname") && !pg_cheap(s, t))
        lint_hit(s->f, r, pg_line(s, con), t->note, "%s %s %s on %s",
                 col ? "ADD COLUMN" : "ADD CONSTRAINT", col ? col : pg_con_name(con), word,
                 t->disp);
}

static void unique_added(const struct pg_stmt *s, const struct lint_rule *r, json_t *con,
                         struct pg_table *t, const char *col)
{
    key_added(s, r, con, t, col, "CONSTR_UNIQUE", "UNIQUE");
}

void lint_pg_add_unique_constraint(const struct pg_stmt *s, const struct lint_rule *r)
{
    each_added_constraint(s, r, unique_added);
}

static void primary_key_added(const struct pg_stmt *s, const struct lint_rule *r, json_t *con,
                              struct pg_table *t, const char *col)
{
    key_added(s, r, con, t, col, "CONSTR_PRIMARY", "PRIMARY KEY");
}

void lint_pg_add_primary_key(const struct pg_stmt *s, const struct lint_rule *r)
{
    each_added_constraint(s, r, primary_key_added);
}

static void exclusion_added(const struct pg_stmt *s, const struct lint_rule *r, json_t *con,
                            struct pg_table *t, const char *col)
{
    if (pg_is(con, "contype", "CONSTR_EXCLUSION") && !pg_cheap(s, t))
        lint_hit(s->f, r, pg_line(s, con), t->note, "ADD CONSTRAINT %s EXCLUDE on %s",
                 pg_con_name(con), t->disp);
}

void lint_pg_add_exclusion_constraint(const struct pg_stmt *s, const struct lint_rule *r)
{
    each_added_constraint(s, r, exclusion_added);
}

void lint_pg_validate_in_same_transaction(const struct pg_stmt *s, const struct lint_rule *r)
{
    json_t *cmds = s->f->no_tx ? NULL : pg_alter_cmds(s);
    struct pg_table t;
    pg_table_of(s, pg_get(s->node, "relation"), &t);
    int locked = lint_names_has(&s->f->locked, t.schema, t.name);
    for (size_t i = 0; i < json_array_size(cmds); i++) {
        json_t *cmd = pg_cmd_at(cmds, i);
        int validate = pg_is(cmd, "subtype", "AT_ValidateConstraint");
        if (validate && locked && !pg_new(s, &t))
            lint_hit(s->f, r, s->line, NULL,
                     "VALIDATE CONSTRAINT %s of %s after an ALTER of it "
                     "in the same transaction",
                     pg_str(cmd, "name"), t.disp);
        locked |= !validate;
    }
}
