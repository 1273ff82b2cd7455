/* --mode proxy: each worker binds a private loopback port ($PORT, $BATON_PORT) and the
 * proxy worker relays the public sockets to the current generation's ports. On
 * promotion the master adds the new generation's ports as pool "genN" over the proxy's
 * control socket and switches to it; the old generation gets its stop signal once the
 * proxy reports its backends drained, or at the drain timeout. Every call to the proxy
 * goes through the loop, one at a time, so the master never waits on it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/addr.h"
#include "core/log.h"
#include "supervise/container.h"
#include "supervise/container_orphan.h"
#include "supervise/container_rm.h"
#include "supervise/ctlcall.h"
#include "supervise/mode.h"
#include "supervise/portcheck.h"
#include "supervise/proxyworker.h"

#define PROXY_CALL_TIMEOUT_MS 5000
#define PROXY_POLL_MS         100

enum call_kind { CALL_ADD, CALL_SWITCH, CALL_LIST, CALL_REMOVE };

struct call {
    struct call *next;
    enum call_kind kind;
    json_t *req;
    unsigned stop_after; /* CALL_REMOVE: then stop this generation */
};

/* A replaced generation draining in the proxy, since the switch away from it. */
struct drain {
    unsigned id;
    uint64_t since_ms;
    int removing; /* its backends are being removed; it stops after that */
};

struct mode_proxy {
    struct mode base;
    struct run_ctx *ctx;
    struct gens *gs;
    struct proxyworker *pw;
    struct call *calls;       /* queued, the first one in flight */
    struct ctlcall *inflight; /* the first call's request on the loop */
    int dispatching;
    int switching; /* a promotion's backend-add/switch calls are under way */
    unsigned switch_gen, switch_old;
    pid_t switch_pid;         /* the proxy worker they go to */
    int64_t switched_unix_ms; /* the proxy's clock at the last switch */
    struct timer poll;        /* watching replaced generations drain */
    struct drain *drains;
    int ndrains;
    int next_port;                   /* where the search for a private port resumes */
    struct container_rm *rm;         /* containers of generations that are gone, being removed */
    struct container_orphan *orphan; /* what a killed master left (container generations) */
};

/* --- private ports ------------------------------------------------------------------- */

static int pick_port(struct mode_proxy *mp, struct err *e)
{
    int lo = mp->ctx->o->private_lo, hi = mp->ctx->o->private_hi;
    for (int i = 0; i <= hi - lo; i++) {
        int port = mp->next_port < lo || mp->next_port > hi ? lo : mp->next_port;
        mp->next_port = port >= hi ? lo : port + 1;
        if (!gens_port_held(mp->gs, port) && portcheck_port_free(port))
            return port;
    }
    return err_set(e, "no free private port in --private-ports %d-%d on '127.0.0.1'", lo, hi);
}

/* --- containers as generations (container.c) ------------------------------------------- */

/* g is gone: its containers go too (container_rm.c). */
static void proxy_retired(struct mode *md, struct gen *g)
{
    struct mode_proxy *mp = (struct mode_proxy *)md;
    if (g)
        container_rm_generation(mp->rm, gen_argv(g), mp->ctx->o->name, gen_id(g), gen_nslots(g));
}

static int proxy_orphans(struct mode *md, json_t *root)
{
    struct mode_proxy *mp = (struct mode_proxy *)md;
    if (!container_orphan_all_containers(mp->gs))
        return 0;
    container_orphan_adopt(mp->orphan, root, mp->gs, mp->rm);
    return 1;
}

static void on_helper_gone(void *data)
{
    struct mode_proxy *mp = data;
    if (mp->ctx->stopping)
        ctx_note(mp->ctx, NOTE_MODE_GONE, NULL, NULL);
}

static int proxy_setup_worker(struct mode *md, unsigned gen_id, int slot, int *port,
                              struct gen_launch *l, struct err *e)
{
    struct mode_proxy *mp = (struct mode_proxy *)md;
    int restart = *port != 0;
    if (!*port) {
        int p = pick_port(mp, e);
        if (p < 0)
            return -1;
        *port = p;
    }
    snprintf(l->scratch[0], sizeof(l->scratch[0]), "PORT=%d", *port);
    snprintf(l->scratch[1], sizeof(l->scratch[1]), "BATON_PORT=%d", *port);
    l->env[l->nenv++] = l->scratch[0];
    l->env[l->nenv++] = l->scratch[1];
    l->env_drop = ctx_env_ours(1);
    struct gen *g = gens_find(mp->gs, gen_id);
    return g ? container_launch(gen_argv(g), mp->ctx->o->name, gen_id, slot, gen_nslots(g), *port,
                                restart, &l->argv, e)
             : 0;
}

