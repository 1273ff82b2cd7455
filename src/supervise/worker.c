/* Workers of a generation: fork/exec with the listening sockets at fds 3.. and the
 * systemd environment (LISTEN_FDS, LISTEN_PID set in the child, LISTEN_FDNAMES,
 * NOTIFY_SOCKET, BATON_GENERATION), or in --mode proxy with a private port in PORT and
 * BATON_PORT instead of the sockets; exits seen through pidfds; readiness by notify,
 * probe, delay or a check of the private port. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/fdpass.h"
#include "core/spawn.h"
#include "core/log.h"
#include "supervise/master.h"
#include "supervise/state.h"

int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct worker *worker_find(struct master *m, pid_t pid)
{
    for (struct gen *g = m->gens; g; g = g->next)
        for (int i = 0; i < g->nslots; i++)
            if (g->slots[i].w && g->slots[i].w->pid == pid)
                return g->slots[i].w;
    return NULL;
}

void worker_signal(struct worker *w, int sig)
{
    if (syscall(SYS_pidfd_send_signal, w->pidfd, sig, NULL, 0) < 0 && errno != ESRCH)
        log_warn("cannot send signal %d to worker %d: %s", sig, (int)w->pid, strerror(errno));
}

int gen_stopped_accepting(const struct gen *g)
{
    for (int i = 0; i < g->nslots; i++) {
        const struct worker *w = g->slots[i].w;
        if (w && !w->stopping && !w->killed)
            return 0;
    }
    return 1;
}

static void on_worker_exit(struct loop *loop, struct watcher *watcher, uint32_t revents)
{
    struct worker *w = watcher->data;
    struct gen *g = w->g;
    struct master *m = w->m;
    char what[128] = "exited";
    if (w->child) {
        siginfo_t si = {0};
        if (waitid((idtype_t)P_PIDFD, (id_t)w->pidfd, &si, WEXITED | WNOHANG) < 0) {
            if (errno != ECHILD)
                return;
        } else if (si.si_pid == 0) {
            return; /* not yet */
        } else {
            describe_status(si.si_code, si.si_status, what, sizeof(what));
        }
    }
    loop_unwatch(loop, &w->w);
    close(w->pidfd);
    portcheck_cancel(w->check);
    w->check = NULL;
    struct slot *s = &g->slots[w->slot];
    s->w = NULL;
    g->live--;
    uint64_t lived = loop_now_ms(loop) - w->started_ms;
    if (lived > 10000)
        s->fails = 0; /* it ran for a while: the next crash restarts quickly again */
    int expected = g->state == GEN_DRAINING || g->state == GEN_FAILED;
    if (expected)
        log_info("generation %u: worker %d %s", g->id, (int)w->pid, what);
    else
        log_warn("generation %u: worker %d (slot %d) %s after %llu ms", g->id, (int)w->pid, w->slot,
                 what, (unsigned long long)lived);
    if (g->state == GEN_STARTING || g->state == GEN_READY)
        snprintf(g->reason, sizeof(g->reason), "worker %d %s %s", (int)w->pid, what,
                 g->state == GEN_STARTING ? "before it was ready"
                                          : "during the --min-ready period");
    loop_defer_free(loop, w);
    gen_event(g, GEV_WORKER_EXIT, s);
    state_save(m);
    op_check_switch(m);
}

int worker_adopt(struct gen *g, int slot, pid_t pid, int child, struct err *e)
{
    struct worker *w = calloc(1, sizeof(*w));
    if (!w)
        return err_errno(e, ENOMEM, "cannot track worker %d", (int)pid);
    w->m = g->m;
    w->g = g;
    w->slot = slot;
    w->pid = pid;
    w->child = child;
    w->started_ms = loop_now_ms(g->m->loop);
    w->proc_start = proc_start_time(pid);
    w->pidfd = loop_watch_pid(g->m->loop, &w->w, pid, on_worker_exit, w, e);
    if (w->pidfd < 0) {
        free(w);
        return -1;
    }
    g->slots[slot].w = w;
    g->live++;
    return 0;
}

pid_t master_spawn(struct master *m, char **argv, char *const *extra, int pass_sockets,
                   const char *what, struct err *e)
{
    static const char *const ours[] = {
        "PORT=",          "BATON_PORT=",       "LISTEN_PID=",     "LISTEN_FDS=", "LISTEN_FDNAMES=",
        "NOTIFY_SOCKET=", "BATON_GENERATION=", "BATON_STATE_FD=", NULL};
    char fds[32], notify[sizeof(m->notify_path) + 16];
    char names[RUN_MAX_LISTEN * (ADDR_NAME_MAX + 1) + 32];
    char *env[16];
    size_t k = 0;
    for (size_t i = 0; extra && extra[i] && k < 12; i++)
        env[k++] = extra[i];
    if (pass_sockets) {
        snprintf(fds, sizeof(fds), "LISTEN_FDS=%d", m->nlisten);
        size_t off = (size_t)snprintf(names, sizeof(names), "LISTEN_FDNAMES=");
        for (int i = 0; i < m->nlisten; i++) {
            const char *nm = m->o->listen[i].name[0] ? m->o->listen[i].name : "unknown";
            off += (size_t)snprintf(names + off, sizeof(names) - off, "%s%s", i ? ":" : "", nm);
        }
        env[k++] = fds;
        env[k++] = names;
    }
    snprintf(notify, sizeof(notify), "NOTIFY_SOCKET=%s", m->notify_path);
    env[k++] = notify;
    env[k] = NULL;
    /* PORT and BATON_PORT are ours only in proxy mode; elsewhere the app may use them. */
    struct spawn sp = {.argv = argv,
                       .env_add = env,
                       .env_drop = m->o->mode == RUN_PROXY ? ours : ours + 2,
                       .fds = pass_sockets ? m->listen_fds : NULL,
                       .nfds = pass_sockets ? m->nlisten : 0,
                       .listen_pid = pass_sockets};
    int exec_errno;
    pid_t pid = spawn_start(&sp, &exec_errno, e);
    if (pid < 0)
        return err_wrap(e, "cannot start %s", what);
    if (exec_errno)
        log_error("%s: cannot run '%s': %s", what, argv[0], strerror(exec_errno));
    return pid;
}

