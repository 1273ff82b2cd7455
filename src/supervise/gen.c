/* A generation: the state machine as one table, action[state][event], with its actions
 * beside it; its slots and workers (slot.c, worker.c) and readiness (ready.c); its
 * record in the state file and its part of `status`. The set of them is gens.c.
 *
 *                 ALL_READY            PROMOTE
 *   STARTING ---------------> READY -------------> SERVING ---- WORKER_EXIT: RESTART
 *      |                        |                     |            (backoff)
 *      | WORKER_EXIT            | WORKER_EXIT         | STOP
 *      | READY_TIMEOUT          | STOP                v
 *      | STOP                   |                  DRAINING ---- DRAIN_TIMEOUT: KILL
 *      v                        |                     |
 *   FAILED <--------------------+                     | ALL_EXITED
 *      |  DRAIN_TIMEOUT: KILL                         v
 *      |  ALL_EXITED: RETIRE (freed)               EXITED (RETIRE: freed)
 *
 * transition -> function (this file)
 *   STARTING --ALL_READY--> READY      GACT_HOLD     gen_hold
 *   READY    --PROMOTE--->  SERVING    GACT_PROMOTE  gen_promote
 *   STARTING|READY --WORKER_EXIT|READY_TIMEOUT|STOP--> FAILED  GACT_FAIL  gen_fail
 *   SERVING  --WORKER_EXIT--> SERVING  GACT_RESTART  gen_restart_slot
 *   SERVING  --STOP-------> DRAINING   GACT_DRAIN    gen_drain
 *   SERVING  --ALL_EXITED-> EXITED     GACT_RETIRE   gen_retire (recovered orphans only)
 *   DRAINING|FAILED --DRAIN_TIMEOUT--> same        GACT_KILL     gen_kill
 *   DRAINING --ALL_EXITED--> EXITED    GACT_RETIRE   gen_retire
 *   FAILED   --ALL_EXITED--> FAILED    GACT_RETIRE   gen_retire
 * Any pair not listed is either a no-op (noted, e.g. STOP while DRAINING) or invalid.
 * On PROMOTE the master hands the old generation to the mode: handoff mode stops it at
 * once; proxy mode keeps it SERVING (no longer current) until the proxy worker reports
 * its backends drained, and only then sends it STOP (mode_proxy.c). */
#include "supervise/gen.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "supervise/ready.h"
#include "supervise/slot.h"
#include "supervise/state.h"
#include "supervise/worker.h"

struct gen {
    struct gen_owner *owner;
    struct run_ctx *ctx;
    unsigned id;
    enum gen_state state;
    int orphan; /* recovered after a master was killed: not our children, never restarted */
    int retired;
    char **argv;
    int nslots;
    struct slot *slots;
    int live; /* workers not yet exited */
    struct ready *ready;
    struct timer ready_timer, hold_timer, drain_timer;
    unsigned restarts;
    uint64_t started_ms;
    uint64_t ready_us; /* when all its workers were ready */
    int64_t started_unix_ms;
    int64_t drain_deadline_unix_ms;
    char reason[320]; /* why it failed */
};

/* --- the table -------------------------------------------------------------------------- */

struct gen_transition {
    unsigned char valid;
    unsigned char next;
    unsigned char action;
};

/* One row per state, one column per event (in enum gen_event's order). */
/* clang-format off */
#define T(next, act) {1, GEN_##next, GACT_##act}
#define NOOP(state)  {1, GEN_##state, GACT_NONE}
#define BAD          {0, 0, 0}
static const struct gen_transition action[GEN_NSTATES][GEV_NEVENTS] = {
    /*                ALL_READY           PROMOTE              WORKER_EXIT          READY_TIMEOUT
                      STOP                DRAIN_TIMEOUT        ALL_EXITED */
    [GEN_STARTING] = {T(READY, HOLD),     BAD,                 T(FAILED, FAIL),     T(FAILED, FAIL),
                      T(FAILED, FAIL),    BAD,                 BAD},
    [GEN_READY]    = {BAD,                T(SERVING, PROMOTE), T(FAILED, FAIL),     NOOP(READY),
                      T(FAILED, FAIL),    BAD,                 BAD},
    [GEN_SERVING]  = {NOOP(SERVING),      BAD,                 T(SERVING, RESTART), NOOP(SERVING),
                      T(DRAINING, DRAIN), BAD,                 T(EXITED, RETIRE)},
    [GEN_DRAINING] = {NOOP(DRAINING),     BAD,                 NOOP(DRAINING),      NOOP(DRAINING),
                      NOOP(DRAINING),     T(DRAINING, KILL),   T(EXITED, RETIRE)},
    [GEN_EXITED]   = {BAD,                BAD,                 BAD,                 BAD,
                      NOOP(EXITED),       BAD,                 BAD},
    [GEN_FAILED]   = {NOOP(FAILED),       BAD,                 NOOP(FAILED),        NOOP(FAILED),
                      NOOP(FAILED),       T(FAILED, KILL),     T(FAILED, RETIRE)},
};
/* clang-format on */
#undef T
#undef NOOP
#undef BAD

