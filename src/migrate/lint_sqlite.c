/* The SQLite linter: every statement is prepared by SQLite itself against an in-memory
 * copy of the schema (the database's, with --db), which says whether it parses, and,
 * through the authorizer callback, which tables and columns it reads, writes, creates or
 * drops. Schema statements are then run on the copy, so a rename or a dropped column is
 * seen in the schema SQLite keeps, not guessed from words. Tables and columns the copy
 * lacks (no database, or an earlier migration adds them) are added as stand-ins so the
 * statement can be prepared; rules about their size then assume the worst. The rules
 * are the table at the end of lint_sqlite_rules.c. */
#include "migrate/lint_sqlite.h"
#include "migrate/keyset.h"
#include "migrate/lint_sqlite_rules.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "migrate/sqlsplit.h"

#define PREPARE_TRIES  32    /* stand-ins added for one statement at most */
#define PROGRESS_CALLS 20000 /* x 1000 VM steps a schema statement may take on the copy */
#define STUB_TABLE     "_baton_stub"

static int authorize(void *arg, int code, const char *a, const char *b, const char *db,
                     const char *inner)
{
    struct sq *q = arg;
    if (!q->collecting)
        return SQLITE_OK;
    if (code == SQLITE_ATTACH || code == SQLITE_DETACH)
        return SQLITE_DENY; /* the copy stays in memory: no file is ever opened */
    if (inner || (db && strcmp(db, "main") != 0 && code != SQLITE_ALTER_TABLE) ||
        (a && strncmp(a, "sqlite_", 7) == 0) || q->nacts >= SQ_ACTS_MAX)
        return SQLITE_OK; /* trigger bodies, views, temp and the schema table itself */
    struct sq_act *x = &q->acts[q->nacts++];
    x->code = code;
    snprintf(x->a, sizeof(x->a), "%s", a ? a : "");
    snprintf(x->b, sizeof(x->b), "%s", b ? b : "");
    return SQLITE_OK;
}

static int progress(void *arg)
{
    struct sq *q = arg;
    return ++q->progress > PROGRESS_CALLS;
}

static void stub_function(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    (void)argv;
    sqlite3_result_null(ctx);
}

/* Runs SQL on the copy without collecting (stand-ins, the schema, operations). */
static int quiet(struct sq *q, const char *sql)
{
    int was = q->collecting;
    q->collecting = 0;
    int rc = sqlite3_exec(q->db, sql, NULL, NULL, NULL);
    q->collecting = was;
    return rc == SQLITE_OK ? 0 : -1;
}

/* As quiet, with sqlite3_mprintf formats (%w: an identifier between double quotes). */
static int quietf(struct sq *q, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    char *sql = sqlite3_vmprintf(f, ap);
    va_end(ap);
    int rc = sql ? quiet(q, sql) : -1;
    sqlite3_free(sql);
    return rc;
}

/* Whether `name` (in the copy) is a stand-in of `kind` ("table", "column", ...). */
static int stubbed(const struct sq *q, const char *kind, const char *name)
{
    return lint_names_has(&q->stubs, kind, name);
}

static int has_column(struct sq *q, const char *table, const char *col)
{
    char *sql = sqlite3_mprintf("SELECT 1 FROM pragma_table_info(%Q) WHERE name = %Q", table, col);
    sqlite3_stmt *st = NULL;
    int yes = sql && sqlite3_prepare_v2(q->db, sql, -1, &st, NULL) == SQLITE_OK &&
              sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    sqlite3_free(sql);
    return yes;
}

/* Whether `table` of the copy has a primary key (a missing table has none to check: 1). */
static int has_key(struct sq *q, const char *table)
{
    char *sql = sqlite3_mprintf("SELECT count(*), max(pk) FROM pragma_table_info(%Q)", table);
    sqlite3_stmt *st = NULL;
    int yes = 1;
    if (sql && sqlite3_prepare_v2(q->db, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) > 0)
        yes = sqlite3_column_int(st, 1) > 0;
    sqlite3_finalize(st);
    sqlite3_free(sql);
    return yes;
}

static int stub_column(struct sq *q, const char *table, const char *col)
{
    char key[2 * SQ_NAME_MAX + 2];
    if (has_column(q, table, col) ||
        quietf(q, "ALTER TABLE \"%w\" ADD COLUMN \"%w\"", table, col) < 0)
        return 0;
    snprintf(key, sizeof(key), "%s.%s", table, col);
    lint_names_add(&q->stubs, "column", key);
    return 1;
}

