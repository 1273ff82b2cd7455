/* --mode handoff: every worker inherits the master's listening sockets at fds 3..
 * (systemd socket activation: LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES). Promotion stops
 * the old generation at once; the switch is complete when it stopped accepting (all
 * its workers said STOPPING=1, exited or were killed; at once without --ready notify). */
#include <stdlib.h>

#include "supervise/mode.h"

struct mode_handoff {
    struct mode base;
    struct run_ctx *ctx;
};

static int handoff_setup_worker(struct mode *md, unsigned gen_id, int slot, int *port,
                                struct gen_launch *l, struct err *e)
{
    struct run_ctx *ctx = ((struct mode_handoff *)md)->ctx;
    l->fds = ctx->listen_fds;
    l->nfds = ctx->nlisten;
    l->listen_pid = 1;
    l->env[l->nenv++] = ctx->listen_env[0];
    l->env[l->nenv++] = ctx->listen_env[1];
    l->env_drop = ctx_env_ours(0);
    return 0;
}

static void handoff_promote(struct mode *md, struct gen *g, struct gen *old)
{
    if (old)
        gen_stop(old, NULL);
}

static int handoff_switched(struct mode *md, struct gen *old, int64_t *switched_unix_ms)
{
    struct run_ctx *ctx = ((struct mode_handoff *)md)->ctx;
    *switched_unix_ms = 0; /* now */
    return !old || ctx->o->ready_mode != READY_NOTIFY || gen_stopped_accepting(old);
}

static void handoff_nothing(struct mode *md)
{
}

static int handoff_busy(const struct mode *md)
{
    return 0;
}

static int handoff_notify(struct mode *md, pid_t pid, const struct notify_msg *msg)
{
    return 0;
}

static void handoff_status(struct mode *md, json_t *st)
{
}

static void handoff_to_json(const struct mode *md, json_t *root)
{
}

static int handoff_from_json(struct mode *md, json_t *root, struct err *e)
{
    if (json_object_get(root, "proxy"))
        return err_set(e, "the state is of --mode proxy, the options say --mode handoff");
    return 0;
}

static int handoff_open(struct mode **out, struct run_ctx *ctx, struct gens *gs, struct err *e)
{
    struct mode_handoff *mh = calloc(1, sizeof(*mh));
    if (!mh)
        return err_set(e, "cannot start: out of memory");
    mh->base.ops = &mode_handoff_ops;
    mh->ctx = ctx;
    *out = &mh->base;
    return 0;
}

static void handoff_free(struct mode *md)
{
    free(md);
}

const struct mode_ops mode_handoff_ops = {
    .name = "handoff",
    .private_ports = 0,
    .takes_over_orphans = 1,
    .open = handoff_open,
    .free = handoff_free,
    .setup_worker = handoff_setup_worker,
    .promote = handoff_promote,
    .switched = handoff_switched,
    .resume = handoff_nothing,
    .stop = handoff_nothing,
    .busy = handoff_busy,
    .notify = handoff_notify,
    .status = handoff_status,
    .to_json = handoff_to_json,
    .from_json = handoff_from_json,
};
