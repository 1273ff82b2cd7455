/* Lint rules over raw SQL sections (tokenised: comments, strings and dollar-quoted
 * bodies skipped; trigger bodies kept in their CREATE TRIGGER statement) and over the
 * declarative operations. One function per rule, listed in `rules[]`. */
#include "migrate/lint.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define TOK_MAX 64

struct tok {
    char s[TOK_MAX]; /* upper-cased word, or punctuation */
    int line;
};

struct stmt {
    const struct tok *t;
    int n;
};

struct ctx {
    const struct mfile *m;
    enum mdb_kind kind;
    enum { SEC_EXPAND, SEC_BACKFILL, SEC_CONTRACT, SEC_ABORT } sec;
    const struct tok *all; /* the section's tokens */
    int nall;
    struct lint_report *r;
    int added;
};

const char *const lint_rules[] = {
    "drop-column-in-expand",
    "drop-table-in-expand",
    "rename",
    "add-column-not-null",
    "create-index-concurrently",
    "alter-column-type",
    "set-not-null",
    "unbatched-update",
    "add-constraint-not-valid",
    "sqlite-unsupported-alter",
    "sqlite-table-rebuild",
    NULL,
};

static const char *sec_name(int sec)
{
    static const char *n[] = {"[expand]", "[backfill]", "[contract]", "[abort]"};
    return n[sec];
}

static void finding(struct ctx *c, int line, const char *rule, const char *f, ...)
    __attribute__((format(printf, 4, 5)));
static void finding(struct ctx *c, int line, const char *rule, const char *f, ...)
{
    struct lint_finding *v = realloc(c->r->v, (size_t)(c->r->n + 1) * sizeof(*v));
    if (!v)
        return;
    c->r->v = v;
    struct lint_finding *x = &v[c->r->n++];
    memset(x, 0, sizeof(*x));
    snprintf(x->file, sizeof(x->file), "%s", c->m->id);
    x->line = line;
    x->rule = rule;
    x->dialect = c->kind == MDB_POSTGRES ? "postgres" : "sqlite";
    va_list ap;
    va_start(ap, f);
    vsnprintf(x->msg, sizeof(x->msg), f, ap);
    va_end(ap);
    c->added++;
}

/* Tokenises `sql` whose first line is `line0`. Caller frees *out. */
static int tokenize(const char *sql, int line0, struct tok **out, int *n)
{
    int cap = 0, line = line0;
    *out = NULL;
    *n = 0;
    const char *p = sql;
    while (*p) {
        char word[TOK_MAX];
        size_t wl = 0;
        int wline = line;
        if (*p == '\n') {
            line++;
            p++;
            continue;
        }
        if (isspace((unsigned char)*p)) {
            p++;
            continue;
        }
        if (p[0] == '-' && p[1] == '-') {
            while (*p && *p != '\n')
                p++;
            continue;
        }
        if (p[0] == '/' && p[1] == '*') {
            p += 2;
            while (*p && !(p[0] == '*' && p[1] == '/'))
                line += *p++ == '\n';
            if (*p)
                p += 2;
            continue;
        }
        if (*p == '\'' || *p == '"' || *p == '`') {
            char q = *p++;
            while (*p && !(*p == q && p[1] != q)) {
                if (*p == q)
                    p++;
                line += *p++ == '\n';
            }
            if (*p)
                p++;
            word[wl++] = q == '\'' ? '\'' : 'I';
        } else if (*p == '$' && (p[1] == '$' || isalpha((unsigned char)p[1]) || p[1] == '_')) {
            const char *tag_end = p + 1;
            while (isalnum((unsigned char)*tag_end) || *tag_end == '_')
                tag_end++;
            if (*tag_end != '$') {
                p++;
                continue;
            }
            size_t tl = (size_t)(tag_end - p + 1);
            const char *close = p + tl;
            while (*close && strncmp(close, p, tl) != 0)
                line += *close++ == '\n';
            p = *close ? close + tl : close;
            word[wl++] = '\'';
        } else if (isalnum((unsigned char)*p) || *p == '_' || *p == ':') {
            while ((isalnum((unsigned char)*p) || *p == '_' || *p == ':' || *p == '.') &&
                   wl < TOK_MAX - 1)
                word[wl++] = (char)toupper((unsigned char)*p++);
            while (isalnum((unsigned char)*p) || *p == '_' || *p == '.')
                p++;
        } else {
            word[wl++] = *p++;
        }
        word[wl] = 0;
        if (*n == cap) {
            cap = cap ? cap * 2 : 256;
            struct tok *v = realloc(*out, (size_t)cap * sizeof(*v));
            if (!v)
                return -1;
            *out = v;
        }
        memcpy((*out)[*n].s, word, wl + 1);
        (*out)[*n].line = wline;
        (*n)++;
    }
    return 0;
}

