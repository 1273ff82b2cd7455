/* The proxy worker process: its command line, its restarts with backoff, its stop, and
 * its record in the state file. It is a struct worker like the app's workers, but not a
 * generation: see docs/internals/supervise.md for why. */
#include "supervise/proxyworker.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/addr.h"
#include "core/log.h"
#include "supervise/gen.h"
#include "supervise/state.h"
#include "supervise/worker.h"

#define PROXYWORKER_RETRY_MS 1000 /* after a failed start */

struct proxyworker {
    struct run_ctx *ctx;
    struct gens *gs;
    struct worker *w; /* NULL while it does not run */
    unsigned restarts;
    unsigned fails;       /* consecutive quick crashes, for the backoff */
    struct timer restart; /* pending restart */
    struct timer kill;    /* SIGKILL at the drain timeout after the stop signal */
    char ctl_path[ADDR_UNIX_PATH_SIZE];
};

static const char *level_name(enum log_level l)
{
    static const char *const names[] = {"debug", "info", "warn", "error", "error"};
    return (unsigned)l < 5 ? names[l] : "info";
}

static void note(struct proxyworker *p, enum run_note n)
{
    ctx_note(p->ctx, n, NULL, NULL);
}

static void on_exit_event(struct worker *w, const char *what, void *data);

/* `baton proxy` on the public sockets with generation g's ports as pool "genN". */
static int spawn_proxy(struct proxyworker *p, struct gen *g, struct err *e)
{
    const struct run_opts *o = p->ctx->o;
    char drain[32];
    snprintf(drain, sizeof(drain), "%llu", (unsigned long long)o->drain_timeout_ms);
    const char *fixed[] = {p->ctx->self_exe, "proxy",
                           "--mode",         o->proxy_http ? "http" : "tcp",
                           "--control",      p->ctl_path,
                           "--stop-timeout", drain,
                           "--log-level",    level_name(o->log_level),
                           "--log-format",   log_format_name(log_get_format()),
                           "--health",       "connect"};
    size_t nfixed = sizeof(fixed) / sizeof(fixed[0]), n = (size_t)gen_nslots(g);
    char **argv = calloc(nfixed + 2 * n + 1, sizeof(*argv));
    char(*specs)[96] = calloc(n + 1, sizeof(*specs));
    int rc = -1;
    if (!argv || !specs) {
        err_set(e, "cannot start the proxy worker: out of memory");
        goto out;
    }
    size_t k = 0;
    for (size_t i = 0; i < nfixed; i++)
        argv[k++] = (char *)fixed[i];
    for (size_t i = 0; i < n; i++) {
        snprintf(specs[i], sizeof(specs[i]), "gen%u/gen%u-w%zu=127.0.0.1:%d", gen_id(g), gen_id(g),
                 i, gen_port(g, (int)i));
        argv[k++] = "--backend";
        argv[k++] = specs[i];
    }
    char *env[4] = {p->ctx->listen_env[0], p->ctx->listen_env[1], p->ctx->notify_env, NULL};
    struct spawn sp = {.argv = argv,
                       .env_add = env,
                       .env_drop = ctx_env_ours(1),
                       .fds = p->ctx->listen_fds,
                       .nfds = p->ctx->nlisten,
                       .listen_pid = 1};
    rc = worker_start(&p->w, p->ctx->loop, &sp, "the proxy worker", on_exit_event, p, e);
    if (rc == 0)
        log_info("proxy worker %d started (%s mode) relaying to generation %u", (int)p->w->pid,
                 o->proxy_http ? "http" : "tcp", gen_id(g));
out:
    free(argv);
    free(specs);
    return rc;
}

static void on_restart(struct loop *loop, struct timer *t);

/* Starts it, or arms a retry in 1 s. Returns -1 when it did not start. */
static int start_now(struct proxyworker *p)
{
    struct err e;
    struct gen *g = gens_current(p->gs);
    if (!g)
        err_set(&e, "no current generation to relay to");
    else if (spawn_proxy(p, g, &e) == 0)
        return 0;
    log_error("proxy worker: %s; retrying in 1 s", e.msg);
    timer_start(p->ctx->loop, &p->restart, PROXYWORKER_RETRY_MS, on_restart, p);
    return -1;
}

static void on_restart(struct loop *loop, struct timer *t)
{
    struct proxyworker *p = t->data;
    if (p->ctx->stopping || p->w)
        return;
    if (start_now(p) < 0)
        p->fails++;
    note(p, NOTE_CHANGED);
}

static void on_exit_event(struct worker *w, const char *what, void *data)
{
    struct proxyworker *p = data;
    struct loop *loop = p->ctx->loop;
    p->w = NULL;
    timer_stop(loop, &p->kill);
    uint64_t lived = loop_now_ms(loop) - w->started_ms;
    if (p->ctx->stopping) {
        log_info("proxy worker %d %s", (int)w->pid, what);
        note(p, NOTE_CHANGED);
        note(p, NOTE_MODE_GONE);
        return;
    }
    if (lived > 10000 || w->killed)
        p->fails = 0;
    uint64_t delay = worker_backoff_ms(&p->fails);
    p->restarts++;
    log_warn("proxy worker %d %s after %llu ms; restarting it in %llu ms (restart %u)", (int)w->pid,
             what, (unsigned long long)lived, (unsigned long long)delay, p->restarts);
    timer_start(loop, &p->restart, delay, on_restart, p);
    note(p, NOTE_CHANGED);
}

