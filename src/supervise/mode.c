/* Choosing the mode named by --mode. */
#include "supervise/mode.h"

int mode_open(struct mode **out, struct run_ctx *ctx, struct gens *gs, struct err *e)
{
    const struct mode_ops *ops = ctx->o->mode == RUN_PROXY ? &mode_proxy_ops : &mode_handoff_ops;
    return ops->open(out, ctx, gs, e);
}
