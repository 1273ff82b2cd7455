/* The commands baton deploy runs on a host, built in one place so that --dry-run
 * prints exactly what the rollout sends: baton upgrade / rollback / status for
 * in-place hosts, the deploy file's own commands for remove-upgrade-add. */
#ifndef BATON_DEPLOY_REMOTE_H
#define BATON_DEPLOY_REMOTE_H

#include <jansson.h>
#include <stddef.h>

#include "core/err.h"
#include "deploy/dfile.h"

#define REMOTE_CMD_MAX 4096
/* How long a remove-upgrade-add command waits for the host's lock (held by a command
 * that a killed deploy left running there) before it fails. */
#define REMOTE_LOCK_WAIT_S 600

/* Installs and starts `release` (in-place: `baton upgrade --json --name N -- CMD`; the
 * remove-upgrade-add commands run under a per-host lock, see remote.c). */
int remote_upgrade(const struct dfile *df, const struct df_host *h, const char *release, char *out,
                   size_t cap, struct err *e);
/* Goes back to `from` (in-place: `baton rollback --json --name N`; remove-upgrade-add:
 * `revert`, else `upgrade`, with {release} = from). */
int remote_revert(const struct dfile *df, const struct df_host *h, const char *from, char *out,
                  size_t cap, struct err *e);
/* Asks which release runs: in-place `baton status --json --name N`; remove-upgrade-add
 * the `probe` command ("" when there is none). */
int remote_probe(const struct dfile *df, const struct df_host *h, const char *release, char *out,
                 size_t cap, struct err *e);

/* Whether the probe's output says the host runs `release`: in-place, the current
 * generation's command is the release's command word for word; else the output's
 * first line is the release's name. 1 yes, 0 no, -1 the output is not understood. */
int remote_runs(const struct dfile *df, const struct df_host *h, const char *release,
                const char *output, struct err *e);

#endif