/* --- calls to the proxy worker's control socket, one at a time on the loop ------------ */

static void call_next(struct mode_proxy *mp);

/* Queues `req` (stolen); calls go out in order, each after the previous one's reply. */
static struct call *call(struct mode_proxy *mp, enum call_kind kind, json_t *req)
{
    struct call *c = calloc(1, sizeof(*c));
    if (!c || !req) {
        free(c);
        json_decref(req);
        log_error("proxy worker: cannot queue a control call: out of memory");
        return NULL;
    }
    c->kind = kind;
    c->req = req;
    struct call **tail = &mp->calls;
    while (*tail)
        tail = &(*tail)->next;
    *tail = c;
    return c;
}

static void switch_failed(struct mode_proxy *mp, const char *why);
static void switch_done(struct mode_proxy *mp, json_t *reply);
static void on_list(struct mode_proxy *mp, json_t *list);
static void removed(struct mode_proxy *mp, unsigned id);

static void call_finished(struct mode_proxy *mp, struct call *c, json_t *reply, const char *error)
{
    if (error)
        log_debug("proxy worker: %s", error);
    if (c->kind == CALL_ADD && error && mp->switching)
        switch_failed(mp, error);
    else if (c->kind == CALL_SWITCH && mp->switching && error)
        switch_failed(mp, error);
    else if (c->kind == CALL_SWITCH && mp->switching)
        switch_done(mp, reply);
    else if (c->kind == CALL_LIST)
        on_list(mp, reply);
    else if (c->kind == CALL_REMOVE && c->stop_after)
        removed(mp, c->stop_after);
}

static void call_free(struct call *c)
{
    json_decref(c->req);
    free(c);
}

static void on_call_done(json_t *reply, const char *error, void *data)
{
    struct mode_proxy *mp = data;
    struct call *c = mp->calls;
    mp->inflight = NULL;
    mp->calls = c->next;
    call_finished(mp, c, reply, error);
    call_free(c);
    call_next(mp);
}

static void call_next(struct mode_proxy *mp)
{
    if (mp->dispatching)
        return;
    mp->dispatching = 1;
    while (!mp->inflight && mp->calls) {
        struct call *c = mp->calls;
        struct err e;
        /* A failed promotion's remaining calls are dropped. */
        int skip = (c->kind == CALL_ADD || c->kind == CALL_SWITCH) && !mp->switching;
        if (!skip && proxyworker_pid(mp->pw) &&
            ctlcall_start(&mp->inflight, mp->ctx->loop, proxyworker_control(mp->pw), c->req,
                          PROXY_CALL_TIMEOUT_MS, on_call_done, mp, &e) == 0)
            break;
        if (!skip && !proxyworker_pid(mp->pw))
            err_set(&e, "the proxy worker is not running");
        mp->inflight = NULL;
        mp->calls = c->next;
        if (!skip)
            call_finished(mp, c, NULL, e.msg);
        call_free(c);
    }
    mp->dispatching = 0;
}

static void calls_drop(struct mode_proxy *mp)
{
    ctlcall_cancel(mp->inflight);
    mp->inflight = NULL;
    while (mp->calls) {
        struct call *c = mp->calls;
        mp->calls = c->next;
        call_free(c);
    }
}

/* --- draining replaced generations ----------------------------------------------------- */

/* When the proxy switched away from generation `id` (now, if not known yet). */
static uint64_t drain_since(struct mode_proxy *mp, unsigned id)
{
    uint64_t now = loop_now_ms(mp->ctx->loop);
    for (int i = 0; i < mp->ndrains; i++)
        if (mp->drains[i].id == id)
            return mp->drains[i].since_ms;
    struct drain *d = realloc(mp->drains, (size_t)(mp->ndrains + 1) * sizeof(*d));
    if (d) {
        mp->drains = d;
        mp->drains[mp->ndrains++] = (struct drain){.id = id, .since_ms = now};
    }
    return now;
}

static void drain_forget(struct mode_proxy *mp, unsigned id)
{
    for (int i = 0; i < mp->ndrains; i++)
        if (mp->drains[i].id == id) {
            mp->drains[i] = mp->drains[--mp->ndrains];
            return;
        }
}

