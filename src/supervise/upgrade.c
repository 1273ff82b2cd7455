/* Generations and the operations that replace them. gen_event() runs the table of
 * gen.c and the action it returns; operations (start, upgrade, rollback, reexec) run
 * one at a time from a queue, so upgrades requested during an upgrade wait their turn. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "supervise/master.h"
#include "supervise/state.h"

static void op_next(struct master *m);

struct gen *gen_create(struct master *m, char *const *argv, unsigned id, int nslots)
{
    struct gen *g = calloc(1, sizeof(*g));
    struct slot *slots = calloc((size_t)(nslots > 0 ? nslots : 1), sizeof(*slots));
    char **copy = argv_dup(argv);
    if (!g || !slots || !copy) {
        free(g);
        free(slots);
        argv_free(copy);
        return NULL;
    }
    g->m = m;
    g->id = id;
    g->argv = copy;
    g->nslots = nslots;
    g->slots = slots;
    for (int i = 0; i < nslots; i++) {
        slots[i].g = g;
        slots[i].index = i;
    }
    g->started_ms = loop_now_ms(m->loop);
    g->started_unix_ms = wall_ms();
    g->state = GEN_STARTING;
    struct gen **tail = &m->gens;
    while (*tail)
        tail = &(*tail)->next;
    *tail = g;
    if (id >= m->next_gen)
        m->next_gen = id + 1;
    return g;
}

/* --- actions ---------------------------------------------------------------------- */

static void on_hold_done(struct loop *loop, struct timer *t)
{
    gen_event(t->data, GEV_PROMOTE, NULL);
}

static void stop_readiness(struct gen *g)
{
    struct loop *l = g->m->loop;
    timer_stop(l, &g->ready_timer);
    timer_stop(l, &g->after_timer);
    timer_stop(l, &g->probe_timer);
    for (int i = 0; i < g->nslots; i++)
        if (g->slots[i].w && g->slots[i].w->check) {
            portcheck_cancel(g->slots[i].w->check);
            g->slots[i].w->check = NULL;
        }
    if (g->probe) {
        probe_cancel(g->probe);
        g->probe = NULL;
    }
}

static void gen_hold(struct gen *g)
{
    stop_readiness(g);
    log_info("generation %u: all %d workers ready", g->id, g->nslots);
    if (g->m->o->min_ready_ms == 0)
        gen_event(g, GEV_PROMOTE, NULL);
    else
        timer_start(g->m->loop, &g->hold_timer, g->m->o->min_ready_ms, on_hold_done, g);
}

static void gen_promote(struct gen *g)
{
    struct master *m = g->m;
    struct gen *old = m->current;
    m->current = g;
    log_info("generation %u serves%s", g->id, old ? "; stopping the previous one" : "");
    struct op *op = m->op;
    if (op && op->newg == g) {
        op->promoted = 1;
        op->oldg = old;
    }
    if (old) {
        argv_free(m->prev_argv);
        m->prev_argv = argv_dup(old->argv);
    }
    if (m->o->mode == RUN_PROXY) {
        /* The proxy moves new connections to g; `old` drains there, then stops. */
        if (op && op->newg == g)
            op->switching = 1;
        pxw_promote(m, g, old);
    } else if (old) {
        gen_event(old, GEV_STOP, NULL);
    }
    op_check_switch(m);
}

static void on_drain_timeout(struct loop *loop, struct timer *t)
{
    gen_event(t->data, GEV_DRAIN_TIMEOUT, NULL);
}

/* Stop signal to every worker, SIGKILL at the drain deadline. */
static void stop_workers(struct gen *g)
{
    struct master *m = g->m;
    for (int i = 0; i < g->nslots; i++) {
        timer_stop(m->loop, &g->slots[i].restart);
        if (g->slots[i].w)
            worker_signal(g->slots[i].w, m->o->stop_signal);
    }
    g->drain_deadline_unix_ms = wall_ms() + (int64_t)m->o->drain_timeout_ms;
    timer_start(m->loop, &g->drain_timer, m->o->drain_timeout_ms, on_drain_timeout, g);
}

