/* Turns a parsed migration into the SQL steps of each phase for one database dialect:
 * the declarative operations are written here (triggers, batched copies, CONCURRENTLY,
 * NOT VALID + VALIDATE, views), raw sections are passed through. */
#ifndef BATON_MIGRATE_PLAN_H
#define BATON_MIGRATE_PLAN_H

#include "core/err.h"
#include "migrate/database.h"
#include "migrate/mfile.h"
#include "migrate/plan_steps.h"

/* Builds the steps of migration `m` for `kind`. Caller frees with plan_free. Fails on
 * an operation the dialect cannot do (add_primary_key and add_foreign_key on SQLite). */
int plan_build(const struct mfile *m, enum database_kind kind, const struct plan_lookup *look,
               struct plan *out, struct err *e);

/* The database's own lookups, for plan_build. */
struct plan_lookup plan_db_lookup(struct database *db);
int plan_db_type(void *ctx, const char *table, const char *column, char *type, size_t cap);

#endif