static void drain_removing(struct mode_proxy *mp, unsigned id)
{
    for (int i = 0; i < mp->ndrains; i++)
        if (mp->drains[i].id == id)
            mp->drains[i].removing = 1;
}

/* A generation the proxy no longer sends new connections to, waiting to be stopped
 * (and not already on its way: its backends being removed). */
static int draining_in_proxy(struct mode_proxy *mp, struct gen *g)
{
    if (gen_state(g) != GEN_SERVING || g == gens_current(mp->gs))
        return 0;
    for (int i = 0; i < mp->ndrains; i++)
        if (mp->drains[i].id == gen_id(g) && mp->drains[i].removing)
            return 0;
    return 1;
}

/* The proxy let go of generation `id`'s backends (or the calls failed): stop it. */
static void removed(struct mode_proxy *mp, unsigned id)
{
    drain_forget(mp, id);
    struct gen *g = gens_find(mp->gs, id);
    if (g)
        gen_stop(g, NULL);
}

/* Queues the removal of g's backends; returns the last call (NULL: none queued). */
static struct call *remove_backends(struct mode_proxy *mp, struct gen *g)
{
    struct call *last = NULL;
    for (int i = 0; proxyworker_pid(mp->pw) && i < gen_nslots(g); i++) {
        char name[48];
        snprintf(name, sizeof(name), "gen%u-w%d", gen_id(g), i);
        last = call(mp, CALL_REMOVE, json_pack("{s:s,s:s}", "cmd", "backend-remove", "name", name));
    }
    return last;
}

/* 1 when every backend of g's pool is drained or gone from the proxy's list. */
static int pool_drained(json_t *list, const struct gen *g)
{
    char pool[32];
    snprintf(pool, sizeof(pool), "gen%u", gen_id(g));
    size_t i;
    json_t *b;
    json_array_foreach(json_object_get(list, "backends"), i, b)
    {
        const char *bp = json_string_value(json_object_get(b, "pool"));
        const char *st = json_string_value(json_object_get(b, "state"));
        if (bp && strcmp(bp, pool) == 0 && (!st || strcmp(st, "drained") != 0))
            return 0;
    }
    return 1;
}

static void on_poll(struct loop *loop, struct timer *t);

/* Stops replaced generation g when its backends drained (list: the proxy's backend
 * list, NULL when the call failed) or its drain timeout passed; 1 while it waits. */
static int check_drained(struct mode_proxy *mp, struct gen *g, json_t *list)
{
    uint64_t timeout = mp->ctx->o->drain_timeout_ms;
    uint64_t waited = loop_now_ms(mp->ctx->loop) - drain_since(mp, gen_id(g));
    /* A proxy worker not ready yet was started with the current generation's ports
     * only: nothing of g is in it. */
    int drained =
        !proxyworker_pid(mp->pw) || !proxyworker_ready(mp->pw) || (list && pool_drained(list, g));
    drained = drained && !container_orphan_alive(mp->orphan); /* it may still relay to g */
    if (!drained && waited < timeout)
        return 1;
    if (drained)
        log_info("generation %u: drained in the proxy after %llu ms; stopping it", gen_id(g),
                 (unsigned long long)waited);
    else
        log_warn("generation %u: still has proxy connections after the drain timeout (%llu ms); "
                 "stopping it",
                 gen_id(g), (unsigned long long)timeout);
    /* The proxy lets go of g's backends first, then g gets its stop signal. */
    struct call *last = remove_backends(mp, g);
    if (last) {
        last->stop_after = gen_id(g);
        drain_removing(mp, gen_id(g));
        call_next(mp);
    } else {
        drain_forget(mp, gen_id(g));
        gen_stop(g, NULL);
    }
    return 0;
}

static void on_list(struct mode_proxy *mp, json_t *list)
{
    /* By id: stopping one generation may retire it (and move the others) at once. */
    int n = gens_count(mp->gs), waiting = 0;
    unsigned *ids = calloc((size_t)(n ? n : 1), sizeof(*ids));
    for (int i = 0; ids && i < n; i++)
        ids[i] = gen_id(gens_at(mp->gs, i));
    for (int i = 0; ids && i < n; i++) {
        struct gen *g = gens_find(mp->gs, ids[i]);
        if (g && draining_in_proxy(mp, g))
            waiting += check_drained(mp, g, list);
    }
    for (int i = mp->ndrains - 1; i >= 0; i--)
        if (!gens_find(mp->gs, mp->drains[i].id))
            drain_forget(mp, mp->drains[i].id); /* gone another way (stopped with the master) */
    int retry = waiting || !ids;                /* out of memory: look again next round */
    free(ids);
    if (retry && !mp->ctx->stopping)
        timer_start(mp->ctx->loop, &mp->poll, PROXY_POLL_MS, on_poll, mp);
}