static void gen_drain(struct gen *g)
{
    log_info("generation %u: draining %d workers (signal %d, kill after %llu ms)", g->id, g->live,
             g->m->o->stop_signal, (unsigned long long)g->m->o->drain_timeout_ms);
    stop_workers(g);
}

void op_done(struct master *m, struct op *op)
{
    if (m->op == op)
        m->op = NULL;
    argv_free(op->argv);
    free(op);
    op_next(m);
}

static void gen_fail(struct gen *g)
{
    struct master *m = g->m;
    stop_readiness(g);
    timer_stop(m->loop, &g->hold_timer);
    if (!g->reason[0])
        snprintf(g->reason, sizeof(g->reason), "stopped");
    struct gen *cur = m->current;
    log_error("generation %u failed: %s%s", g->id, g->reason,
              cur ? "; the current generation keeps serving" : "");
    stop_workers(g);
    struct op *op = m->op;
    if (!op || op->newg != g)
        return;
    op->newg = NULL;
    if (op->kind == OP_START && !cur) {
        log_error("the first generation did not start; stopping");
        if (!m->stopping)
            m->exit_code = 1;
        op_done(m, op);
        master_stop(m, NULL);
        return;
    }
    if (op->req) {
        if (cur)
            ctl_reply_error(op->req, "generation %u rolled back: %s; generation %u keeps serving",
                            g->id, g->reason, cur->id);
        else
            ctl_reply_error(op->req, "generation %u failed: %s", g->id, g->reason);
        op->req = NULL;
    }
    op_done(m, op);
}

static void on_restart(struct loop *loop, struct timer *t)
{
    struct slot *s = t->data;
    struct gen *g = s->g;
    if (g->state != GEN_SERVING || s->w)
        return;
    struct err e;
    if (worker_spawn(g, s->index, &e) < 0) {
        log_error("generation %u: %s", g->id, e.msg);
        s->fails++;
        timer_start(loop, &s->restart, 1000, on_restart, s);
    }
    state_save(g->m);
}

static void gen_restart_slot(struct gen *g, struct slot *s)
{
    if (g->orphan || !s)
        return; /* not our children: their command line is not ours to repeat */
    unsigned shift = s->fails < 7 ? s->fails : 7;
    uint64_t delay = 100u << shift; /* 100 ms .. 12.8 s */
    if (delay > 10000)
        delay = 10000;
    s->fails++;
    g->restarts++;
    log_warn("generation %u: restarting slot %d in %llu ms (restart %u)", g->id, s->index,
             (unsigned long long)delay, g->restarts);
    timer_start(g->m->loop, &s->restart, delay, on_restart, s);
}

static void gen_kill(struct gen *g)
{
    int n = 0;
    for (int i = 0; i < g->nslots; i++) {
        struct worker *w = g->slots[i].w;
        if (w) {
            worker_signal(w, SIGKILL);
            w->killed = 1;
            n++;
        }
    }
    if (n)
        log_warn("generation %u: drain timeout; killed %d workers", g->id, n);
    op_check_switch(g->m);
}

static void gen_retire(struct gen *g)
{
    struct master *m = g->m;
    struct loop *l = m->loop;
    stop_readiness(g);
    timer_stop(l, &g->hold_timer);
    timer_stop(l, &g->drain_timer);
    for (int i = 0; i < g->nslots; i++)
        timer_stop(l, &g->slots[i].restart);
    struct gen **pp = &m->gens;
    while (*pp && *pp != g)
        pp = &(*pp)->next;
    if (*pp)
        *pp = g->next;
    if (m->current == g)
        m->current = NULL;
    g->retired = 1;
    log_info("generation %u %s", g->id, g->state == GEN_EXITED ? "exited" : "is gone");
    if (m->op && m->op->oldg == g) {
        op_check_switch(m);
        if (m->op && m->op->oldg == g)
            m->op->oldg = NULL;
    }
    argv_free(g->argv);
    g->argv = NULL;
    loop_defer_free(l, g->slots);
    loop_defer_free(l, g);
    master_maybe_exit(m);
}

