/* Statement splitting for the linter and for no-transaction sections: PostgreSQL's own
 * parser (falling back to its scanner when a statement does not parse, so the others are
 * still found) and SQLite's sqlite3_complete. */
#include "migrate/sqlsplit.h"

#include <jansson.h>
#include <pg_query.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

const char *sqlsplit_skip_space(enum database_kind kind, const char *p)
{
    for (;;) {
        /* a vertical tab is space to SQLite's tokenizer, not to PostgreSQL's scanner */
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f' ||
               (*p == '\v' && kind == DATABASE_SQLITE))
            p++;
        if (p[0] == '-' && p[1] == '-') {
            /* PostgreSQL's scanner ends a comment at CR too; SQLite's only at LF */
            while (*p && *p != '\n' && !(kind == DATABASE_POSTGRES && *p == '\r'))
                p++;
        } else if (p[0] == '/' && p[1] == '*') {
            int depth = 1;
            p += 2;
            while (*p && depth > 0) {
                if (kind == DATABASE_POSTGRES && p[0] == '/' && p[1] == '*') {
                    depth++;
                    p += 2;
                } else if (p[0] == '*' && p[1] == '/') {
                    depth--;
                    p += 2;
                } else {
                    p++;
                }
            }
        } else {
            return p;
        }
    }
}

int sqlsplit_line(const char *sql, size_t off)
{
    int line = 0;
    for (size_t i = 0; i < off && sql[i]; i++)
        line += sql[i] == '\n';
    return line;
}

/* Appends the statement in [start, end) unless it holds nothing but comments. */
static int push(enum database_kind kind, const char *sql, size_t start, size_t end,
                struct sql_stmt **out, int *n)
{
    const char *first = sqlsplit_skip_space(kind, sql + start);
    while (*first == ';' && (size_t)(first - sql) < end)
        first = sqlsplit_skip_space(kind, first + 1);
    size_t off = (size_t)(first - sql);
    if (off >= end)
        return 0;
    while (end > off && (sql[end - 1] == ' ' || sql[end - 1] == '\n' || sql[end - 1] == '\t' ||
                         sql[end - 1] == '\r' || sql[end - 1] == ';'))
        end--;
    struct sql_stmt *v = realloc(*out, (size_t)(*n + 1) * sizeof(*v));
    if (!v)
        return -1;
    *out = v;
    v[*n] = (struct sql_stmt){.off = off, .len = end - off, .line = sqlsplit_line(sql, off)};
    (*n)++;
    return 0;
}

/* The byte offset of PostgreSQL's 1-based character position `cursor` in `s` (UTF-8). */
static size_t char_to_byte(const char *s, int cursor)
{
    size_t b = 0;
    for (int c = 1; c < cursor && s[b]; c++) {
        b++;
        while ((s[b] & 0xC0) == 0x80)
            b++;
    }
    return b;
}

/* PostgreSQL: the parser's split; when a statement does not parse, the scanner's, whose
 * gaps (it leaves out some statements it cannot classify) become statements too, so the
 * parser then reports them instead of their being skipped. */
static int split_pg(const char *sql, struct sql_stmt **out, int *n, size_t *err_off, struct err *e)
{
    PgQuerySplitResult r = pg_query_split_with_parser(sql);
    if (r.error) {
        pg_query_free_split_result(r);
        r = pg_query_split_with_scanner(sql);
    }
    int rc = 0;
    if (r.error) {
        *err_off = char_to_byte(sql, r.error->cursorpos);
        rc = err_set(e, "%s", r.error->message);
    }
    size_t total = strlen(sql), covered = 0;
    for (int i = 0; rc == 0 && i <= r.n_stmts; i++) {
        size_t start = i < r.n_stmts ? (size_t)r.stmts[i]->stmt_location : total;
        size_t end =
            i < r.n_stmts && r.stmts[i]->stmt_len ? start + (size_t)r.stmts[i]->stmt_len : total;
        if (start > total || end > total || start < covered)
            rc = err_set(e, "the statements of the section overlap");
        else if ((start > covered && push(DATABASE_POSTGRES, sql, covered, start, out, n) < 0) ||
                 (i < r.n_stmts && push(DATABASE_POSTGRES, sql, start, end, out, n) < 0))
            rc = err_set(e, "out of memory splitting statements");
        covered = end;
    }
    pg_query_free_split_result(r);
    return rc;
}

/* SQLite: a statement ends at the first ';' where sqlite3_complete says the text so far
 * is complete (a ';' inside a string, a comment or a trigger body is not an end). */