int gen_step(enum gen_state *state, enum gen_event ev)
{
    if ((unsigned)*state >= GEN_NSTATES || (unsigned)ev >= GEV_NEVENTS)
        return -1;
    const struct gen_transition *t = &action[*state][ev];
    if (!t->valid)
        return -1;
    *state = (enum gen_state)t->next;
    return t->action;
}

static const char *const state_names[GEN_NSTATES] = {"starting", "ready",  "serving",
                                                     "draining", "exited", "failed"};
static const char *const event_names[GEV_NEVENTS] = {
    "all_ready", "promote", "worker_exit", "ready_timeout", "stop", "drain_timeout", "all_exited"};
static const char *const action_names[] = {"none",    "hold",  "promote", "fail",
                                           "restart", "drain", "kill",    "retire"};

const char *gen_state_name(enum gen_state s)
{
    return (unsigned)s < GEN_NSTATES ? state_names[s] : "unknown";
}

const char *gen_event_name(enum gen_event ev)
{
    return (unsigned)ev < GEV_NEVENTS ? event_names[ev] : "unknown";
}

const char *gen_action_name(enum gen_action a)
{
    return (unsigned)a < sizeof(action_names) / sizeof(action_names[0]) ? action_names[a]
                                                                        : "unknown";
}

int gen_state_parse(const char *name)
{
    for (int i = 0; i < GEN_NSTATES; i++)
        if (strcmp(name, state_names[i]) == 0)
            return i;
    return -1;
}

/* --- the actions ------------------------------------------------------------------------ */

static void gen_event(struct gen *g, enum gen_event ev, struct slot *slot);

static void note(struct gen *g, enum run_note n)
{
    ctx_note(g->ctx, n, g, NULL);
}

static void stop_readiness(struct gen *g)
{
    ready_stop(g->ready);
    g->ready = NULL;
    timer_stop(g->ctx->loop, &g->ready_timer);
}

static void on_hold_done(struct loop *loop, struct timer *t)
{
    gen_event(t->data, GEV_PROMOTE, NULL);
}

static void gen_hold(struct gen *g)
{
    g->ready_us = clock_now_us();
    stop_readiness(g);
    log_event(LOG_INFO, "ready", g->id, "generation %u: all %d workers ready", g->id, g->nslots);
    if (g->ctx->o->min_ready_ms == 0)
        gen_event(g, GEV_PROMOTE, NULL);
    else
        timer_start(g->ctx->loop, &g->hold_timer, g->ctx->o->min_ready_ms, on_hold_done, g);
}

static void gen_promote(struct gen *g)
{
    g->owner->promoted(g->owner, g);
}

static void on_drain_timeout(struct loop *loop, struct timer *t)
{
    gen_event(t->data, GEV_DRAIN_TIMEOUT, NULL);
}

/* Stop signal to every worker, SIGKILL at the drain deadline. */
static void stop_workers(struct gen *g)
{
    const struct run_opts *o = g->ctx->o;
    for (int i = 0; i < g->nslots; i++) {
        timer_stop(g->ctx->loop, &g->slots[i].restart);
        if (g->slots[i].w)
            worker_signal(g->slots[i].w, o->stop_signal);
    }
    g->drain_deadline_unix_ms = clock_wall_ms() + (int64_t)o->drain_timeout_ms;
    timer_start(g->ctx->loop, &g->drain_timer, o->drain_timeout_ms, on_drain_timeout, g);
}

