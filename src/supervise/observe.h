/* What `baton run --metrics ADDR` shows: the master's admin listener (src/obs/admin.h)
 * with its metrics (generations, workers, upgrades, rollbacks, re-execs, restarts, the
 * upgrade phases as histograms), its status page data (status plus the last upgrades'
 * timelines) and its actions (upgrade, rollback). It follows the generations through
 * the notes the master routes, so the parts below the master know nothing of it. */
#ifndef BATON_SUPERVISE_OBSERVE_H
#define BATON_SUPERVISE_OBSERVE_H

#include <jansson.h>

#include "core/err.h"
#include "supervise/ctx.h"
#include "supervise/gens.h"
#include "supervise/op.h"

struct runobs;

/* Opens the admin listener when ctx->o->metrics is set (else *out = NULL, 0);
 * `status` builds the master's `status` reply (new reference). */
int runobs_open(struct runobs **out, struct run_ctx *ctx, struct gens *gs, struct ops *q,
                json_t *(*status)(void *data), void *status_data, struct err *e);
/* Every note the master routed (after it did): follows generations and operations. */
void runobs_note(struct runobs *r, enum run_note n, struct gen *g);
/* Closes the listener. Safe on NULL. */
void runobs_free(struct runobs *r);

#endif