static int split_sqlite(const char *sql, struct sql_stmt **out, int *n, struct err *e)
{
    size_t start = 0, total = strlen(sql);
    for (size_t i = 0; i < total; i++) {
        if (sql[i] != ';')
            continue;
        char *piece = strndup(sql + start, i + 1 - start);
        if (!piece)
            return err_set(e, "out of memory splitting statements");
        int complete = sqlite3_complete(piece);
        free(piece);
        if (!complete)
            continue;
        if (push(DATABASE_SQLITE, sql, start, i, out, n) < 0)
            return err_set(e, "out of memory splitting statements");
        start = i + 1;
    }
    if (push(DATABASE_SQLITE, sql, start, total, out, n) < 0)
        return err_set(e, "out of memory splitting statements");
    return 0;
}

int sqlsplit(enum database_kind kind, const char *sql, struct sql_stmt **out, int *n,
             size_t *err_off, struct err *e)
{
    *out = NULL;
    *n = 0;
    *err_off = 0;
    int rc = kind == DATABASE_POSTGRES ? split_pg(sql, out, n, err_off, e)
                                       : split_sqlite(sql, out, n, e);
    if (rc < 0) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

/* The one statement of a parse tree in JSON, as {"NodeType": {...}}, or NULL. */
static json_t *only_stmt(json_t *root)
{
    json_t *stmts = json_object_get(root, "stmts");
    if (json_array_size(stmts) != 1)
        return NULL;
    return json_object_get(json_array_get(stmts, 0), "stmt");
}

static int has_concurrently(json_t *params)
{
    size_t i;
    json_t *p;
    json_array_foreach(params, i, p)
    {
        const char *name =
            json_string_value(json_object_get(json_object_get(p, "DefElem"), "defname"));
        if (name && strcmp(name, "concurrently") == 0)
            return 1;
    }
    return 0;
}

/* 'text' as an SQL literal (single quotes doubled). Caller frees. */
static char *literal(const char *text)
{
    size_t n = strlen(text);
    char *out = malloc(2 * n + 3), *o = out;
    if (!out)
        return NULL;
    *o++ = '\'';
    for (const char *p = text; *p; p++) {
        if (*p == '\'')
            *o++ = '\'';
        *o++ = *p;
    }
    *o++ = '\'';
    *o = 0;
    return out;
}

/* The SQL expression naming index `name` (in `schema`, if given) for to_regclass. */
static char *regclass_expr(const char *schema, const char *name)
{
    char *ls = schema ? literal(schema) : NULL, *ln = literal(name), *out = NULL;
    if (ln && (!schema || ls) &&
        asprintf(&out, "%s%s%squote_ident(%s)", schema ? "quote_ident(" : "", schema ? ls : "",
                 schema ? ") || '.' || " : "", ln) < 0)
        out = NULL;
    free(ls);
    free(ln);
    return out;
}

static char *guard_of(const char *schema, const char *name, int reindex)
{
    char *rel = regclass_expr(schema, name), *ln = literal(name), *guard = NULL;
    int rc = -1;
    if (rel && ln && !reindex)
        rc =
            asprintf(&guard,
                     "SELECT format('DROP INDEX CONCURRENTLY IF EXISTS %%s', indexrelid::regclass) "
                     "FROM pg_index WHERE NOT indisvalid AND indexrelid = to_regclass(%s)",
                     rel);
    else if (rel && ln)
        rc = asprintf(
            &guard,
            "SELECT format('DROP INDEX CONCURRENTLY IF EXISTS %%s', i.indexrelid::regclass) "
            "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE NOT "
            "i.indisvalid AND c.relname ~ '_cc(new|old)[0-9]*$' AND starts_with(c.relname, "
            "left(%s, 40)) AND i.indrelid = (SELECT indrelid FROM pg_index WHERE "
            "indexrelid = to_regclass(%s))",
            ln, rel);
    if (rc < 0)
        guard = NULL;
    free(rel);
    free(ln);
    return guard;
}

char *sqlsplit_pg_leftover_guard(const char *stmt)
{
    PgQueryParseResult r = pg_query_parse(stmt);
    json_t *root = r.error ? NULL : json_loads(r.parse_tree, 0, NULL);
    json_t *s = root ? only_stmt(root) : NULL;
    json_t *idx = json_object_get(s, "IndexStmt"), *re = json_object_get(s, "ReindexStmt");
    const char *kind = json_string_value(json_object_get(re, "kind"));
    char *guard = NULL;
    if (idx && json_is_true(json_object_get(idx, "concurrent")) &&
        json_string_value(json_object_get(idx, "idxname"))) {
        json_t *rel = json_object_get(idx, "relation");
        guard = guard_of(json_string_value(json_object_get(rel, "schemaname")),
                         json_string_value(json_object_get(idx, "idxname")), 0);
    } else if (re && kind && strcmp(kind, "REINDEX_OBJECT_INDEX") == 0 &&
               has_concurrently(json_object_get(re, "params"))) {
        json_t *rel = json_object_get(re, "relation");
        const char *name = json_string_value(json_object_get(rel, "relname"));
        if (name)
            guard = guard_of(json_string_value(json_object_get(rel, "schemaname")), name, 1);
    }
    json_decref(root);
    pg_query_free_parse_result(r);
    return guard;
}