static int is(const struct stmt *s, int i, const char *w)
{
    return i >= 0 && i < s->n && strcmp(s->t[i].s, w) == 0;
}

/* Index of the first token equal to w at or after `from`, or -1. */
static int find(const struct stmt *s, int from, const char *w)
{
    for (int i = from < 0 ? 0 : from; i < s->n; i++)
        if (strcmp(s->t[i].s, w) == 0)
            return i;
    return -1;
}

static int starts(const struct stmt *s, const char *a, const char *b)
{
    return is(s, 0, a) && (!b || is(s, 1, b));
}

static int in_expand(const struct ctx *c)
{
    return c->sec == SEC_EXPAND || c->sec == SEC_BACKFILL;
}

static void rule_drop_column(struct ctx *c, const struct stmt *s)
{
    if (!starts(s, "ALTER", "TABLE") || !in_expand(c))
        return;
    for (int i = find(s, 0, "DROP"); i >= 0; i = find(s, i + 1, "DROP"))
        if (is(s, i + 1, "COLUMN") || (c->kind == MDB_POSTGRES && !is(s, i + 1, "CONSTRAINT") &&
                                       !is(s, i + 1, "DEFAULT") && !is(s, i + 1, "NOT")))
            return finding(c, s->t[i].line, "drop-column-in-expand",
                           "dropping a column in %s breaks the app version still running: put "
                           "it in [contract], or use 'drop_column TABLE COLUMN'",
                           sec_name(c->sec));
}

static void rule_drop_table(struct ctx *c, const struct stmt *s)
{
    if (starts(s, "DROP", "TABLE") && in_expand(c))
        finding(c, s->t[0].line, "drop-table-in-expand",
                "dropping a table in %s breaks the app version still running: put it in "
                "[contract]",
                sec_name(c->sec));
}

static void rule_rename(struct ctx *c, const struct stmt *s)
{
    if (!starts(s, "ALTER", "TABLE"))
        return;
    int i = find(s, 0, "RENAME");
    if (i < 0)
        return;
    if (is(s, i + 1, "TO"))
        return; /* a table rename; sqlite-table-rebuild and drop rules cover its use */
    finding(c, s->t[i].line, "rename",
            "renaming a column breaks the app version that uses the old name: use "
            "'rename_column TABLE OLD NEW' (new column kept in sync by triggers, batched "
            "backfill, old column dropped at contract)");
}

static void rule_add_column_not_null(struct ctx *c, const struct stmt *s)
{
    if (!starts(s, "ALTER", "TABLE"))
        return;
    for (int i = find(s, 0, "ADD"); i >= 0; i = find(s, i + 1, "ADD")) {
        int end = find(s, i + 1, ",");
        if (end < 0)
            end = s->n;
        struct stmt part = {s->t + i, end - i};
        if (is(&part, 1, "CONSTRAINT") || is(&part, 1, "INDEX"))
            continue;
        int nn = find(&part, 0, "NOT");
        if (nn >= 0 && is(&part, nn + 1, "NULL") && find(&part, 0, "DEFAULT") < 0)
            finding(c, s->t[i].line, "add-column-not-null",
                    "ADD COLUMN ... NOT NULL without a DEFAULT fails on a non-empty table and "
                    "breaks the old version's INSERTs: add it nullable or with a DEFAULT "
                    "('add_column TABLE COL TYPE DEFAULT VALUE'), backfill, then enforce NOT NULL "
                    "with 'add_constraint TABLE NAME CHECK (COL IS NOT NULL)'");
    }
}

/* Whether the section created `table` itself (an index on a new table is harmless). */
static int created_here(const struct ctx *c, const char *table)
{
    for (int i = 0; i + 2 < c->nall; i++)
        if (strcmp(c->all[i].s, "CREATE") == 0 && strcmp(c->all[i + 1].s, "TABLE") == 0) {
            int j = i + 2;
            if (strcmp(c->all[j].s, "IF") == 0)
                j += 3;
            if (j < c->nall && strcmp(c->all[j].s, table) == 0)
                return 1;
        }
    return 0;
}

