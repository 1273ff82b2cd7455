/* A plan's steps: the phases, the kinds of step, and the helpers with which every
 * operation's writer (plan.c, plan_ops.c) adds steps (plan_steps.c). The planner's
 * lowest floor; plan.h is its public face. */
#ifndef BATON_MIGRATE_PLAN_STEPS_H
#define BATON_MIGRATE_PLAN_STEPS_H

#include <stdarg.h>
#include <stddef.h>

#include "core/err.h"
#include "migrate/database.h"
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

void plan_free(struct plan *p);
const char *plan_phase_name(enum plan_phase ph);
void plan_columns_free(struct plan_column *cols, int n);

/* What an operation's writer gets: where its steps go, and `late`, the backfill steps
 * that must run after the raw [backfill] (validations a backfill may first make pass). */
struct plan_ctx {
    struct plan *p, *late;
    const struct mfile *m;
    enum database_kind kind;
    const struct plan_lookup *look;
    struct err *e; /* for refusals: an operation the dialect cannot do */
};

/* A printf-formatted string; NULL on allocation failure. Caller frees. */
char *plan_fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
char *plan_vfmt(const char *f, va_list ap) __attribute__((format(printf, 1, 0)));
/* A new zeroed step at the end of phase `ph`; NULL on allocation failure. */
struct plan_step *plan_step_new(struct plan *p, enum plan_phase ph, enum step_kind kind);
/* Adds a step owning `sql` (freed on failure); -1 on allocation failure. */
int plan_step(struct plan *p, enum plan_phase ph, enum step_kind kind, const char *desc, char *sql);
/* A STEP_BATCH step over table.key owning `sql`. */
int plan_step_batch(struct plan *p, const char *desc, const char *table, const char *key,
                    char *sql);
struct plan_step *plan_last(struct plan *p, enum plan_phase ph);
/* A STEP_SQL_NO_TX step; on PostgreSQL with the guard that drops what a killed
   CONCURRENTLY build of it left behind. */
int plan_step_no_tx(const struct plan_ctx *c, struct plan *p, enum plan_phase ph, const char *desc,
                    char *sql);
int plan_step_drop_column(struct plan *p, enum plan_phase ph, enum database_kind kind,
                          const char *table, const char *col);
/* A short stable name for the objects baton creates for one operation. */
void plan_object_name(char *out, size_t cap, const char *prefix, const struct mfile *m,
                      const struct mfile_op *op);
/* The key of a table as the left side of a comparison ("id", "(a, b)") and the same
   for the NEW row of a trigger ("NEW.id", "(NEW.a, NEW.b)"). */
void plan_key_exprs(const char *key, char *kx, size_t kcap, char *nx, size_t ncap);
/* SQLite has no ALTER for constraints: triggers reject new rows failing `expr`, and a
   backfill step (added to `bf`) counts the old ones, which must be 0. `name` prefixes
   the triggers. */
int plan_sqlite_check(const struct plan_ctx *c, struct plan *bf, const struct mfile_op *op,
                      const char *name, const char *expr);

#endif
