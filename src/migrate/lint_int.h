/* Internals of the linter shared by lint.c (findings, facts, sections), lint_pg*.c
 * (PostgreSQL) and lint_sqlite*.c (SQLite). Not a public header. */
#ifndef BATON_MIGRATE_LINT_INT_H
#define BATON_MIGRATE_LINT_INT_H

#include "migrate/lint.h"

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
    enum mdb_kind kind;
    const struct lint_opts *o;
    struct lint_report *r;
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

/* The dialects. Each lints the declarative operations it has SQL for, then the raw
 * sections in order; on any statement it cannot read it reports "syntax-error". */
int lint_pg_file(struct lint_file *f);
int lint_sqlite_file(struct lint_file *f);
/* Their rule tables (lint_pg_rules.c, lint_sqlite.c): count and entries. */
int lint_pg_rule_count(void);
const struct lint_rule *lint_pg_rule_at(int i);
int lint_sqlite_rule_count(void);
const struct lint_rule *lint_sqlite_rule_at(int i);

#endif