/* The name after `prefix` in an error message, unquoted; with `table`, a "t." before
 * it is split off into table (empty when none, or "main"). */
static int message_name(const char *msg, const char *prefix, char *name, size_t cap, char *table,
                        size_t tcap)
{
    size_t n = strlen(prefix);
    if (strncmp(msg, prefix, n) != 0)
        return 0;
    snprintf(name, cap, "%s", msg + n);
    size_t l = strlen(name);
    if (l >= 2 && name[0] == '"' && name[l - 1] == '"') {
        memmove(name, name + 1, l - 2);
        name[l - 2] = 0;
    }
    if (!table)
        return name[0] != 0;
    table[0] = 0;
    char *dot = strchr(name, '.');
    if (dot) {
        *dot = 0;
        snprintf(table, tcap, "%s", name);
        memmove(name, dot + 1, strlen(dot + 1) + 1);
    }
    if (strcmp(table, "main") == 0)
        table[0] = 0;
    return name[0] != 0;
}

/* A column the statement names that no table of the copy has: added to the tables the
 * statement touched, else to every stand-in table. */
static int stub_missing_column(struct sq *q, const char *table, const char *col)
{
    if (table[0] && stub_column(q, table, col))
        return 1;
    int added = 0;
    for (int i = 0; i < q->nacts; i++) {
        const char *t =
            q->acts[i].code == SQLITE_CREATE_INDEX || q->acts[i].code == SQLITE_ALTER_TABLE
                ? q->acts[i].b
                : q->acts[i].a;
        if (q->acts[i].code != SQLITE_FUNCTION && q->acts[i].code != SQLITE_SELECT && *t)
            added |= stub_column(q, t, col);
    }
    for (int i = 0; !added && i < q->stubs.n; i++)
        if (strncmp(q->stubs.v[i], "table.", 6) == 0)
            added |= stub_column(q, q->stubs.v[i] + 6, col);
    return added;
}

/* Makes the copy hold what a failed prepare said it lacks (or drops a stand-in the
 * statement creates for real); returns 1 when the statement should be tried again. */
static int unstub(struct sq *q, const char *text, const char *msg);
static int stub_fix(struct sq *q, const char *text, const char *msg)
{
    char name[SQ_NAME_MAX], table[SQ_NAME_MAX];
    if (message_name(msg, "no such table: ", name, sizeof(name), table, sizeof(table))) {
        if (quietf(q, "CREATE TABLE \"%w\" (\"%w\")", name, STUB_TABLE) < 0)
            return 0;
        lint_names_add(&q->stubs, "table", name);
        return 1;
    }
    if (message_name(msg, "no such column: ", name, sizeof(name), table, sizeof(table)))
        return stub_missing_column(q, table, name);
    int have, want, added = 0;
    if (sscanf(msg, "table %255s has %d columns but %d values were supplied", table, &have,
               &want) == 3 &&
        stubbed(q, "table", table) && want > have && want - have < 100) {
        for (int i = have; i < want; i++) {
            snprintf(name, sizeof(name), "%s_%d", STUB_TABLE, i);
            added += stub_column(q, table, name);
        }
        return added == want - have;
    }
    const char *named = strstr(msg, " has no column named ");
    if (strncmp(msg, "table ", 6) == 0 && named && (size_t)(named - msg - 6) < sizeof(table) &&
        message_name(named + 21, "", name, sizeof(name), NULL, 0)) {
        snprintf(table, sizeof(table), "%.*s", (int)(named - msg - 6), msg + 6);
        return stub_column(q, table, name);
    }
    if (message_name(msg, "no such index: ", name, sizeof(name), table, sizeof(table)) &&
        (quietf(q, "CREATE TABLE IF NOT EXISTS %s (a)", STUB_TABLE) == 0 &&
         quietf(q, "CREATE INDEX \"%w\" ON %s (a)", name, STUB_TABLE) == 0))
        return lint_names_add(&q->stubs, "index", name), 1;
    if (message_name(msg, "no such view: ", name, sizeof(name), table, sizeof(table)) &&
        quietf(q, "CREATE VIEW \"%w\" AS SELECT 1", name) == 0)
        return lint_names_add(&q->stubs, "view", name), 1;
    if (message_name(msg, "no such trigger: ", name, sizeof(name), table, sizeof(table)) &&
        quietf(q, "CREATE TABLE IF NOT EXISTS %s (a)", STUB_TABLE) == 0 &&
        quietf(q, "CREATE TRIGGER \"%w\" AFTER INSERT ON %s BEGIN SELECT 1; END", name,
               STUB_TABLE) == 0)
        return lint_names_add(&q->stubs, "trigger", name), 1;
    if (message_name(msg, "no such function: ", name, sizeof(name), table, sizeof(table)))
        return sqlite3_create_function_v2(q->db, name, -1, SQLITE_UTF8, NULL, stub_function, NULL,
                                          NULL, NULL) == SQLITE_OK;
    return unstub(q, text, msg);
}

