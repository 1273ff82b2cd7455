/* The proxy worker and the containers a killed --mode proxy master left: the old proxy
 * worker watched through its pidfd and stopped once the new one is ready; containers
 * found by their names in the old master's state. */
#include "supervise/container_orphan.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/spawn.h"
#include "supervise/container.h"
#include "supervise/state.h"
#include "supervise/worker.h"

struct container_orphan {
    struct run_ctx *ctx;
    struct worker *w; /* the old proxy worker; NULL when none or gone */
    struct timer kill;
    int stopping;
    void (*gone)(void *data);
    void *data;
};

int container_orphan_new(struct container_orphan **out, struct run_ctx *ctx,
                         void (*gone)(void *data), void *data, struct err *e)
{
    struct container_orphan *o = calloc(1, sizeof(*o));
    if (!o)
        return err_set(e, "cannot start: out of memory");
    *o = (struct container_orphan){.ctx = ctx, .gone = gone, .data = data};
    *out = o;
    return 0;
}

void container_orphan_free(struct container_orphan *o)
{
    if (!o)
        return;
    timer_stop(o->ctx->loop, &o->kill);
    worker_free(o->w);
    free(o);
}

int container_orphan_all_containers(struct gens *gs)
{
    struct err e;
    for (int i = 0; i < gens_count(gs); i++)
        if (container_check(gen_argv(gens_at(gs, i)), &e) != 1)
            return 0;
    return gens_count(gs) > 0;
}

static void on_exit_event(struct worker *w, const char *what, void *data)
{
    struct container_orphan *o = data;
    log_info("proxy worker %d of the earlier master %s", (int)w->pid, what);
    o->w = NULL; /* the worker frees itself */
    timer_stop(o->ctx->loop, &o->kill);
    if (o->gone)
        o->gone(o->data);
}

static void watch_proxy(struct container_orphan *o, json_t *jp)
{
    long long pid, start;
    struct state_int f[] = {{"pid", 0, STATE_MAX_PID, &pid}, {"start_time", 0, INT64_MAX, &start}};
    struct err e;
    if (!jp || state_get_ints(jp, f, 2, "proxy", NULL) < 0 || !pid || !start)
        return;
    struct worker *w = worker_record((pid_t)pid, (uint64_t)start, 0);
    if (!w || !worker_alive(w) || worker_watch(w, o->ctx->loop, on_exit_event, o, &e) < 0) {
        worker_free(w);
        return;
    }
    o->w = w;
    log_info("proxy worker %d of the earlier master: relaying until the new proxy worker is ready",
             (int)pid);
}

/* The containers of one recorded generation, by name: drained with it, or removed. */
static void find_containers(json_t *jg, struct gens *gs, struct container_rm *rm, const char *inst)
{
    json_t *cmd = json_object_get(jg, "command");
    size_t n = json_array_size(cmd);
    long long id, nslots;
    struct state_int f[] = {{"id", 1, STATE_MAX_ID, &id}, {"slots", 0, STATE_MAX_WORKERS, &nslots}};
    char **argv = n ? calloc(n + 1, sizeof(*argv)) : NULL;
    struct err e;
    for (size_t i = 0; argv && i < n; i++)
        argv[i] = json_is_string(json_array_get(cmd, i))
                      ? (char *)json_string_value(json_array_get(cmd, i))
                      : "";
    if (argv && state_get_ints(jg, f, 2, "generation", NULL) == 0 &&
        container_check(argv, &e) == 1) {
        struct gen *g = gens_find(gs, (unsigned)id);
        for (int s = 0; s < (int)nslots; s++) {
            char name[CONTAINER_NAME_MAX];
            container_name(name, sizeof(name), inst, (unsigned)id, s, (int)nslots);
            if (g) {
                log_info("container '%s' of an earlier master: draining it%s", name,
                         g == gens_current(gs) ? " once a new generation serves" : "");
            } else {
                log_info("container '%s' of an earlier master: no engine client is left of it",
                         name);
                container_rm_start(rm, argv, name);
            }
        }
    }
    free(argv); /* its words belong to the JSON */
}

void container_orphan_adopt(struct container_orphan *o, json_t *root, struct gens *gs,
                            struct container_rm *rm)
{
    watch_proxy(o, json_object_get(root, "proxy"));
    json_t *gens = json_object_get(root, "generations");
    for (size_t i = 0; i < json_array_size(gens); i++)
        find_containers(json_array_get(gens, i), gs, rm, o->ctx->o->name);
}

static void on_kill(struct loop *loop, struct timer *t)
{
    struct container_orphan *o = t->data;
    if (!o->w)
        return;
    log_warn("proxy worker %d of the earlier master: still running after the drain timeout; "
             "killing it",
             (int)o->w->pid);
    worker_signal(o->w, SIGKILL);
}

void container_orphan_stop(struct container_orphan *o)
{
    if (!o->w || o->stopping)
        return;
    o->stopping = 1;
    log_info("proxy worker %d of the earlier master: stopping it (it finishes its connections)",
             (int)o->w->pid);
    worker_signal(o->w, SIGTERM);
    timer_start(o->ctx->loop, &o->kill, o->ctx->o->drain_timeout_ms, on_kill, o);
}

int container_orphan_alive(const struct container_orphan *o)
{
    return o->w != NULL;
}
