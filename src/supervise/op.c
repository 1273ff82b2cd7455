/* The operation queue. start, upgrade and rollback add a generation and wait for it to
 * serve (op_promoted, then the mode's switch) or fail (op_failed); reexec runs the new
 * binary's self-check, then hands over to the master's exec. Replies go to the control
 * request that asked, with the moment of the switch. Each start, upgrade and rollback
 * keeps a timeline of its phases (monotonic microseconds), logged at its end and shown
 * by `status` as "last_upgrade". */
#include "supervise/op.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/spawn.h"
#include "supervise/container.h"
#include "supervise/probe.h"
#include "supervise/sdnotify.h"
#include "supervise/state.h"

#define OP_SELFCHECK_TIMEOUT_MS 5000

/* The moments of an operation's timeline, in order. */
enum op_mark {
    MARK_REQUESTED, /* the request was taken up (queued) */
    MARK_STARTED,   /* it left the queue */
    MARK_SPAWN,     /* the master forks the new generation's workers */
    MARK_EXEC,      /* every worker has executed its command */
    MARK_READY,     /* every worker is ready */
    MARK_SWITCH,    /* the new generation serves; the mode moves traffic to it */
    MARK_STOPPED,   /* the switch is complete: the old generation no longer accepts */
    MARK_N
};

static const char *const mark_names[MARK_N] = {
    "requested", "started", "spawn", "exec", "ready", "switch", "stopped_accepting"};

struct op_timeline {
    enum op_kind kind;
    const char *outcome; /* "switched", "failed" or NULL while running */
    unsigned gen, prev;
    int64_t requested_unix_ms;
    uint64_t us[MARK_N]; /* clock_now_us(); 0 for a moment not reached */
};

struct op {
    struct op *next;
    enum op_kind kind;
    char **argv;         /* the command for the new generation (NULL: the current one) */
    struct ctl_req *req; /* where to reply, or NULL (signal, startup) */
    struct gen *newg;    /* its generation, until it serves or fails */
    struct gen *oldg;    /* the one it replaces, while it lives */
    unsigned old_id;
    int promoted;
    char binary[PATH_MAX];   /* OP_REEXEC */
    struct probe *check;     /* OP_REEXEC: the binary's self-check */
    int64_t started_unix_ms; /* when it left the queue and began */
    struct op_timeline tl;
};

struct ops {
    struct run_ctx *ctx;
    struct gens *gs;
    struct mode *md;
    struct op *running;
    struct op *queue;       /* waiting, in order */
    unsigned long nstarted; /* operations taken from the queue so far */
    unsigned reexecs;
    char last_reexec_error[256];
    op_exec_fn exec;
    op_flush_fn flush; /* before a reply: the state file catches up */
    void *exec_data;
    struct op_timeline last; /* of the last start, upgrade or rollback that ended */
    int has_last;
    unsigned long switched[OP_REEXEC + 1];   /* operations that switched, by kind */
    unsigned long gen_failed[OP_REEXEC + 1]; /* ... whose new generation failed, by kind */
};

static void op_free(struct op *op)
{
    spawn_argv_free(op->argv);
    free(op);
}

static void op_next(struct ops *q);

static void mark(struct op *op, enum op_mark m)
{
    op->tl.us[m] = clock_now_us();
}

static double span_ms(const struct op_timeline *t, enum op_mark from, enum op_mark to)
{
    return t->us[from] && t->us[to] >= t->us[from] ? (double)(t->us[to] - t->us[from]) / 1000.0
                                                   : -1.0;
}

/* The timeline of a finished start, upgrade or rollback: kept for `status`, logged. */
static void keep_timeline(struct ops *q, struct op *op, const char *outcome)
{
    if (op->kind == OP_REEXEC)
        return;
    op->tl.outcome = outcome;
    q->last = op->tl;
    q->has_last = 1;
    const struct op_timeline *t = &op->tl;
    double total = span_ms(t, MARK_REQUESTED, MARK_STOPPED),
           app = span_ms(t, MARK_EXEC, MARK_READY);
    if (total < 0)
        return;
    log_info("generation %u %s in %.1f ms: queue %.1f, spawn %.1f, app start %.1f, promote %.1f, "
             "stop %.1f; baton's own %.1f ms",
             t->gen, outcome, total, span_ms(t, MARK_REQUESTED, MARK_STARTED),
             span_ms(t, MARK_STARTED, MARK_EXEC), app, span_ms(t, MARK_READY, MARK_SWITCH),
             span_ms(t, MARK_SWITCH, MARK_STOPPED), app >= 0 ? total - app : total);
}