static void on_poll(struct loop *loop, struct timer *t)
{
    struct mode_proxy *mp = t->data;
    if (proxyworker_pid(mp->pw)) {
        call(mp, CALL_LIST, json_pack("{s:s}", "cmd", "backend-list"));
        call_next(mp);
    } else
        on_list(mp, NULL);
}

/* --- switching --------------------------------------------------------------------------- */

/* The switch is over (or failed, or was given up): the replaced generation drains in
 * the proxy, or stops at once when no proxy relays to it any more. */
static void switch_end(struct mode_proxy *mp, int64_t switched_unix_ms, int drain_in_proxy)
{
    mp->switching = 0;
    mp->switched_unix_ms = switched_unix_ms ? switched_unix_ms : clock_wall_ms();
    struct gen *old = mp->switch_old ? gens_find(mp->gs, mp->switch_old) : NULL;
    if (old && drain_in_proxy) {
        drain_forget(mp, gen_id(old));
        drain_since(mp, gen_id(old));
        timer_start(mp->ctx->loop, &mp->poll, PROXY_POLL_MS, on_poll, mp);
    } else if (old) {
        gen_stop(old, NULL);
    }
    ctx_note(mp->ctx, NOTE_SWITCH_CHECK, NULL, NULL);
}

static void switch_done(struct mode_proxy *mp, json_t *reply)
{
    int64_t t = json_integer_value(json_object_get(reply, "switched_unix_ms"));
    log_info("proxy worker %d switched to generation %u", (int)proxyworker_pid(mp->pw),
             mp->switch_gen);
    switch_end(mp, t, 1);
}

static void switch_failed(struct mode_proxy *mp, const char *why)
{
    if (proxyworker_pid(mp->pw) && proxyworker_pid(mp->pw) == mp->switch_pid)
        proxyworker_replace(mp->pw, why);
    switch_end(mp, 0, 0); /* the proxy that relayed to the old generation is gone */
}

static void proxy_promote(struct mode *md, struct gen *g, struct gen *old)
{
    struct mode_proxy *mp = (struct mode_proxy *)md;
    mp->switching = 1;
    mp->switch_gen = gen_id(g);
    mp->switch_old = old ? gen_id(old) : 0;
    mp->switch_pid = proxyworker_pid(mp->pw);
    if (!mp->switch_pid) {
        proxyworker_start(mp->pw); /* with g's ports: nothing to switch */
        switch_end(mp, 0, 0);
        return;
    }
    for (int i = 0; i < gen_nslots(g); i++) {
        char spec[96];
        snprintf(spec, sizeof(spec), "gen%u/gen%u-w%d=127.0.0.1:%d", gen_id(g), gen_id(g), i,
                 gen_port(g, i));
        call(mp, CALL_ADD, json_pack("{s:s,s:s}", "cmd", "backend-add", "spec", spec));
    }
    char pool[32];
    snprintf(pool, sizeof(pool), "gen%u", gen_id(g));
    call(mp, CALL_SWITCH,
         json_pack("{s:s,s:s,s:I}", "cmd", "switch", "pool", pool, "drain_timeout_ms",
                   (json_int_t)mp->ctx->o->drain_timeout_ms));
    call_next(mp);
}

static int proxy_switched(struct mode *md, struct gen *old, int64_t *switched_unix_ms)
{
    struct mode_proxy *mp = (struct mode_proxy *)md;
    *switched_unix_ms = mp->switched_unix_ms;
    return !mp->switching;
}

/* --- the rest of the interface ------------------------------------------------------------ */

static void proxy_resume(struct mode *md)
{
    struct mode_proxy *mp = (struct mode_proxy *)md;
    int waiting = 0;
    for (int i = 0; i < gens_count(mp->gs); i++)
        if (draining_in_proxy(mp, gens_at(mp->gs, i))) {
            drain_since(mp, gen_id(gens_at(mp->gs, i)));
            waiting++;
        }
    if (waiting)
        timer_start(mp->ctx->loop, &mp->poll, PROXY_POLL_MS, on_poll, mp);
    proxyworker_start(mp->pw);
}

