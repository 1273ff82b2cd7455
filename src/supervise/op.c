/* The operation queue. start, upgrade and rollback add a generation and wait for it to
 * serve (op_promoted, then the mode's switch) or fail (op_failed); reexec runs the new
 * binary's self-check, then hands over to the master's exec. Replies go to the control
 * request that asked, with the moment of the switch. */
#include "supervise/op.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/spawn.h"
#include "supervise/probe.h"
#include "supervise/sdnotify.h"
#include "supervise/state.h"

#define OP_SELFCHECK_TIMEOUT_MS 5000

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
};

struct ops {
    struct run_ctx *ctx;
    struct gens *gs;
    struct mode *md;
    struct op *running;
    struct op *queue; /* waiting, in order */
    unsigned reexecs;
    char last_reexec_error[256];
    op_exec_fn exec;
    void *exec_data;
};

static void op_free(struct op *op)
{
    spawn_argv_free(op->argv);
    free(op);
}

static void op_next(struct ops *q);

/* Ends the running operation `op` (its reply already sent) and starts the next one. */
static void op_done(struct ops *q, struct op *op)
{
    if (q->running == op)
        q->running = NULL;
    op_free(op);
    op_next(q);
}

static void fail(struct ops *q, struct op *op, const char *why)
{
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
    op->newg = gens_add(q->gs, argv);
    if (!op->newg) {
        fail(q, op, "cannot start a generation: out of memory");
        return;
    }
    if (op->kind == OP_START)
        sdnotify_status("generation %u starting", gen_id(op->newg));
    else
        sdnotify_reloading("%s: generation %u starting",
                           op->kind == OP_ROLLBACK ? "rollback" : "upgrade", gen_id(op->newg));
    gen_start(op->newg);
}

void op_promoted(struct ops *q, struct gen *g, struct gen *old)
{
    struct op *op = q->running;
    if (op && op->newg == g) {
        op->promoted = 1;
        op->oldg = old;
        op->old_id = old ? gen_id(old) : 0;
    }
}

void op_failed(struct ops *q, struct gen *g)
{
    struct op *op = q->running;
    if (!op || op->newg != g)
        return;
    op->newg = NULL;
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

void op_retired(struct ops *q, struct gen *g)
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
void op_check_switch(struct ops *q)
{
    struct op *op = q->running;
    int64_t switched;
    if (!op || !op->promoted || !q->md->ops->switched(q->md, op->oldg, &switched))
        return;
    if (!switched)
        switched = ctx_wall_ms();
    struct gen *g = gens_current(q->gs);
    log_event(LOG_INFO, "switched", g ? gen_id(g) : 0, "switched to generation %u%s at %lld",
              g ? gen_id(g) : 0, op->old_id ? "; the previous one no longer accepts" : "",
              (long long)switched);
    sdnotify_ready("generation %u serves", g ? gen_id(g) : 0);
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

void op_before_exec(void *ops)
{
    struct ops *q = ops;
    struct op *op = q->running;
    while (q->queue) {
        struct op *w = q->queue;
        q->queue = w->next;
        if (w->req)
            ctl_reply_error(w->req, "baton re-executed itself; send the request again");
        op_free(w);
    }
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
        op->started_unix_ms = ctx_wall_ms();
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
        if (read_command(req, msg, &argv) < 0)
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
            op_exec_fn exec, void *exec_data, struct err *e)
{
    struct ops *q = calloc(1, sizeof(*q));
    if (!q)
        return err_errno(e, ENOMEM, "cannot start");
    *q = (struct ops){.ctx = ctx, .gs = gs, .md = md, .exec = exec, .exec_data = exec_data};
    *out = q;
    return 0;
}

void ops_free(struct ops *q)
{
    if (!q)
        return;
    while (q->queue) {
        struct op *op = q->queue;
        q->queue = op->next;
        if (op->req)
            ctl_reply_error(op->req, "baton stopped");
        op_free(op);
    }
    if (q->running) {
        if (q->running->check)
            probe_cancel(q->running->check);
        if (q->running->req)
            ctl_reply_error(q->running->req, "baton stopped");
        op_free(q->running);
    }
    free(q);
}

void op_status(const struct ops *q, json_t *st)
{
    static const char *const kinds[] = {"start", "upgrade", "rollback", "reexec"};
    int queued = 0;
    for (const struct op *op = q->queue; op; op = op->next)
        queued++;
    json_object_set_new(st, "reexecs", json_integer(q->reexecs));
    json_object_set_new(st, "queued", json_integer(queued));
    json_object_set_new(st, "operation",
                        q->running ? json_string(kinds[q->running->kind]) : json_null());
    if (q->last_reexec_error[0])
        json_object_set_new(st, "last_reexec_error", json_string(q->last_reexec_error));
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

unsigned op_reexecs(const struct ops *q)
{
    return q->reexecs;
}
