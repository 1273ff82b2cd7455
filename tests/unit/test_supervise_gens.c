/* Unit tests of generations with real worker processes on a real loop (supervise/gens.c,
 * gen.c, slot.c, ready.c, worker.c), below the master: a worker that exits before it is
 * ready fails its generation with the reason; a ready one becomes current and the one it
 * replaces drains and retires; a crash while serving is restarted after the backoff; a
 * worker that ignores its stop signal is killed at the drain timeout; notify messages
 * reach the worker that sent them. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gens_fixture.h"

struct fixture {
    struct run_opts o;
    struct run_ctx ctx;
    struct gens *gs;
    enum run_note want; /* the loop stops at this note */
    int seen[NOTE_FIRST_FAILED + 1];
    struct gen *last, *promoted_old;
    unsigned last_id;
    char reason[320]; /* of the last failed generation (it may be freed at once) */
    struct timer cap;
    int capped;
};

static void on_note(void *data, enum run_note n, struct gen *g, struct gen *old)
{
    struct fixture *f = data;
    f->seen[n]++;
    if (g) {
        f->last = g;
        f->last_id = gen_id(g);
    }
    if (n == NOTE_PROMOTED)
        f->promoted_old = old;
    if (n == NOTE_FAILED)
        snprintf(f->reason, sizeof(f->reason), "%s", gen_reason(g));
    if (n == f->want)
        loop_stop(f->ctx.loop);
}