static void rule_create_index(struct ctx *c, const struct stmt *s)
{
    if (c->kind != MDB_POSTGRES || !is(s, 0, "CREATE"))
        return;
    int i = is(s, 1, "UNIQUE") ? 2 : 1;
    if (!is(s, i, "INDEX"))
        return;
    int on = find(s, i, "ON");
    if (on >= 0 && on + 1 < s->n) {
        int t = is(s, on + 1, "ONLY") ? on + 2 : on + 1;
        if (t < s->n && created_here(c, s->t[t].s))
            return;
    }
    if (is(s, i + 1, "CONCURRENTLY"))
        finding(c, s->t[0].line, "create-index-concurrently",
                "CREATE INDEX CONCURRENTLY cannot run inside a section's transaction: use "
                "'add_index TABLE NAME COLUMNS', which runs it alone and retries an invalid index");
    else
        finding(c, s->t[0].line, "create-index-concurrently",
                "CREATE INDEX without CONCURRENTLY blocks writes to the table while it builds: "
                "use 'add_index TABLE NAME COLUMNS' (CREATE INDEX CONCURRENTLY)");
}

static void rule_alter_type(struct ctx *c, const struct stmt *s)
{
    if (c->kind != MDB_POSTGRES || !starts(s, "ALTER", "TABLE"))
        return;
    for (int i = find(s, 0, "ALTER"); i >= 0; i = find(s, i + 1, "ALTER")) {
        int j = is(s, i + 1, "COLUMN") ? i + 3 : i + 2;
        if (i > 0 && (is(s, j, "TYPE") || (is(s, j, "SET") && is(s, j + 1, "DATA"))))
            return finding(c, s->t[i].line, "alter-column-type",
                           "ALTER COLUMN ... TYPE rewrites the table under an exclusive lock and "
                           "breaks the old version: use 'change_type TABLE COL NEWCOL TYPE' "
                           "(new column, triggers, batched backfill)");
    }
}

/* Whether the file validates "COL IS NOT NULL" with a declarative add_constraint. */
static int has_not_null_check(const struct mfile *m, const char *col)
{
    for (int i = 0; i < m->nops; i++) {
        if (m->ops[i].kind != MOP_ADD_CONSTRAINT)
            continue;
        char want[MFILE_IDENT_MAX + 16];
        snprintf(want, sizeof(want), "%s IS NOT NULL", col);
        const char *r = m->ops[i].rest;
        for (; *r; r++)
            if (strncasecmp(r, want, strlen(want)) == 0)
                return 1;
    }
    return 0;
}

static void rule_set_not_null(struct ctx *c, const struct stmt *s)
{
    if (c->kind != MDB_POSTGRES || !starts(s, "ALTER", "TABLE"))
        return;
    for (int i = find(s, 0, "SET"); i >= 0; i = find(s, i + 1, "SET")) {
        if (!is(s, i + 1, "NOT") || !is(s, i + 2, "NULL"))
            continue;
        const char *col = "";
        for (int j = i - 1; j > 0; j--)
            if (is(s, j - 1, "ALTER") || is(s, j - 1, "COLUMN")) {
                col = s->t[j].s;
                break;
            }
        if (c->sec == SEC_CONTRACT && has_not_null_check(c->m, col))
            continue;
        finding(c, s->t[i].line, "set-not-null",
                "SET NOT NULL scans the whole table under an exclusive lock: first "
                "'add_constraint TABLE NAME CHECK (%s IS NOT NULL)' (NOT VALID, then VALIDATE), "
                "then SET NOT NULL in [contract] of the same migration, which uses the "
                "validated check",
                col);
    }
}

static void rule_unbatched_update(struct ctx *c, const struct stmt *s)
{
    if (c->sec == SEC_BACKFILL)
        return; /* the parser requires :lo and :hi there */
    if (is(s, 0, "UPDATE") || (starts(s, "DELETE", "FROM") && find(s, 0, "WHERE") < 0) ||
        (is(s, 0, "INSERT") && find(s, 0, "SELECT") >= 0 && find(s, 0, "FROM") >= 0))
        finding(c, s->t[0].line, "unbatched-update",
                "a statement over a whole table in %s holds its locks for the whole copy: move "
                "it to a [backfill TABLE KEY] section with 'WHERE KEY > :lo AND KEY <= :hi' so "
                "it runs in short batches",
                sec_name(c->sec));
}

static void rule_add_constraint(struct ctx *c, const struct stmt *s)
{
    if (c->kind != MDB_POSTGRES || !starts(s, "ALTER", "TABLE"))
        return;
    int i = find(s, 0, "CONSTRAINT");
    if (i < 1 || !is(s, i - 1, "ADD"))
        return;
    int kind_at = i + 2;
    if (!(is(s, kind_at, "CHECK") || is(s, kind_at, "FOREIGN")))
        return;
    int nv = find(s, i, "NOT");
    if (nv >= 0 && is(s, nv + 1, "VALID"))
        return;
    finding(c, s->t[i].line, "add-constraint-not-valid",
            "ADD CONSTRAINT without NOT VALID scans the table under a lock that blocks writes: "
            "use 'add_constraint TABLE NAME CHECK (EXPR)' (NOT VALID, then VALIDATE in backfill)");
}

