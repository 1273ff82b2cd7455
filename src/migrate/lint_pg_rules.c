/* The PostgreSQL lint rules: the table (at the end) that gives each its name, its hazard
 * and its safe recipe, and the rules over whole statements (the rules over the columns and
 * constraints of an ALTER TABLE are in lint_pg_alter.c). Rules about the size of a table
 * ask pg_cheap: a table created earlier in the same section, or one the database says is
 * small, may be locked briefly. */
#include "migrate/lint_pg_rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrate/lint_pg_alter.h"

static void transaction_in_section(const struct pg_stmt *s, const struct lint_rule *r)
{
    const char *kind = pg_str(s->node, "kind");
    if (pg_type(s, "TransactionStmt"))
        lint_hit(s->f, r, s->line, NULL, "%s", kind && strlen(kind) > 11 ? kind + 11 : "?");
}

static int reindex_concurrent(const struct pg_stmt *s)
{
    size_t i;
    json_t *p;
    json_array_foreach(pg_get(s->node, "params"), i, p)
    {
        if (pg_is(pg_as(p, "DefElem"), "defname", "concurrently"))
            return 1;
    }
    return 0;
}

/* The statements PostgreSQL runs only outside a transaction block. */
static const char *outside_only(const struct pg_stmt *s)
{
    static const struct {
        const char *type, *what;
    } always[] = {{"CreatedbStmt", "CREATE DATABASE"},
                  {"DropdbStmt", "DROP DATABASE"},
                  {"CreateTableSpaceStmt", "CREATE TABLESPACE"},
                  {"DropTableSpaceStmt", "DROP TABLESPACE"},
                  {"AlterSystemStmt", "ALTER SYSTEM"},
                  {"CreateSubscriptionStmt", "CREATE SUBSCRIPTION"}};
    for (size_t i = 0; i < sizeof(always) / sizeof(always[0]); i++)
        if (pg_type(s, always[i].type))
            return always[i].what;
    if (pg_type(s, "VacuumStmt") && pg_true(s->node, "is_vacuumcmd"))
        return "VACUUM";
    if ((pg_type(s, "IndexStmt") || pg_type(s, "DropStmt")) && pg_true(s->node, "concurrent"))
        return pg_type(s, "IndexStmt") ? "CREATE INDEX CONCURRENTLY" : "DROP INDEX CONCURRENTLY";
    if (pg_type(s, "ReindexStmt") && reindex_concurrent(s))
        return "REINDEX CONCURRENTLY";
    if (pg_type(s, "ReindexStmt") && (pg_is(s->node, "kind", "REINDEX_OBJECT_DATABASE") ||
                                      pg_is(s->node, "kind", "REINDEX_OBJECT_SYSTEM")))
        return "REINDEX DATABASE";
    json_t *cmds = pg_alter_cmds(s);
    for (size_t i = 0; i < json_array_size(cmds); i++) {
        json_t *cmd = pg_cmd_at(cmds, i);
        if (pg_is(cmd, "subtype", "AT_DetachPartition") &&
            pg_true(pg_as(pg_get(cmd, "def"), "PartitionCmd"), "concurrent"))
            return "DETACH PARTITION CONCURRENTLY";
    }
    return NULL;
}

static void outside_transaction_only(const struct pg_stmt *s, const struct lint_rule *r)
{
    const char *what = s->f->no_tx ? NULL : outside_only(s);
    if (what)
        lint_hit(s->f, r, s->line, NULL, "%s", what);
}

/* Whether running the statement a second time (after a kill, before its step was
 * recorded) fails or repeats its effect. */
