/* The PostgreSQL linter's reading of a migration: each statement of each section is
 * parsed alone by PostgreSQL's own parser (libpg_query); a statement it rejects is
 * reported with its line and the parser's message, and the others are still checked. The
 * declarative operations are checked by parsing the statements baton writes for them. */
#include "migrate/lint_pg.h"

#include <pg_query.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrate/lint_pg_rules.h"
#include "migrate/lint_pg_tree.h"
#include "migrate/sqlsplit.h"

/* What a statement leaves behind for the next ones of the section: the tables it
 * created, and those whose write-blocking lock the transaction now holds. */
static void track(const struct pg_stmt *s)
{
    const char *schema, *name;
    json_t *n = s->node;
    if (strcmp(s->type, "CreateStmt") == 0) {
        pg_rel(pg_get(n, "relation"), &schema, &name);
        lint_names_add(&s->f->created, schema, name);
    } else if (strcmp(s->type, "CreateTableAsStmt") == 0) {
        pg_rel(pg_get(pg_get(n, "into"), "rel"), &schema, &name);
        lint_names_add(&s->f->created, schema, name);
    } else if (strcmp(s->type, "AlterTableStmt") == 0 || strcmp(s->type, "RenameStmt") == 0 ||
               (strcmp(s->type, "IndexStmt") == 0 && !pg_true(n, "concurrent"))) {
        json_t *cmds = pg_get(n, "cmds");
        size_t i;
        json_t *c;
        int only_validate = json_array_size(cmds) > 0;
        json_array_foreach(cmds, i, c)
        {
            only_validate &= pg_is(pg_as(c, "AlterTableCmd"), "subtype", "AT_ValidateConstraint");
        }
        pg_rel(pg_get(n, "relation"), &schema, &name);
        if (!only_validate)
            lint_names_add(&s->f->locked, schema, name);
    }
}

/* Parses one statement and checks it; `sql` is the section (NULL for an operation),
 * `text` the statement alone. */
static void one_statement(struct lint_file *f, const char *sql, size_t off, const char *text,
                          int line, const char *what)
{
    PgQueryParseResult r = pg_query_parse(text);
    if (r.error) {
        size_t at = 0;
        for (int c = 1; c < r.error->cursorpos && text[at]; c++) {
            at++;
            while ((text[at] & 0xC0) == 0x80)
                at++;
        }
        if (sql)
            lint_hit_named(f, "syntax-error", f->line0 + sqlsplit_line(sql, off + at),
                           "PostgreSQL rejects the statement: %s", r.error->message);
        else
            lint_hit_named(f, "syntax-error", line, "%sPostgreSQL rejects '%s': %s", what, text,
                           r.error->message);
        pg_query_free_parse_result(r);
        return;
    }
    json_error_t je;
    json_t *root = json_loads(r.parse_tree, 0, &je);
    pg_query_free_parse_result(r);
    if (!root) {
        lint_hit_named(f, "unchecked", line, "%sthe parse tree cannot be read (%s)", what, je.text);
        return;
    }
    size_t i;
    json_t *st;
    json_array_foreach(pg_get(root, "stmts"), i, st)
    {
        json_t *wrapper = pg_get(st, "stmt");
        const char *type =
            json_object_size(wrapper) == 1 ? json_object_iter_key(json_object_iter(wrapper)) : NULL;
        if (!type)
            continue;
        struct pg_stmt s = {f, type, pg_get(wrapper, type), sql, off, line};
        lint_pg_check(&s);
        track(&s);
    }
    json_decref(root);
}

/* Replaces :lo and :hi of a [backfill] statement by $1 and $2 (same length, so every
 * position in the parse tree still points at the file). */
static void placeholders(char *sql)
{
    for (char *p = sql; (p = strchr(p, ':')) != NULL; p++)
        if ((p[1] == 'l' && p[2] == 'o') || (p[1] == 'h' && p[2] == 'i')) {
            char next = p[3];
            if ((next >= 'a' && next <= 'z') || (next >= 'A' && next <= 'Z') ||
                (next >= '0' && next <= '9') || next == '_')
                continue;
            p[0] = '$';
            p[2] = ' ';
            p[1] = p[1] == 'l' ? '1' : '2';
        }
}

