/* Taking over after the master was killed: the new master reads the state file the old
 * one left, takes each listening socket back from a surviving worker (pidfd_getfd; the
 * fd must be a listening socket on the recorded address; not in a mode whose workers
 * bind the sockets themselves) and adopts the survivors as orphan generations: the
 * current one serves, the others drain. */
#ifndef BATON_SUPERVISE_RECOVER_H
#define BATON_SUPERVISE_RECOVER_H

#include <jansson.h>

#include "core/err.h"
#include "supervise/ctx.h"
#include "supervise/gens.h"
#include "supervise/mode.h"
#include "supervise/state.h"

/* `root`: the old master's state; `listen`: its listening sockets; `master_pid`: for
 * the logs. Fills listen_fds[i] (those still -1) with the sockets taken back. Returns
 * -1 when the survivors cannot be taken over (a proxy-mode state with live processes,
 * unless every generation runs a container: the mode's `orphans` takes over its proxy
 * worker); 0 otherwise, also when there was nothing to take over. */
int recover_run(struct run_ctx *ctx, struct mode *md, struct gens *gs, json_t *root,
                const struct state_listen *listen, int nlisten, int master_pid, int *listen_fds,
                const char *state_path, struct err *e);

#endif
