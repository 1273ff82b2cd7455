/* How a generation is put on the public port: everything of `baton run` that differs
 * by --mode sits behind this one small interface, chosen at start (the shape of the
 * migrate drivers, src/migrate/database.h). handoff (mode_handoff.c): workers inherit the
 * master's sockets. proxy (mode_proxy.c): workers bind private ports and a proxy worker
 * relays the public sockets to the current generation. reuseport (mode_reuseport.c):
 * workers bind the public address themselves with SO_REUSEPORT. A new mode is a new
 * file and a line in mode_open. */
#ifndef BATON_SUPERVISE_MODE_H
#define BATON_SUPERVISE_MODE_H

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/err.h"
#include "supervise/ctx.h"
#include "supervise/gens.h"
#include "supervise/notify.h"
#include "supervise/slot.h"

struct mode;

struct mode_ops {
    const char *name;       /* as --mode names it */
    int private_ports;      /* each slot gets a private port ($PORT), shown in status */
    int takes_over_orphans; /* workers left by a killed master may be taken over */
    int apps_bind;          /* the workers bind the public addresses: the master does not */
    int (*open)(struct mode **out, struct run_ctx *ctx, struct gens *gs, struct err *e);
    void (*free)(struct mode *md);
    /* How the worker of `slot` of generation `gen_id` starts (ctx->setup_worker). */
    int (*setup_worker)(struct mode *md, unsigned gen_id, int slot, int *port, struct gen_launch *l,
                        struct err *e);
    /* g became current in place of `old` (or NULL): move traffic to g. The mode sends
     * NOTE_SWITCH_CHECK when it finished, maybe before this returns. */
    void (*promote)(struct mode *md, struct gen *g, struct gen *old);
    /* g is gone (drained, failed or stopped); may be NULL (nothing to do). */
    void (*retired)(struct mode *md, struct gen *g);
    /* After a killed master whose generations all run containers (may be NULL: never
     * taken over): 1 when the mode takes over what it left (`root`, its state). */
    int (*orphans)(struct mode *md, json_t *root);
    /* Whether the move to the current generation is complete (`old`: the replaced
     * generation while it lives); *switched_unix_ms its moment, 0 for now. */
    int (*switched)(struct mode *md, struct gen *old, int64_t *switched_unix_ms);
    /* The loop starts (first start, or after a re-exec): start what the mode runs. */
    void (*resume)(struct mode *md);
    /* A graceful stop: stop what the mode runs (NOTE_MODE_GONE once it ended). */
    void (*stop)(struct mode *md);
    /* 1 while a process of the mode's own runs. */
    int (*busy)(const struct mode *md);
    /* A notify message from `pid`: 1 when it was for the mode's own process. */
    int (*notify)(struct mode *md, pid_t pid, const struct notify_msg *msg);
    /* Adds the mode's part to `status`, and its part of the state file and back (after
     * a re-exec; refuses a state written in another mode). */
    void (*status)(struct mode *md, json_t *st);
    void (*to_json)(const struct mode *md, json_t *root);
    int (*from_json)(struct mode *md, json_t *root, struct err *e);
};

struct mode {
    const struct mode_ops *ops;
};

extern const struct mode_ops mode_handoff_ops;
extern const struct mode_ops mode_proxy_ops;
extern const struct mode_ops mode_reuseport_ops;

/* Opens the mode that ctx->o->mode names. */
int mode_open(struct mode **out, struct run_ctx *ctx, struct gens *gs, struct err *e);

#endif