/* A statement the parser or the schema refuses. */
static void refused(struct sq *q, const char *text, int line, const char *msg, int off)
{
    struct lint_file *f = q->f;
    int eline = line + (off > 0 ? sqlsplit_line(text, (size_t)off) : 0);
    int syntax = strstr(msg, "syntax error") || strstr(msg, "incomplete input") ||
                 strstr(msg, "unrecognized token") || strstr(msg, "parser stack overflow");
    const char *first = sqlsplit_skip_space(DATABASE_SQLITE, text);
    if (syntax && strncasecmp(first, "ALTER", 5) == 0)
        lint_hit_named(f, "sqlite-unsupported-alter", eline, "SQLite cannot parse this ALTER: %s",
                       msg);
    else if (syntax)
        lint_hit_named(f, "syntax-error", eline, "SQLite rejects the statement: %s", msg);
    else if (strcmp(msg, "unable to identify the object to be reindexed") != 0)
        lint_hit_named(f, "statement-fails", eline, "SQLite refuses it: %s", msg);
}

/* Prepares `text` (adding stand-ins as needed); NULL when refused (and reported) or
 * empty. *tail: what follows the first statement, or after a refusal, what follows the
 * first ';' after the error (so the statements after a malformed one are still read). */
static sqlite3_stmt *prepare(struct sq *q, const char *text, int line, const char **tail)
{
    for (int attempt = 0; attempt < PREPARE_TRIES; attempt++) {
        sqlite3_stmt *st = NULL;
        q->nacts = 0;
        q->collecting = 1;
        int rc = sqlite3_prepare_v2(q->db, text, -1, &st, tail);
        q->collecting = 0;
        if (rc == SQLITE_OK)
            return st;
        char msg[ERR_MSG_MAX];
        snprintf(msg, sizeof(msg), "%s", sqlite3_errmsg(q->db));
        int off = sqlite3_error_offset(q->db);
        *tail = NULL;
        if (strcmp(msg, "not authorized") == 0) {
            lint_hit_named(q->f, "unchecked", line,
                           "ATTACH and DETACH are not run on the copy "
                           "baton lints against");
            return NULL;
        }
        if (!stub_fix(q, text, msg)) {
            refused(q, text, line, msg, off);
            const char *semi =
                off >= 0 && (size_t)off < strlen(text) ? strchr(text + off, ';') : NULL;
            *tail = semi ? semi + 1 : NULL;
            return NULL;
        }
    }
    lint_hit_named(q->f, "unchecked", line,
                   "the statement names more than %d tables or "
                   "columns the schema lacks",
                   PREPARE_TRIES);
    *tail = NULL;
    return NULL;
}

/* Whether the statement is a VACUUM (its program holds the Vacuum opcode). */
static int is_vacuum(struct sq *q, sqlite3_stmt *st)
{
    char *sql = sqlite3_mprintf("EXPLAIN %s", sqlite3_sql(st));
    sqlite3_stmt *ex = NULL;
    int yes = 0;
    if (sql && sqlite3_prepare_v2(q->db, sql, -1, &ex, NULL) == SQLITE_OK)
        while (!yes && sqlite3_step(ex) == SQLITE_ROW)
            yes = sqlite3_column_text(ex, 1) &&
                  strcmp((const char *)sqlite3_column_text(ex, 1), "Vacuum") == 0;
    sqlite3_finalize(ex);
    sqlite3_free(sql);
    return yes;
}