static void gen_fail(struct gen *g)
{
    stop_readiness(g);
    timer_stop(g->ctx->loop, &g->hold_timer);
    if (!g->reason[0])
        snprintf(g->reason, sizeof(g->reason), "stopped");
    stop_workers(g);
    g->owner->failed(g->owner, g);
}

static int spawn(struct gen *g, struct slot *s, struct err *e);

static void on_restart(struct loop *loop, struct timer *t)
{
    struct slot *s = t->data;
    struct gen *g = s->owner;
    if (g->state != GEN_SERVING || s->w)
        return;
    struct err e;
    if (spawn(g, s, &e) < 0) {
        log_error("generation %u: %s", g->id, e.msg);
        s->fails++;
        timer_start(loop, &s->restart, 1000, on_restart, s);
    }
    note(g, NOTE_CHANGED);
}

static void gen_restart_slot(struct gen *g, struct slot *s)
{
    if (g->orphan || !s)
        return; /* not our children: their command line is not ours to repeat */
    uint64_t delay = worker_backoff_ms(&s->fails);
    g->restarts++;
    log_warn("generation %u: restarting slot %d in %llu ms (restart %u)", g->id, s->index,
             (unsigned long long)delay, g->restarts);
    timer_start(g->ctx->loop, &s->restart, delay, on_restart, s);
}

static void gen_drain(struct gen *g)
{
    const struct run_opts *o = g->ctx->o;
    log_event(LOG_INFO, "draining", g->id,
              "generation %u: draining %d workers (signal %d, kill after %llu ms)", g->id, g->live,
              o->stop_signal, (unsigned long long)o->drain_timeout_ms);
    stop_workers(g);
}

static void gen_kill(struct gen *g)
{
    int n = 0;
    for (int i = 0; i < g->nslots; i++)
        if (g->slots[i].w) {
            worker_signal(g->slots[i].w, SIGKILL);
            n++;
        }
    if (n)
        log_warn("generation %u: drain timeout; killed %d workers", g->id, n);
    note(g, NOTE_SWITCH_CHECK);
}

/* Drops timers, checks and worker records; the memory goes when the loop regains control. */
static void release(struct gen *g)
{
    struct loop *l = g->ctx->loop;
    stop_readiness(g);
    timer_stop(l, &g->hold_timer);
    timer_stop(l, &g->drain_timer);
    for (int i = 0; i < g->nslots; i++) {
        timer_stop(l, &g->slots[i].restart);
        worker_free(g->slots[i].w);
        g->slots[i].w = NULL;
    }
    spawn_argv_free(g->argv);
    g->argv = NULL;
    loop_defer_free(l, g->slots);
    loop_defer_free(l, g);
}

static void gen_retire(struct gen *g)
{
    g->retired = 1;
    log_event(LOG_INFO, "exited", g->id, "generation %u %s", g->id,
              g->state == GEN_EXITED ? "exited" : "is gone");
    g->owner->retired(g->owner, g);
    release(g);
}

static void gen_event(struct gen *g, enum gen_event ev, struct slot *slot)
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
    struct run_ctx *ctx = g->ctx;
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
        ctx_note(ctx, NOTE_CHANGED, NULL, NULL);
        return;
    }
    /* A generation that is left without workers and wants none ends here. */
    if (!g->retired && g->live == 0 &&
        (g->state == GEN_DRAINING || g->state == GEN_FAILED ||
         (g->state == GEN_SERVING && g->orphan)))
        gen_event(g, GEV_ALL_EXITED, NULL);
    else
        ctx_note(ctx, NOTE_CHANGED, NULL, NULL);
}

/* --- workers in slots ------------------------------------------------------------------- */

static void on_worker_exit(struct worker *w, const char *what, void *data)
{
    struct slot *s = data;
    struct gen *g = s->owner;
    uint64_t lived = loop_now_ms(g->ctx->loop) - w->started_ms;
    ready_forget(g->ready, s->index);
    slot_emptied(s, lived);
    g->live--;
    if (g->state == GEN_DRAINING || g->state == GEN_FAILED)
        log_info("generation %u: worker %d %s", g->id, (int)w->pid, what);
    else
        log_warn("generation %u: worker %d (slot %d) %s after %llu ms", g->id, (int)w->pid,
                 s->index, what, (unsigned long long)lived);
    if (g->state == GEN_STARTING || g->state == GEN_READY)
        snprintf(g->reason, sizeof(g->reason), "worker %d %s %s", (int)w->pid, what,
                 g->state == GEN_STARTING ? "before it was ready"
                                          : "during the --min-ready period");
    gen_event(g, GEV_WORKER_EXIT, s);
    note(g, NOTE_SWITCH_CHECK);
}

