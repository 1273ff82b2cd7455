/* What a deploy is asked to do (deploy.h's deploy_run), apart from the deploy file: the
 * mode, the releases, where the display goes. Shared by the rollout's files. */
#ifndef BATON_DEPLOY_DEPLOY_OPTS_H
#define BATON_DEPLOY_DEPLOY_OPTS_H

#include <stdio.h>

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

#endif
