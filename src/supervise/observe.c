/* The master's metrics and timelines: each note, the generations are compared with what
 * was seen before; a new generation opens an upgrade record (start, ready, switched,
 * drained), its operation's end closes the switch, the old generation's exit the drain.
 * Counters live in memory: a re-exec starts them over (Prometheus reads that as a
 * counter reset), except re-execs, which the state file carries. */
#include "supervise/observe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "obs/admin.h"

#define SEEN_MAX    64
#define RECORDS_MAX 8

enum { PH_READY, PH_SWITCH, PH_DRAIN, PH_N };
static const char *const phase_names[PH_N] = {"ready", "switch", "drain"};
static const double phase_bounds[] = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};
#define NPHASE_BOUNDS ((int)(sizeof(phase_bounds) / sizeof(phase_bounds[0])))

static const char *const reasons[] = {"requested",    "ready_timeout", "worker_exited",
                                      "spawn_failed", "stopped",       "other"};
#define NREASONS ((int)(sizeof(reasons) / sizeof(reasons[0])))

struct record {
    char kind[12]; /* start, upgrade, rollback */
    unsigned from, to;
    int64_t started, ready, switched, drained; /* wall ms, 0 = not yet */
    const char *result;                        /* "running", "switched", "failed" */
    char reason[160];
};

struct seen {
    unsigned id;
    int state;
};

struct runobs {
    struct run_ctx *ctx;
    struct gens *gs;
    struct ops *q;
    json_t *(*status)(void *data);
    void *status_data;
    struct admin *admin;
    struct seen seen[SEEN_MAX];
    int nseen;
    struct record rec[RECORDS_MAX]; /* ring, oldest overwritten */
    unsigned nrec;
    struct record *open; /* the record of the running operation */
    char op[12];         /* the running operation's kind, "" = none */
    unsigned newest;     /* the highest generation id seen */
    /* automatic rollbacks by reason (from index 1); the upgrades switched or failed and
     * the rollbacks requested are the operation queue's own counts */
    uint64_t rollbacks[NREASONS], restarts_gone;
    struct hist phases[PH_N];
};

static int64_t elapsed_ms(int64_t from, int64_t to)
{
    return from && to > from ? to - from : 0;
}

static void phase_done(struct runobs *r, const struct record *rec, int ph, int64_t from, int64_t to)
{
    if (strcmp(rec->kind, "start") != 0 && from)
        hist_observe(&r->phases[ph], phase_bounds, NPHASE_BOUNDS,
                     (double)elapsed_ms(from, to) / 1000.0);
}

static struct record *record_for(struct runobs *r, unsigned id)
{
    for (unsigned i = 0; i < RECORDS_MAX && i < r->nrec; i++)
        if (r->rec[i].to == id)
            return &r->rec[i];
    return NULL;
}

static int reason_index(const char *why)
{
    if (strstr(why, "not ready within"))
        return 1;
    if (strstr(why, "before it was ready") || strstr(why, "--min-ready"))
        return 2;
    if (strstr(why, "spawn") || strstr(why, "exec"))
        return 3;
    if (strcmp(why, "stopped") == 0 || strstr(why, "stopping"))
        return 4;
    return 5;
}

/* A generation newer than any seen opens the record of operation `kind` (one taken
 * over after a re-exec or a killed master has no operation: no record). */
static void gen_new_seen(struct runobs *r, struct gen *g, const char *kind, int64_t now)
{
    int newer = gen_id(g) > r->newest;
    if (newer)
        r->newest = gen_id(g);
    if (!newer || !kind[0] || strcmp(kind, "reexec") == 0)
        return;
    struct record *rec = &r->rec[r->nrec++ % RECORDS_MAX];
    struct gen *cur = gens_current(r->gs);
    *rec = (struct record){
        .from = cur ? gen_id(cur) : 0, .to = gen_id(g), .started = now, .result = "running"};
    snprintf(rec->kind, sizeof(rec->kind), "%s", kind);
    r->open = rec;
}

static void gen_changed(struct runobs *r, struct gen *g, int64_t now)
{
    struct record *rec = record_for(r, gen_id(g));
    enum gen_state s = gen_state(g);
    if (rec && (s == GEN_READY || s == GEN_SERVING) && !rec->ready) {
        rec->ready = now;
        phase_done(r, rec, PH_READY, rec->started, now);
    }
    /* counted without a record too: a generation that started and failed between two
     * notes has none */
    if (s == GEN_FAILED && (!rec || strcmp(rec->result, "running") == 0)) {
        if (rec) {
            rec->result = "failed";
            snprintf(rec->reason, sizeof(rec->reason), "%s", gen_reason(g));
        }
        if (gens_current(r->gs))
            r->rollbacks[reason_index(gen_reason(g))]++;
    }
}

