/* Slots: starting a worker the mode's way, and the workers' records. */
#include "supervise/slot.h"

#include <stdio.h>

#include "core/log.h"
#include "core/spawn.h"
#include "supervise/state.h"

int slot_spawn(struct slot *s, struct run_ctx *ctx, unsigned gen_id, char *const *argv,
               worker_exit_cb cb, struct err *e)
{
    struct gen_launch l = {0};
    if (ctx->setup_worker(ctx->setup_data, gen_id, s->index, &s->port, &l, e) < 0)
        return -1;
    char gen_s[48], what[64];
    snprintf(gen_s, sizeof(gen_s), "BATON_GENERATION=%u", gen_id);
    l.env[l.nenv++] = gen_s;
    l.env[l.nenv++] = ctx->notify_env;
    l.env[l.nenv] = NULL;
    uint64_t exec_us = 0;
    struct spawn sp = {.argv = l.argv ? l.argv : argv,
                       .env_add = l.env,
                       .env_drop = l.env_drop,
                       .fds = l.fds,
                       .nfds = l.nfds,
                       .listen_pid = l.listen_pid,
                       .exec_us = &exec_us};
    snprintf(what, sizeof(what), "a worker of generation %u", gen_id);
    int rc = worker_start(&s->w, ctx->loop, &sp, what, cb, s, e);
    spawn_argv_free(l.argv);
    if (rc < 0)
        return -1;
    s->w->exec_us = exec_us;
    if (ctx->private_ports)
        log_info("generation %u: started worker %d (slot %d, port %d): %s", gen_id, (int)s->w->pid,
                 s->index, s->port, argv[0]);
    else
        log_info("generation %u: started worker %d (slot %d): %s", gen_id, (int)s->w->pid, s->index,
                 argv[0]);
    return 0;
}

void slot_emptied(struct slot *s, uint64_t lived_ms)
{
    s->w = NULL;
    if (lived_ms > 10000)
        s->fails = 0; /* it ran for a while: the next crash restarts quickly again */
}

int slot_watch(struct slot *s, struct loop *loop, unsigned gen_id, worker_exit_cb cb)
{
    struct err e;
    if (worker_watch(s->w, loop, cb, s, &e) == 0)
        return 1;
    log_warn("generation %u: %s", gen_id, e.msg);
    worker_free(s->w);
    s->w = NULL;
    return 0;
}

json_t *slots_status(const struct slot *slots, int n, uint64_t now, int ports)
{
    json_t *ws = json_array();
    for (int i = 0; i < n; i++) {
        const struct worker *w = slots[i].w;
        if (!w)
            continue;
        json_t *jw =
            json_pack("{s:i,s:i,s:b,s:b,s:I}", "pid", (int)w->pid, "slot", i, "ready", w->ready,
                      "stopping", w->stopping, "age_ms", (json_int_t)(now - w->started_ms));
        if (ports)
            json_object_set_new(jw, "port", json_integer(slots[i].port));
        json_array_append_new(ws, jw);
    }
    return ws;
}

json_t *slots_to_json(const struct slot *slots, int n)
{
    json_t *ws = json_array();
    for (int i = 0; i < n; i++)
        if (slots[i].w) {
            json_t *jw = worker_to_json(slots[i].w);
            json_object_set_new(jw, "slot", json_integer(i));
            json_array_append_new(ws, jw);
        }
    return ws;
}

json_t *slots_ports(const struct slot *slots, int n)
{
    json_t *ps = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(ps, json_integer(slots[i].port));
    return ps;
}

static int ports_from_json(struct slot *slots, int n, json_t *ps, unsigned gen_id, struct err *e)
{
    if (!json_is_array(ps) || json_array_size(ps) != (size_t)n)
        return err_set(e, "malformed state: generation %u ports must be an array of %d", gen_id, n);
    for (int i = 0; i < n; i++) {
        json_t *p = json_array_get(ps, (size_t)i);
        if (!json_is_integer(p) || json_integer_value(p) < 0 || json_integer_value(p) > 65535)
            return err_set(e, "malformed state: generation %u port %d is not in 0..65535", gen_id,
                           i);
        slots[i].port = (int)json_integer_value(p);
    }
    return 0;
}

int slots_from_json(struct slot *slots, int n, json_t *ws, json_t *ps, int child, unsigned gen_id,
                    struct err *e)
{
    if (!json_is_array(ws) || json_array_size(ws) > STATE_MAX_WORKERS)
        return err_set(e, "malformed state: generation %u workers must be an array of at most %d",
                       gen_id, STATE_MAX_WORKERS);
    for (size_t i = 0; i < json_array_size(ws); i++) {
        json_t *jw = json_array_get(ws, i);
        long long slot;
        struct state_int f[] = {{"slot", 0, n - 1, &slot}}; /* none when n is 0 */
        struct worker *w;
        if (worker_from_json(jw, &w, child, e) < 0)
            return -1;
        if (state_get_ints(jw, f, 1, "worker", e) < 0) {
            worker_free(w);
            return -1;
        }
        if (slots[slot].w)
            worker_free(w); /* a second record of one slot: the first one holds */
        else
            slots[slot].w = w;
    }
    return ps ? ports_from_json(slots, n, ps, gen_id, e) : 0;
}
