/* Facts for the linter from the database a migration will run against (--db): whether a
 * table exists and has fewer rows than a limit, whether a function is VOLATILE, a column's
 * type and whether it is proved NOT NULL, and (SQLite) the statements of its schema. Every
 * query only reads, under a short lock timeout on PostgreSQL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrate/lint.h"

/* `s` as a quoted identifier ("...", quotes doubled) appended to out. */
static void quote(char *out, size_t cap, const char *s, char q)
{
    size_t o = strlen(out);
    if (o + 3 >= cap)
        return;
    out[o++] = q;
    for (; *s && o + 3 < cap; s++) {
        if (*s == q)
            out[o++] = q;
        out[o++] = *s;
    }
    out[o++] = q;
    out[o] = 0;
}

/* "schema"."table" (or "table"). */
static void qualified(char *out, size_t cap, const char *schema, const char *table)
{
    out[0] = 0;
    if (schema) {
        quote(out, cap, schema, '"');
        strncat(out, ".", cap - strlen(out) - 1);
    }
    quote(out, cap, table, '"');
}

/* 'text' as an SQL literal. */
static void literal(char *out, size_t cap, const char *text)
{
    out[0] = 0;
    quote(out, cap, text, '\'');
}

/* The first cell of a query: 1 if "t"/"1"..., 0 if false or 0, -1 on no row or error;
 * the text into `val` when given. */
static int ask(struct database *db, const char *sql, char *val, size_t cap)
{
    struct database_rows r;
    struct err e;
    if (database_query(db, sql, &r, &e) < 0)
        return -1;
    const char *v = database_cell(&r, 0, 0);
    int rc = !v ? -1 : (v[0] == 't' || (v[0] >= '1' && v[0] <= '9')) ? 1 : 0;
    if (v && val)
        snprintf(val, cap, "%s", v);
    database_rows_free(&r);
    return rc;
}

/* Rows of `table` below `limit`, counted under a short lock and statement timeout. */
static long count_rows(struct database *db, const char *table_sql, long limit)
{
    char sql[1200], val[32];
    int pg = database_kind(db) == DATABASE_POSTGRES;
    struct err e;
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM (SELECT 1 FROM %s LIMIT %ld) x", table_sql,
             limit);
    if (pg && (database_exec(db, "BEGIN READ ONLY", &e) < 0 ||
               database_exec(db, "SET LOCAL lock_timeout = '200ms'", &e) < 0 ||
               database_exec(db, "SET LOCAL statement_timeout = '5s'", &e) < 0)) {
        database_rollback(db);
        return -1;
    }
    int rc = ask(db, sql, val, sizeof(val));
    if (pg)
        database_rollback(db);
    return rc < 0 ? -1 : strtol(val, NULL, 10);
}

static int table_fact(void *ctx, const char *schema, const char *table, long limit, long *rows)
{
    struct database *db = ctx;
    char q[600], lit[1300], sql[1600];
    qualified(q, sizeof(q), schema, table);
    literal(lit, sizeof(lit), database_kind(db) == DATABASE_POSTGRES ? q : table);
    if (database_kind(db) == DATABASE_POSTGRES)
        snprintf(sql, sizeof(sql), "SELECT to_regclass(%s) IS NOT NULL", lit);
    else
        snprintf(sql, sizeof(sql),
                 "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = %s", lit);
    int exists = ask(db, sql, NULL, 0);
    if (exists != 1)
        return exists;
    *rows = count_rows(db, q, limit);
    return *rows < 0 ? -1 : 1;
}

static int volatile_fact(void *ctx, const char *schema, const char *name)
{
    struct database *db = ctx;
    char ln[300], ls[300] = "", sql[900];
    if (database_kind(db) != DATABASE_POSTGRES)
        return -1;
    literal(ln, sizeof(ln), name);
    if (schema) {
        char l[300];
        literal(l, sizeof(l), schema);
        snprintf(ls, sizeof(ls), " AND n.nspname = %s", l);
    }
    snprintf(sql, sizeof(sql),
             "SELECT bool_or(p.provolatile = 'v') FROM pg_proc p JOIN pg_namespace n ON n.oid = "
             "p.pronamespace WHERE p.proname = %s%s",
             ln, ls);
    return ask(db, sql, NULL, 0);
}

/* The pg_attribute row of a column: "FROM pg_attribute a WHERE ..." into out. */
static void attribute(char *out, size_t cap, const char *schema, const char *table, const char *col)
{
    char q[600], lq[1300], lc[300];
    qualified(q, sizeof(q), schema, table);
    literal(lq, sizeof(lq), q);
    literal(lc, sizeof(lc), col);
    snprintf(out, cap,
             "FROM pg_attribute a WHERE a.attrelid = to_regclass(%s) AND a.attname = %s AND NOT "
             "a.attisdropped",
             lq, lc);
}

static int not_null_fact(void *ctx, const char *schema, const char *table, const char *col)
{
    struct database *db = ctx;
    char from[1800], sql[2400];
    if (database_kind(db) != DATABASE_POSTGRES)
        return -1;
    attribute(from, sizeof(from), schema, table, col);
    snprintf(sql, sizeof(sql),
             "SELECT a.attnotnull OR EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conrelid = "
             "a.attrelid AND c.contype = 'c' AND c.convalidated AND pg_get_constraintdef(c.oid) = "
             "format('CHECK ((%%s IS NOT NULL))', quote_ident(a.attname))) %s",
             from);
    return ask(db, sql, NULL, 0);
}

static int type_fact(void *ctx, const char *schema, const char *table, const char *col, char *type,
                     size_t cap)
{
    struct database *db = ctx;
    char from[1800], sql[2000];
    if (database_kind(db) != DATABASE_POSTGRES)
        return -1;
    attribute(from, sizeof(from), schema, table, col);
    snprintf(sql, sizeof(sql), "SELECT format_type(a.atttypid, a.atttypmod) %s", from);
    return ask(db, sql, type, cap) < 0 ? -1 : 1;
}

static int schema_fact(void *ctx, char ***sql, int *n)
{
    struct database *db = ctx;
    struct database_rows r;
    struct err e;
    *sql = NULL;
    *n = 0;
    if (database_kind(db) != DATABASE_SQLITE ||
        database_query(db,
                       "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE "
                       "'sqlite_%' ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 WHEN "
                       "'view' THEN 2 ELSE 3 END, rowid",
                       &r, &e) < 0)
        return -1;
    *sql = calloc((size_t)(r.nrows ? r.nrows : 1), sizeof(char *));
    for (int i = 0; *sql && i < r.nrows; i++)
        if (database_cell(&r, i, 0) && ((*sql)[*n] = strdup(database_cell(&r, i, 0))) != NULL)
            (*n)++;
    database_rows_free(&r);
    return *sql ? 0 : -1;
}

struct lint_facts lint_facts_db(struct database *db)
{
    return (struct lint_facts){
        .table = table_fact,
        .volatile_function = volatile_fact,
        .not_null_proved = not_null_fact,
        .column_type = type_fact,
        .schema_sql = schema_fact,
        .ctx = db,
    };
}
