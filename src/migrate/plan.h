/* Turns a parsed migration into the SQL steps of each phase for one database dialect:
 * the declarative operations are written here (triggers, batched copies, CONCURRENTLY,
 * NOT VALID + VALIDATE), raw sections are passed through. */
#ifndef BATON_MIGRATE_PLAN_H
#define BATON_MIGRATE_PLAN_H

#include "core/err.h"
#include "migrate/mdb.h"
#include "migrate/mfile.h"

enum plan_phase { PLAN_EXPAND, PLAN_BACKFILL, PLAN_CONTRACT, PLAN_ABORT, PLAN_NPHASES };

enum step_kind {
    STEP_SQL,         /* sql in one transaction with the ledger update */
    STEP_SQL_NO_TX,   /* sql outside a transaction (CREATE INDEX CONCURRENTLY); idempotent;
                         if `guard` returns a row, `fix` runs first (drop an invalid index) */
    STEP_BATCH,       /* sql with :lo/:hi run per batch over table.key, each batch a tx */
    STEP_ASSERT_ZERO, /* sql returns a count that must be 0 (SQLite constraint validation) */
    STEP_DROP_COLUMN, /* drop table.column if it still exists (SQLite has no IF EXISTS) */
};

struct plan_step {
    enum step_kind kind;
    char *desc; /* one line for `plan` */
    char *sql;
    char *guard, *fix;
    char table[MFILE_IDENT_MAX], key[MFILE_IDENT_MAX];
};

struct plan {
    struct plan_step *steps[PLAN_NPHASES];
    int n[PLAN_NPHASES];
    /* set when a column type could not be looked up (column gone): only contract
       steps are then valid */
    int unresolved;
};

/* Looks up the declared type of table.column; returns -1 if there is no such column. */
typedef int (*plan_type_fn)(void *ctx, const char *table, const char *column, char *type,
                            size_t cap);

/* Builds the steps of migration `m` for `kind`. Caller frees with plan_free. */
int plan_build(const struct mfile *m, enum mdb_kind kind, plan_type_fn type_of, void *ctx,
               struct plan *out, struct err *e);
void plan_free(struct plan *p);
const char *plan_phase_name(enum plan_phase ph);

/* The database's own type lookup, for plan_build (ctx is a struct mdb *). */
int plan_db_type(void *ctx, const char *table, const char *column, char *type, size_t cap);

#endif
