/* Readiness of a starting generation by --ready: exec:CMD (a probe retried every
 * 200 ms until it exits 0), after:MS (a delay), connect|http:PATH (each worker's port
 * checked every 100 ms). notify needs nothing here: the generation counts READY=1. */
#ifndef BATON_SUPERVISE_READY_H
#define BATON_SUPERVISE_READY_H

#include <sys/types.h>

#include "core/err.h"
#include "core/loop.h"
#include "supervise/run.h"

struct ready;

/* Worker `slot` passed its check, or (slot -1) the whole generation is ready. */
typedef void (*ready_cb)(int slot, void *data);

/* Starts the checks of generation `gen_id` with `nslots` workers; NULL on out of
 * memory (the generation then waits for its ready timeout). */
struct ready *ready_start(struct loop *loop, const struct run_opts *o, unsigned gen_id, int nslots,
                          ready_cb cb, void *data);
/* The worker of `slot` started: its pid (for BATON_WORKER_PIDS) and port to check. */
void ready_set_worker(struct ready *r, int slot, pid_t pid, int port);
/* The worker of `slot` exited: its check stops. Safe on NULL. */
void ready_forget(struct ready *r, int slot);
/* The last failed check of a worker not ready yet ("connection refused"...), or NULL. */
const char *ready_last_failure(const struct ready *r);
/* Stops every check; frees r once the loop regains control. Safe on NULL. */
void ready_stop(struct ready *r);

#endif
