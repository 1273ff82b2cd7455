/* The migration linter: refuses statements and operations that would lock a busy table,
 * rewrite or scan it under a lock, or break the app version still running, each finding
 * with the hazard and the safe recipe in baton's own operations. PostgreSQL is read with
 * PostgreSQL's own parser (libpg_query), SQLite with SQLite itself (statements prepared
 * and run against an in-memory copy of the schema). */
#ifndef BATON_MIGRATE_LINT_H
#define BATON_MIGRATE_LINT_H

#include <stdio.h>

#include "core/err.h"
#include "migrate/mdb.h"
#include "migrate/mfile.h"

struct lint_finding {
    char file[MFILE_ID_MAX];
    int line;
    const char *rule;    /* e.g. "create-index-concurrently" */
    const char *dialect; /* "sqlite", "postgres" */
    char msg[2 * ERR_MSG_MAX];
};

struct lint_report {
    struct lint_finding *v;
    int n;
};

/* What the linter may ask the database a migration runs against. Every answer is
 * 1 (yes), 0 (no) or -1 (unknown: the rule then assumes the worst and says so). `schema`
 * is NULL for an unqualified name. */
struct lint_facts {
    /* Whether the table exists; *rows is set to its row count when it is below `limit`,
       else to `limit`. */
    int (*table)(void *ctx, const char *schema, const char *table, long limit, long *rows);
    /* Whether a function of that name may be VOLATILE (PostgreSQL). */
    int (*volatile_function)(void *ctx, const char *schema, const char *name);
    /* Whether the column is NOT NULL or has a validated CHECK (col IS NOT NULL). */
    int (*not_null_proved)(void *ctx, const char *schema, const char *table, const char *col);
    /* The column's type as format_type() writes it, e.g. "character varying(20)". */
    int (*column_type)(void *ctx, const char *schema, const char *table, const char *col,
                       char *type, size_t cap);
    /* SQLite: the statements that create the schema (sqlite_master.sql, tables first).
     *sql and each entry: caller frees. */
    int (*schema_sql)(void *ctx, char ***sql, int *n);
    void *ctx;
};

struct lint_opts {
    const struct lint_facts *facts; /* NULL: no database; every table assumed large */
    long small_rows;                /* a table with fewer rows may be locked briefly */
    int style;                      /* also run the style rules (off by default) */
};

/* Appends the findings of `m` for database `kind` to `r`; returns how many it added.
 * A statement the parser rejects is a finding (rule "syntax-error") with its line and
 * the parser's message; nothing is skipped silently. `o` may be NULL (defaults). */
int lint_mfile(const struct mfile *m, enum mdb_kind kind, const struct lint_opts *o,
               struct lint_report *r);
void lint_print(const struct lint_report *r, FILE *out);
void lint_report_free(struct lint_report *r);

/* Facts read from an open database (lint_facts.c); `db` must outlive the result. */
struct lint_facts lint_facts_db(struct mdb *db);

/* The rules, for docs and tests. */
struct lint_rule {
    const char *name;
    int style;          /* off unless --style */
    const char *hazard; /* the lock taken and what it blocks, the rewrite or scan, or how the
                           running version breaks */
    const char *recipe; /* the safe way, in baton's operations */
};
/* The rules of a dialect: how many, and each (NULL past the end). */
int lint_rule_count(enum mdb_kind kind);
const struct lint_rule *lint_rule_at(enum mdb_kind kind, int i);

#endif