void gen_event(struct gen *g, enum gen_event ev, struct slot *slot)
{
    if (g->retired)
        return;
    enum gen_state before = g->state;
    int act = gen_step(&g->state, ev);
    if (act < 0) {
        log_alert("generation %u: event %s cannot happen in state %s", g->id, gen_event_name(ev),
                  gen_state_name(before));
        return;
    }
    if (before != g->state)
        log_debug("generation %u: %s --%s--> %s (%s)", g->id, gen_state_name(before),
                  gen_event_name(ev), gen_state_name(g->state), gen_action_name(act));
    switch ((enum gen_action)act) {
    case GACT_NONE:
        break;
    case GACT_HOLD:
        gen_hold(g);
        break;
    case GACT_PROMOTE:
        gen_promote(g);
        break;
    case GACT_FAIL:
        gen_fail(g);
        break;
    case GACT_RESTART:
        gen_restart_slot(g, slot);
        break;
    case GACT_DRAIN:
        gen_drain(g);
        break;
    case GACT_KILL:
        gen_kill(g);
        break;
    case GACT_RETIRE:
        gen_retire(g);
        state_save(g->m);
        return;
    }
    /* A generation that is left without workers and wants none ends here. */
    if (!g->retired && g->live == 0 &&
        (g->state == GEN_DRAINING || g->state == GEN_FAILED ||
         (g->state == GEN_SERVING && g->orphan)))
        gen_event(g, GEV_ALL_EXITED, NULL);
    else
        state_save(g->m);
}

/* --- operations ------------------------------------------------------------------- */

/* Called whenever the old generation of the running upgrade may have stopped
 * accepting: all its workers said STOPPING=1, exited or were killed (or, without
 * notify readiness, as soon as it was sent the stop signal). Replies then. */
void op_check_switch(struct master *m)
{
    struct op *op = m->op;
    if (!op || !op->promoted || op->switching)
        return;
    struct gen *old = op->oldg;
    int proxy_mode = m->o->mode == RUN_PROXY;
    if (!proxy_mode && old && !old->retired && m->o->ready_mode == READY_NOTIFY &&
        !gen_stopped_accepting(old))
        return;
    int64_t switched = proxy_mode && op->switched_unix_ms ? op->switched_unix_ms : wall_ms();
    struct gen *g = m->current;
    log_info("switched to generation %u%s at %lld", g ? g->id : 0,
             old ? "; the previous one no longer accepts" : "", (long long)switched);
    if (op->req) {
        json_t *extra = json_pack("{s:i,s:I}", "generation", g ? (int)g->id : 0, "switched_unix_ms",
                                  (json_int_t)switched);
        if (old)
            json_object_set_new(extra, "previous_generation", json_integer(old->id));
        json_object_set_new(extra, "started_unix_ms", json_integer(op->started_unix_ms));
        ctl_reply_ok(op->req, extra);
        op->req = NULL;
    }
    op_done(m, op);
}

void pxw_switched(struct master *m, int64_t switched_unix_ms)
{
    struct op *op = m->op;
    if (op && op->switching) {
        op->switching = 0;
        op->switched_unix_ms = switched_unix_ms;
    }
    op_check_switch(m);
}

static void on_ready_timeout(struct loop *loop, struct timer *t)
{
    struct gen *g = t->data;
    struct master *m = g->m;
    int ready = 0;
    for (int i = 0; i < g->nslots; i++)
        ready += g->slots[i].w && g->slots[i].w->ready;
    const char *last = NULL;
    for (int i = 0; i < g->nslots; i++)
        if (g->slots[i].w && !g->slots[i].w->ready && g->slots[i].w->check_what[0])
            last = g->slots[i].w->check_what;
    snprintf(g->reason, sizeof(g->reason), "not ready within %llu ms (%d of %d workers ready%s%s)",
             (unsigned long long)m->o->ready_timeout_ms, ready, g->nslots,
             last ? "; last check: " : "", last ? last : "");
    gen_event(g, GEV_READY_TIMEOUT, NULL);
}