static const char *not_idempotent(const struct pg_stmt *s)
{
    static const struct {
        const char *type, *flag, *fix;
    } forms[] = {
        {"IndexStmt", "if_not_exists", "CREATE INDEX without IF NOT EXISTS"},
        {"CreateStmt", "if_not_exists", "CREATE TABLE without IF NOT EXISTS"},
        {"CreateTableAsStmt", "if_not_exists", "CREATE TABLE AS without IF NOT EXISTS"},
        {"CreateSeqStmt", "if_not_exists", "CREATE SEQUENCE without IF NOT EXISTS"},
        {"CreateSchemaStmt", "if_not_exists", "CREATE SCHEMA without IF NOT EXISTS"},
        {"CreateExtensionStmt", "if_not_exists", "CREATE EXTENSION without IF NOT EXISTS"},
        {"DropStmt", "missing_ok", "DROP without IF EXISTS"},
        {"CreateFunctionStmt", "replace", "CREATE FUNCTION without OR REPLACE"},
        {"ViewStmt", "replace", "CREATE VIEW without OR REPLACE"},
        {"CreateTrigStmt", "replace", "CREATE TRIGGER without OR REPLACE"},
        {"InsertStmt", "onConflictClause", "INSERT without ON CONFLICT"},
        {"RenameStmt", "", "RENAME"},
    };
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
        if (pg_type(s, forms[i].type) && !json_is_true(pg_get(s->node, forms[i].flag)) &&
            !json_is_object(pg_get(s->node, forms[i].flag)))
            return forms[i].fix;
    json_t *cmds = pg_alter_cmds(s);
    for (size_t i = 0; i < json_array_size(cmds); i++) {
        json_t *cmd = pg_cmd_at(cmds, i);
        const char *sub = pg_str(cmd, "subtype");
        if (sub && strcmp(sub, "AT_AddConstraint") == 0)
            return "ADD CONSTRAINT (it has no IF NOT EXISTS)";
        if (sub && !pg_true(cmd, "missing_ok") &&
            (!strcmp(sub, "AT_AddColumn") || !strcmp(sub, "AT_DropColumn") ||
             !strcmp(sub, "AT_DropConstraint")))
            return strcmp(sub, "AT_AddColumn") == 0 ? "ADD COLUMN without IF NOT EXISTS"
                                                    : "DROP without IF EXISTS";
    }
    return NULL;
}

static void not_idempotent_outside_tx(const struct pg_stmt *s, const struct lint_rule *r)
{
    const char *what = s->f->no_tx ? not_idempotent(s) : NULL;
    if (what)
        lint_hit(s->f, r, s->line, NULL, "%s in a no-transaction section", what);
}

static void drop_column_in_expand(const struct pg_stmt *s, const struct lint_rule *r)
{
    json_t *cmds = lint_in_expand(s->f) ? pg_alter_cmds(s) : NULL;
    struct pg_table t;
    pg_table_of(s, pg_get(s->node, "relation"), &t);
    for (size_t i = 0; i < json_array_size(cmds); i++) {
        json_t *cmd = pg_cmd_at(cmds, i);
        if (pg_is(cmd, "subtype", "AT_DropColumn") && !pg_new(s, &t))
            lint_hit(s->f, r, s->line, NULL, "DROP COLUMN %s of %s", pg_str(cmd, "name"), t.disp);
    }
}

/* The names of a DROP's objects: schema (or NULL) and name of item i. */
static const char *drop_object(json_t *item, const char **schema)
{
    json_t *list = pg_get(pg_as(item, "List"), "items");
    return pg_last_name(list, schema);
}

static void drop_table_in_expand(const struct pg_stmt *s, const struct lint_rule *r)
{
    if (!lint_in_expand(s->f) || !pg_type(s, "DropStmt") ||
        !pg_is(s->node, "removeType", "OBJECT_TABLE"))
        return;
    size_t i;
    json_t *o;
    json_array_foreach(pg_get(s->node, "objects"), i, o)
    {
        const char *schema, *name = drop_object(o, &schema);
        if (name && !lint_table_is_new(s->f, schema, name))
            lint_hit(s->f, r, s->line, NULL, "DROP TABLE %s%s%s", schema ? schema : "",
                     schema ? "." : "", name);
    }
}

/* What an ALTER TABLE subcommand removes that the running version may rely on. */
static const char *removal(json_t *cmd)
{
    static const struct {
        const char *subtype, *what;
    } kinds[] = {
        {"AT_DropConstraint", "DROP CONSTRAINT"},
        {"AT_DropNotNull", "DROP NOT NULL"},
        {"AT_DropIdentity", "DROP IDENTITY"},
        {"AT_DropExpression", "DROP EXPRESSION"},
        {"AT_DisableTrig", "DISABLE TRIGGER"},
        {"AT_DisableTrigAll", "DISABLE TRIGGER ALL"},
        {"AT_DisableTrigUser", "DISABLE TRIGGER USER"},
        {"AT_DisableRule", "DISABLE RULE"},
    };
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (pg_is(cmd, "subtype", kinds[i].subtype))
            return kinds[i].what;
    if (pg_is(cmd, "subtype", "AT_ColumnDefault") && !pg_get(cmd, "def"))
        return "DROP DEFAULT";
    return NULL;
}

