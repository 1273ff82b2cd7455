/* The readiness checks of one starting generation, on the master's loop. */
#include "supervise/ready.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "supervise/portcheck.h"
#include "supervise/probe.h"

#define READY_CHECK_TIMEOUT_MS 1000 /* one connect or GET of a worker's port */
#define READY_FIRST_ROUND_MS   1    /* the first round of port checks after the start */
#define READY_ROUND_MS         100  /* between rounds of port checks, at most */
#define READY_PROBE_RETRY_MS   200  /* between runs of the exec:CMD probe */

struct ready_slot {
    struct ready *r;
    int index;
    pid_t pid; /* 0 while the slot has no worker */
    int port;
    int ready;
    struct portcheck *check;       /* in flight */
    char what[PORTCHECK_WHAT_MAX]; /* the last failed check */
};

struct ready {
    struct loop *loop;
    const struct run_opts *o;
    unsigned gen_id;
    int nslots;
    struct ready_slot *slots;
    struct timer timer; /* the delay, the next round of checks, or the probe's retry */
    uint64_t round_ms;  /* until the next round: doubles from READY_FIRST_ROUND_MS */
    struct probe *probe;
    ready_cb cb;
    void *data;
};

/* --- exec:CMD ---------------------------------------------------------------------------- */

static void start_probe(struct ready *r);

static void on_probe_retry(struct loop *loop, struct timer *t)
{
    start_probe(t->data);
}

static void on_probe_done(struct probe *p, int ok, const char *what, const char *out, void *data)
{
    struct ready *r = data;
    r->probe = NULL;
    if (ok) {
        log_info("generation %u: readiness probe succeeded", r->gen_id);
        r->cb(-1, r->data);
        return;
    }
    log_debug("generation %u: readiness probe %s; retrying", r->gen_id, what);
    timer_start(r->loop, &r->timer, READY_PROBE_RETRY_MS, on_probe_retry, r);
}

static void start_probe(struct ready *r)
{
    char gen_s[48], pids[1024] = "BATON_WORKER_PIDS=";
    snprintf(gen_s, sizeof(gen_s), "BATON_GENERATION=%u", r->gen_id);
    size_t off = strlen(pids);
    for (int i = 0; i < r->nslots && off < sizeof(pids) - 16; i++)
        if (r->slots[i].pid)
            off += (size_t)snprintf(pids + off, sizeof(pids) - off, "%s%d", i ? " " : "",
                                    (int)r->slots[i].pid);
    char *env[] = {gen_s, pids, NULL};
    char *argv[] = {"/bin/sh", "-c", r->o->ready_cmd, NULL};
    struct err e;
    if (probe_start(&r->probe, r->loop, argv, env, r->o->ready_timeout_ms, on_probe_done, r, &e) <
        0) {
        log_warn("generation %u: %s", r->gen_id, e.msg);
        timer_start(r->loop, &r->timer, READY_PROBE_RETRY_MS, on_probe_retry, r);
    }
}

/* --- after:MS ------------------------------------------------------------------------------ */

static void on_after(struct loop *loop, struct timer *t)
{
    struct ready *r = t->data;
    r->cb(-1, r->data);
}

/* --- connect | http:PATH ------------------------------------------------------------------- */

static void on_check_done(int ok, const char *what, void *data)
{
    struct ready_slot *s = data;
    struct ready *r = s->r;
    s->check = NULL;
    if (!ok) {
        snprintf(s->what, sizeof(s->what), "%s", what);
        log_debug("generation %u: worker %d not ready yet: %s", r->gen_id, (int)s->pid, what);
        return;
    }
    s->ready = 1;
    s->what[0] = 0;
    log_info("generation %u: worker %d is ready (port %d: %s)", r->gen_id, (int)s->pid, s->port,
             what);
    r->cb(s->index, r->data);
}

static void check_port(struct ready *r, struct ready_slot *s)
{
    struct err e;
    const char *path = r->o->ready_mode == READY_HTTP ? r->o->ready_path : NULL;
    if (portcheck_start(&s->check, r->loop, s->port, path, READY_CHECK_TIMEOUT_MS, on_check_done, s,
                        &e) < 0) {
        s->check = NULL;
        snprintf(s->what, sizeof(s->what), "%s", e.msg);
    }
}

static void on_round(struct loop *loop, struct timer *t)
{
    struct ready *r = t->data;
    for (int i = 0; i < r->nslots; i++) {
        struct ready_slot *s = &r->slots[i];
        if (s->pid && !s->ready && !s->check)
            check_port(r, s);
    }
    /* A worker that is up within milliseconds is seen within about as long again; one
     * that takes seconds is checked ten times a second. */
    r->round_ms = r->round_ms * 2 > READY_ROUND_MS ? READY_ROUND_MS : r->round_ms * 2;
    timer_start(loop, &r->timer, r->round_ms, on_round, r);
}

/* --- the checks of one generation ---------------------------------------------------------- */

struct ready *ready_start(struct loop *loop, const struct run_opts *o, unsigned gen_id, int nslots,
                          ready_cb cb, void *data)
{
    struct ready *r = calloc(1, sizeof(*r));
    struct ready_slot *slots = calloc((size_t)(nslots > 0 ? nslots : 1), sizeof(*slots));
    if (!r || !slots) {
        free(r);
        free(slots);
        log_error("generation %u: cannot check readiness: out of memory", gen_id);
        return NULL;
    }
    *r = (struct ready){.loop = loop,
                        .o = o,
                        .gen_id = gen_id,
                        .nslots = nslots,
                        .slots = slots,
                        .cb = cb,
                        .data = data};
    for (int i = 0; i < nslots; i++) {
        slots[i].r = r;
        slots[i].index = i;
    }
    r->round_ms = READY_FIRST_ROUND_MS;
    if (o->ready_mode == READY_CONNECT || o->ready_mode == READY_HTTP)
        timer_start(loop, &r->timer, r->round_ms, on_round, r);
    else if (o->ready_mode == READY_AFTER)
        timer_start(loop, &r->timer, o->ready_after_ms, on_after, r);
    else if (o->ready_mode == READY_EXEC)
        start_probe(r);
    return r;
}

void ready_set_worker(struct ready *r, int slot, pid_t pid, int port)
{
    if (!r || slot < 0 || slot >= r->nslots)
        return;
    r->slots[slot].pid = pid;
    r->slots[slot].port = port;
}

void ready_forget(struct ready *r, int slot)
{
    if (!r || slot < 0 || slot >= r->nslots)
        return;
    struct ready_slot *s = &r->slots[slot];
    portcheck_cancel(s->check);
    s->check = NULL;
    s->pid = 0;
    s->what[0] = 0;
}

const char *ready_last_failure(const struct ready *r)
{
    const char *last = NULL;
    for (int i = 0; r && i < r->nslots; i++)
        if (r->slots[i].pid && !r->slots[i].ready && r->slots[i].what[0])
            last = r->slots[i].what;
    return last;
}

void ready_stop(struct ready *r)
{
    if (!r)
        return;
    timer_stop(r->loop, &r->timer);
    if (r->probe)
        probe_cancel(r->probe);
    for (int i = 0; i < r->nslots; i++)
        portcheck_cancel(r->slots[i].check);
    loop_defer_free(r->loop, r->slots);
    loop_defer_free(r->loop, r);
}