void proxyworker_start(struct proxyworker *p)
{
    if (p->w || p->ctx->stopping || timer_armed(&p->restart) || !gens_current(p->gs))
        return;
    start_now(p);
}

void proxyworker_replace(struct proxyworker *p, const char *why)
{
    if (!p->w)
        return;
    struct gen *g = gens_current(p->gs);
    log_error("proxy worker %d: %s; restarting it with generation %u", (int)p->w->pid, why,
              g ? gen_id(g) : 0);
    worker_signal(p->w, SIGKILL);
}

static void on_kill(struct loop *loop, struct timer *t)
{
    struct proxyworker *p = t->data;
    if (!p->w)
        return;
    log_warn("proxy worker %d: drain timeout; killed", (int)p->w->pid);
    worker_signal(p->w, SIGKILL);
}

void proxyworker_stop(struct proxyworker *p)
{
    timer_stop(p->ctx->loop, &p->restart);
    if (!p->w)
        return;
    uint64_t ms = p->ctx->o->drain_timeout_ms;
    log_info("proxy worker %d: stopping (kill after %llu ms)", (int)p->w->pid,
             (unsigned long long)ms);
    worker_signal(p->w, SIGTERM);
    timer_start(p->ctx->loop, &p->kill, ms, on_kill, p);
}

pid_t proxyworker_pid(const struct proxyworker *p)
{
    return p->w ? p->w->pid : 0;
}

int proxyworker_ready(const struct proxyworker *p)
{
    return p->w && p->w->ready;
}

const char *proxyworker_control(const struct proxyworker *p)
{
    return p->ctl_path;
}

int proxyworker_notify(struct proxyworker *p, pid_t pid, const struct notify_msg *msg)
{
    if (!p->w || pid != p->w->pid)
        return 0;
    if (msg->ready && !p->w->ready) {
        p->w->ready = 1;
        log_info("proxy worker %d is ready", (int)pid);
    }
    if (msg->stopping)
        p->w->stopping = 1;
    return 1;
}

json_t *proxyworker_status(const struct proxyworker *p)
{
    const struct worker *w = p->w;
    json_t *st =
        json_pack("{s:i,s:s,s:s,s:b,s:b,s:i}", "pid", (int)proxyworker_pid(p), "mode",
                  p->ctx->o->proxy_http ? "http" : "tcp", "control", p->ctl_path, "ready",
                  w && w->ready, "stopping", w && w->stopping, "restarts", (int)p->restarts);
    if (w)
        json_object_set_new(st, "age_ms",
                            json_integer((json_int_t)(loop_now_ms(p->ctx->loop) - w->started_ms)));
    return st;
}

json_t *proxyworker_to_json(const struct proxyworker *p)
{
    const struct worker *w = p->w;
    return json_pack("{s:i,s:I,s:i,s:b}", "pid", (int)proxyworker_pid(p), "start_time",
                     (json_int_t)(w ? w->proc_start : 0), "restarts", (int)p->restarts, "ready",
                     w && w->ready);
}

int proxyworker_from_json(struct proxyworker *p, json_t *jp, struct err *e)
{
    long long pid, start, restarts;
    struct state_int f[] = {{"pid", 0, STATE_MAX_PID, &pid},
                            {"start_time", 0, INT64_MAX, &start},
                            {"restarts", 0, STATE_MAX_ID, &restarts}};
    if (!json_is_object(jp))
        return err_set(e, "malformed state: \"proxy\" is not an object");
    if (state_get_ints(jp, f, 3, "proxy", e) < 0)
        return -1;
    p->restarts = (unsigned)restarts;
    struct worker *w = pid && start ? worker_record((pid_t)pid, (uint64_t)start, 1) : NULL;
    if (!w || !worker_alive(w)) {
        worker_free(w);
        return 0; /* gone: resume starts a new one */
    }
    if (worker_watch(w, p->ctx->loop, on_exit_event, p, e) < 0) {
        worker_free(w);
        return -1;
    }
    w->ready = json_is_true(json_object_get(jp, "ready"));
    p->w = w;
    return 0;
}

int proxyworker_new(struct proxyworker **out, struct run_ctx *ctx, struct gens *gs,
                    const char *ctl_path, struct err *e)
{
    struct proxyworker *p = calloc(1, sizeof(*p));
    if (!p)
        return err_set(e, "cannot start: out of memory");
    p->ctx = ctx;
    p->gs = gs;
    snprintf(p->ctl_path, sizeof(p->ctl_path), "%s", ctl_path);
    *out = p;
    return 0;
}

void proxyworker_free(struct proxyworker *p)
{
    if (!p)
        return;
    timer_stop(p->ctx->loop, &p->restart);
    timer_stop(p->ctx->loop, &p->kill);
    worker_free(p->w);
    free(p);
}