static void before_reply(struct ops *q)
{
    if (q->flush)
        q->flush(q->exec_data);
}

/* Ends the running operation `op` (its reply already sent) and starts the next one. */
static void op_done(struct ops *q, struct op *op)
{
    if (q->running == op)
        q->running = NULL;
    if (!op->tl.outcome)
        keep_timeline(q, op, "failed");
    op_free(op);
    op_next(q);
}

static void fail(struct ops *q, struct op *op, const char *why)
{
    before_reply(q);
    if (op->req)
        ctl_reply_error(op->req, "%s", why);
    op->req = NULL;
    op_done(q, op);
}

/* --- start, upgrade, rollback --------------------------------------------------------- */

static void start_generation(struct ops *q, struct op *op)
{
    char *const *argv = op->argv;
    struct gen *cur = gens_current(q->gs);
    if (op->kind == OP_ROLLBACK)
        argv = gens_prev_argv(q->gs);
    else if (!argv && cur)
        argv = gen_argv(cur);
    if (!argv) {
        fail(q, op,
             op->kind == OP_ROLLBACK ? "no previous generation to roll back to"
                                     : "no command to start");
        return;
    }
    struct gen *g = gens_add(q->gs, argv);
    if (!g) {
        fail(q, op, "cannot start a generation: out of memory");
        return;
    }
    op->newg = g;
    op->tl.gen = gen_id(g);
    if (op->kind == OP_START)
        sdnotify_status("generation %u starting", gen_id(g));
    else
        sdnotify_reloading("%s: generation %u starting",
                           op->kind == OP_ROLLBACK ? "rollback" : "upgrade", gen_id(g));
    mark(op, MARK_SPAWN);
    unsigned long nstarted = q->nstarted;
    gen_start(g); /* may fail it, which ends op */
    op = q->running;
    if (!op || q->nstarted != nstarted || !op->newg)
        return; /* it ended */
    uint64_t exec = gen_exec_us(op->newg);
    op->tl.us[MARK_EXEC] = exec ? exec : clock_now_us();
}

static void op_promoted(struct ops *q, struct gen *g, struct gen *old)
{
    struct op *op = q->running;
    if (op && op->newg == g) {
        mark(op, MARK_SWITCH);
        op->tl.us[MARK_READY] = gen_ready_us(g);
        op->promoted = 1;
        op->oldg = old;
        op->old_id = old ? gen_id(old) : 0;
        op->tl.prev = op->old_id;
    }
}

static void op_failed(struct ops *q, struct gen *g)
{
    struct op *op = q->running;
    if (!op || op->newg != g)
        return;
    op->newg = NULL;
    op->tl.us[MARK_READY] = gen_ready_us(g);
    q->gen_failed[op->kind]++;
    struct gen *cur = gens_current(q->gs);
    if (op->kind == OP_START && !cur) {
        log_error("the first generation did not start; stopping");
        op_done(q, op);
        ctx_note(q->ctx, NOTE_FIRST_FAILED, NULL, NULL);
        return;
    }
    if (cur)
        sdnotify_ready("generation %u rolled back: %s; generation %u serves", gen_id(g),
                       gen_reason(g), gen_id(cur));
    before_reply(q);
    if (op->req) {
        if (cur)
            ctl_reply_error(op->req, "generation %u rolled back: %s; generation %u keeps serving",
                            gen_id(g), gen_reason(g), gen_id(cur));
        else
            ctl_reply_error(op->req, "generation %u failed: %s", gen_id(g), gen_reason(g));
        op->req = NULL;
    }
    op_done(q, op);
}

static void op_check_switch(struct ops *q);