/* The generation `id` is gone or exited: the drain of the upgrades it was replaced by. */
static void gen_gone(struct runobs *r, unsigned id, int64_t now)
{
    for (unsigned i = 0; i < RECORDS_MAX && i < r->nrec; i++) {
        struct record *rec = &r->rec[i];
        if (rec->from == id && !rec->drained && rec->switched) {
            rec->drained = now;
            phase_done(r, rec, PH_DRAIN, rec->switched, now);
        }
    }
}

/* The running operation ended: its generation serves (switched) or failed. */
static void op_ended(struct runobs *r, int64_t now)
{
    struct record *rec = r->open;
    r->open = NULL;
    if (!rec || strcmp(rec->result, "running") != 0)
        return;
    struct gen *cur = gens_current(r->gs);
    if (!cur || gen_id(cur) != rec->to)
        return;
    rec->result = "switched";
    rec->switched = now;
    phase_done(r, rec, PH_SWITCH, rec->ready, now);
}

static void running_op(struct runobs *r, char *kind, size_t size)
{
    json_t *st = json_object();
    op_status(r->q, st);
    const char *k = json_string_value(json_object_get(st, "operation"));
    snprintf(kind, size, "%s", k ? k : "");
    json_decref(st);
}

void runobs_note(struct runobs *r, enum run_note n, struct gen *g)
{
    if (!r)
        return;
    int64_t now = clock_wall_ms();
    char op[sizeof(r->op)], prev[sizeof(r->op)];
    running_op(r, op, sizeof(op));
    snprintf(prev, sizeof(prev), "%s", r->op);
    if (n == NOTE_RETIRED && g) {
        json_t *st = gen_status(g, 0);
        r->restarts_gone += (uint64_t)json_integer_value(json_object_get(st, "restarts"));
        json_decref(st);
    }
    if (strcmp(op, r->op) != 0) {
        if (r->op[0])
            op_ended(r, now);
        snprintf(r->op, sizeof(r->op), "%s", op);
    }
    struct seen now_seen[SEEN_MAX] = {{0}};
    int nnow = 0;
    for (int i = 0; i < gens_count(r->gs) && nnow < SEEN_MAX; i++) {
        struct gen *x = gens_at(r->gs, i);
        int known = -1;
        for (int j = 0; j < r->nseen; j++)
            if (r->seen[j].id == gen_id(x))
                known = j;
        if (known < 0)
            gen_new_seen(r, x, op[0] ? op : prev, now); /* prev: it failed at once */
        if (known < 0 || r->seen[known].state != (int)gen_state(x))
            gen_changed(r, x, now);
        if (gen_state(x) == GEN_EXITED)
            gen_gone(r, gen_id(x), now);
        now_seen[nnow++] = (struct seen){gen_id(x), (int)gen_state(x)};
    }
    for (int j = 0; j < r->nseen; j++) {
        int still = 0;
        for (int i = 0; i < nnow; i++)
            still |= now_seen[i].id == r->seen[j].id;
        if (!still)
            gen_gone(r, r->seen[j].id, now);
    }
    memcpy(r->seen, now_seen, sizeof(now_seen[0]) * (size_t)nnow);
    r->nseen = nnow;
    /* An operation that started and ended between two notes opened its record above,
     * with nothing running any more: it ended in this note too. */
    if (!op[0] && r->open)
        op_ended(r, now);
}

/* --- what the listener serves ------------------------------------------------------------ */

static void write_gens(struct runobs *r, struct expo *x)
{
    int count[GEN_NSTATES] = {0};
    for (int i = 0; i < gens_count(r->gs); i++)
        count[gen_state(gens_at(r->gs, i))]++;
    expo_family(x, "baton_generations", "gauge", "Generations of workers by state.");
    for (int s = 0; s < GEN_NSTATES; s++)
        expo_sample(x, "baton_generations", (const char *[]){"state", gen_state_name(s), NULL},
                    count[s]);
    json_t *gens = gens_status(r->gs);
    size_t i;
    json_t *jg;
    uint64_t restarts = r->restarts_gone;
    expo_family(x, "baton_workers", "gauge", "Live worker processes by generation.");
    json_array_foreach(gens, i, jg)
    {
        char id[16];
        snprintf(id, sizeof(id), "%lld", json_integer_value(json_object_get(jg, "id")));
        const char *state = json_string_value(json_object_get(jg, "state"));
        expo_sample(x, "baton_workers",
                    (const char *[]){"generation", id, "state", state ? state : "", NULL},
                    (double)json_integer_value(json_object_get(jg, "live")));
        restarts += (uint64_t)json_integer_value(json_object_get(jg, "restarts"));
    }
    json_decref(gens);
    expo_family(x, "baton_worker_restarts_total", "counter",
                "Workers restarted after they exited while serving.");
    expo_sample(x, "baton_worker_restarts_total", NULL, (double)restarts);
    struct gen *cur = gens_current(r->gs);
    expo_family(x, "baton_current_generation", "gauge", "Id of the generation that serves.");
    expo_sample(x, "baton_current_generation", NULL, cur ? gen_id(cur) : 0);
}