static int spawn(struct gen *g, struct slot *s, struct err *e)
{
    if (slot_spawn(s, g->ctx, g->id, g->argv, on_worker_exit, e) < 0)
        return -1;
    g->live++;
    /* Workers restarted into a serving generation need no readiness gate. */
    if (g->state != GEN_STARTING)
        s->w->ready = 1;
    return 0;
}

/* --- readiness -------------------------------------------------------------------------- */

static int all_ready(const struct gen *g)
{
    for (int i = 0; i < g->nslots; i++)
        if (!g->slots[i].w || !g->slots[i].w->ready)
            return 0;
    return 1;
}

/* From ready.c: worker `slot` is ready (slot -1: all of them). */
static void on_ready(int slot, void *data)
{
    struct gen *g = data;
    for (int i = 0; i < g->nslots; i++)
        if (g->slots[i].w && (slot < 0 || slot == i))
            g->slots[i].w->ready = 1;
    if (slot >= 0)
        note(g, NOTE_CHANGED);
    if (g->state == GEN_STARTING && all_ready(g))
        gen_event(g, GEV_ALL_READY, NULL);
}

static void on_ready_timeout(struct loop *loop, struct timer *t)
{
    struct gen *g = t->data;
    int ready = 0;
    for (int i = 0; i < g->nslots; i++)
        ready += g->slots[i].w && g->slots[i].w->ready;
    const char *last = ready_last_failure(g->ready);
    snprintf(g->reason, sizeof(g->reason), "not ready within %llu ms (%d of %d workers ready%s%s)",
             (unsigned long long)g->ctx->o->ready_timeout_ms, ready, g->nslots,
             last ? "; last check: " : "", last ? last : "");
    gen_event(g, GEV_READY_TIMEOUT, NULL);
}

void gen_notify(struct gen *g, pid_t worker_pid, pid_t pid, const struct notify_msg *msg)
{
    struct worker *w = NULL;
    for (int i = 0; i < g->nslots && !w; i++)
        if (g->slots[i].w && g->slots[i].w->pid == worker_pid)
            w = g->slots[i].w;
    if (!w)
        return;
    if (msg->has_status)
        log_debug("generation %u: worker %d status: %s", g->id, (int)pid, msg->status);
    if (msg->stopping && !w->stopping) {
        w->stopping = 1;
        log_debug("generation %u: worker %d stopped accepting", g->id, (int)pid);
        note(g, NOTE_CHANGED);
        note(g, NOTE_SWITCH_CHECK);
    }
    if (msg->ready && !w->ready && g->ctx->o->ready_mode == READY_NOTIFY) {
        w->ready = 1;
        log_debug("generation %u: worker %d is ready", g->id, (int)pid);
        note(g, NOTE_CHANGED);
        if (g->state == GEN_STARTING && all_ready(g))
            gen_event(g, GEV_ALL_READY, NULL);
    }
}

/* --- one generation --------------------------------------------------------------------- */

struct gen *gen_new(struct gen_owner *owner, struct run_ctx *ctx, char *const *argv, unsigned id,
                    int nslots)
{
    struct gen *g = calloc(1, sizeof(*g));
    struct slot *slots = calloc((size_t)(nslots > 0 ? nslots : 1), sizeof(*slots));
    char **copy = spawn_argv_dup(argv);
    if (!g || !slots || !copy) {
        free(g);
        free(slots);
        spawn_argv_free(copy);
        return NULL;
    }
    *g = (struct gen){.owner = owner,
                      .ctx = ctx,
                      .id = id,
                      .argv = copy,
                      .nslots = nslots,
                      .slots = slots,
                      .state = GEN_STARTING};
    for (int i = 0; i < nslots; i++) {
        slots[i].owner = g;
        slots[i].index = i;
    }
    g->started_ms = loop_now_ms(ctx->loop);
    g->started_unix_ms = clock_wall_ms();
    return g;
}

