/* The SQLite lint rules (lint_sqlite_rules.c) and what they read: the in-memory copy with
 * what the authorizer saw of the statement being prepared (filled by lint_sqlite.c), and
 * one statement with the schema change it made. Not a public header. */
#ifndef BATON_MIGRATE_LINT_SQLITE_RULES_H
#define BATON_MIGRATE_LINT_SQLITE_RULES_H

#include <sqlite3.h>

#include "migrate/lint_file.h"

#define SQ_ACTS_MAX 256
#define SQ_NAME_MAX 256

/* One authorizer call: what the statement does (SQLITE_INSERT, SQLITE_ALTER_TABLE...)
 * and its two names (for SQLITE_ALTER_TABLE: the database and the table). */
struct sq_act {
    int code;
    char a[SQ_NAME_MAX], b[SQ_NAME_MAX];
};

struct sq {
    struct lint_file *f;
    sqlite3 *db;               /* the in-memory copy */
    struct lint_names stubs;   /* stand-ins ("table", "column", "index"... . name) */
    struct lint_names dropped; /* tables dropped earlier in the section */
    struct lint_names mine;    /* what this migration created ("table", "column"... . name) */
    int collecting;            /* the authorizer records into acts (during prepare only) */
    struct sq_act acts[SQ_ACTS_MAX];
    int nacts;
    int progress; /* progress callbacks of the statement being run */
};

/* A column as SQLite's table_info reports it. */
struct sq_col {
    char *name, *dflt;
    int notnull;
};

struct sq_stmt {
    struct sq *q;
    struct lint_file *f;
    int line;
    sqlite3_stmt *st;
    int vacuum;
    /* for an ALTER TABLE: the table, its columns before and after, and its new name */
    char altered[SQ_NAME_MAX], renamed_to[SQ_NAME_MAX];
    struct sq_col *before, *after;
    int nbefore, nafter;
    char **tables_before; /* every table of the copy before the statement */
    int ntables_before;
};

void lint_sqlite_before(struct sq_stmt *s);
void lint_sqlite_after(struct sq_stmt *s);
void lint_sqlite_check(const struct sq_stmt *s);
/* Records what a statement created or dropped, for the statements after it. */
void lint_sqlite_track(const struct sq_stmt *s);
void lint_sqlite_stmt_free(struct sq_stmt *s);

/* The rule table: how many, and each (NULL past the end). */
int lint_sqlite_rule_count(void);
const struct lint_rule *lint_sqlite_rule_at(int i);

#endif