static int changes_schema(const struct sq *q)
{
    for (int i = 0; i < q->nacts; i++) {
        int c = q->acts[i].code;
        if (c == SQLITE_ALTER_TABLE || c == SQLITE_CREATE_TABLE || c == SQLITE_CREATE_INDEX ||
            c == SQLITE_CREATE_VIEW || c == SQLITE_CREATE_TRIGGER || c == SQLITE_DROP_TABLE ||
            c == SQLITE_DROP_INDEX || c == SQLITE_DROP_VIEW || c == SQLITE_DROP_TRIGGER)
            return 1;
    }
    return 0;
}

/* Runs a prepared schema statement on the copy, its work bounded. */
static int run(struct sq *q, sqlite3_stmt *st, char *msg, size_t cap)
{
    q->progress = 0;
    sqlite3_progress_handler(q->db, 1000, progress, q);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        ;
    sqlite3_progress_handler(q->db, 0, NULL, NULL);
    if (rc == SQLITE_DONE)
        return 0;
    snprintf(msg, cap, "%s", sqlite3_errmsg(q->db));
    return rc == SQLITE_INTERRUPT ? -2 : -1;
}

/* Prepares, runs (schema statements) and checks one statement, then those after it in
 * `text` if SQLite's own split found more than sqlite3_complete did. */
static void statement(struct sq *q, const char *text, int line, int depth)
{
    const char *tail = NULL;
    sqlite3_stmt *st = prepare(q, text, line, &tail);
    if (st) {
        struct sq_stmt s = {.q = q, .f = q->f, .line = line, .st = st};
        s.vacuum = q->nacts == 0 && !sqlite3_stmt_readonly(st) && is_vacuum(q, st);
        char msg[ERR_MSG_MAX];
        if (changes_schema(q)) {
            lint_sqlite_before(&s);
            int rc = run(q, st, msg, sizeof(msg));
            if (rc == -2)
                lint_hit_named(q->f, "unchecked", line,
                               "the statement took too long to run on "
                               "the in-memory copy");
            else if (rc < 0)
                lint_hit_named(q->f, "statement-fails", line, "SQLite refuses it: %s", msg);
            lint_sqlite_after(&s);
            if (rc == 0 && q->f->no_tx && sqlite3_reset(st) == SQLITE_OK &&
                run(q, st, msg, sizeof(msg)) == -1)
                lint_hit_named(q->f, "not-idempotent-outside-transaction", line,
                               "run a second time, SQLite says: %s", msg);
        }
        lint_sqlite_check(&s);
        lint_sqlite_track(&s);
        lint_sqlite_stmt_free(&s);
        sqlite3_finalize(st);
    }
    const char *next = tail ? sqlsplit_skip_space(DATABASE_SQLITE, tail) : NULL;
    if (next && *next && depth < 64)
        statement(q, next, line + sqlsplit_line(text, (size_t)(next - text)), depth + 1);
}

/* "(?, ?)" with one parameter per column of a backfill key; returns the columns. */
static int backfill_row(const char *key, char *row, size_t cap)
{
    int cols = 1;
    for (const char *c = key; *c; c++)
        cols += *c == ',';
    size_t n = (size_t)snprintf(row, cap, "(?");
    for (int i = 1; i < cols && i < KEYSET_COLS_MAX && n < cap; i++)
        n += (size_t)snprintf(row + n, cap - n, ", ?");
    if (n < cap)
        snprintf(row + n, cap - n, ")");
    return cols;
}

static void section(struct sq *q, const struct msection *sec, enum lint_sec which)
{
    if (!sec->sql)
        return;
    struct lint_file *f = q->f;
    lint_section_start(f, which, sec->no_tx, sec->line + 1);
    lint_names_free(&q->dropped);
    struct sql_stmt *v = NULL;
    int n = 0;
    size_t at;
    struct err e;
    if (sqlsplit(DATABASE_SQLITE, sec->sql, &v, &n, &at, &e) < 0)
        return;
    char row[KEYSET_COLS_MAX * 3 + 4];
    int cols = which == SEC_BACKFILL ? backfill_row(sec->key, row, sizeof(row)) : 1;
    for (int i = 0; i < n; i++) {
        char *text = strndup(sec->sql + v[i].off, v[i].len);
        if (text && cols > 1) { /* a composite key's :lo and :hi are row values */
            char *t = keyset_subst(text, row, row, 0, &e);
            free(text);
            text = t;
        }
        if (text)
            statement(q, text, f->line0 + v[i].line, 0);
        free(text);
    }
    free(v);
}

