/* What a proxy process needs from its host system: readiness through sd_notify, the
 * listening sockets it inherits (LISTEN_FDS) or binds, and its control socket. Used by
 * the standalone proxy (serve.c), its workers (workers.c) and the engine (engine.c). */
#ifndef BATON_PROXY_HOST_H
#define BATON_PROXY_HOST_H

#include <sys/types.h>

#include "core/addr.h"
#include "core/ctl.h"
#include "core/err.h"
#include "core/loop.h"

/* The control socket of a proxy process, and the file it bound (a later generation
 * may have taken the path over: then it is not unlinked). */
struct host_control {
    struct ctl_server *ctl;
    ino_t ino;
    char path[ADDR_UNIX_PATH_SIZE];
};
/* Binds `path`; with takeover, a live socket of a previous generation is replaced
 * (bind a temporary name, rename). */
int host_control_open(struct host_control *c, struct loop *loop, const char *path, int takeover,
                      ctl_handler handler, void *data, struct err *e);
void host_control_close(struct host_control *c);

/* A listening socket on `a`; with reuseport (inet only) others may bind the same
 * address, and the kernel spreads the connections over them. */
int host_listen(const struct addr *a, int reuseport, struct err *e);

/* The listening fds passed by the systemd convention (LISTEN_PID must be our pid;
 * fds from 3), made non-blocking and close-on-exec; the variables are unset. Returns
 * the count (0 when none were passed). */
int host_take_listen_fds(int *fds, int max);

/* Sends `msg` to $NOTIFY_SOCKET if set (sd_notify). */
void host_notify(const char *msg);

#endif