static void drop_object_in_expand(const struct pg_stmt *s, const struct lint_rule *r)
{
    if (!lint_in_expand(s->f))
        return;
    const char *kind = pg_str(s->node, "removeType");
    if (pg_type(s, "DropStmt") && kind && strcmp(kind, "OBJECT_TABLE") &&
        strcmp(kind, "OBJECT_INDEX"))
        lint_hit(s->f, r, s->line, NULL, "DROP %s", strlen(kind) > 7 ? kind + 7 : kind);
    if (pg_type(s, "DropdbStmt"))
        lint_hit(s->f, r, s->line, NULL, "DROP DATABASE %s", pg_str(s->node, "dbname"));
    if (pg_type(s, "AlterDomainStmt") &&
        (pg_is(s->node, "subtype", "N") || pg_is(s->node, "subtype", "X")))
        lint_hit(s->f, r, s->line, NULL, "ALTER DOMAIN ... DROP %s",
                 pg_is(s->node, "subtype", "N") ? "NOT NULL" : "CONSTRAINT");
    json_t *cmds = pg_alter_cmds(s);
    struct pg_table t;
    pg_table_of(s, pg_get(s->node, "relation"), &t);
    for (size_t i = 0; i < json_array_size(cmds); i++) {
        json_t *cmd = pg_cmd_at(cmds, i);
        const char *what = removal(cmd);
        if (what && !pg_new(s, &t))
            lint_hit(s->f, r, s->line, NULL, "%s %s on %s", what,
                     pg_str(cmd, "name") ? pg_str(cmd, "name") : "", t.disp);
    }
}

/* Whether s is a RENAME (renameType `kind`) on a table the file did not create; fills
 * t with that table. */
static int renames_on_old_table(const struct pg_stmt *s, const char *kind, struct pg_table *t)
{
    if (!pg_type(s, "RenameStmt") || !pg_is(s->node, "renameType", kind))
        return 0;
    pg_table_of(s, pg_get(s->node, "relation"), t);
    return !pg_new(s, t);
}

static void rename_column(const struct pg_stmt *s, const struct lint_rule *r)
{
    struct pg_table t;
    if (renames_on_old_table(s, "OBJECT_COLUMN", &t))
        lint_hit(s->f, r, s->line, NULL, "RENAME COLUMN %s TO %s of %s", pg_str(s->node, "subname"),
                 pg_str(s->node, "newname"), t.disp);
}

static void rename_table(const struct pg_stmt *s, const struct lint_rule *r)
{
    struct pg_table t;
    if (renames_on_old_table(s, "OBJECT_TABLE", &t))
        lint_hit(s->f, r, s->line, NULL, "RENAME TABLE %s TO %s", t.disp,
                 pg_str(s->node, "newname"));
}

static void rename_object(const struct pg_stmt *s, const struct lint_rule *r)
{
    static const char *const kinds[] = {"OBJECT_SCHEMA",
                                        "OBJECT_VIEW",
                                        "OBJECT_MATVIEW",
                                        "OBJECT_FOREIGN_TABLE",
                                        "OBJECT_FUNCTION",
                                        "OBJECT_PROCEDURE",
                                        "OBJECT_ROUTINE",
                                        "OBJECT_AGGREGATE",
                                        "OBJECT_TYPE",
                                        "OBJECT_DOMAIN",
                                        "OBJECT_SEQUENCE",
                                        "OBJECT_ATTRIBUTE",
                                        NULL};
    const char *kind = pg_str(s->node, "renameType");
    for (const char *const *k = kinds; pg_type(s, "RenameStmt") && kind && *k; k++)
        if (strcmp(kind, *k) == 0)
            lint_hit(s->f, r, s->line, NULL, "RENAME %s to %s", kind + 7,
                     pg_str(s->node, "newname"));
    if (pg_type(s, "AlterEnumStmt") && pg_str(s->node, "oldVal"))
        lint_hit(s->f, r, s->line, NULL, "RENAME VALUE '%s' of enum %s", pg_str(s->node, "oldVal"),
                 pg_last_name(pg_get(s->node, "typeName"), NULL));
    if (pg_type(s, "AlterObjectSchemaStmt"))
        lint_hit(s->f, r, s->line, NULL, "SET SCHEMA %s", pg_str(s->node, "newschema"));
}