static void section(struct lint_file *f, const struct msection *sec, enum lint_sec which)
{
    if (!sec->sql)
        return;
    lint_section_start(f, which, sec->no_tx, sec->line + 1);
    char *sql = strdup(sec->sql);
    if (!sql)
        return;
    if (which == SEC_BACKFILL)
        placeholders(sql);
    struct sql_stmt *v = NULL;
    int n = 0;
    size_t at;
    struct err e;
    if (sqlsplit(DATABASE_POSTGRES, sql, &v, &n, &at, &e) < 0) {
        lint_hit_named(f, "syntax-error", f->line0 + sqlsplit_line(sql, at),
                       "PostgreSQL cannot read the section from here on: %s", e.msg);
        free(sql);
        return;
    }
    for (int i = 0; i < n; i++) {
        char *text = strndup(sql + v[i].off, v[i].len);
        if (text)
            one_statement(f, sql, v[i].off, text, f->line0 + v[i].line, "");
        free(text);
    }
    free(v);
    free(sql);
}

/* The statement baton writes for an operation, to check it with PostgreSQL's parser
 * (`full`: with every rule, as an ALTER the operation runs in expand). */
static char *op_statement(const struct mfile_op *op, int *full)
{
    char *s = NULL;
    int rc = -1;
    *full = 0;
    switch (op->kind) {
    case MFILE_OP_ADD_COLUMN:
        *full = 1;
        rc = asprintf(&s, "ALTER TABLE %s ADD COLUMN %s %s", op->table, op->name, op->rest);
        break;
    case MFILE_OP_RENAME_COLUMN:
    case MFILE_OP_CHANGE_TYPE:
        *full = op->rest[0] != 0;
        rc = *full ? asprintf(&s, "ALTER TABLE %s ADD COLUMN %s %s", op->table, op->new_column,
                              op->rest)
                   : -1;
        break;
    case MFILE_OP_ADD_INDEX:
        rc = strncasecmp(op->rest, "unique ", 7) == 0
                 ? asprintf(&s, "CREATE UNIQUE INDEX %s ON %s (%s)", op->name, op->table,
                            op->rest + 7)
                 : asprintf(&s, "CREATE INDEX %s ON %s (%s)", op->name, op->table, op->rest);
        break;
    case MFILE_OP_ADD_UNIQUE:
    case MFILE_OP_ADD_PRIMARY_KEY:
        rc = asprintf(&s, "CREATE UNIQUE INDEX %s ON %s (%s)", op->name, op->table, op->rest);
        break;
    case MFILE_OP_ADD_CONSTRAINT:
        rc = asprintf(&s, "ALTER TABLE %s ADD CONSTRAINT %s %s NOT VALID", op->table, op->name,
                      op->rest);
        break;
    case MFILE_OP_ADD_FOREIGN_KEY:
        rc = asprintf(&s, "ALTER TABLE %s ADD CONSTRAINT %s FOREIGN KEY %s NOT VALID", op->table,
                      op->name, op->rest);
        break;
    default:
        break;
    }
    return rc < 0 ? NULL : s;
}

static void operations(struct lint_file *f)
{
    for (int i = 0; i < f->m->nops; i++) {
        const struct mfile_op *op = &f->m->ops[i];
        int full;
        char *text = op_statement(op, &full);
        if (!text)
            continue;
        lint_section_start(f, SEC_OPS, 0, op->line);
        char what[MFILE_IDENT_MAX * 3 + 16];
        snprintf(what, sizeof(what), "%s %s %s: ", mfile_op_name(op->kind), op->table, op->name);
        if (full) {
            one_statement(f, NULL, 0, text, op->line, what);
        } else {
            PgQueryParseResult r = pg_query_parse(text);
            if (r.error)
                lint_hit_named(f, "syntax-error", op->line, "%sPostgreSQL rejects '%s': %s", what,
                               text, r.error->message);
            pg_query_free_parse_result(r);
        }
        free(text);
    }
}

int lint_pg_file(struct lint_file *f)
{
    operations(f);
    section(f, &f->m->expand, SEC_EXPAND);
    section(f, &f->m->backfill, SEC_BACKFILL);
    section(f, &f->m->contract, SEC_CONTRACT);
    section(f, &f->m->abort_, SEC_ABORT);
    return f->added;
}