int worker_spawn(struct gen *g, int slot, struct err *e)
{
    struct master *m = g->m;
    char gen_s[48], port_s[32], bport_s[40];
    char *extra[4] = {gen_s, NULL, NULL, NULL};
    int proxy_mode = m->o->mode == RUN_PROXY;
    struct slot *sl = &g->slots[slot];
    if (proxy_mode && !sl->port) {
        sl->port = pxw_pick_port(m, e);
        if (sl->port < 0) {
            sl->port = 0;
            return -1;
        }
    }
    snprintf(gen_s, sizeof(gen_s), "BATON_GENERATION=%u", g->id);
    if (proxy_mode) {
        snprintf(port_s, sizeof(port_s), "PORT=%d", sl->port);
        snprintf(bport_s, sizeof(bport_s), "BATON_PORT=%d", sl->port);
        extra[1] = port_s;
        extra[2] = bport_s;
    }
    char **argv = g->argv;
    char what[64];
    snprintf(what, sizeof(what), "a worker of generation %u", g->id);
    pid_t pid = master_spawn(m, argv, extra, !proxy_mode, what, e);
    if (pid < 0)
        return -1;
    if (worker_adopt(g, slot, pid, 1, e) < 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0); /* just killed: returns at once */
        return -1;
    }
    struct worker *w = g->slots[slot].w;
    /* Workers restarted into a serving generation need no readiness gate. */
    if (g->state != GEN_STARTING)
        w->ready = 1;
    if (proxy_mode)
        log_info("generation %u: started worker %d (slot %d, port %d): %s", g->id, (int)pid, slot,
                 sl->port, argv[0]);
    else
        log_info("generation %u: started worker %d (slot %d): %s", g->id, (int)pid, slot, argv[0]);
    return 0;
}

/* --- readiness ------------------------------------------------------------------ */

void gen_check_ready(struct gen *g)
{
    if (g->state != GEN_STARTING)
        return;
    for (int i = 0; i < g->nslots; i++)
        if (!g->slots[i].w || !g->slots[i].w->ready)
            return;
    gen_event(g, GEV_ALL_READY, NULL);
}

static void mark_all_ready(struct gen *g)
{
    for (int i = 0; i < g->nslots; i++)
        if (g->slots[i].w)
            g->slots[i].w->ready = 1;
    gen_check_ready(g);
}

static void on_after(struct loop *loop, struct timer *t)
{
    mark_all_ready(t->data);
}

static void start_probe(struct gen *g);

static void on_probe_retry(struct loop *loop, struct timer *t)
{
    start_probe(t->data);
}

static void on_probe_done(struct probe *p, int ok, const char *what, const char *out, void *data)
{
    struct gen *g = data;
    g->probe = NULL;
    if (g->state != GEN_STARTING)
        return;
    if (ok) {
        log_info("generation %u: readiness probe succeeded", g->id);
        mark_all_ready(g);
        return;
    }
    log_debug("generation %u: readiness probe %s; retrying", g->id, what);
    timer_start(g->m->loop, &g->probe_timer, 200, on_probe_retry, g);
}

static void start_probe(struct gen *g)
{
    struct master *m = g->m;
    char gen_s[48], pids[1024] = "BATON_WORKER_PIDS=";
    snprintf(gen_s, sizeof(gen_s), "BATON_GENERATION=%u", g->id);
    size_t off = strlen(pids);
    for (int i = 0; i < g->nslots && off < sizeof(pids) - 16; i++)
        if (g->slots[i].w)
            off += (size_t)snprintf(pids + off, sizeof(pids) - off, "%s%d", i ? " " : "",
                                    (int)g->slots[i].w->pid);
    char *env[] = {gen_s, pids, NULL};
    char *argv[] = {"/bin/sh", "-c", m->o->ready_cmd, NULL};
    struct err e;
    if (probe_start(&g->probe, m->loop, argv, env, m->o->ready_timeout_ms, on_probe_done, g, &e) <
        0) {
        log_warn("generation %u: %s", g->id, e.msg);
        timer_start(m->loop, &g->probe_timer, 200, on_probe_retry, g);
    }
}

/* --ready connect|http:PATH: a round of checks every 100 ms until all are ready. */
static void on_port_round(struct loop *loop, struct timer *t)
{
    struct gen *g = t->data;
    if (g->state != GEN_STARTING)
        return;
    for (int i = 0; i < g->nslots; i++) {
        struct worker *w = g->slots[i].w;
        if (w && !w->ready && !w->check)
            pxw_check_worker(w);
    }
    if (g->state == GEN_STARTING)
        timer_start(loop, &g->probe_timer, 100, on_port_round, g);
}

void gen_start_readiness(struct gen *g)
{
    struct master *m = g->m;
    if (m->o->ready_mode == READY_CONNECT || m->o->ready_mode == READY_HTTP)
        timer_start(m->loop, &g->probe_timer, 50, on_port_round, g);
    else if (m->o->ready_mode == READY_AFTER)
        timer_start(m->loop, &g->after_timer, m->o->ready_after_ms, on_after, g);
    else if (m->o->ready_mode == READY_EXEC)
        start_probe(g);
}