static void rule_sqlite_alter(struct ctx *c, const struct stmt *s)
{
    if (c->kind != MDB_SQLITE || !starts(s, "ALTER", "TABLE"))
        return;
    int bad = (find(s, 2, "ALTER") >= 0) || (find(s, 2, "CONSTRAINT") >= 0) ||
              (find(s, 2, "PRIMARY") >= 0 && find(s, 2, "ADD") >= 0);
    if (bad)
        finding(c, s->t[0].line, "sqlite-unsupported-alter",
                "SQLite cannot alter a column or constraint in place (it would need a table "
                "rebuild that locks the database for the whole copy): use 'change_type TABLE "
                "COL NEWCOL TYPE' or 'add_constraint TABLE NAME CHECK (EXPR)'");
}

static void rule_sqlite_rebuild(struct ctx *c, const struct stmt *s)
{
    if (c->kind != MDB_SQLITE || !starts(s, "ALTER", "TABLE"))
        return;
    int r = find(s, 0, "RENAME");
    if (r < 0 || !is(s, r + 1, "TO"))
        return;
    finding(c, s->t[0].line, "sqlite-table-rebuild",
            "renaming a table (the create-copy-drop-rename rebuild) locks the database for the "
            "whole copy and breaks the old version: add columns with 'add_column', copy with a "
            "[backfill], and drop the old objects in [contract]");
}

static void (*const rules[])(struct ctx *, const struct stmt *) = {
    rule_drop_column,    rule_drop_table,   rule_rename,         rule_add_column_not_null,
    rule_create_index,   rule_alter_type,   rule_set_not_null,   rule_unbatched_update,
    rule_add_constraint, rule_sqlite_alter, rule_sqlite_rebuild,
};

static void lint_section(struct ctx *c, const struct msection *sec, int which)
{
    if (!sec->sql)
        return;
    struct tok *t = NULL;
    int n = 0;
    if (tokenize(sec->sql, sec->line + 1, &t, &n) < 0) {
        free(t);
        return;
    }
    c->sec = which;
    c->all = t;
    c->nall = n;
    int start = 0;
    while (start < n) {
        int end = start;
        int trigger =
            is(&(struct stmt){t + start, n - start}, 0, "CREATE") &&
            (find(&(struct stmt){t + start, n - start < 4 ? n - start : 4}, 0, "TRIGGER") >= 0);
        while (end < n) {
            if (strcmp(t[end].s, ";") == 0 &&
                (!trigger || (end > start && strcmp(t[end - 1].s, "END") == 0)))
                break;
            end++;
        }
        struct stmt s = {t + start, end - start};
        if (s.n > 0 && !trigger)
            for (size_t r = 0; r < sizeof(rules) / sizeof(rules[0]); r++)
                rules[r](c, &s);
        start = end + 1;
    }
    free(t);
}

static void lint_ops(struct ctx *c)
{
    for (int i = 0; i < c->m->nops; i++) {
        const struct mop *op = &c->m->ops[i];
        if (op->kind != MOP_ADD_COLUMN)
            continue;
        struct tok *t = NULL;
        int n = 0;
        if (tokenize(op->rest, op->line, &t, &n) < 0) {
            free(t);
            continue;
        }
        struct stmt s = {t, n};
        int nn = find(&s, 0, "NOT");
        if (nn >= 0 && is(&s, nn + 1, "NULL") && find(&s, 0, "DEFAULT") < 0)
            finding(c, op->line, "add-column-not-null",
                    "add_column %s.%s: NOT NULL without a DEFAULT fails on a non-empty table and "
                    "breaks the old version's INSERTs: give it a DEFAULT, or add it nullable and "
                    "enforce with 'add_constraint %s NAME CHECK (%s IS NOT NULL)'",
                    op->table, op->a, op->table, op->a);
        free(t);
    }
}

int lint_mfile(const struct mfile *m, enum mdb_kind kind, struct lint_report *r)
{
    struct ctx c = {.m = m, .kind = kind, .r = r};
    lint_ops(&c);
    lint_section(&c, &m->expand, SEC_EXPAND);
    lint_section(&c, &m->backfill, SEC_BACKFILL);
    lint_section(&c, &m->contract, SEC_CONTRACT);
    lint_section(&c, &m->abort_, SEC_ABORT);
    return c.added;
}

void lint_print(const struct lint_report *r, FILE *out)
{
    for (int i = 0; i < r->n; i++)
        fprintf(out, "%s.migration:%d: %s [%s]: %s\n", r->v[i].file, r->v[i].line, r->v[i].dialect,
                r->v[i].rule, r->v[i].msg);
}

void lint_report_free(struct lint_report *r)
{
    free(r->v);
    r->v = NULL;
    r->n = 0;
}
