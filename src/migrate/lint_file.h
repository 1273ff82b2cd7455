/* One migration file being linted, and what the rules of both dialects record their
 * findings with: the report, the rules, the options and facts, the sets of table names
 * a section created or locked (lint_file.c). The linter's lowest floor: the dialects
 * (lint_pg*.c, lint_sqlite*.c) stand on it, lint.c above them; lint.h is its public face. */
#ifndef BATON_MIGRATE_LINT_FILE_H
#define BATON_MIGRATE_LINT_FILE_H

#include <stddef.h>

#include "core/err.h"
#include "migrate/database.h"
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

/* A rule: its name, and what a finding under it says. */
struct lint_rule {
    const char *name;
    int style;          /* off unless --style */
    const char *hazard; /* the lock taken and what it blocks, the rewrite or scan, or how the
                           running version breaks */
    const char *recipe; /* the safe way, in baton's operations */
};
enum lint_sec { SEC_OPS, SEC_EXPAND, SEC_BACKFILL, SEC_CONTRACT, SEC_ABORT };

/* A set of table names, "schema.name" (".name" when unqualified). */
struct lint_names {
    char **v;
    int n;
};
void lint_names_add(struct lint_names *s, const char *schema, const char *table);
int lint_names_has(const struct lint_names *s, const char *schema, const char *table);
void lint_names_free(struct lint_names *s);

/* One migration file being linted for one dialect. */
struct lint_file {
    const struct mfile *m;
    enum database_kind kind;
    const struct lint_opts *o;
    struct lint_report *r;
    /* the dialect's rules, by index (NULL past the end), for lint_hit_named */
    const struct lint_rule *(*rule_at)(int i);
    int added;
    enum lint_sec sec; /* the section being linted */
    int no_tx;         /* ...is marked no-transaction */
    int line0;         /* line of the section's first SQL line (an operation's line) */
    /* tables created earlier in the section: nobody else can see them yet, so locking
       or rewriting them blocks no one */
    struct lint_names created;
    /* tables the section's transaction already holds an ACCESS EXCLUSIVE lock on */
    struct lint_names locked;
};

/* The rules both dialects share, word for word: {name, style, hazard, recipe}. */
#define LINT_RULE_SYNTAX_ERROR                                                                     \
    {                                                                                              \
        "syntax-error", 0, NULL, "fix the statement; expand refuses a migration with findings"     \
    }
#define LINT_RULE_UNCHECKED                                                                        \
    {                                                                                              \
        "unchecked", 0, "baton could not check this statement", "write it more simply or split it" \
    }
#define LINT_RULE_DROP_COLUMN                                                                      \
    {                                                                                              \
        "drop-column-in-expand", 0,                                                                \
            "the app version still running reads and writes the column until contract",            \
            "use 'drop_column TABLE COLUMN' (dropped at contract), or move it to [contract]"       \
    }
#define LINT_RULE_DROP_TABLE                                                                       \
    {                                                                                              \
        "drop-table-in-expand", 0, "the app version still running uses the table until contract",  \
            "move it to [contract]"                                                                \
    }
#define LINT_RULE_RENAME_COLUMN                                                                    \
    {                                                                                              \
        "rename-column", 0,                                                                        \
            "the app version still running uses the old name, and every query naming it fails",    \
            "use 'rename_column TABLE OLD NEW' (a new column kept equal by triggers, batched "     \
            "backfill, the old one dropped at contract)"                                           \
    }

/* Frees what `f` collected (not its report). */
void lint_file_free(struct lint_file *f);
/* Starts linting a section (or, with SEC_OPS, the operations). */
void lint_section_start(struct lint_file *f, enum lint_sec sec, int no_tx, int line0);

/* Adds a finding of `rule` at `line`: "<what>: <hazard>; <recipe>", followed by `note`
 * when not NULL (what a rule assumed without a database). */
void lint_hit(struct lint_file *f, const struct lint_rule *rule, int line, const char *note,
              const char *what, ...) __attribute__((format(printf, 5, 6)));
/* A finding under the rule named `name` of the dialect's table. */
void lint_hit_named(struct lint_file *f, const char *name, int line, const char *what, ...)
    __attribute__((format(printf, 4, 5)));

int lint_in_expand(const struct lint_file *f);
/* Whether locking or rewriting `table` blocks no one for long: created earlier in this
 * section, or (from the database) smaller than o->small_rows. When nothing says so, *note
 * is set to what the rule assumed (points into `buf`). */
int lint_table_is_cheap(struct lint_file *f, const char *schema, const char *table,
                        const char **note, char *buf, size_t cap);
/* Whether `table` was created earlier in this section. */
int lint_table_is_new(const struct lint_file *f, const char *schema, const char *table);

#endif
