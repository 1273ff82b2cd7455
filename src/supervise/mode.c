/* Choosing the mode named by --mode. */
#include "supervise/mode.h"

int mode_open(struct mode **out, struct run_ctx *ctx, struct gens *gs, struct err *e)
{
    const struct mode_ops *ops = ctx->o->mode == RUN_PROXY ? &mode_proxy_ops : &mode_handoff_ops;
    if (ctx->o->mode == RUN_REUSEPORT)
        ops = &mode_reuseport_ops;
    return ops->open(out, ctx, gs, e);
}
