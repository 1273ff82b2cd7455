/* The standalone proxy process around the engine: listeners (bound, or inherited by
 * LISTEN_FDS), the backend table (from options, or the state file of a previous
 * generation), the control socket, sd_notify readiness and the graceful stop. */
#ifndef BATON_PROXY_SERVE_H
#define BATON_PROXY_SERVE_H

#include <sys/types.h>

#include "core/ctl.h"
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
    char control[108];   /* control socket path */
    int stop_timeout_ms; /* after SIGTERM, cut what is left after this (0 = wait) */
    int workers;         /* processes relaying (1: this one) */
    int log_level;       /* enum log_level, for the workers' own log role */
    const char *metrics, *admin_token_file; /* --metrics ADDR: the admin listener */
};

/* Runs until SIGTERM/SIGINT and the drain that follows. Returns 0, or -1 with e set if
 * it could not start (bad backend, cannot bind, control socket in use...). */
int proxy_serve(const struct proxy_serve_opts *o, struct err *e);

/* What serve_engine runs on (ownership of table and fds passes). */
struct serve_engine_args {
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
int serve_engine(const struct proxy_serve_opts *o, const struct serve_engine_args *a,
                 struct err *e);

/* The control socket of a proxy process, and the file it bound (a later generation
 * may have taken the path over: then it is not unlinked). */
struct serve_control {
    struct ctl_server *ctl;
    ino_t ino;
    char path[108];
};
/* Binds `path`; with takeover, a live socket of a previous generation is replaced
 * (bind a temporary name, rename). */
int serve_control_open(struct serve_control *c, struct loop *loop, const char *path, int takeover,
                       ctl_handler handler, void *data, struct err *e);
void serve_control_close(struct serve_control *c);

/* A listening socket on `a`; with reuseport (inet only) others may bind the same
 * address, and the kernel spreads the connections over them. */
int serve_listen(const struct addr *a, int reuseport, struct err *e);

/* The listening fds passed by the systemd convention (LISTEN_PID must be our pid;
 * fds from 3), made non-blocking and close-on-exec; the variables are unset. Returns
 * the count (0 when none were passed). */
int serve_take_listen_fds(int *fds, int max);

/* Sends `msg` to $NOTIFY_SOCKET if set (sd_notify). */
void serve_notify(const char *msg);

#endif
