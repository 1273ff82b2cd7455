/* `baton deploy` as a library: roll a release across the fleet of a deploy file,
 * resume a stopped deploy, abort one (revert), print the plan, show the progress. The
 * verb (src/cli/cmd_deploy.c) parses the arguments and calls these. */
#ifndef BATON_DEPLOY_DEPLOY_H
#define BATON_DEPLOY_DEPLOY_H

#include <stdio.h>

#include "core/err.h"
#include "deploy/dfile.h"
#include "deploy/deploy_opts.h"
#include "deploy/progress.h"

/* Runs the deploy to its end. 0: every host serves the release (or, for abort, the
 * previous one). -1: it failed, was reverted or stopped; `e` says why and what to do. */
int deploy_run(const struct dfile *df, const struct deploy_opts *o, struct err *e);

/* Prints what deploy_run would do (nothing is contacted). */
int deploy_dry_run(const struct dfile *df, const struct deploy_opts *o, FILE *out, struct err *e);

/* Prints the progress file and who holds the lease now (asked over SSH or the
 * database; an unreachable lease is reported, not an error). */
int deploy_status(const struct dfile *df, const struct deploy_opts *o, int json, FILE *out,
                  struct err *e);

#endif
