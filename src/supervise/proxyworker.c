/* `baton run --mode proxy`: the proxy worker (the `baton proxy` binary with the public
 * sockets at fds 3.. by LISTEN_FDS) and the private ports of the app generations.
 * On promotion the master adds the new generation's ports as pool "genN" over the
 * proxy's control socket and switches to it; the old generation gets its stop signal
 * once the proxy reports its backends drained, or at the drain timeout. A proxy worker
 * that dies is restarted with backoff on the same sockets with the current backends. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/log.h"
#include "supervise/ctlcall.h"
#include "supervise/master.h"
#include "supervise/state.h"

#define PXW_CALL_TIMEOUT_MS  5000
#define PXW_POLL_MS          100
#define PXW_CHECK_TIMEOUT_MS 1000

static int port_held(struct master *m, int port)
{
    for (struct gen *g = m->gens; g; g = g->next)
        for (int i = 0; i < g->nslots; i++)
            if (g->slots[i].port == port)
                return 1;
    return 0;
}

int pxw_pick_port(struct master *m, struct err *e)
{
    int lo = m->o->private_lo, hi = m->o->private_hi;
    for (int i = 0; i <= hi - lo; i++) {
        int port = m->next_port < lo || m->next_port > hi ? lo : m->next_port;
        m->next_port = port >= hi ? lo : port + 1;
        if (!port_held(m, port) && portcheck_port_free(port))
            return port;
    }
    return err_set(e, "no free private port in --private-ports %d-%d on '127.0.0.1'", lo, hi);
}

/* --- readiness of a worker's port ------------------------------------------------------ */

static void on_check_done(int ok, const char *what, void *data)
{
    struct worker *w = data;
    w->check = NULL;
    if (!ok) {
        snprintf(w->check_what, sizeof(w->check_what), "%s", what);
        log_debug("generation %u: worker %d not ready yet: %s", w->g->id, (int)w->pid, what);
        return;
    }
    w->ready = 1;
    w->check_what[0] = 0;
    log_info("generation %u: worker %d is ready (port %d: %s)", w->g->id, (int)w->pid,
             w->g->slots[w->slot].port, what);
    state_save(w->m);
    gen_check_ready(w->g);
}

void pxw_check_worker(struct worker *w)
{
    struct master *m = w->m;
    struct err e;
    int port = w->g->slots[w->slot].port;
    const char *path = m->o->ready_mode == READY_HTTP ? m->o->ready_path : NULL;
    if (portcheck_start(&w->check, m->loop, port, path, PXW_CHECK_TIMEOUT_MS, on_check_done, w,
                        &e) < 0) {
        w->check = NULL;
        snprintf(w->check_what, sizeof(w->check_what), "%s", e.msg);
    }
}

/* --- the proxy worker process ------------------------------------------------------------ */

static const char *level_name(enum log_level l)
{
    static const char *const names[] = {"debug", "info", "warn", "error", "error"};
    return (unsigned)l < 5 ? names[l] : "info";
}

static void on_proxy_exit(struct loop *loop, struct watcher *watcher, uint32_t revents);
static int spawn_proxy(struct master *m, struct err *e);

static void on_restart(struct loop *loop, struct timer *t)
{
    struct master *m = t->data;
    struct err e;
    if (m->stopping || m->px.pid)
        return;
    if (spawn_proxy(m, &e) < 0) {
        log_error("proxy worker: %s; retrying in 1 s", e.msg);
        m->px.fails++;
        timer_start(loop, &m->px.restart, 1000, on_restart, m);
    }
    state_save(m);
}

static int watch_proxy(struct master *m, pid_t pid, struct err *e)
{
    m->px.pidfd = loop_watch_pid(m->loop, &m->px.w, pid, on_proxy_exit, m, e);
    if (m->px.pidfd < 0)
        return -1;
    m->px.pid = pid;
    m->px.started_ms = loop_now_ms(m->loop);
    m->px.started_unix_ms = wall_ms();
    m->px.proc_start = proc_start_time(pid);
    m->px.ready = m->px.stopping = m->px.killed = 0;
    return 0;
}