/* An ADD COLUMN of a column the copy has (SQLite does not say on which table): the
 * column is dropped from the first table, not given it by this migration, after which
 * the statement prepares; each try is undone by a savepoint when it does not. */
static int drop_duplicate_column(struct sq *q, const char *text, const char *col)
{
    sqlite3_stmt *t = NULL;
    char *find = sqlite3_mprintf("SELECT m.name FROM sqlite_master m, pragma_table_info(m.name) "
                                 "c WHERE m.type = 'table' AND c.name = %Q",
                                 col);
    int fixed = 0;
    if (!find || sqlite3_prepare_v2(q->db, find, -1, &t, NULL) != SQLITE_OK)
        goto out;
    while (!fixed && sqlite3_step(t) == SQLITE_ROW) {
        char key[2 * SQ_NAME_MAX + 2], table[SQ_NAME_MAX];
        snprintf(table, sizeof(table), "%s", (const char *)sqlite3_column_text(t, 0));
        snprintf(key, sizeof(key), "%s.%s", table, col);
        if (lint_names_has(&q->mine, "column", key) || quiet(q, "SAVEPOINT baton_try") < 0)
            continue;
        sqlite3_stmt *st = NULL;
        fixed = quietf(q, "ALTER TABLE \"%w\" DROP COLUMN \"%w\"", table, col) == 0 &&
                sqlite3_prepare_v2(q->db, text, -1, &st, NULL) == SQLITE_OK;
        sqlite3_finalize(st);
        if (!fixed)
            quiet(q, "ROLLBACK TO baton_try");
        quiet(q, "RELEASE baton_try");
    }
out:
    sqlite3_finalize(t);
    sqlite3_free(find);
    return fixed;
}

/* When a prepare failed because the statement creates what the copy already holds
 * ("table x already exists", "duplicate column name"), and this migration did not make
 * it (a stand-in, or the database already has it: it is ahead of this file), removes it
 * from the copy; returns 1 when the statement should be tried again. */
static int unstub(struct sq *q, const char *text, const char *msg)
{
    static const char *const kinds[] = {"table", "index", "view", "trigger", NULL};
    char name[SQ_NAME_MAX];
    if (message_name(msg, "duplicate column name: ", name, sizeof(name), NULL, 0))
        return drop_duplicate_column(q, text, name);
    for (const char *const *k = kinds; *k; k++) {
        char prefix[32];
        snprintf(prefix, sizeof(prefix), "%s ", *k);
        const char *end = strstr(msg, " already exists");
        if (strncmp(msg, prefix, strlen(prefix)) != 0 || !end)
            continue;
        snprintf(name, sizeof(name), "%.*s", (int)(end - msg - strlen(prefix)),
                 msg + strlen(prefix));
        return !lint_names_has(&q->mine, *k, name) && quietf(q, "DROP %s \"%w\"", *k, name) == 0;
    }
    return 0;
}

/* The statement of an operation, linted as if it were in the section it runs in. */
static void op_statement(struct sq *q, const struct mfile_op *op, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    char *sql = sqlite3_vmprintf(f, ap);
    va_end(ap);
    lint_section_start(q->f, SEC_OPS, 0, op->line);
    if (sql)
        statement(q, sql, op->line, 0);
    sqlite3_free(sql);
}