static void op_retired(struct ops *q, struct gen *g)
{
    struct op *op = q->running;
    if (op && op->oldg == g) {
        op_check_switch(q);
        if (q->running == op)
            op->oldg = NULL;
    }
    if (q->running && q->running->newg == g)
        q->running->newg = NULL;
}

/* Called whenever the running upgrade may have finished switching: the mode moved
 * traffic to the new generation (handoff: the old one stopped accepting; proxy: the
 * proxy worker switched). Replies then. */
static void op_check_switch(struct ops *q)
{
    struct op *op = q->running;
    int64_t switched;
    if (!op || !op->promoted || !q->md->ops->switched(q->md, op->oldg, &switched))
        return;
    mark(op, MARK_STOPPED);
    if (!switched)
        switched = clock_wall_ms();
    struct gen *g = gens_current(q->gs);
    log_event(LOG_INFO, "switched", g ? gen_id(g) : 0, "switched to generation %u%s at %lld",
              g ? gen_id(g) : 0, op->old_id ? "; the previous one no longer accepts" : "",
              (long long)switched);
    sdnotify_ready("generation %u serves", g ? gen_id(g) : 0);
    keep_timeline(q, op, "switched");
    q->switched[op->kind]++;
    before_reply(q);
    if (op->req) {
        json_t *extra = json_pack("{s:i,s:I}", "generation", g ? (int)gen_id(g) : 0,
                                  "switched_unix_ms", (json_int_t)switched);
        if (op->old_id)
            json_object_set_new(extra, "previous_generation", json_integer(op->old_id));
        json_object_set_new(extra, "started_unix_ms", json_integer(op->started_unix_ms));
        ctl_reply_ok(op->req, extra);
        op->req = NULL;
    }
    op_done(q, op);
}

void op_note(struct ops *q, enum run_note n, struct gen *g, struct gen *old)
{
    switch (n) {
    case NOTE_PROMOTED:
        op_promoted(q, g, old);
        q->md->ops->promote(q->md, g, old);
        op_check_switch(q);
        break;
    case NOTE_FAILED:
        op_failed(q, g);
        break;
    case NOTE_SWITCH_CHECK:
        op_check_switch(q);
        break;
    case NOTE_RETIRED:
        op_retired(q, g);
        break;
    default:
        break; /* not the queue's */
    }
}

/* --- reexec ------------------------------------------------------------------------------ */

static void fail_reexec(struct ops *q, struct op *op, const char *why)
{
    if (op->check) {
        probe_cancel(op->check);
        op->check = NULL;
    }
    snprintf(q->last_reexec_error, sizeof(q->last_reexec_error), "%s", why);
    log_error("reexec: %s", why);
    sdnotify_ready("re-exec refused: %s", why);
    fail(q, op, why);
}

/* Drops every queued operation, answering its request (if any) with `why`. */
static void drop_queue(struct ops *q, const char *why)
{
    while (q->queue) {
        struct op *op = q->queue;
        q->queue = op->next;
        if (op->req)
            ctl_reply_error(op->req, "%s", why);
        op_free(op);
    }
}

void op_before_exec(void *ops)
{
    struct ops *q = ops;
    struct op *op = q->running;
    drop_queue(q, "baton re-executed itself; send the request again");
    log_event(LOG_INFO, "reexec", 0, "re-executing '%s' (pid %d keeps running)", op->binary,
              (int)getpid());
    sdnotify_reloading("re-executing '%s'", op->binary);
    if (op->req)
        ctl_reply_ok(op->req, json_pack("{s:i,s:s}", "pid", (int)getpid(), "binary", op->binary));
    op->req = NULL;
}