static void create_index_concurrently(const struct pg_stmt *s, const struct lint_rule *r)
{
    struct pg_table t;
    if (!pg_type(s, "IndexStmt") || pg_true(s->node, "concurrent"))
        return;
    pg_table_of(s, pg_get(s->node, "relation"), &t);
    if (!pg_cheap(s, &t))
        lint_hit(s->f, r, s->line, t.note, "CREATE %sINDEX %s on %s",
                 pg_true(s->node, "unique") ? "UNIQUE " : "",
                 pg_str(s->node, "idxname") ? pg_str(s->node, "idxname") : "", t.disp);
}

static void drop_index_concurrently(const struct pg_stmt *s, const struct lint_rule *r)
{
    if (!pg_type(s, "DropStmt") || !pg_is(s->node, "removeType", "OBJECT_INDEX") ||
        pg_true(s->node, "concurrent"))
        return;
    size_t i;
    json_t *o;
    json_array_foreach(pg_get(s->node, "objects"), i, o)
    {
        const char *schema, *name = drop_object(o, &schema);
        lint_hit(s->f, r, s->line, NULL, "DROP INDEX %s%s%s", schema ? schema : "",
                 schema ? "." : "", name ? name : "?");
    }
}

static void reindex_concurrently(const struct pg_stmt *s, const struct lint_rule *r)
{
    const char *kind = pg_str(s->node, "kind");
    if (!pg_type(s, "ReindexStmt") || !kind || reindex_concurrent(s))
        return;
    struct pg_table t;
    json_t *rel = pg_get(s->node, "relation");
    pg_table_of(s, rel, &t);
    if (strcmp(kind, "REINDEX_OBJECT_TABLE") == 0 && pg_cheap(s, &t))
        return;
    lint_hit(s->f, r, s->line, rel ? t.note : NULL, "REINDEX %s %s",
             strlen(kind) > 15 ? kind + 15 : kind, rel ? t.disp : pg_str(s->node, "name"));
}

static void detach_partition_concurrently(const struct pg_stmt *s, const struct lint_rule *r)
{
    json_t *cmds = pg_alter_cmds(s);
    for (size_t i = 0; i < json_array_size(cmds); i++) {
        json_t *cmd = pg_cmd_at(cmds, i), *part = pg_as(pg_get(cmd, "def"), "PartitionCmd");
        const char *schema, *name;
        pg_rel(pg_get(part, "name"), &schema, &name);
        if (pg_is(cmd, "subtype", "AT_DetachPartition") && !pg_true(part, "concurrent"))
            lint_hit(s->f, r, s->line, NULL, "DETACH PARTITION %s%s%s", schema ? schema : "",
                     schema ? "." : "", name ? name : "?");
    }
}

static int vacuum_full(json_t *options)
{
    size_t i;
    json_t *o;
    json_array_foreach(options, i, o)
    {
        json_t *d = pg_as(o, "DefElem");
        json_t *arg = pg_get(pg_get(d, "arg"), "Boolean");
        if (pg_is(d, "defname", "full") && !(arg && !pg_true(arg, "boolval")))
            return 1;
    }
    return 0;
}

static void cluster_vacuum_full(const struct pg_stmt *s, const struct lint_rule *r)
{
    struct pg_table t;
    if (pg_type(s, "ClusterStmt")) {
        json_t *rel = pg_get(s->node, "relation");
        pg_table_of(s, rel, &t);
        if (!rel)
            lint_hit(s->f, r, s->line, NULL, "CLUSTER (every clustered table)");
        else if (!pg_cheap(s, &t))
            lint_hit(s->f, r, s->line, t.note, "CLUSTER %s", t.disp);
    }
    if (!pg_type(s, "VacuumStmt") || !vacuum_full(pg_get(s->node, "options")))
        return;
    json_t *rels = pg_get(s->node, "rels");
    if (json_array_size(rels) == 0)
        lint_hit(s->f, r, s->line, NULL, "VACUUM FULL (every table)");
    for (size_t i = 0; i < json_array_size(rels); i++) {
        pg_table_of(s, pg_get(pg_as(json_array_get(rels, i), "VacuumRelation"), "relation"), &t);
        if (!pg_cheap(s, &t))
            lint_hit(s->f, r, s->line, t.note, "VACUUM FULL %s", t.disp);
    }
}

