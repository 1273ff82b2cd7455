/* `baton proxy --workers N`: N worker processes each run the engine on their own
 * listeners (SO_REUSEPORT), and the parent serves the control socket, sending every
 * runtime command to every worker and merging their replies into one. */
#ifndef BATON_PROXY_WORKERS_H
#define BATON_PROXY_WORKERS_H

#include <jansson.h>

#include "core/err.h"
#include "proxy/pool.h"
#include "proxy/engine.h"

#define WORKERS_MAX 64

/* Runs the workers and the parent until SIGTERM/SIGINT and the workers' drain. The
 * table (ownership passes) is each worker's starting table; fds are the listeners
 * already bound or inherited (ownership passes): inherited ones and unix sockets are
 * shared by every worker, inet addresses get one SO_REUSEPORT socket per worker. */
int workers_serve(const struct proxy_serve_opts *o, struct pool_table *table, const int *fds,
                  int nfds, int inherited, struct err *e);

/* One reply from the replies of n workers to the same command: worker 0's, with
 * counters summed (connections, accepted, max_conns_reached, a backend's total and
 * failures), the latest switched_unix_ms, "stopping" if any worker stops, and a
 * backend "draining" while any worker still has connections to it; a table (list,
 * status) also gets "workers" (n) and "per_worker" (each one's connections and
 * accepted clients). A worker that
 * failed where worker 0 succeeded makes the reply an error naming it (the tables
 * are no longer the same). replies are borrowed; returns a new reference. */
json_t *workers_merge(json_t *const *replies, int n);

#endif