void gen_free(struct gen *g)
{
    if (g)
        release(g);
}

void gen_start(struct gen *g)
{
    struct run_ctx *ctx = g->ctx;
    log_event(LOG_INFO, "starting", g->id, "generation %u starting %d workers: %s", g->id,
              g->nslots, g->argv[0]);
    g->ready = ready_start(ctx->loop, ctx->o, g->id, g->nslots, on_ready, g);
    if (ctx->o->ready_timeout_ms)
        timer_start(ctx->loop, &g->ready_timer, ctx->o->ready_timeout_ms, on_ready_timeout, g);
    for (int i = 0; i < g->nslots && g->state == GEN_STARTING; i++) {
        struct err e;
        if (spawn(g, &g->slots[i], &e) < 0) {
            snprintf(g->reason, sizeof(g->reason), "%s", e.msg);
            gen_event(g, GEV_STOP, NULL);
            return;
        }
        ready_set_worker(g->ready, i, g->slots[i].w->pid, g->slots[i].port);
    }
    note(g, NOTE_CHANGED);
}

void gen_stop(struct gen *g, const char *reason)
{
    if (reason && (g->state == GEN_STARTING || g->state == GEN_READY))
        snprintf(g->reason, sizeof(g->reason), "%s", reason);
    gen_event(g, GEV_STOP, NULL);
}

unsigned gen_id(const struct gen *g)
{
    return g->id;
}

enum gen_state gen_state(const struct gen *g)
{
    return g->state;
}

int gen_orphan(const struct gen *g)
{
    return g->orphan;
}

int gen_nslots(const struct gen *g)
{
    return g->nslots;
}

int gen_port(const struct gen *g, int slot)
{
    return slot >= 0 && slot < g->nslots ? g->slots[slot].port : 0;
}

char *const *gen_argv(const struct gen *g)
{
    return g->argv;
}

const char *gen_reason(const struct gen *g)
{
    return g->reason;
}

int gen_stopped_accepting(const struct gen *g)
{
    for (int i = 0; i < g->nslots; i++) {
        const struct worker *w = g->slots[i].w;
        if (w && !w->stopping && !w->killed)
            return 0;
    }
    return 1;
}

uint64_t gen_ready_us(const struct gen *g)
{
    return g->ready_us;
}

uint64_t gen_exec_us(const struct gen *g)
{
    uint64_t last = 0;
    for (int i = 0; i < g->nslots; i++)
        if (g->slots[i].w && g->slots[i].w->exec_us > last)
            last = g->slots[i].w->exec_us;
    return last;
}

int gen_has_worker(const struct gen *g, pid_t pid)
{
    for (int i = 0; i < g->nslots; i++)
        if (g->slots[i].w && g->slots[i].w->pid == pid)
            return 1;
    return 0;
}

int gen_has_port(const struct gen *g, int port)
{
    for (int i = 0; i < g->nslots; i++)
        if (g->slots[i].port == port)
            return 1;
    return 0;
}

/* --- its part of status and of the state file ------------------------------------------- */

json_t *gen_status(const struct gen *g, int current)
{
    uint64_t now = loop_now_ms(g->ctx->loop);
    int ports = g->ctx->private_ports;
    json_t *jg = json_pack("{s:i,s:s,s:o,s:I,s:I,s:i,s:i,s:b,s:b,s:o}", "id", (int)g->id, "state",
                           gen_state_name(g->state), "command", state_argv_json(g->argv), "age_ms",
                           (json_int_t)(now - g->started_ms), "started_unix_ms",
                           (json_int_t)g->started_unix_ms, "restarts", (int)g->restarts, "live",
                           g->live, "current", current, "orphan", g->orphan, "workers",
                           slots_status(g->slots, g->nslots, now, ports));
    if (g->reason[0])
        json_object_set_new(jg, "reason", json_string(g->reason));
    if (ports)
        json_object_set_new(jg, "ports", slots_ports(g->slots, g->nslots));
    return jg;
}