/* Starts `baton proxy` on the public sockets with the current generation's ports. */
static int spawn_proxy(struct master *m, struct err *e)
{
    struct gen *g = m->current;
    if (!g)
        return err_set(e, "no current generation to relay to");
    char drain[32];
    snprintf(drain, sizeof(drain), "%llu", (unsigned long long)m->o->drain_timeout_ms);
    const char *fixed[] = {m->self_exe,      "proxy",
                           "--mode",         m->o->proxy_http ? "http" : "tcp",
                           "--control",      m->px.ctl_path,
                           "--stop-timeout", drain,
                           "--log-level",    level_name(m->o->log_level),
                           "--health",       "connect"};
    size_t nfixed = sizeof(fixed) / sizeof(fixed[0]);
    char **argv = calloc(nfixed + 2 * (size_t)g->nslots + 1, sizeof(*argv));
    char(*specs)[96] = calloc((size_t)g->nslots + 1, sizeof(*specs));
    if (!argv || !specs) {
        free(argv);
        free(specs);
        return err_errno(e, ENOMEM, "cannot start the proxy worker");
    }
    size_t k = 0;
    for (size_t i = 0; i < nfixed; i++)
        argv[k++] = (char *)fixed[i];
    for (int i = 0; i < g->nslots; i++) {
        snprintf(specs[i], sizeof(specs[i]), "gen%u/gen%u-w%d=127.0.0.1:%d", g->id, g->id, i,
                 g->slots[i].port);
        argv[k++] = "--backend";
        argv[k++] = specs[i];
    }
    argv[k] = NULL;
    pid_t pid = master_spawn(m, argv, NULL, 1, "the proxy worker", e);
    if (pid < 0) {
        free(argv);
        free(specs);
        return -1;
    }
    free(argv);
    free(specs);
    if (watch_proxy(m, pid, e) < 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0); /* just killed: returns at once */
        return -1;
    }
    log_info("proxy worker %d started (%s mode) relaying to generation %u", (int)pid,
             m->o->proxy_http ? "http" : "tcp", g->id);
    return 0;
}

static void on_proxy_exit(struct loop *loop, struct watcher *watcher, uint32_t revents)
{
    struct master *m = watcher->data;
    struct proxy_worker *px = &m->px;
    char what[128] = "exited";
    siginfo_t si = {0};
    if (waitid((idtype_t)P_PIDFD, (id_t)px->pidfd, &si, WEXITED | WNOHANG) < 0) {
        if (errno != ECHILD)
            return;
    } else if (si.si_pid == 0) {
        return;
    } else {
        describe_status(si.si_code, si.si_status, what, sizeof(what));
    }
    loop_unwatch(loop, &px->w);
    close(px->pidfd);
    px->pidfd = -1;
    pid_t pid = px->pid;
    px->pid = 0;
    px->ready = 0;
    timer_stop(loop, &px->kill);
    uint64_t lived = loop_now_ms(loop) - px->started_ms;
    if (m->stopping) {
        log_info("proxy worker %d %s", (int)pid, what);
        state_save(m);
        master_maybe_exit(m);
        return;
    }
    if (lived > 10000 || px->killed)
        px->fails = 0;
    unsigned shift = px->fails < 7 ? px->fails : 7;
    uint64_t delay = 100u << shift;
    if (delay > 10000)
        delay = 10000;
    px->fails++;
    px->restarts++;
    log_warn("proxy worker %d %s after %llu ms; restarting it in %llu ms (restart %u)", (int)pid,
             what, (unsigned long long)lived, (unsigned long long)delay, px->restarts);
    timer_start(loop, &px->restart, delay, on_restart, m);
    state_save(m);
}

int pxw_adopt(struct master *m, pid_t pid, uint64_t proc_start, struct err *e)
{
    if (!pid || !proc_start || proc_start_time(pid) != proc_start)
        return 0; /* gone: pxw_resume starts a new one */
    return watch_proxy(m, pid, e);
}