/* Runs the loop until note `n` arrives; fails the test at the cap. */
static void run_until(struct fixture *f, enum run_note n)
{
    struct err e;
    f->want = n;
    timer_start(f->ctx.loop, &f->cap, CAP_MS, unit_on_cap, &f->capped);
    assert_int_equal(loop_run(f->ctx.loop, &e), 0);
    timer_stop(f->ctx.loop, &f->cap);
    assert_false(f->capped);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct err e;
    unit_gens_ctx(&f->o, &f->ctx, on_note, f);
    assert_int_equal(gens_new(&f->gs, &f->ctx, &e), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    /* Whatever still runs is stopped the graceful way, then forgotten. */
    f->ctx.stopping = 1;
    gens_stop_all(f->gs, "the test ends");
    while (gens_count(f->gs) > 0 && !f->capped)
        run_until(f, NOTE_RETIRED);
    gens_free(f->gs);
    loop_free(f->ctx.loop);
    free(f);
    return 0;
}

static struct gen *start(struct fixture *f, const char *script)
{
    char *argv[] = {"/bin/sh", "-c", (char *)script, NULL};
    struct gen *g = gens_add(f->gs, argv);
    assert_non_null(g);
    gen_start(g);
    return g;
}

static void exit_before_ready_fails(void **state)
{
    struct fixture *f = *state;
    f->o.ready_after_ms = 2000;
    unsigned id = gen_id(start(f, "exit 3"));
    run_until(f, NOTE_FAILED);
    assert_int_equal(f->last_id, id);
    assert_non_null(strstr(f->reason, "exited with status 3 before it was ready"));
    assert_null(gens_current(f->gs));
    /* Its only worker is gone: it retired in the same turn of the loop. */
    assert_int_equal(f->seen[NOTE_RETIRED], 1);
    assert_int_equal(gens_count(f->gs), 0);
}

static void ready_generation_replaces_the_old_one(void **state)
{
    struct fixture *f = *state;
    struct gen *g1 = start(f, "exec sleep 30");
    run_until(f, NOTE_PROMOTED);
    assert_ptr_equal(gens_current(f->gs), g1);
    assert_null(f->promoted_old);
    struct gen *g2 = start(f, "exec sleep 31");
    run_until(f, NOTE_PROMOTED);
    assert_ptr_equal(gens_current(f->gs), g2);
    assert_ptr_equal(f->promoted_old, g1);
    assert_string_equal(gens_prev_argv(f->gs)[2], "exec sleep 30");
    /* As handoff mode does: the old one stops, drains (SIGTERM ends sleep) and retires. */
    gen_stop(g1, NULL);
    assert_int_equal(gen_state(g1), GEN_DRAINING);
    assert_false(gen_stopped_accepting(g1)); /* it said nothing and still runs */
    run_until(f, NOTE_RETIRED);
    assert_int_equal(f->last_id, 1);
    assert_int_equal(gens_count(f->gs), 1);
    assert_int_equal(gen_state(g2), GEN_SERVING);
}

/* The status of the first generation: its first worker's pid (0: none) and restarts. */
static pid_t first_worker(struct fixture *f, int *restarts)
{
    json_t *st = gens_status(f->gs);
    json_t *jg = json_array_get(st, 0);
    json_t *w = json_array_get(json_object_get(jg, "workers"), 0);
    pid_t pid = (pid_t)json_integer_value(json_object_get(w, "pid"));
    if (restarts)
        *restarts = (int)json_integer_value(json_object_get(jg, "restarts"));
    json_decref(st);
    return pid;
}

static void crash_while_serving_restarts(void **state)
{
    struct fixture *f = *state;
    struct gen *g = start(f, "sleep 0.3; exit 1");
    run_until(f, NOTE_PROMOTED);
    pid_t first = first_worker(f, NULL);
    assert_true(first > 0);
    /* It exits after 0.3 s; the slot is refilled 100 ms later by a new worker. */
    int restarts = 0;
    pid_t now = first;
    while (restarts == 0 || now == 0 || now == first) {
        run_until(f, NOTE_CHANGED);
        now = first_worker(f, &restarts);
    }
    assert_int_equal(gen_state(g), GEN_SERVING);
    assert_true(gen_has_worker(g, now));
    assert_false(gen_has_worker(g, first));
}

static void ignored_stop_signal_is_killed(void **state)
{
    struct fixture *f = *state;
    /* Ready (by an exec: probe) only once it ignores SIGTERM. */
    char dir[] = "/tmp/baton-unit-XXXXXX", script[200], probe[200];
    assert_non_null(mkdtemp(dir));
    snprintf(script, sizeof(script), "trap '' TERM; touch %s/t; while :; do sleep 0.2; done", dir);
    snprintf(probe, sizeof(probe), "test -e %s/t", dir);
    f->o.ready_mode = READY_EXEC;
    f->o.ready_cmd = probe;
    f->o.drain_timeout_ms = 200;
    struct gen *g = start(f, script);
    run_until(f, NOTE_PROMOTED);
    gen_stop(g, NULL);
    run_until(f, NOTE_SWITCH_CHECK); /* the drain timeout: SIGKILL */
    assert_true(gen_stopped_accepting(g));
    run_until(f, NOTE_RETIRED);
    assert_int_equal(gens_count(f->gs), 0);
    snprintf(script, sizeof(script), "%s/t", dir);
    unlink(script);
    rmdir(dir);
}

static void notify_reaches_its_worker(void **state)
{
    struct fixture *f = *state;
    f->o.ready_mode = READY_NOTIFY;
    struct gen *g = start(f, "exec sleep 30");
    pid_t pid = first_worker(f, NULL);
    struct notify_msg msg = {.ready = 1};
    assert_int_equal(gens_notify(f->gs, 1, &msg), 0); /* not ours */
    assert_int_equal(gens_notify(f->gs, pid, &msg), 1);
    assert_int_equal(f->seen[NOTE_PROMOTED], 1); /* min-ready 0: promoted at once */
    assert_ptr_equal(gens_current(f->gs), g);
    struct notify_msg stopping = {.stopping = 1};
    assert_int_equal(gens_notify(f->gs, pid, &stopping), 1);
    assert_true(gen_stopped_accepting(g));
}

UNIT_MAIN("supervise_gens", NULL, NULL,
          cmocka_unit_test_setup_teardown(exit_before_ready_fails, setup, teardown),
          cmocka_unit_test_setup_teardown(ready_generation_replaces_the_old_one, setup, teardown),
          cmocka_unit_test_setup_teardown(crash_while_serving_restarts, setup, teardown),
          cmocka_unit_test_setup_teardown(ignored_stop_signal_is_killed, setup, teardown),
          cmocka_unit_test_setup_teardown(notify_reaches_its_worker, setup, teardown))
