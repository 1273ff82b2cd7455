/* The backfill walker of `baton migrate` (backfill.c), which the phases engine runs for
 * each batched step. Not a public header. */
#ifndef BATON_MIGRATE_BACKFILL_H
#define BATON_MIGRATE_BACKFILL_H

#include "migrate/runner.h"

/* Runs a STEP_BATCH step from the ledger's position to the end of its table: one short
 * transaction per batch that also stores the new position, sized to the time target and
 * paced by the duty cycle. */
int backfill_run(struct run *r, const struct mfile *m, struct ledger_entry *le,
                 const struct plan_step *s, int idx, struct err *e);

#endif
