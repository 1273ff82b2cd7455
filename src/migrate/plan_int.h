/* Internals of the planner shared by plan.c (the file, the first operations, raw
 * sections) and plan_ops.c (indexes, keys, NOT NULL, table renames). Not a public header. */
#ifndef BATON_MIGRATE_PLAN_INT_H
#define BATON_MIGRATE_PLAN_INT_H

#include <stdarg.h>

#include "migrate/plan.h"

/* What an operation's writer gets: where its steps go, and `late`, the backfill steps
 * that must run after the raw [backfill] (validations a backfill may first make pass). */
struct plan_ctx {
    struct plan *p, *late;
    const struct mfile *m;
    enum mdb_kind kind;
    const struct plan_lookup *look;
    struct err *e; /* for refusals: an operation the dialect cannot do */
};

/* A printf-formatted string; NULL on allocation failure. Caller frees. */
char *plan_fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
char *plan_vfmt(const char *f, va_list ap) __attribute__((format(printf, 1, 0)));
/* Adds a step owning `sql` (freed on failure); -1 on allocation failure. */
int plan_step(struct plan *p, enum plan_phase ph, enum step_kind kind, const char *desc, char *sql);
struct plan_step *plan_last(struct plan *p, enum plan_phase ph);
/* A STEP_SQL_NO_TX step; on PostgreSQL with the guard that drops what a killed
   CONCURRENTLY build of it left behind. */
int plan_step_no_tx(const struct plan_ctx *c, struct plan *p, enum plan_phase ph, const char *desc,
                    char *sql);
int plan_step_drop_column(struct plan *p, enum plan_phase ph, enum mdb_kind kind, const char *table,
                          const char *col);
/* A short stable name for the objects baton creates for one operation. */
void plan_object_name(char *out, size_t cap, const char *prefix, const struct mfile *m,
                      const struct mop *op);
/* SQLite has no ALTER for constraints: triggers reject new rows failing `expr`, and a
   backfill step (added to `bf`) counts the old ones, which must be 0. `name` prefixes
   the triggers. */
int plan_sqlite_check(const struct plan_ctx *c, struct plan *bf, const struct mop *op,
                      const char *name, const char *expr);

/* plan_ops.c: one writer per operation. */
int plan_drop_index(const struct plan_ctx *c, const struct mop *op);
int plan_add_key(const struct plan_ctx *c, const struct mop *op);
int plan_add_foreign_key(const struct plan_ctx *c, const struct mop *op);
int plan_reindex(const struct plan_ctx *c, const struct mop *op);
int plan_set_not_null(const struct plan_ctx *c, const struct mop *op);
int plan_rename_table(const struct plan_ctx *c, const struct mop *op);

#endif
