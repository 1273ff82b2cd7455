/* The writers of the operations that replace the statements the linter refuses
 * (plan_ops.c), which plan_build calls per operation. Not a public header. */
#ifndef BATON_MIGRATE_PLAN_OPS_H
#define BATON_MIGRATE_PLAN_OPS_H

#include "migrate/plan_steps.h"

/* One writer per operation. */
int plan_drop_index(const struct plan_ctx *c, const struct mfile_op *op);
int plan_add_key(const struct plan_ctx *c, const struct mfile_op *op);
int plan_add_foreign_key(const struct plan_ctx *c, const struct mfile_op *op);
int plan_reindex(const struct plan_ctx *c, const struct mfile_op *op);
int plan_set_not_null(const struct plan_ctx *c, const struct mfile_op *op);
int plan_rename_table(const struct plan_ctx *c, const struct mfile_op *op);

#endif