static void start_generation(struct master *m, struct op *op)
{
    char **argv = op->argv;
    if (op->kind == OP_ROLLBACK)
        argv = m->prev_argv;
    else if (!argv && m->current)
        argv = m->current->argv;
    if (!argv) {
        if (op->req)
            ctl_reply_error(op->req, op->kind == OP_ROLLBACK
                                         ? "no previous generation to roll back to"
                                         : "no command to start");
        op->req = NULL;
        op_done(m, op);
        return;
    }
    struct gen *g = gen_create(m, argv, m->next_gen, m->o->workers);
    if (!g) {
        if (op->req)
            ctl_reply_error(op->req, "cannot start a generation: out of memory");
        op->req = NULL;
        op_done(m, op);
        return;
    }
    op->newg = g;
    log_info("generation %u starting %d workers: %s", g->id, g->nslots, g->argv[0]);
    gen_start_readiness(g);
    if (m->o->ready_timeout_ms)
        timer_start(m->loop, &g->ready_timer, m->o->ready_timeout_ms, on_ready_timeout, g);
    struct err e;
    for (int i = 0; i < g->nslots && g->state == GEN_STARTING; i++) {
        if (worker_spawn(g, i, &e) < 0) {
            snprintf(g->reason, sizeof(g->reason), "%s", e.msg);
            gen_event(g, GEV_STOP, NULL);
            return;
        }
    }
    state_save(m);
}

static void op_next(struct master *m)
{
    while (!m->op && m->queue) {
        struct op *op = m->queue;
        m->queue = op->next;
        op->next = NULL;
        if (m->stopping) {
            if (op->req)
                ctl_reply_error(op->req, "baton is stopping");
            argv_free(op->argv);
            free(op);
            continue;
        }
        m->op = op;
        op->started_unix_ms = wall_ms();
        if (op->kind == OP_REEXEC)
            handover_reexec(m, op);
        else
            start_generation(m, op);
    }
}

void op_enqueue(struct master *m, enum op_kind kind, char **argv, struct ctl_req *req,
                const char *binary)
{
    struct op *op = calloc(1, sizeof(*op));
    if (!op) {
        argv_free(argv);
        if (req)
            ctl_reply_error(req, "out of memory");
        return;
    }
    op->kind = kind;
    op->argv = argv;
    op->req = req;
    if (binary)
        snprintf(op->binary, sizeof(op->binary), "%s", binary);
    struct op **tail = &m->queue;
    while (*tail)
        tail = &(*tail)->next;
    *tail = op;
    if (m->op)
        log_info("an operation is running; the new request waits its turn");
    op_next(m);
}

void master_stop(struct master *m, struct ctl_req *req)
{
    if (req && m->nstop_reqs < (int)(sizeof(m->stop_reqs) / sizeof(m->stop_reqs[0])))
        m->stop_reqs[m->nstop_reqs++] = req;
    else if (req)
        ctl_reply_ok(req, NULL);
    if (m->stopping)
        return;
    m->stopping = 1;
    log_info("stopping: draining every generation");
    /* The running operation ends with its new generation (STOP -> FAILED). */
    if (m->op && m->op->kind == OP_REEXEC)
        master_fail_op_reexec(m, m->op, "baton is stopping");
    for (struct gen *g = m->gens; g;) {
        struct gen *next = g->next;
        if (g->state == GEN_STARTING || g->state == GEN_READY)
            snprintf(g->reason, sizeof(g->reason), "baton is stopping");
        gen_event(g, GEV_STOP, NULL);
        g = next;
    }
    if (m->op && !m->op->newg) {
        struct op *op = m->op;
        if (op->req)
            ctl_reply_error(op->req, "baton is stopping");
        op->req = NULL;
        op_done(m, op);
    }
    op_next(m); /* fails the queued ones */
    pxw_stop(m);
    master_maybe_exit(m);
}
