/* The standalone proxy process around the engine: listeners (bound, or inherited by
 * LISTEN_FDS), the backend table (from options, or the state file of a previous
 * generation), the control socket, sd_notify readiness and the graceful stop. */
#ifndef BATON_PROXY_SERVE_H
#define BATON_PROXY_SERVE_H

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
    const char *metrics, *admin_token_file; /* --metrics ADDR: the admin listener */
};

/* Runs until SIGTERM/SIGINT and the drain that follows. Returns 0, or -1 with e set if
 * it could not start (bad backend, cannot bind, control socket in use...). */
int proxy_serve(const struct proxy_serve_opts *o, struct err *e);

/* The listening fds passed by the systemd convention (LISTEN_PID must be our pid;
 * fds from 3), made non-blocking and close-on-exec; the variables are unset. Returns
 * the count (0 when none were passed). */
int serve_take_listen_fds(int *fds, int max);

/* Sends `msg` to $NOTIFY_SOCKET if set (sd_notify). */
void serve_notify(const char *msg);

#endif