static void alter_domain_add_constraint(const struct pg_stmt *s, const struct lint_rule *r)
{
    json_t *con = pg_as(pg_get(s->node, "def"), "Constraint");
    if (pg_type(s, "AlterDomainStmt") && pg_is(s->node, "subtype", "C") && con &&
        !pg_true(con, "skip_validation"))
        lint_hit(s->f, r, pg_line(s, con), NULL, "ALTER DOMAIN %s ADD CONSTRAINT %s",
                 pg_last_name(pg_get(s->node, "typeName"), NULL), pg_con_name(con));
}

static void truncate_cascade(const struct pg_stmt *s, const struct lint_rule *r)
{
    if (pg_type(s, "TruncateStmt") && pg_is(s->node, "behavior", "DROP_CASCADE"))
        lint_hit(s->f, r, s->line, NULL, "TRUNCATE ... CASCADE");
}

/* The first table of a FROM list (searched through joins) whose size is not known to be
 * small, or NULL. */
static int big_source(const struct pg_stmt *s, json_t *node, int depth, struct pg_table *t)
{
    json_t *rv = pg_as(node, "RangeVar");
    if (rv) {
        pg_table_of(s, rv, t);
        return !pg_cheap(s, t);
    }
    if (depth > 50 || !(json_is_object(node) || json_is_array(node)))
        return 0;
    const char *key;
    json_t *v;
    size_t i;
    json_array_foreach(node, i, v)
    {
        if (big_source(s, v, depth + 1, t))
            return 1;
    }
    json_object_foreach(node, key, v)
    {
        if (big_source(s, v, depth + 1, t))
            return 1;
    }
    return 0;
}

static void unbatched_update(const struct pg_stmt *s, const struct lint_rule *r)
{
    static const struct {
        const char *type, *verb;
    } writes[] = {
        {"UpdateStmt", "UPDATE"}, {"DeleteStmt", "DELETE FROM"}, {"MergeStmt", "MERGE INTO"}};
    struct pg_table t;
    if (s->f->sec == SEC_BACKFILL || s->f->sec == SEC_OPS)
        return;
    for (size_t i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
        if (!pg_type(s, writes[i].type))
            continue;
        pg_table_of(s, pg_get(s->node, "relation"), &t);
        if (!pg_cheap(s, &t))
            lint_hit(s->f, r, s->line, t.note, "%s %s", writes[i].verb, t.disp);
    }
    json_t *from = pg_get(pg_as(pg_get(s->node, "selectStmt"), "SelectStmt"), "fromClause");
    if (pg_type(s, "InsertStmt") && from && big_source(s, from, 0, &t))
        lint_hit(s->f, r, s->line, t.note, "INSERT ... SELECT ... FROM %s", t.disp);
}

/* Style rules (off unless --style): calls fn for each column the statement defines. */
typedef void (*coldef_fn)(const struct pg_stmt *s, const struct lint_rule *r, json_t *coldef);
static void each_column_def(const struct pg_stmt *s, const struct lint_rule *r, coldef_fn fn)
{
    json_t *elts = pg_type(s, "CreateStmt") ? pg_get(s->node, "tableElts") : NULL;
    for (size_t i = 0; i < json_array_size(elts); i++)
        if (pg_as(json_array_get(elts, i), "ColumnDef"))
            fn(s, r, pg_as(json_array_get(elts, i), "ColumnDef"));
    json_t *cmds = pg_alter_cmds(s);
    for (size_t i = 0; i < json_array_size(cmds); i++) {
        json_t *cmd = pg_cmd_at(cmds, i), *coldef = pg_as(pg_get(cmd, "def"), "ColumnDef");
        if (coldef &&
            (pg_is(cmd, "subtype", "AT_AddColumn") || pg_is(cmd, "subtype", "AT_AlterColumnType")))
            fn(s, r, coldef);
    }
}

/* A style rule: the column types it flags. */
struct style_types {
    const char *rule;
    const char *const types[8];
    int needs_mods; /* only with a length, e.g. varchar(n) */
};
static const struct style_types style_types[] = {
    {"prefer-text-field", {"varchar", NULL}, 1},
    {"prefer-bigint", {"int4", "int2", "serial", "serial4", "smallserial", "serial2", NULL}, 0},
    {"prefer-identity",
     {"serial", "serial4", "serial8", "bigserial", "smallserial", "serial2", NULL},
     0},
    {"prefer-timestamptz", {"timestamp", NULL}, 0},
    {"ban-char-field", {"bpchar", NULL}, 0},
};