json_t *gen_to_json(const struct gen *g)
{
    json_t *jg =
        json_pack("{s:i,s:i,s:b,s:o,s:I,s:I,s:i,s:i,s:o}", "id", (int)g->id, "state", (int)g->state,
                  "orphan", g->orphan, "command", state_argv_json(g->argv), "started_unix_ms",
                  (json_int_t)g->started_unix_ms, "drain_deadline_unix_ms",
                  (json_int_t)g->drain_deadline_unix_ms, "restarts", (int)g->restarts, "slots",
                  g->nslots, "workers", slots_to_json(g->slots, g->nslots));
    if (g->ctx->private_ports)
        json_object_set_new(jg, "ports", slots_ports(g->slots, g->nslots));
    return jg;
}

int gen_from_json(struct gen_owner *owner, struct run_ctx *ctx, json_t *jg, struct gen **out,
                  struct err *e)
{
    long long id, state, started, deadline, restarts, nslots;
    struct state_int f[] = {{"id", 1, STATE_MAX_ID, &id},
                            {"state", 0, GEN_NSTATES - 1, &state},
                            {"started_unix_ms", 0, INT64_MAX, &started},
                            {"drain_deadline_unix_ms", 0, INT64_MAX, &deadline},
                            {"restarts", 0, STATE_MAX_ID, &restarts},
                            {"slots", 0, STATE_MAX_WORKERS, &nslots}};
    char **argv;
    if (!json_is_object(jg))
        return err_set(e, "malformed state: a generation is not an object");
    if (state_get_ints(jg, f, sizeof(f) / sizeof(f[0]), "generation", e) < 0 ||
        state_get_argv(json_object_get(jg, "command"), &argv, "generation", e) < 0)
        return -1;
    struct gen *g = gen_new(owner, ctx, argv, (unsigned)id, (int)nslots);
    spawn_argv_free(argv);
    if (!g)
        return err_set(e, "cannot take over generation %lld: out of memory", id);
    g->state = (enum gen_state)state;
    g->orphan = json_is_true(json_object_get(jg, "orphan"));
    g->started_unix_ms = started;
    g->drain_deadline_unix_ms = deadline;
    g->restarts = (unsigned)restarts;
    int64_t age = clock_wall_ms() - started;
    if (age > 0 && (uint64_t)age < g->started_ms)
        g->started_ms -= (uint64_t)age;
    if (slots_from_json(g->slots, g->nslots, json_object_get(jg, "workers"),
                        json_object_get(jg, "ports"), !g->orphan, g->id, e) < 0) {
        gen_free(g);
        return -1;
    }
    *out = g;
    return 0;
}

/* --- taking over ------------------------------------------------------------------------ */

void gen_resume(struct gen *g)
{
    for (int i = 0; i < g->nslots; i++) {
        struct slot *s = &g->slots[i];
        if (s->w && g->orphan && !worker_alive(s->w)) {
            worker_free(s->w);
            s->w = NULL;
        }
        if (s->w)
            g->live += slot_watch(s, g->ctx->loop, g->id, on_worker_exit);
    }
    if (g->state == GEN_DRAINING || g->state == GEN_FAILED) {
        int64_t left = g->drain_deadline_unix_ms - clock_wall_ms();
        timer_start(g->ctx->loop, &g->drain_timer, left > 0 ? (uint64_t)left : 0, on_drain_timeout,
                    g);
    }
}

void gen_settle(struct gen *g)
{
    if (g->state == GEN_SERVING && !g->orphan) {
        for (int i = 0; i < g->nslots; i++)
            if (!g->slots[i].w)
                gen_event(g, GEV_WORKER_EXIT, &g->slots[i]);
    } else if (g->live == 0 && g->state != GEN_SERVING) {
        gen_event(g, GEV_ALL_EXITED, NULL);
    }
}

int gen_survivors(struct gen *g, pid_t *pids, int max)
{
    int n = 0;
    for (int i = 0; i < g->nslots; i++) {
        struct slot *s = &g->slots[i];
        if (s->w && !worker_alive(s->w)) {
            worker_free(s->w); /* gone, or its pid was reused */
            s->w = NULL;
        }
        if (s->w && n < max)
            pids[n] = s->w->pid;
        n += s->w != NULL;
    }
    return n;
}

int gen_adopt(struct gen *g)
{
    g->orphan = 1;
    g->state = GEN_SERVING;
    for (int i = 0; i < g->nslots; i++)
        if (g->slots[i].w) {
            g->slots[i].w->child = 0;
            g->live += slot_watch(&g->slots[i], g->ctx->loop, g->id, on_worker_exit);
        }
    return g->live;
}
