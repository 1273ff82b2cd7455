/* Unit tests of the operation queue (supervise/op.c) on real generations and a real loop,
 * with a mode that switches at once: each start, upgrade and rollback that switched is
 * counted by kind at the moment of its switch, with no note routed anywhere else (the
 * master's metrics read these counts; inferred from the notes, an upgrade that started
 * and switched between two of them went uncounted), and one whose new generation fails
 * is counted as failed instead. */
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#include "gens_fixture.h"
#include "supervise/mode.h"
#include "supervise/op.h"

struct fixture {
    struct run_opts o;
    struct run_ctx ctx;
    struct gens *gs;
    struct mode md;
    struct ops *q;
    int (*until)(const struct fixture *f); /* the loop stops once this holds */
    struct timer cap, poll;
    int capped;
};

/* The mode: the new generation serves as soon as it is promoted; the old one drains. */
static void fake_promote(struct mode *md, struct gen *g, struct gen *old)
{
    (void)md;
    (void)g;
    if (old)
        gen_stop(old, NULL);
}

static int fake_switched(struct mode *md, struct gen *old, int64_t *switched_unix_ms)
{
    (void)md;
    (void)old;
    *switched_unix_ms = 0;
    return 1;
}

static const struct mode_ops fake_mode = {
    .name = "fake", .promote = fake_promote, .switched = fake_switched};

/* No operation runs or waits. */
static int ops_idle(const struct fixture *f)
{
    json_t *st = json_object();
    op_status(f->q, st);
    int idle = json_is_null(json_object_get(st, "operation")) &&
               json_integer_value(json_object_get(st, "queued")) == 0;
    json_decref(st);
    return idle;
}

/* The master passes these notes on to the queue (and others elsewhere). */
static void on_note(void *data, enum run_note n, struct gen *g, struct gen *old)
{
    struct fixture *f = data;
    op_note(f->q, n, g, old);
}

/* Every 10 ms: whether f->until holds (a generation is freed only after its note). */
static void on_poll(struct loop *loop, struct timer *t)
{
    struct fixture *f = t->data;
    if (f->until(f))
        loop_stop(loop);
    else
        timer_start(loop, t, 10, on_poll, f);
}

/* Runs the loop until `until` holds; fails the test at the cap. */
static void run_until(struct fixture *f, int (*until)(const struct fixture *f))
{
    struct err e;
    f->until = until;
    timer_start(f->ctx.loop, &f->cap, CAP_MS, unit_on_cap, &f->capped);
    timer_start(f->ctx.loop, &f->poll, 0, on_poll, f);
    assert_int_equal(loop_run(f->ctx.loop, &e), 0);
    timer_stop(f->ctx.loop, &f->cap);
    timer_stop(f->ctx.loop, &f->poll);
    assert_false(f->capped);
}

static int no_gens(const struct fixture *f)
{
    return gens_count(f->gs) == 0;
}

static int no_exec(void *data, const char *binary, struct err *e)
{
    return err_set(e, "no re-exec in this test");
}

/* Queues `kind` with `script` (NULL: the current or previous command) and runs the loop
 * until no operation runs or waits. */
static void run_op(struct fixture *f, enum op_kind kind, const char *script)
{
    char **argv = NULL;
    if (script) {
        argv = calloc(4, sizeof(*argv));
        assert_non_null(argv);
        argv[0] = strdup("/bin/sh");
        argv[1] = strdup("-c");
        argv[2] = strdup(script);
    }
    op_enqueue(f->q, kind, argv, NULL, NULL);
    run_until(f, ops_idle);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct err e;
    unit_gens_ctx(&f->o, &f->ctx, on_note, f);
    f->md.ops = &fake_mode;
    assert_int_equal(gens_new(&f->gs, &f->ctx, &e), 0);
    assert_int_equal(ops_new(&f->q, &f->ctx, f->gs, &f->md, no_exec, NULL, f, &e), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    /* Whatever still runs is stopped the graceful way, then forgotten. */
    f->ctx.stopping = 1;
    op_stopped(f->q);
    gens_stop_all(f->gs, "the test ends");
    run_until(f, no_gens);
    ops_free(f->q);
    gens_free(f->gs);
    loop_free(f->ctx.loop);
    free(f);
    return 0;
}

static void switches_are_counted_by_kind(void **state)
{
    struct fixture *f = *state;
    run_op(f, OP_START, "exec sleep 30");
    assert_int_equal(op_switched(f->q, OP_START), 1);
    assert_int_equal(op_switched(f->q, OP_UPGRADE), 0);
    run_op(f, OP_UPGRADE, "exec sleep 31");
    assert_int_equal(gen_id(gens_current(f->gs)), 2);
    assert_int_equal(op_switched(f->q, OP_UPGRADE), 1);
    run_op(f, OP_ROLLBACK, NULL);
    assert_int_equal(gen_id(gens_current(f->gs)), 3);
    assert_int_equal(op_switched(f->q, OP_ROLLBACK), 1);
    assert_int_equal(op_switched(f->q, OP_UPGRADE), 1);
    assert_int_equal(op_switched(f->q, OP_START), 1);
    assert_int_equal(op_gen_failed(f->q, OP_UPGRADE), 0);
}

static void failed_upgrade_is_not_counted(void **state)
{
    struct fixture *f = *state;
    run_op(f, OP_START, "exec sleep 30");
    f->o.ready_after_ms = 2000;
    run_op(f, OP_UPGRADE, "exit 3"); /* exits before it is ready */
    assert_int_equal(gen_id(gens_current(f->gs)), 1);
    assert_int_equal(op_switched(f->q, OP_UPGRADE), 0);
    assert_int_equal(op_gen_failed(f->q, OP_UPGRADE), 1);
    f->o.ready_after_ms = 20;
    run_op(f, OP_UPGRADE, "exec sleep 32");
    assert_int_equal(op_switched(f->q, OP_UPGRADE), 1);
    assert_int_equal(op_gen_failed(f->q, OP_UPGRADE), 1);
    assert_int_equal(op_gen_failed(f->q, OP_START), 0);
}

UNIT_MAIN("supervise_op", NULL, NULL,
          cmocka_unit_test_setup_teardown(switches_are_counted_by_kind, setup, teardown),
          cmocka_unit_test_setup_teardown(failed_upgrade_is_not_counted, setup, teardown))
