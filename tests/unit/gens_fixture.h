/* What the unit tests of generations and of the operation queue share: a run context for
 * real workers on a real loop (one worker per generation, ready 20 ms after its start, no
 * sockets, no notify socket) and the cap that ends any wait that runs too long. */
#ifndef BATON_TESTS_UNIT_GENS_FIXTURE_H
#define BATON_TESTS_UNIT_GENS_FIXTURE_H

#include <signal.h>

#include "core/loop.h"
#include "supervise/gens.h"

#define CAP_MS 8000 /* every wait of these tests ends by then, or the test fails */

static inline int unit_no_sockets(void *data, unsigned gen_id, int slot, int *port,
                                  struct gen_launch *l, struct err *e)
{
    return 0; /* no sockets, no port: the workers of these tests need neither */
}

/* A timer's callback: sets the int its data points at and stops the loop. */
static inline void unit_on_cap(struct loop *loop, struct timer *t)
{
    *(int *)t->data = 1;
    loop_stop(loop);
}

/* Fills `o` and `ctx` (notes go to note(data)) and opens ctx->loop. */
static inline void unit_gens_ctx(struct run_opts *o, struct run_ctx *ctx,
                                 void (*note)(void *, enum run_note, struct gen *, struct gen *),
                                 void *data)
{
    struct err e;
    *o = (struct run_opts){.workers = 1,
                           .ready_mode = READY_AFTER,
                           .ready_after_ms = 20,
                           .ready_timeout_ms = 5000,
                           .stop_signal = SIGTERM,
                           .drain_timeout_ms = 3000};
    *ctx = (struct run_ctx){.o = o,
                            .setup_worker = unit_no_sockets,
                            .note = note,
                            .note_data = data,
                            .notify_env = "NOTIFY_SOCKET=/nonexistent/baton-unit.notify"};
    assert_int_equal(loop_new(&ctx->loop, &e), 0);
}

#endif
