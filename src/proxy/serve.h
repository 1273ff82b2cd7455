/* The standalone proxy process around the engine: listeners (bound, or inherited by
 * LISTEN_FDS), the backend table (from options, or the state file of a previous
 * generation), then the engine in this process (engine.h) or in --workers processes
 * (workers.h). The options of a proxy process are in engine.h. */
#ifndef BATON_PROXY_SERVE_H
#define BATON_PROXY_SERVE_H

#include "core/err.h"
#include "proxy/engine.h"

/* Runs until SIGTERM/SIGINT and the drain that follows. Returns 0, or -1 with e set if
 * it could not start (bad backend, cannot bind, control socket in use...). */
int proxy_serve(const struct proxy_serve_opts *o, struct err *e);

#endif