int pxw_notify(struct master *m, pid_t pid, int ready, int stopping)
{
    if (!m->px.pid || pid != m->px.pid)
        return 0;
    if (ready && !m->px.ready) {
        m->px.ready = 1;
        log_info("proxy worker %d is ready", (int)pid);
    }
    if (stopping)
        m->px.stopping = 1;
    return 1;
}

static void proxy_signal(struct master *m, int sig)
{
    if (m->px.pid && syscall(SYS_pidfd_send_signal, m->px.pidfd, sig, NULL, 0) < 0 &&
        errno != ESRCH)
        log_warn("cannot send signal %d to the proxy worker %d: %s", sig, (int)m->px.pid,
                 strerror(errno));
}

static void on_kill(struct loop *loop, struct timer *t)
{
    struct master *m = t->data;
    if (!m->px.pid)
        return;
    log_warn("proxy worker %d: drain timeout; killed", (int)m->px.pid);
    m->px.killed = 1;
    proxy_signal(m, SIGKILL);
}

/* Kills a proxy worker that no longer answers its control socket; it is restarted with
 * the current generation's ports. */
static void proxy_replace(struct master *m, const char *why)
{
    log_error("proxy worker %d: %s; restarting it with generation %u", (int)m->px.pid, why,
              m->current ? m->current->id : 0);
    m->px.killed = 1;
    proxy_signal(m, SIGKILL);
}

/* --- calls to the proxy worker's control socket, one at a time on the loop ------------- */

enum call_kind { CALL_ADD, CALL_SWITCH, CALL_LIST, CALL_REMOVE };

struct pxcall {
    struct pxcall *next;
    enum call_kind kind;
    json_t *req;
    unsigned gen; /* CALL_SWITCH: the generation switched to */
};

static void call_next(struct master *m);

static void call_free(struct pxcall *c)
{
    json_decref(c->req);
    free(c);
}

/* Queues `req` (stolen); calls go out in order, each after the previous one's reply. */
static void call(struct master *m, enum call_kind kind, unsigned gen, json_t *req)
{
    struct pxcall *c = calloc(1, sizeof(*c));
    if (!c || !req) {
        free(c);
        json_decref(req);
        log_error("proxy worker: cannot queue a control call: out of memory");
        return;
    }
    c->kind = kind;
    c->gen = gen;
    c->req = req;
    struct pxcall **tail = &m->px.calls;
    while (*tail)
        tail = &(*tail)->next;
    *tail = c;
    call_next(m);
}

static void switch_failed(struct master *m, const char *why);
static void switch_done(struct master *m, json_t *reply);
static void on_list(struct master *m, json_t *list);

static void call_finished(struct master *m, struct pxcall *c, json_t *reply, const char *error)
{
    if (error)
        log_debug("proxy worker: %s", error);
    switch (c->kind) {
    case CALL_ADD:
        if (error && m->px.switching)
            switch_failed(m, error);
        break;
    case CALL_SWITCH:
        if (!m->px.switching)
            break;
        if (error)
            switch_failed(m, error);
        else
            switch_done(m, reply);
        break;
    case CALL_LIST:
        on_list(m, reply);
        break;
    case CALL_REMOVE:
        break;
    }
}

static void on_call_done(json_t *reply, const char *error, void *data)
{
    struct master *m = data;
    struct pxcall *c = m->px.calls;
    m->px.inflight = NULL;
    m->px.calls = c->next;
    call_finished(m, c, reply, error);
    call_free(c);
    call_next(m);
}

