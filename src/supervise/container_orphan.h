/* Taking over container generations after a killed `--mode proxy` master: the proxy
 * worker it left relays until the new master's own proxy worker is ready, then gets
 * SIGTERM (it finishes its connections; SIGKILL at the drain timeout), and the old
 * generations drain only once it is gone. Containers of recorded generations whose
 * engine client is gone are removed by name. */
#ifndef BATON_SUPERVISE_CONTAINER_ORPHAN_H
#define BATON_SUPERVISE_CONTAINER_ORPHAN_H

#include <jansson.h>

#include "core/err.h"
#include "supervise/container_rm.h"
#include "supervise/ctx.h"
#include "supervise/gens.h"

struct container_orphan;

/* `gone` is called when the old proxy worker has exited. */
int container_orphan_new(struct container_orphan **out, struct run_ctx *ctx,
                         void (*gone)(void *data), void *data, struct err *e);
/* Stops watching (the process, if any, keeps running). */
void container_orphan_free(struct container_orphan *o);
/* 1 when every generation of gs runs a container command (and there is one). */
int container_orphan_all_containers(struct gens *gs);
/* After recover.c adopted the surviving workers into gs: watches the proxy worker of
 * `root` (the old master's state) if it still runs, logs each container found by its
 * name, and removes (rm) those of generations no engine client is left of. */
void container_orphan_adopt(struct container_orphan *o, json_t *root, struct gens *gs,
                            struct container_rm *rm);
/* The new proxy worker is ready (or the master stops): the old one gets SIGTERM. */
void container_orphan_stop(struct container_orphan *o);
/* 1 while the old proxy worker runs. */
int container_orphan_alive(const struct container_orphan *o);

#endif
