/* The proxy engine run as a process: its loop, listeners, table and control (the
 * control socket, or a worker's channel to its parent), until SIGTERM/SIGINT and the
 * drain that follows. Both the standalone proxy (serve.c) and each worker of
 * --workers (workers.c) run it; the options of a proxy process live here for both. */
#ifndef BATON_PROXY_ENGINE_H
#define BATON_PROXY_ENGINE_H

#include "core/addr.h"
#include "core/err.h"
#include "proxy/pool.h"
#include "proxy/proxy.h"

#define SERVE_LISTEN_MAX  32
#define SERVE_BACKEND_MAX 256

struct proxy_serve_opts {
    struct proxy_config cfg;
    enum pool_balance balance;
    const char *listen[SERVE_LISTEN_MAX];
    int nlisten;
    const char *backends[SERVE_BACKEND_MAX];
    int nbackends;
    char control[ADDR_UNIX_PATH_SIZE]; /* control socket path */
    int stop_timeout_ms;               /* after SIGTERM, cut what is left after this (0 = wait) */
    int workers;                       /* processes relaying (1: this one) */
    int log_level;                     /* enum log_level, for the workers' own log role */
    const char *metrics, *admin_token_file; /* --metrics ADDR: the admin listener */
};

/* What engine_run runs on (ownership of table and fds passes). */
struct engine_args {
    struct pool_table *table;
    const int *fds;
    int nfds;
    int inherited; /* the listeners came from LISTEN_FDS (a new generation) */
    int chan;      /* a worker: its channel to the parent (workers.c); else -1 */
    int worker;    /* a worker's index (0 writes the state file) */
};

/* Runs the engine in this process until SIGTERM/SIGINT and the drain that follows:
 * the standalone proxy (control socket at o->control), or one worker of
 * --workers (control through a->chan). */
int engine_run(const struct proxy_serve_opts *o, const struct engine_args *a, struct err *e);

#endif
