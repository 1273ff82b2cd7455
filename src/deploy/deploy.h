/* `baton deploy` as a library: roll a release across the fleet of a deploy file,
 * resume a stopped deploy, abort one (revert), print the plan, show the progress. The
 * verb (src/cli/cmd_deploy.c) parses the arguments and calls these. */
#ifndef BATON_DEPLOY_DEPLOY_H
#define BATON_DEPLOY_DEPLOY_H

#include <stdio.h>

#include "core/err.h"
#include "deploy/dfile.h"
#include "deploy/progress.h"

enum deploy_mode { DEPLOY_NEW, DEPLOY_RESUME, DEPLOY_ABORT };

struct deploy_opts {
    enum deploy_mode mode;
    const char *release;     /* DEPLOY_NEW: the release to roll out */
    const char *from;        /* the release the fleet runs now (else from the progress file) */
    int take_over;           /* take over a lease another deploy holds (seen stale) */
    enum pg_mode display;    /* tty table, plain lines or JSON events */
    FILE *out;               /* where the display goes */
    const char *migrate;     /* the baton-migrate executable (database steps, lease) */
    const char *runtime_dir; /* a private directory for ssh control sockets is made here */
};

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