static void proxy_stop(struct mode *md)
{
    struct mode_proxy *mp = (struct mode_proxy *)md;
    timer_stop(mp->ctx->loop, &mp->poll);
    calls_drop(mp);
    if (mp->switching)
        switch_end(mp, 0, 0);
    proxyworker_stop(mp->pw);
    container_orphan_stop(mp->orphan);
}

static int proxy_busy(const struct mode *md)
{
    const struct mode_proxy *mp = (const struct mode_proxy *)md;
    return proxyworker_pid(mp->pw) != 0 || container_rm_pending(mp->rm) > 0 ||
           container_orphan_alive(mp->orphan);
}

static int proxy_notify(struct mode *md, pid_t pid, const struct notify_msg *msg)
{
    struct mode_proxy *mp = (struct mode_proxy *)md;
    int ours = proxyworker_notify(mp->pw, pid, msg);
    if (ours && proxyworker_ready(mp->pw))
        container_orphan_stop(mp->orphan); /* the new proxy worker took over */
    return ours;
}

static void proxy_status(struct mode *md, json_t *st)
{
    json_object_set_new(st, "proxy", proxyworker_status(((struct mode_proxy *)md)->pw));
}

static void proxy_to_json(const struct mode *md, json_t *root)
{
    json_object_set_new(root, "proxy", proxyworker_to_json(((const struct mode_proxy *)md)->pw));
}

static int proxy_from_json(struct mode *md, json_t *root, struct err *e)
{
    json_t *jp = json_object_get(root, "proxy");
    if (!jp)
        return err_set(e, "the state is of --mode handoff, the options say --mode proxy");
    return proxyworker_from_json(((struct mode_proxy *)md)->pw, jp, e);
}

/* NAME.proxy.sock beside the control socket NAME.sock. */
static int control_path(const char *control, char *buf, size_t size, struct err *e)
{
    size_t n = strlen(control);
    if (n > 5 && strcmp(control + n - 5, ".sock") == 0)
        n -= 5;
    if ((size_t)snprintf(buf, size, "%.*s.proxy.sock", (int)n, control) >= size)
        return err_set(e, "control socket path '%s' is too long to put '.proxy.sock' beside it",
                       control);
    return 0;
}

static int proxy_open(struct mode **out, struct run_ctx *ctx, struct gens *gs, struct err *e)
{
    char path[ADDR_UNIX_PATH_SIZE];
    struct mode_proxy *mp = calloc(1, sizeof(*mp));
    if (!mp)
        return err_set(e, "cannot start: out of memory");
    mp->base.ops = &mode_proxy_ops;
    mp->ctx = ctx;
    mp->gs = gs;
    const struct run_opts *o = ctx->o;
    mp->next_port = o->private_lo + (int)(getpid() % (o->private_hi - o->private_lo + 1));
    if (control_path(o->control, path, sizeof(path), e) < 0 ||
        container_rm_new(&mp->rm, ctx->loop, on_helper_gone, mp, e) < 0 ||
        container_orphan_new(&mp->orphan, ctx, on_helper_gone, mp, e) < 0 ||
        proxyworker_new(&mp->pw, ctx, gs, path, e) < 0) {
        container_rm_free(mp->rm);
        container_orphan_free(mp->orphan);
        free(mp);
        return -1;
    }
    *out = &mp->base;
    return 0;
}

static void proxy_free(struct mode *md)
{
    struct mode_proxy *mp = (struct mode_proxy *)md;
    timer_stop(mp->ctx->loop, &mp->poll);
    calls_drop(mp);
    proxyworker_free(mp->pw);
    container_rm_free(mp->rm);
    container_orphan_free(mp->orphan);
    free(mp->drains);
    free(mp);
}

const struct mode_ops mode_proxy_ops = {
    .name = "proxy",
    .private_ports = 1,
    .takes_over_orphans = 0,
    .open = proxy_open,
    .free = proxy_free,
    .setup_worker = proxy_setup_worker,
    .promote = proxy_promote,
    .retired = proxy_retired,
    .orphans = proxy_orphans,
    .switched = proxy_switched,
    .resume = proxy_resume,
    .stop = proxy_stop,
    .busy = proxy_busy,
    .notify = proxy_notify,
    .status = proxy_status,
    .to_json = proxy_to_json,
    .from_json = proxy_from_json,
};
