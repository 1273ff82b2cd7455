/* `baton run --mode proxy`: the proxy worker, the `baton proxy` binary started by the
 * master with the public sockets at fds 3.. (LISTEN_FDS), a control socket only the
 * master reaches (NAME.proxy.sock) and the current generation's private ports as its
 * backends. Restarted with backoff when it dies; SIGTERM, then SIGKILL at the drain
 * timeout, when the master stops. */
#ifndef BATON_SUPERVISE_PROXYWORKER_H
#define BATON_SUPERVISE_PROXYWORKER_H

#include <jansson.h>
#include <sys/types.h>

#include "core/err.h"
#include "supervise/ctx.h"
#include "supervise/gens.h"
#include "supervise/notify.h"

struct proxyworker;

/* `ctl_path`: its control socket. */
int proxyworker_new(struct proxyworker **out, struct run_ctx *ctx, struct gens *gs,
                    const char *ctl_path, struct err *e);
/* Forgets it without signalling it. Safe on NULL. */
void proxyworker_free(struct proxyworker *p);

/* Starts it now with the current generation's ports, unless it runs, a restart is
 * pending, the master stops or no generation is current. */
void proxyworker_start(struct proxyworker *p);
/* Kills one that no longer answers (`why`); it is restarted with the current ports. */
void proxyworker_replace(struct proxyworker *p, const char *why);
/* A graceful stop: SIGTERM, SIGKILL at the drain timeout; no restart. */
void proxyworker_stop(struct proxyworker *p);

pid_t proxyworker_pid(const struct proxyworker *p); /* 0 while it does not run */
int proxyworker_ready(const struct proxyworker *p); /* it sent READY=1 */
const char *proxyworker_control(const struct proxyworker *p);
/* A notify message from `pid`: 1 when it is the proxy worker's. */
int proxyworker_notify(struct proxyworker *p, pid_t pid, const struct notify_msg *msg);

/* The "proxy" object of `status`, and of the state file and back (a proxy worker that
 * still runs is watched again; from_json loads into one fresh from proxyworker_new). */
json_t *proxyworker_status(const struct proxyworker *p);
json_t *proxyworker_to_json(const struct proxyworker *p);
int proxyworker_from_json(struct proxyworker *p, json_t *jp, struct err *e);

#endif