static void call_next(struct master *m)
{
    struct proxy_worker *px = &m->px;
    if (px->dispatching)
        return;
    px->dispatching = 1;
    while (!px->inflight && px->calls) {
        struct pxcall *c = px->calls;
        struct err e;
        int skip = (c->kind == CALL_ADD || c->kind == CALL_SWITCH) && !px->switching;
        if (!skip && px->pid &&
            ctlcall_start(&px->inflight, m->loop, px->ctl_path, c->req, PXW_CALL_TIMEOUT_MS,
                          on_call_done, m, &e) == 0)
            break;
        if (!skip && !px->pid)
            snprintf(e.msg, sizeof(e.msg), "the proxy worker is not running");
        px->inflight = NULL;
        px->calls = c->next;
        if (!skip)
            call_finished(m, c, NULL, e.msg);
        call_free(c);
    }
    px->dispatching = 0;
}

/* Drops every queued call (the master stops). */
static void calls_drop(struct master *m)
{
    ctlcall_cancel(m->px.inflight);
    m->px.inflight = NULL;
    while (m->px.calls) {
        struct pxcall *c = m->px.calls;
        m->px.calls = c->next;
        call_free(c);
    }
}

/* --- switching and draining ------------------------------------------------------------- */

static void on_poll(struct loop *loop, struct timer *t);

static struct gen *gen_by_id(struct master *m, unsigned id)
{
    for (struct gen *g = m->gens; g; g = g->next)
        if (g->id == id)
            return g;
    return NULL;
}

static void remove_backends(struct master *m, struct gen *g)
{
    for (int i = 0; m->px.pid && i < g->nslots; i++) {
        char name[48];
        snprintf(name, sizeof(name), "gen%u-w%d", g->id, i);
        call(m, CALL_REMOVE, g->id, json_pack("{s:s,s:s}", "cmd", "backend-remove", "name", name));
    }
}