static void on_selfcheck(struct probe *p, int ok, const char *what, const char *out, void *data)
{
    struct ops *q = data;
    struct op *op = q->running;
    if (!op || op->kind != OP_REEXEC || op->check != p)
        return;
    op->check = NULL;
    char why[PATH_MAX + 400];
    if (!ok) {
        snprintf(why, sizeof(why), "refusing to re-execute '%s': its self-check '--version' %s",
                 op->binary, what);
        fail_reexec(q, op, why);
        return;
    }
    if (strncmp(out, "baton ", 6) != 0) {
        size_t n = strcspn(out, "\n");
        snprintf(why, sizeof(why),
                 "refusing to re-execute '%s': its self-check '--version' printed '%.*s', not "
                 "'baton VERSION'",
                 op->binary, (int)(n > 60 ? 60 : n), out);
        fail_reexec(q, op, why);
        return;
    }
    struct err e;
    q->reexecs++; /* the state handed over counts this one */
    q->exec(q->exec_data, op->binary, &e);
    q->reexecs--;
    fail_reexec(q, op, e.msg);
}

static void start_reexec(struct ops *q, struct op *op)
{
    char *argv[] = {op->binary, "--version", NULL};
    struct err e;
    if (access(op->binary, X_OK) < 0) {
        char why[PATH_MAX + 100];
        snprintf(why, sizeof(why), "refusing to re-execute '%s': %s", op->binary, strerror(errno));
        fail_reexec(q, op, why);
        return;
    }
    if (probe_start(&op->check, q->ctx->loop, argv, NULL, OP_SELFCHECK_TIMEOUT_MS, on_selfcheck, q,
                    &e) < 0)
        fail_reexec(q, op, e.msg);
}

/* --- the queue ----------------------------------------------------------------------------- */

static void op_next(struct ops *q)
{
    while (!q->running && q->queue) {
        struct op *op = q->queue;
        q->queue = op->next;
        op->next = NULL;
        if (q->ctx->stopping) {
            if (op->req)
                ctl_reply_error(op->req, "baton is stopping");
            op_free(op);
            continue;
        }
        q->running = op;
        q->nstarted++;
        op->started_unix_ms = clock_wall_ms();
        mark(op, MARK_STARTED);
        if (op->kind == OP_REEXEC)
            start_reexec(q, op);
        else
            start_generation(q, op);
    }
}

void op_enqueue(struct ops *q, enum op_kind kind, char **argv, struct ctl_req *req,
                const char *binary)
{
    struct op *op = calloc(1, sizeof(*op));
    if (!op) {
        spawn_argv_free(argv);
        if (req)
            ctl_reply_error(req, "out of memory");
        return;
    }
    op->kind = kind;
    op->argv = argv;
    op->req = req;
    op->tl.kind = kind;
    op->tl.requested_unix_ms = clock_wall_ms();
    mark(op, MARK_REQUESTED);
    if (binary)
        snprintf(op->binary, sizeof(op->binary), "%s", binary);
    struct op **tail = &q->queue;
    while (*tail)
        tail = &(*tail)->next;
    *tail = op;
    if (q->running)
        log_info("an operation is running; the new request waits its turn");
    op_next(q);
}

void op_stopping(struct ops *q)
{
    if (q->running && q->running->kind == OP_REEXEC)
        fail_reexec(q, q->running, "baton is stopping");
}

void op_stopped(struct ops *q)
{
    /* The running operation ended with its new generation (STOP -> FAILED), unless it
     * had none yet; one that was promoted ends when the mode's switch does. */
    if (q->running && !q->running->newg && !q->running->promoted)
        fail(q, q->running, "baton is stopping");
    op_next(q); /* fails the queued ones */
}

/* --- control requests ---------------------------------------------------------------------- */

