/* The generations of one master, oldest first. A generation tells its holder (this
 * file) when it becomes current, fails or is gone; the holder keeps the list and the
 * current one and passes the news on to the master. */
#include "supervise/gens.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/spawn.h"
#include "supervise/proc.h"
#include "supervise/state.h"

struct gens {
    struct gen_owner owner; /* first: the generations call back through it */
    struct run_ctx *ctx;
    struct gen **v; /* oldest first */
    int n, cap;
    struct gen *current;
    unsigned next_id;
    char **prev_argv; /* the command of the generation the current one replaced */
};

static int append(struct gens *gs, struct gen *g)
{
    if (gs->n == gs->cap) {
        int cap = gs->cap ? gs->cap * 2 : 8;
        struct gen **v = realloc(gs->v, (size_t)cap * sizeof(*v));
        if (!v)
            return -1;
        gs->v = v;
        gs->cap = cap;
    }
    gs->v[gs->n++] = g;
    if (gen_id(g) >= gs->next_id)
        gs->next_id = gen_id(g) + 1;
    return 0;
}

static void unlink_gen(struct gens *gs, struct gen *g)
{
    for (int i = 0; i < gs->n; i++)
        if (gs->v[i] == g) {
            memmove(gs->v + i, gs->v + i + 1, (size_t)(gs->n - i - 1) * sizeof(*gs->v));
            gs->n--;
            break;
        }
    if (gs->current == g)
        gs->current = NULL;
}

static void on_promoted(struct gen_owner *o, struct gen *g)
{
    struct gens *gs = (struct gens *)o;
    struct gen *old = gs->current;
    gs->current = g;
    log_event(LOG_INFO, "promoted", gen_id(g), "generation %u serves%s", gen_id(g),
              old ? "; stopping the previous one" : "");
    if (old) {
        char **prev = spawn_argv_dup(gen_argv(old));
        spawn_argv_free(gs->prev_argv);
        gs->prev_argv = prev;
    }
    ctx_note(gs->ctx, NOTE_PROMOTED, g, old);
}

static void on_failed(struct gen_owner *o, struct gen *g)
{
    struct gens *gs = (struct gens *)o;
    log_event(LOG_ERROR, "failed", gen_id(g), "generation %u failed: %s%s", gen_id(g),
              gen_reason(g), gs->current ? "; the current generation keeps serving" : "");
    ctx_note(gs->ctx, NOTE_FAILED, g, NULL);
}

static void on_retired(struct gen_owner *o, struct gen *g)
{
    struct gens *gs = (struct gens *)o;
    unlink_gen(gs, g);
    ctx_note(gs->ctx, NOTE_RETIRED, g, NULL);
}

int gens_new(struct gens **out, struct run_ctx *ctx, struct err *e)
{
    struct gens *gs = calloc(1, sizeof(*gs));
    if (!gs)
        return err_set(e, "cannot start: out of memory");
    gs->owner = (struct gen_owner){on_promoted, on_failed, on_retired};
    gs->ctx = ctx;
    gs->next_id = 1;
    *out = gs;
    return 0;
}

void gens_clear(struct gens *gs)
{
    while (gs->n > 0)
        gen_free(gs->v[--gs->n]);
    gs->current = NULL;
    spawn_argv_free(gs->prev_argv);
    gs->prev_argv = NULL;
    gs->next_id = 1;
}

void gens_free(struct gens *gs)
{
    if (!gs)
        return;
    gens_clear(gs);
    free(gs->v);
    free(gs);
}

int gens_count(const struct gens *gs)
{
    return gs->n;
}

struct gen *gens_at(const struct gens *gs, int i)
{
    return i >= 0 && i < gs->n ? gs->v[i] : NULL;
}

struct gen *gens_current(const struct gens *gs)
{
    return gs->current;
}

struct gen *gens_find(const struct gens *gs, unsigned id)
{
    for (int i = 0; i < gs->n; i++)
        if (gen_id(gs->v[i]) == id)
            return gs->v[i];
    return NULL;
}

char *const *gens_prev_argv(const struct gens *gs)
{
    return gs->prev_argv;
}

struct gen *gens_add(struct gens *gs, char *const *argv)
{
    struct gen *g = gen_new(&gs->owner, gs->ctx, argv, gs->next_id, gs->ctx->o->workers);
    if (g && append(gs, g) < 0) {
        gen_free(g);
        g = NULL;
    }
    return g;
}

/* The ids of every generation now: an event on one may retire others. Caller frees. */
static unsigned *ids_now(const struct gens *gs, int *n)
{
    unsigned *ids = calloc((size_t)(gs->n ? gs->n : 1), sizeof(*ids));
    *n = ids ? gs->n : 0;
    for (int i = 0; i < *n; i++)
        ids[i] = gen_id(gs->v[i]);
    return ids;
}

void gens_stop_all(struct gens *gs, const char *reason)
{
    int n;
    unsigned *ids = ids_now(gs, &n);
    for (int i = 0; i < n; i++) {
        struct gen *g = gens_find(gs, ids[i]);
        if (g)
            gen_stop(g, reason);
    }
    free(ids);
}