/* 1 when every backend of g's pool is drained or gone from the proxy's list. */
static int pool_drained(json_t *list, const struct gen *g)
{
    char pool[32];
    snprintf(pool, sizeof(pool), "gen%u", g->id);
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

/* The proxy's backend list arrived (NULL when the call failed): stops each replaced
 * generation whose backends drained, or whose drain timeout passed. */
static void on_list(struct master *m, json_t *list)
{
    int waiting = 0;
    for (struct gen *g = m->gens, *next; g; g = next) {
        next = g->next;
        if (g->state != GEN_SERVING || g == m->current || g->orphan)
            continue;
        uint64_t waited = loop_now_ms(m->loop) - g->unswitched_ms;
        /* A proxy worker not ready yet was started with the current generation's
         * ports only: nothing of g is in it. */
        int drained = !m->px.pid || !m->px.ready || (list && pool_drained(list, g));
        if (!drained && waited < m->o->drain_timeout_ms) {
            waiting++;
            continue;
        }
        if (drained)
            log_info("generation %u: drained in the proxy after %llu ms; stopping it", g->id,
                     (unsigned long long)waited);
        else
            log_warn("generation %u: still has proxy connections after the drain timeout (%llu "
                     "ms); stopping it",
                     g->id, (unsigned long long)m->o->drain_timeout_ms);
        remove_backends(m, g);
        gen_event(g, GEV_STOP, NULL);
    }
    if (waiting && !m->stopping)
        timer_start(m->loop, &m->px.poll, PXW_POLL_MS, on_poll, m);
}

static void on_poll(struct loop *loop, struct timer *t)
{
    struct master *m = t->data;
    if (m->px.pid)
        call(m, CALL_LIST, 0, json_pack("{s:s}", "cmd", "backend-list"));
    else
        on_list(m, NULL);
}

/* The switch is over (or failed, or was given up): the replaced generation drains in
 * the proxy, or stops at once when no proxy relays to it any more. */
static void switch_end(struct master *m, int64_t switched_unix_ms, int drain_in_proxy)
{
    m->px.switching = 0;
    struct gen *old = gen_by_id(m, m->px.switch_old);
    if (old && drain_in_proxy) {
        old->unswitched_ms = loop_now_ms(m->loop);
        timer_start(m->loop, &m->px.poll, PXW_POLL_MS, on_poll, m);
    } else if (old) {
        gen_event(old, GEV_STOP, NULL);
    }
    pxw_switched(m, switched_unix_ms ? switched_unix_ms : wall_ms());
}

static void switch_done(struct master *m, json_t *reply)
{
    int64_t t = json_integer_value(json_object_get(reply, "switched_unix_ms"));
    log_info("proxy worker %d switched to generation %u", (int)m->px.pid, m->px.switch_gen);
    switch_end(m, t, 1);
}

static void switch_failed(struct master *m, const char *why)
{
    if (m->px.pid && m->px.pid == m->px.switch_pid)
        proxy_replace(m, why);
    switch_end(m, 0, 0); /* the proxy that relayed to the old generation is gone */
}

void pxw_promote(struct master *m, struct gen *g, struct gen *old)
{
    struct err e;
    if (!m->px.pid) {
        if (!timer_armed(&m->px.restart) && !m->stopping && spawn_proxy(m, &e) < 0) {
            log_error("proxy worker: %s; retrying in 1 s", e.msg);
            timer_start(m->loop, &m->px.restart, 1000, on_restart, m);
        }
        if (old)
            gen_event(old, GEV_STOP, NULL); /* no proxy relays to it any more */
        pxw_switched(m, wall_ms());
        return;
    }
    m->px.switching = 1;
    m->px.switch_gen = g->id;
    m->px.switch_old = old ? old->id : 0;
    m->px.switch_pid = m->px.pid;
    for (int i = 0; i < g->nslots; i++) {
        char spec[96];
        snprintf(spec, sizeof(spec), "gen%u/gen%u-w%d=127.0.0.1:%d", g->id, g->id, i,
                 g->slots[i].port);
        call(m, CALL_ADD, g->id, json_pack("{s:s,s:s}", "cmd", "backend-add", "spec", spec));
    }
    char pool[32];
    snprintf(pool, sizeof(pool), "gen%u", g->id);
    call(m, CALL_SWITCH, g->id,
         json_pack("{s:s,s:s,s:I}", "cmd", "switch", "pool", pool, "drain_timeout_ms",
                   (json_int_t)m->o->drain_timeout_ms));
}

void pxw_resume(struct master *m)
{
    struct err e;
    int waiting = 0;
    for (struct gen *g = m->gens; g; g = g->next)
        if (g->state == GEN_SERVING && g != m->current && !g->orphan) {
            if (!g->unswitched_ms)
                g->unswitched_ms = loop_now_ms(m->loop);
            waiting++;
        }
    if (waiting)
        timer_start(m->loop, &m->px.poll, PXW_POLL_MS, on_poll, m);
    if (m->current && !m->px.pid && !m->stopping && !timer_armed(&m->px.restart) &&
        spawn_proxy(m, &e) < 0) {
        log_error("proxy worker: %s; retrying in 1 s", e.msg);
        timer_start(m->loop, &m->px.restart, 1000, on_restart, m);
    }
}

void pxw_stop(struct master *m)
{
    timer_stop(m->loop, &m->px.restart);
    timer_stop(m->loop, &m->px.poll);
    calls_drop(m);
    if (m->px.switching)
        switch_end(m, 0, 0);
    if (!m->px.pid)
        return;
    log_info("proxy worker %d: stopping (kill after %llu ms)", (int)m->px.pid,
             (unsigned long long)m->o->drain_timeout_ms);
    proxy_signal(m, SIGTERM);
    timer_start(m->loop, &m->px.kill, m->o->drain_timeout_ms, on_kill, m);
}

json_t *pxw_status(struct master *m)
{
    struct proxy_worker *px = &m->px;
    json_t *st = json_pack("{s:i,s:s,s:s,s:b,s:b,s:i}", "pid", (int)px->pid, "mode",
                           m->o->proxy_http ? "http" : "tcp", "control", px->ctl_path, "ready",
                           px->ready, "stopping", px->stopping, "restarts", (int)px->restarts);
    if (px->pid)
        json_object_set_new(st, "age_ms",
                            json_integer((json_int_t)(loop_now_ms(m->loop) - px->started_ms)));
    return st;
}
