/* Removing containers by name on the master's loop: each removal is the engine's own
 * `rm` command, run as a probe (never waited for), retried a few times when the engine
 * refuses (a container still being removed by its `--rm`). */
#ifndef BATON_SUPERVISE_CONTAINER_RM_H
#define BATON_SUPERVISE_CONTAINER_RM_H

#include "core/err.h"
#include "core/loop.h"

struct container_rm;

/* `idle` is called when the last pending removal ended. */
int container_rm_new(struct container_rm **out, struct loop *loop, void (*idle)(void *data),
                     void *data, struct err *e);
/* Cancels what is pending (the engine's commands are killed). */
void container_rm_free(struct container_rm *r);
/* Removes container `name` of container command argv (see container_rm_argv). */
void container_rm_start(struct container_rm *r, char *const *argv, const char *name);
/* Removes every container of generation `gen_id` (nslots slots) when argv is a
 * container command; nothing otherwise. */
void container_rm_generation(struct container_rm *r, char *const *argv, const char *instance,
                             unsigned gen_id, int nslots);
/* How many removals are under way. */
int container_rm_pending(const struct container_rm *r);

#endif
