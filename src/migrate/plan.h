/* Turns a parsed migration into the SQL steps of each phase for one database dialect:
 * the declarative operations are written here (triggers, batched copies, CONCURRENTLY,
 * NOT VALID + VALIDATE, views), raw sections are passed through. */
#ifndef BATON_MIGRATE_PLAN_H
#define BATON_MIGRATE_PLAN_H

#include "core/err.h"
#include "migrate/mdb.h"
#include "migrate/mfile.h"

enum plan_phase { PLAN_EXPAND, PLAN_BACKFILL, PLAN_CONTRACT, PLAN_ABORT, PLAN_NPHASES };

enum step_kind {
    STEP_SQL,         /* sql in one transaction with the ledger update; when `only_if` is set,
                         the sql runs only if that query (in the same transaction) returns a row */
    STEP_SQL_NO_TX,   /* sql outside a transaction (CONCURRENTLY); idempotent; `guard`, when
                         set, is a query whose rows are statements to run first (the drop of an
                         invalid index a killed run left behind) */
    STEP_BATCH,       /* sql with :lo/:hi run per batch over table.key, each batch a tx */
    STEP_ASSERT_ZERO, /* sql returns a count that must be 0 (SQLite constraint validation) */
    STEP_DROP_COLUMN, /* drop table.column if it still exists (SQLite has no IF EXISTS) */
};

struct plan_step {
    enum step_kind kind;
    char *desc; /* one line for `plan` */
    char *sql;
    char *guard;   /* STEP_SQL_NO_TX */
    char *only_if; /* STEP_SQL */
    char table[MFILE_IDENT_MAX], key[MFILE_IDENT_MAX];
};

struct plan {
    struct plan_step *steps[PLAN_NPHASES];
    int n[PLAN_NPHASES];
    /* set when a column or table could not be looked up (gone, or renamed by this
       migration): only contract and abort steps are then valid */
    int unresolved;
};

/* A column as the planner needs it to write triggers: its name, its default expression
 * (NULL when none) and its position in the primary key (0 when not in it). */
struct plan_column {
    char *name;
    char *dflt;
    int pk;
};

/* What the planner asks the database. type_of: the declared type of table.column, -1 if
 * there is no such column. columns_of: the columns of `table` in order (*cols: caller
 * frees with plan_columns_free), -1 if there is no such table. */
struct plan_lookup {
    int (*type_of)(void *ctx, const char *table, const char *column, char *type, size_t cap);
    int (*columns_of)(void *ctx, const char *table, struct plan_column **cols, int *n);
    void *ctx;
};

/* Builds the steps of migration `m` for `kind`. Caller frees with plan_free. Fails on
 * an operation the dialect cannot do (add_primary_key and add_foreign_key on SQLite). */
int plan_build(const struct mfile *m, enum mdb_kind kind, const struct plan_lookup *look,
               struct plan *out, struct err *e);
void plan_free(struct plan *p);
const char *plan_phase_name(enum plan_phase ph);
void plan_columns_free(struct plan_column *cols, int n);

/* The database's own lookups, for plan_build. */
struct plan_lookup plan_db_lookup(struct mdb *db);
int plan_db_type(void *ctx, const char *table, const char *column, char *type, size_t cap);

#endif