static void expand_op(struct sq *q, const struct mfile_op *op)
{
    switch (op->kind) {
    case MFILE_OP_ADD_COLUMN:
        op_statement(q, op, "ALTER TABLE %s ADD COLUMN %s %s", op->table, op->name, op->rest);
        break;
    case MFILE_OP_RENAME_COLUMN:
    case MFILE_OP_CHANGE_TYPE:
        op_statement(q, op, "ALTER TABLE %s ADD COLUMN %s %s", op->table, op->new_column,
                     op->rest[0] ? op->rest : "");
        break;
    case MFILE_OP_ADD_INDEX:
        op_statement(q, op, "CREATE %s INDEX IF NOT EXISTS %s ON %s (%s)",
                     strncasecmp(op->rest, "unique ", 7) ? "" : "UNIQUE", op->name, op->table,
                     strncasecmp(op->rest, "unique ", 7) ? op->rest : op->rest + 7);
        break;
    case MFILE_OP_ADD_UNIQUE:
        op_statement(q, op, "CREATE UNIQUE INDEX IF NOT EXISTS %s ON %s (%s)", op->name, op->table,
                     op->rest);
        break;
    case MFILE_OP_ADD_PRIMARY_KEY:
    case MFILE_OP_ADD_FOREIGN_KEY:
        lint_section_start(q->f, SEC_OPS, 0, op->line);
        lint_hit_named(q->f, "sqlite-unsupported-alter", op->line, "%s %s %s",
                       mfile_op_name(op->kind), op->table, op->name);
        break;
    case MFILE_OP_RENAME_TABLE:
        if (!stubbed(q, "table", op->table) && !has_key(q, op->table)) {
            lint_section_start(q->f, SEC_OPS, 0, op->line);
            lint_hit_named(q->f, "sqlite-unsupported-alter", op->line,
                           "rename_table %s %s: the table has no primary key, which the view's "
                           "triggers need to find the rows they write",
                           op->table, op->name);
        }
        if (quietf(q, "SELECT 1 FROM \"%w\"", op->table) < 0 &&
            quietf(q, "CREATE TABLE \"%w\" (\"%w\")", op->table, STUB_TABLE) == 0)
            lint_names_add(&q->stubs, "table", op->table);
        quietf(q, "ALTER TABLE \"%w\" RENAME TO \"%w\"", op->table, op->name);
        quietf(q, "CREATE VIEW \"%w\" AS SELECT * FROM \"%w\"", op->table, op->name);
        break;
    default:
        break;
    }
}

static void contract_op(struct sq *q, const struct mfile_op *op)
{
    if (op->kind == MFILE_OP_DROP_COLUMN || op->kind == MFILE_OP_RENAME_COLUMN ||
        op->kind == MFILE_OP_CHANGE_TYPE)
        quietf(q, "ALTER TABLE \"%w\" DROP COLUMN \"%w\"", op->table, op->name);
    else if (op->kind == MFILE_OP_RENAME_TABLE)
        quietf(q, "DROP VIEW IF EXISTS \"%w\"", op->table);
    else if (op->kind == MFILE_OP_DROP_INDEX)
        quietf(q, "DROP INDEX IF EXISTS \"%w\"", op->name);
}

/* Applies to the copy the schema changes of the declarative operations that run in
 * `phase` (SEC_EXPAND: before the raw [expand]; SEC_CONTRACT: before [contract]), linting
 * the statements they run in expand and those SQLite cannot do. */
static void operations(struct sq *q, enum lint_sec phase)
{
    for (int i = 0; i < q->f->m->nops; i++) {
        if (phase == SEC_EXPAND)
            expand_op(q, &q->f->m->ops[i]);
        else
            contract_op(q, &q->f->m->ops[i]);
    }
}

/* The schema of the database (--db) copied into memory, tables first. */
static void copy_schema(struct sq *q)
{
    const struct lint_facts *facts = q->f->o->facts;
    char **sql = NULL;
    int n = 0;
    if (!facts || !facts->schema_sql || facts->schema_sql(facts->ctx, &sql, &n) < 0)
        return;
    for (int i = 0; i < n; i++) {
        quiet(q, sql[i]);
        free(sql[i]);
    }
    free(sql);
}

int lint_sqlite_file(struct lint_file *f)
{
    struct sq q = {.f = f};
    if (sqlite3_open_v2(":memory:", &q.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_MEMORY, NULL) !=
        SQLITE_OK) {
        sqlite3_close(q.db);
        lint_hit_named(f, "unchecked", 1, "cannot open an in-memory SQLite database");
        return f->added;
    }
    sqlite3_db_config(q.db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
    sqlite3_db_config(q.db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL);
    sqlite3_set_authorizer(q.db, authorize, &q);
    copy_schema(&q);
    operations(&q, SEC_EXPAND);
    section(&q, &f->m->expand, SEC_EXPAND);
    section(&q, &f->m->backfill, SEC_BACKFILL);
    operations(&q, SEC_CONTRACT);
    section(&q, &f->m->contract, SEC_CONTRACT);
    section(&q, &f->m->abort_, SEC_ABORT);
    sqlite3_close(q.db);
    lint_names_free(&q.stubs);
    lint_names_free(&q.mine);
    lint_names_free(&q.dropped);
    return f->added;
}
