/* The plan of a deploy: from the deploy file and the progress recorded so far, which
 * hosts go forward and in which order (canaries first, then the rest in file order),
 * which come back on a revert (the reverse), and which database steps and bake are
 * left. Pure, so it is unit-tested alone; --dry-run prints it with every command. */
#ifndef BATON_DEPLOY_DPLAN_H
#define BATON_DEPLOY_DPLAN_H

#include <stdio.h>

#include "core/err.h"
#include "deploy/balancer.h"
#include "deploy/dfile.h"
#include "deploy/dstate.h"

enum dplan_mode { DPLAN_DEPLOY, DPLAN_RESUME, DPLAN_ABORT };

struct dplan {
    enum dplan_mode mode;
    int *order; /* every host, canaries first: the rollout's order */
    int n;
    int *forward; /* hosts still to take forward (in order; those mid-step first) */
    int nforward;
    int ncanary; /* how many of `forward` are canaries (they go before the bake) */
    int *back;   /* hosts to take back on abort, in order (reverse of `order`) */
    int nback;
    int expand, bake, contract; /* still to run */
};

int dplan_make(const struct dfile *df, const struct dstate *st, enum dplan_mode mode,
               struct dplan *p, struct err *e);
void dplan_free(struct dplan *p);

/* Writes the plan: every step, host by host, with the commands it will run on the
 * hosts and send to each balancer endpoint (`drv`'s own words). */
void dplan_print(const struct dplan *p, const struct dfile *df, const struct dstate *st,
                 const struct balancer_driver *drv, const char *migrate, FILE *out);

#endif