static struct gen *gen_of_pid(const struct gens *gs, pid_t pid)
{
    for (int i = 0; i < gs->n; i++)
        if (gen_has_worker(gs->v[i], pid))
            return gs->v[i];
    return NULL;
}

int gens_notify(struct gens *gs, pid_t pid, const struct notify_msg *msg)
{
    /* As systemd's NotifyAccess=all: a process forked by a worker speaks for it. */
    pid_t worker = pid;
    struct gen *g = gen_of_pid(gs, pid);
    for (int i = 0; !g && i < 4 && (worker = proc_parent(worker)) > 1; i++)
        g = gen_of_pid(gs, worker);
    if (!g)
        return 0;
    gen_notify(g, worker, pid, msg);
    return 1;
}

int gens_port_held(const struct gens *gs, int port)
{
    for (int i = 0; i < gs->n; i++)
        if (gen_has_port(gs->v[i], port))
            return 1;
    return 0;
}

json_t *gens_status(const struct gens *gs)
{
    json_t *a = json_array();
    for (int i = 0; i < gs->n; i++)
        json_array_append_new(a, gen_status(gs->v[i], gs->v[i] == gs->current));
    return a;
}

void gens_to_json(const struct gens *gs, json_t *root)
{
    json_object_set_new(root, "next_gen", json_integer(gs->next_id));
    json_object_set_new(root, "current_gen", json_integer(gs->current ? gen_id(gs->current) : 0));
    if (gs->prev_argv)
        json_object_set_new(root, "prev_command", state_argv_json(gs->prev_argv));
    json_t *a = json_array();
    for (int i = 0; i < gs->n && i < STATE_MAX_GENS; i++)
        json_array_append_new(a, gen_to_json(gs->v[i]));
    json_object_set_new(root, "generations", a);
}

static int add_from_json(struct gens *gs, json_t *jg, struct err *e)
{
    struct gen *g;
    if (gen_from_json(&gs->owner, gs->ctx, jg, &g, e) < 0)
        return -1;
    if (gens_find(gs, gen_id(g))) {
        err_set(e, "malformed state: generation %u appears twice", gen_id(g));
        gen_free(g);
        return -1;
    }
    if (append(gs, g) < 0) {
        gen_free(g);
        return err_set(e, "cannot take over generation %u: out of memory", gen_id(g));
    }
    return 0;
}

int gens_from_json(struct gens *gs, json_t *root, struct err *e)
{
    long long next, current;
    struct state_int f[] = {{"next_gen", 1, STATE_MAX_ID, &next},
                            {"current_gen", 0, STATE_MAX_ID, &current}};
    json_t *prev = json_object_get(root, "prev_command");
    json_t *a = json_object_get(root, "generations");
    if (state_get_ints(root, f, 2, "state", e) < 0 ||
        (prev && state_get_argv(prev, &gs->prev_argv, "previous", e) < 0))
        goto fail;
    if (!json_is_array(a) || json_array_size(a) > STATE_MAX_GENS) {
        err_set(e, "malformed state: \"generations\" must be an array of at most %d",
                STATE_MAX_GENS);
        goto fail;
    }
    for (size_t i = 0; i < json_array_size(a); i++)
        if (add_from_json(gs, json_array_get(a, i), e) < 0)
            goto fail;
    gs->current = current ? gens_find(gs, (unsigned)current) : NULL;
    if ((unsigned)next > gs->next_id)
        gs->next_id = (unsigned)next;
    return 0;
fail:
    gens_clear(gs);
    return -1;
}

void gens_resume(struct gens *gs)
{
    for (int i = 0; i < gs->n; i++)
        gen_resume(gs->v[i]);
}

void gens_settle(struct gens *gs)
{
    int n;
    unsigned *ids = ids_now(gs, &n);
    for (int i = 0; i < n; i++) {
        struct gen *g = gens_find(gs, ids[i]);
        if (g)
            gen_settle(g);
    }
    free(ids);
}

int gens_survivors(struct gens *gs, pid_t *pids, int max)
{
    int n = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < gs->n; i++) {
            struct gen *g = gs->v[i];
            if ((g == gs->current) != (pass == 0))
                continue;
            n += gen_survivors(g, pids + (n < max ? n : max), n < max ? max - n : 0);
        }
    return n;
}

void gens_adopt_orphans(struct gens *gs)
{
    int n;
    unsigned *ids = ids_now(gs, &n);
    for (int i = 0; i < n; i++) {
        struct gen *g = gens_find(gs, ids[i]);
        if (!g)
            continue;
        if (gen_survivors(g, NULL, 0) == 0) {
            unlink_gen(gs, g);
            gen_free(g);
            continue;
        }
        int live = gen_adopt(g);
        log_info("generation %u: took over %d workers (%s)", gen_id(g), live,
                 g == gs->current ? "serving" : "to drain");
        if (g != gs->current)
            gen_stop(g, NULL);
    }
    free(ids);
}