static void runobs_metrics(void *data, struct expo *x)
{
    struct runobs *r = data;
    write_gens(r, x);
    expo_family(x, "baton_upgrades_total", "counter",
                "Upgrades ended, by result (switched, or rolled_back when the new generation "
                "failed).");
    expo_sample(x, "baton_upgrades_total", (const char *[]){"result", "switched", NULL},
                (double)op_switched(r->q, OP_UPGRADE));
    expo_sample(x, "baton_upgrades_total", (const char *[]){"result", "rolled_back", NULL},
                (double)op_gen_failed(r->q, OP_UPGRADE));
    expo_family(x, "baton_rollbacks_total", "counter",
                "Returns to the previous command: requested, or automatic by the reason the new "
                "generation failed.");
    for (int i = 0; i < NREASONS; i++)
        expo_sample(x, "baton_rollbacks_total", (const char *[]){"reason", reasons[i], NULL},
                    i == 0 ? (double)op_switched(r->q, OP_ROLLBACK) : (double)r->rollbacks[i]);
    json_t *st = json_object();
    op_status(r->q, st);
    expo_family(x, "baton_reexecs_total", "counter", "Re-executions of the master in place.");
    expo_sample(x, "baton_reexecs_total", NULL,
                (double)json_integer_value(json_object_get(st, "reexecs")));
    expo_family(x, "baton_operations_queued", "gauge", "Operations waiting for the running one.");
    expo_sample(x, "baton_operations_queued", NULL,
                (double)json_integer_value(json_object_get(st, "queued")));
    json_decref(st);
    expo_family(x, "baton_upgrade_phase_seconds", "histogram",
                "Phases of upgrades and rollbacks: start to ready, ready to switched, switched "
                "to the old generation drained.");
    for (int p = 0; p < PH_N; p++)
        expo_hist(x, "baton_upgrade_phase_seconds", (const char *[]){"phase", phase_names[p], NULL},
                  phase_bounds, NPHASE_BOUNDS, &r->phases[p]);
}

static json_t *record_json(const struct record *rec)
{
    json_t *j =
        json_pack("{s:s,s:i,s:i,s:I,s:s}", "kind", rec->kind, "from", (int)rec->from, "to",
                  (int)rec->to, "started_ms", (json_int_t)rec->started, "result", rec->result);
    const char *names[] = {"ready_ms", "switched_ms", "drained_ms"};
    const int64_t at[] = {rec->ready, rec->switched, rec->drained};
    for (int i = 0; i < 3; i++)
        if (at[i])
            json_object_set_new(j, names[i], json_integer(at[i]));
    if (rec->reason[0])
        json_object_set_new(j, "reason", json_string(rec->reason));
    return j;
}

static json_t *runobs_status(void *data)
{
    struct runobs *r = data;
    json_t *st = r->status(r->status_data);
    json_t *ups = json_array();
    unsigned first = r->nrec > RECORDS_MAX ? r->nrec - RECORDS_MAX : 0;
    for (unsigned i = first; i < r->nrec; i++)
        json_array_append_new(ups, record_json(&r->rec[i % RECORDS_MAX]));
    json_object_set_new(st, "upgrades", ups);
    return st;
}

static json_t *runobs_action(void *data, const char *action, json_t *args, int *http_status)
{
    struct runobs *r = data;
    enum op_kind kind;
    if (strcmp(action, "upgrade") == 0)
        kind = OP_UPGRADE;
    else if (strcmp(action, "rollback") == 0)
        kind = OP_ROLLBACK;
    else
        return NULL;
    if (json_object_size(args) != 0) {
        *http_status = 400;
        return json_pack("{s:b,s:s}", "ok", 0, "error",
                         "this action takes no arguments (the command stays the same)");
    }
    if (r->ctx->stopping) {
        *http_status = 409;
        return json_pack("{s:b,s:s}", "ok", 0, "error", "baton is stopping");
    }
    log_info("admin: %s requested", action);
    op_enqueue(r->q, kind, NULL, NULL, NULL);
    *http_status = 202;
    return json_pack("{s:b,s:s}", "ok", 1, "queued", action);
}

int runobs_open(struct runobs **out, struct run_ctx *ctx, struct gens *gs, struct ops *q,
                json_t *(*status)(void *data), void *status_data, struct err *e)
{
    *out = NULL;
    if (!ctx->o->metrics[0])
        return 0;
    struct runobs *r = calloc(1, sizeof(*r));
    if (!r)
        return err_set(e, "cannot open the admin listener: out of memory");
    *r =
        (struct runobs){.ctx = ctx, .gs = gs, .q = q, .status = status, .status_data = status_data};
    struct admin_hooks h = {.role = "master",
                            .metrics = runobs_metrics,
                            .status = runobs_status,
                            .action = runobs_action,
                            .data = r};
    if (admin_open(&r->admin, ctx->loop, ctx->o->metrics, ctx->o->admin_token_file, &h, e) < 0) {
        free(r);
        return -1;
    }
    *out = r;
    return 0;
}

void runobs_free(struct runobs *r)
{
    if (!r)
        return;
    admin_close(r->admin);
    free(r);
}