static void style_column(const struct pg_stmt *s, const struct lint_rule *r, json_t *coldef)
{
    long mods[2];
    for (size_t i = 0; i < sizeof(style_types) / sizeof(style_types[0]); i++)
        if (strcmp(style_types[i].rule, r->name) == 0 && pg_type_is(coldef, style_types[i].types) &&
            (!style_types[i].needs_mods || pg_typmods(coldef, mods, 2) > 0))
            lint_hit(s->f, r, pg_line(s, coldef), NULL, "column %s %s", pg_str(coldef, "colname"),
                     pg_type_name(coldef));
}

static void style_column_type(const struct pg_stmt *s, const struct lint_rule *r)
{
    each_column_def(s, r, style_column);
}

static void create_domain_with_constraint(const struct pg_stmt *s, const struct lint_rule *r)
{
    json_t *cons = pg_type(s, "CreateDomainStmt") ? pg_get(s->node, "constraints") : NULL;
    for (size_t i = 0; i < json_array_size(cons); i++)
        if (pg_is(pg_as(json_array_get(cons, i), "Constraint"), "contype", "CONSTR_CHECK"))
            lint_hit(s->f, r, s->line, NULL, "CREATE DOMAIN %s ... CHECK",
                     pg_last_name(pg_get(s->node, "domainname"), NULL));
}

static void index_columns(const struct pg_stmt *s, const struct lint_rule *r)
{
    if (pg_type(s, "IndexStmt") && !pg_true(s->node, "unique") &&
        json_array_size(pg_get(s->node, "indexParams")) > 3)
        lint_hit(s->f, r, s->line, NULL, "index %s of %zu columns",
                 pg_str(s->node, "idxname") ? pg_str(s->node, "idxname") : "",
                 json_array_size(pg_get(s->node, "indexParams")));
}

struct pg_rule {
    struct lint_rule info;
    void (*check)(const struct pg_stmt *s, const struct lint_rule *r); /* NULL: the reader's */
};

/* The PostgreSQL rules: name, style, hazard, safe recipe, and the function over a
 * statement. "syntax-error" and "unchecked" are reported by the reader (lint_pg.c). */