/* The optional "command" of upgrade: a non-empty array of strings. */
static int read_command(struct ctl_req *req, json_t *msg, char ***out)
{
    *out = NULL;
    json_t *c = json_object_get(msg, "command");
    if (!c || json_is_null(c))
        return 0;
    if (!json_is_array(c) || json_array_size(c) == 0 || json_array_size(c) > STATE_MAX_ARGS) {
        ctl_reply_error(req,
                        "malformed control request: \"command\" must be an array of 1..%d "
                        "strings",
                        STATE_MAX_ARGS);
        return -1;
    }
    size_t n = json_array_size(c);
    char **argv = calloc(n + 1, sizeof(*argv));
    if (!argv) {
        ctl_reply_error(req, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *a = json_array_get(c, i);
        if (!json_is_string(a) || json_string_length(a) == 0 ||
            json_string_length(a) > STATE_MAX_ARG ||
            strlen(json_string_value(a)) != json_string_length(a) ||
            !(argv[i] = strdup(json_string_value(a)))) {
            spawn_argv_free(argv);
            ctl_reply_error(req,
                            "malformed control request: \"command\" word %zu must be a "
                            "non-empty string without NUL bytes",
                            i);
            return -1;
        }
    }
    *out = argv;
    return 0;
}

/* The optional "image" of upgrade (a master started with --image): the container
 * command with that image. */
static int read_image(struct ops *q, struct ctl_req *req, json_t *msg, char ***argv)
{
    const struct run_opts *o = q->ctx->o;
    json_t *im = json_object_get(msg, "image");
    struct err e;
    if (!im || json_is_null(im))
        return 0;
    if (*argv)
        err_set(&e, "malformed control request: give \"image\" or \"command\", not both");
    else if (!json_is_string(im) || strlen(json_string_value(im)) != json_string_length(im))
        err_set(&e, "malformed control request: \"image\" must be a string");
    else if (!o->container_port)
        err_set(&e, "an upgrade to an image needs a master started with --image");
    else if ((*argv = container_short_argv(o->engine, o->container_port, o->container_args,
                                           json_string_value(im), &e)))
        return 0;
    ctl_reply_error(req, "%s", e.msg);
    spawn_argv_free(*argv);
    *argv = NULL;
    return -1;
}

/* A container command baton cannot run as a generation is refused before it starts. */
static int check_container(struct ops *q, struct ctl_req *req, char ***argv)
{
    struct err e;
    if (!*argv || q->ctx->o->mode != RUN_PROXY || container_check(*argv, &e) >= 0)
        return 0;
    ctl_reply_error(req, "%s", e.msg);
    spawn_argv_free(*argv);
    *argv = NULL;
    return -1;
}

static void request_reexec(struct ops *q, struct ctl_req *req, json_t *msg)
{
    json_t *b = json_object_get(msg, "binary");
    const char *binary = q->ctx->self_exe;
    if (b && !json_is_null(b)) {
        if (!json_is_string(b) || json_string_length(b) == 0 || json_string_length(b) >= PATH_MAX ||
            strlen(json_string_value(b)) != json_string_length(b)) {
            ctl_reply_error(req, "malformed control request: \"binary\" must be a path");
            return;
        }
        binary = json_string_value(b);
    }
    log_info("control: reexec requested (%s)", binary);
    op_enqueue(q, OP_REEXEC, NULL, req, binary);
}

int op_request(struct ops *q, struct ctl_req *req, const char *cmd, json_t *msg)
{
    if (strcmp(cmd, "upgrade") == 0) {
        char **argv;
        if (read_command(req, msg, &argv) < 0 || read_image(q, req, msg, &argv) < 0 ||
            check_container(q, req, &argv) < 0)
            return 1;
        log_event(LOG_INFO, "upgrade-requested", 0, "control: upgrade requested%s%s",
                  argv ? " to " : "", argv ? argv[0] : "");
        op_enqueue(q, OP_UPGRADE, argv, req, NULL);
        return 1;
    }
    if (strcmp(cmd, "rollback") == 0) {
        log_event(LOG_INFO, "rollback-requested", 0, "control: rollback requested");
        op_enqueue(q, OP_ROLLBACK, NULL, req, NULL);
        return 1;
    }
    if (strcmp(cmd, "reexec") == 0) {
        request_reexec(q, req, msg);
        return 1;
    }
    return 0;
}

/* --- the queue's object ---------------------------------------------------------------------- */

int ops_new(struct ops **out, struct run_ctx *ctx, struct gens *gs, struct mode *md,
            op_exec_fn exec, op_flush_fn flush, void *exec_data, struct err *e)
{
    struct ops *q = calloc(1, sizeof(*q));
    if (!q)
        return err_errno(e, ENOMEM, "cannot start");
    *q = (struct ops){
        .ctx = ctx, .gs = gs, .md = md, .exec = exec, .flush = flush, .exec_data = exec_data};
    *out = q;
    return 0;
}

void ops_free(struct ops *q)
{
    if (!q)
        return;
    drop_queue(q, "baton stopped");
    if (q->running) {
        if (q->running->check)
            probe_cancel(q->running->check);
        if (q->running->req)
            ctl_reply_error(q->running->req, "baton stopped");
        op_free(q->running);
    }
    free(q);
}

static const char *const kinds[] = {"start", "upgrade", "rollback", "reexec"};

/* A span in milliseconds, or null when one of its moments was not reached. */
static json_t *span_json(const struct op_timeline *t, enum op_mark from, enum op_mark to)
{
    double ms = span_ms(t, from, to);
    return ms < 0 ? json_null() : json_real((double)(int64_t)(ms * 1000.0) / 1000.0);
}

/* "last_upgrade": the moments (monotonic microseconds) and the phases between them. */
static json_t *timeline_json(const struct op_timeline *t)
{
    json_t *us = json_object(), *ph = json_object();
    for (int i = 0; i < MARK_N; i++)
        json_object_set_new(us, mark_names[i],
                            t->us[i] ? json_integer((json_int_t)t->us[i]) : json_null());
    json_object_set_new(ph, "queue", span_json(t, MARK_REQUESTED, MARK_STARTED));
    json_object_set_new(ph, "prepare", span_json(t, MARK_STARTED, MARK_SPAWN));
    json_object_set_new(ph, "spawn", span_json(t, MARK_SPAWN, MARK_EXEC));
    json_object_set_new(ph, "app_start", span_json(t, MARK_EXEC, MARK_READY));
    json_object_set_new(ph, "promote", span_json(t, MARK_READY, MARK_SWITCH));
    json_object_set_new(ph, "stop", span_json(t, MARK_SWITCH, MARK_STOPPED));
    json_object_set_new(ph, "total", span_json(t, MARK_REQUESTED, MARK_STOPPED));
    double total = span_ms(t, MARK_REQUESTED, MARK_STOPPED),
           app = span_ms(t, MARK_EXEC, MARK_READY);
    json_object_set_new(ph, "overhead",
                        total >= 0 && app >= 0
                            ? json_real((double)(int64_t)((total - app) * 1000.0) / 1000.0)
                            : json_null());
    json_t *j = json_pack("{s:s,s:s,s:i,s:I,s:o,s:o}", "kind", kinds[t->kind], "outcome",
                          t->outcome ? t->outcome : "running", "generation", (int)t->gen,
                          "requested_unix_ms", (json_int_t)t->requested_unix_ms, "monotonic_us", us,
                          "phases_ms", ph);
    if (j && t->prev)
        json_object_set_new(j, "previous_generation", json_integer(t->prev));
    return j;
}

void op_status(const struct ops *q, json_t *st)
{
    int queued = 0;
    for (const struct op *op = q->queue; op; op = op->next)
        queued++;
    json_object_set_new(st, "reexecs", json_integer(q->reexecs));
    json_object_set_new(st, "queued", json_integer(queued));
    json_object_set_new(st, "operation",
                        q->running ? json_string(kinds[q->running->kind]) : json_null());
    if (q->last_reexec_error[0])
        json_object_set_new(st, "last_reexec_error", json_string(q->last_reexec_error));
    json_object_set_new(st, "last_upgrade", q->has_last ? timeline_json(&q->last) : json_null());
}

void op_to_json(const struct ops *q, json_t *root)
{
    json_object_set_new(root, "reexecs", json_integer(q->reexecs));
}

int op_from_json(struct ops *q, json_t *root, struct err *e)
{
    long long reexecs;
    struct state_int f[] = {{"reexecs", 0, STATE_MAX_ID, &reexecs}};
    if (state_get_ints(root, f, 1, "state", e) < 0)
        return -1;
    q->reexecs = (unsigned)reexecs;
    return 0;
}

unsigned long op_switched(const struct ops *q, enum op_kind kind)
{
    return q->switched[kind];
}

unsigned long op_gen_failed(const struct ops *q, enum op_kind kind)
{
    return q->gen_failed[kind];
}

unsigned op_reexecs(const struct ops *q)
{
    return q->reexecs;
}