static const struct pg_rule rules[] = {
    {LINT_RULE_SYNTAX_ERROR, NULL},
    {LINT_RULE_UNCHECKED, NULL},
    {{"transaction-in-section", 0,
      "baton runs each section in one transaction with the ledger step that records it; a COMMIT "
      "or ROLLBACK inside ends that transaction early, so a kill can apply part of the section "
      "twice",
      "remove it; for a statement that cannot run in a transaction, use a section marked "
      "no-transaction ([expand no-transaction])"},
     transaction_in_section},
    {{"outside-transaction-only", 0,
      "PostgreSQL refuses to run it inside a transaction block, and each section runs in one",
      "use the operation that runs it alone (add_index, drop_index, reindex, add_unique), or put "
      "it in a section marked no-transaction, e.g. [expand no-transaction]"},
     outside_transaction_only},
    {{"not-idempotent-outside-transaction", 0,
      "a statement of a no-transaction section killed before its step is recorded runs again, and "
      "this one then fails or repeats its effect",
      "make it safe to run twice (IF NOT EXISTS, IF EXISTS, OR REPLACE, ON CONFLICT), or move it "
      "to a section that runs in a transaction"},
     not_idempotent_outside_tx},
    {LINT_RULE_DROP_COLUMN, drop_column_in_expand},
    {LINT_RULE_DROP_TABLE, drop_table_in_expand},
    {{"drop-object-in-expand", 0,
      "it removes what the app version still running may use or count on (an object, a default, a "
      "constraint, an identity, a trigger)",
      "move it to [contract], which runs once that version is gone"},
     drop_object_in_expand},
    {LINT_RULE_RENAME_COLUMN, rename_column},
    {{"rename-table", 0,
      "the app version still running uses the old name, and every query naming it fails",
      "use 'rename_table OLD NEW' (the table takes the new name and a writable view keeps the old "
      "one until contract)"},
     rename_table},
    {{"rename-object", 0,
      "code that names the object (the app version still running, functions, views) fails once it "
      "has a new name or schema",
      "create it under the new name beside the old one in expand (a new view, function or type), "
      "move the app to it, and drop the old one in [contract]"},
     rename_object},
    {{"add-column-not-null", 0,
      "NOT NULL without a DEFAULT fails on a table with rows, and the app version still running "
      "inserts rows without the column",
      "add it nullable or with a DEFAULT ('add_column TABLE COL TYPE DEFAULT VALUE'), backfill, "
      "then 'set_not_null TABLE COL'"},
     lint_pg_add_column_not_null},
    {{"add-column-volatile-default", 0,
      "a VOLATILE default rewrites the whole table under an ACCESS EXCLUSIVE lock, blocking reads "
      "and writes",
      "add the column without a default ('add_column TABLE COL TYPE'), set the default with ALTER "
      "COLUMN ... SET DEFAULT (no rewrite), and fill the old rows in a [backfill TABLE] section"},
     lint_pg_add_column_volatile_default},
    {{"add-column-generated-stored", 0,
      "a stored generated column rewrites the whole table under an ACCESS EXCLUSIVE lock, blocking "
      "reads and writes",
      "add a plain column ('add_column'), compute it with a trigger, and fill the old rows in a "
      "[backfill TABLE] section"},
     lint_pg_add_column_generated_stored},
    {{"add-column-serial", 0,
      "a serial or identity column fills every existing row, rewriting the table under an ACCESS "
      "EXCLUSIVE lock that blocks reads and writes",
      "add a nullable bigint ('add_column TABLE COL BIGINT'), give it a sequence with ALTER COLUMN "
      "... SET DEFAULT nextval(...), fill the old rows in a [backfill TABLE] section, then "
      "'set_not_null TABLE COL'"},
     lint_pg_add_column_serial},
    {{"add-column-json", 0,
      "json has no equality operator, so the running version's SELECT DISTINCT, UNION or GROUP BY "
      "over whole rows fails",
      "use jsonb"},
     lint_pg_add_column_json},
    {{"alter-column-type", 0,
      "changing the type rewrites the table and its indexes under an ACCESS EXCLUSIVE lock, and "
      "the running version still expects the old type",
      "use 'change_type TABLE COL NEWCOL TYPE' (a new column, triggers both ways, batched "
      "backfill)"},
     lint_pg_alter_column_type},
    {{"set-not-null", 0,
      "SET NOT NULL scans the whole table under an ACCESS EXCLUSIVE lock, blocking reads and "
      "writes",
      "use 'set_not_null TABLE COL' (CHECK NOT VALID, VALIDATE without blocking writes, then SET "
      "NOT NULL proved by the check at contract)"},
     lint_pg_set_not_null},
    {{"add-constraint-not-valid", 0,
      "adding a CHECK validates every row under an ACCESS EXCLUSIVE lock, blocking reads and "
      "writes",
      "use 'add_constraint TABLE NAME CHECK (EXPR)' (NOT VALID, then VALIDATE in its own "
      "transaction)"},
     lint_pg_add_constraint_not_valid},
    {{"add-foreign-key", 0,
      "adding a foreign key validates every row while holding locks that block writes to both "
      "tables",
      "use 'add_foreign_key TABLE NAME (COLS) REFERENCES OTHER (COLS)' (NOT VALID, then VALIDATE "
      "in its own transaction)"},
     lint_pg_add_foreign_key},
    {{"validate-in-same-transaction", 0,
      "VALIDATE scans the table while the transaction already holds the lock of an earlier ALTER, "
      "so reads and writes wait for the whole scan",
      "validate in a transaction of its own: 'add_constraint', 'add_foreign_key' and "
      "'set_not_null' do"},
     lint_pg_validate_in_same_transaction},
    {{"add-unique-constraint", 0,
      "builds the unique index under an ACCESS EXCLUSIVE lock, blocking reads and writes for the "
      "whole build",
      "use 'add_unique TABLE NAME COLS' (index built CONCURRENTLY, then ADD CONSTRAINT ... UNIQUE "
      "USING INDEX)"},
     lint_pg_add_unique_constraint},
    {{"add-primary-key", 0,
      "builds the index and checks NOT NULL under an ACCESS EXCLUSIVE lock, blocking reads and "
      "writes",
      "use 'add_primary_key TABLE NAME COLS' (index built CONCURRENTLY, NOT NULL proved by "
      "validated checks, then ADD PRIMARY KEY USING INDEX)"},
     lint_pg_add_primary_key},
    {{"add-exclusion-constraint", 0,
      "builds the exclusion index and checks every row under an ACCESS EXCLUSIVE lock, blocking "
      "reads and writes; PostgreSQL has no way to add one without it",
      "declare it when the table is created, or add it while the table is small"},
     lint_pg_add_exclusion_constraint},
    {{"create-index-concurrently", 0,
      "CREATE INDEX without CONCURRENTLY blocks writes to the table for the whole build",
      "use 'add_index TABLE NAME COLUMNS' (CREATE INDEX CONCURRENTLY outside a transaction; an "
      "invalid leftover is dropped and built again)"},
     create_index_concurrently},
    {{"drop-index-concurrently", 0,
      "DROP INDEX without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on the table, and reads and "
      "writes queue behind it while it waits for running queries",
      "use 'drop_index TABLE NAME' (DROP INDEX CONCURRENTLY, at contract)"},
     drop_index_concurrently},
    {{"reindex-concurrently", 0,
      "REINDEX without CONCURRENTLY blocks writes to the table, and reads that use the index, for "
      "the whole rebuild",
      "use 'reindex TABLE INDEX' (REINDEX CONCURRENTLY; the leftovers of a killed run are "
      "dropped)"},
     reindex_concurrently},
    {{"detach-partition-concurrently", 0,
      "DETACH PARTITION without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on the partitioned "
      "table, blocking reads and writes",
      "use DETACH PARTITION ... CONCURRENTLY in a section marked no-transaction"},
     detach_partition_concurrently},
    {{"cluster-vacuum-full", 0,
      "rewrites the whole table under an ACCESS EXCLUSIVE lock, blocking reads and writes",
      "keep it out of migrations: rebuild online with pg_repack, or use 'reindex' for an index"},
     cluster_vacuum_full},
    {{"alter-domain-add-constraint", 0,
      "checks every column of the domain's type in every table under locks that block writes",
      "add it NOT VALID, then ALTER DOMAIN ... VALIDATE CONSTRAINT in a later section"},
     alter_domain_add_constraint},
    {{"truncate-cascade", 0,
      "CASCADE also empties every table that references these, which the migration does not name",
      "truncate each table by name, without CASCADE"},
     truncate_cascade},
    {{"unbatched-update", 0,
      "one statement over the whole table holds its row locks, and the section's other locks, for "
      "the whole copy, blocking the app's writes",
      "move it to a [backfill TABLE KEY] section with 'WHERE KEY > :lo AND KEY <= :hi' so it runs "
      "in short batches"},
     unbatched_update},
    {{"prefer-text-field", 1, "changing a varchar limit later takes an ALTER COLUMN TYPE",
      "use text, with a CHECK on its length if the limit matters"},
     style_column_type},
    {{"prefer-bigint", 1,
      "a 32- or 16-bit number runs out, and widening it later rewrites the table", "use bigint"},
     style_column_type},
    {{"prefer-identity", 1,
      "a serial column owns a sequence with permissions and dependencies of its own",
      "use GENERATED BY DEFAULT AS IDENTITY"},
     style_column_type},
    {{"prefer-timestamptz", 1,
      "timestamp without time zone stores local times whose meaning follows the session's time "
      "zone",
      "use timestamptz"},
     style_column_type},
    {{"ban-char-field", 1, "char(n) pads values with spaces and saves no space", "use text"},
     style_column_type},
    {{"create-domain-with-constraint", 1,
      "changing a domain's constraint later checks every column of that type under locks",
      "put the CHECK on the table's columns"},
     create_domain_with_constraint},
    {{"index-columns", 1,
      "a non-unique index of more than three columns rarely helps and slows every write",
      "index the columns that narrow the rows most"},
     index_columns},
};
#define NRULES (sizeof(rules) / sizeof(rules[0]))

void lint_pg_check(const struct pg_stmt *s)
{
    for (size_t i = 0; i < NRULES; i++)
        if (rules[i].check && (!rules[i].info.style || s->f->o->style))
            rules[i].check(s, &rules[i].info);
}

int lint_pg_rule_count(void)
{
    return (int)NRULES;
}

const struct lint_rule *lint_pg_rule_at(int i)
{
    return i >= 0 && i < (int)NRULES ? &rules[i].info : NULL;
}
