/* Keeping the workers when the master changes: the state file written on every change
 * (for a master started after the old one was killed), the in-place re-exec with the
 * state in a memfd, and the recovery of listening sockets from orphaned workers. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/fdpass.h"
#include "core/log.h"
#include "supervise/master.h"
#include "supervise/state.h"

/* Fills s from the live master (fds only when for_exec). Caller frees with state_free. */
static int build_state(struct master *m, struct run_state *s, int for_exec)
{
    memset(s, 0, sizeof(*s));
    s->master_pid = getpid();
    s->notify_fd = for_exec ? m->notify_fd : -1;
    s->control_fd = for_exec && m->ctl ? ctl_server_fd(m->ctl) : -1;
    s->next_gen = m->next_gen;
    s->current_gen = m->current ? m->current->id : 0;
    s->reexecs = m->reexecs;
    s->started_unix_ms = m->started_unix_ms;
    s->prev_argv = m->prev_argv ? argv_dup(m->prev_argv) : NULL;
    s->proxy_mode = m->o->mode == RUN_PROXY;
    s->proxy_pid = m->px.pid;
    s->proxy_start_time = m->px.pid ? m->px.proc_start : 0;
    s->proxy_restarts = m->px.restarts;
    s->proxy_ready = m->px.ready;
    for (int i = 0; i < m->nlisten && i < STATE_MAX_LISTEN; i++) {
        struct state_listen *l = &s->listen[s->nlisten++];
        snprintf(l->name, sizeof(l->name), "%s", m->o->listen[i].name);
        snprintf(l->addr, sizeof(l->addr), "%s", m->o->listen[i].text);
        l->fd = for_exec ? m->listen_fds[i] : -1;
        l->worker_fd = 3 + i;
    }
    for (struct gen *g = m->gens; g && s->ngens < STATE_MAX_GENS; g = g->next) {
        struct state_gen *sg = &s->gens[s->ngens++];
        sg->id = g->id;
        sg->state = g->state;
        sg->orphan = g->orphan;
        sg->argv = argv_dup(g->argv);
        sg->started_unix_ms = g->started_unix_ms;
        sg->drain_deadline_unix_ms = g->drain_deadline_unix_ms;
        sg->restarts = g->restarts;
        sg->nslots = g->nslots;
        sg->workers = calloc((size_t)(g->nslots ? g->nslots : 1), sizeof(*sg->workers));
        if (!sg->argv || !sg->workers)
            return -1;
        if (s->proxy_mode) {
            sg->ports = calloc((size_t)(g->nslots ? g->nslots : 1), sizeof(*sg->ports));
            if (!sg->ports)
                return -1;
            for (int i = 0; i < g->nslots; i++)
                sg->ports[i] = g->slots[i].port;
        }
        for (int i = 0; i < g->nslots; i++) {
            struct worker *w = g->slots[i].w;
            if (!w)
                continue;
            struct state_worker *sw = &sg->workers[sg->nworkers++];
            sw->pid = w->pid;
            sw->start_time = w->proc_start;
            sw->slot = i;
            sw->ready = w->ready;
            sw->stopping = w->stopping;
        }
    }
    return 0;
}

void state_save(struct master *m)
{
    struct run_state s;
    struct err e;
    if (build_state(m, &s, 0) < 0) {
        state_free(&s);
        log_warn("cannot save state: out of memory");
        return;
    }
    char *text = state_dump(&s);
    state_free(&s);
    if (!text || state_write_file(m->state_path, text, &e) < 0)
        log_warn("cannot save state: %s", text ? e.msg : "out of memory");
    free(text);
}

/* --- re-exec ------------------------------------------------------------------------- */

void master_fail_op_reexec(struct master *m, struct op *op, const char *why)
{
    if (op->check) {
        probe_cancel(op->check);
        op->check = NULL;
    }
    snprintf(m->last_reexec_error, sizeof(m->last_reexec_error), "%s", why);
    log_error("reexec: %s", why);
    if (op->req)
        ctl_reply_error(op->req, "%s", why);
    op->req = NULL;
    op_done(m, op);
}

static int set_cloexec_all(struct master *m, int on)
{
    int rc = 0;
    for (int i = 0; i < m->nlisten; i++)
        rc |= fd_set_cloexec(m->listen_fds[i], on, NULL);
    rc |= fd_set_cloexec(m->notify_fd, on, NULL);
    if (m->ctl)
        rc |= fd_set_cloexec(ctl_server_fd(m->ctl), on, NULL);
    return rc;
}

static void do_exec(struct master *m, struct op *op)
{
    char why[600];
    struct run_state s;
    m->reexecs++;
    int built = build_state(m, &s, 1);
    m->reexecs--;
    char *text = built == 0 ? state_dump(&s) : NULL;
    state_free(&s);
    int fd = text ? memfd_create("baton-state", 0) : -1;
    if (fd < 0) {
        free(text);
        master_fail_op_reexec(m, op, "cannot hand the state over: no memory for a memfd");
        return;
    }
    size_t len = strlen(text), off = 0;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w <= 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    free(text);
    if (off < len || lseek(fd, 0, SEEK_SET) < 0) {
        close(fd);
        master_fail_op_reexec(m, op, "cannot write the state to a memfd");
        return;
    }
    /* The argv this master was started with, under the new binary's name. */
    size_t n = 0;
    while (m->o->self_argv[n])
        n++;
    char **argv = calloc(n + 2, sizeof(*argv));
    extern char **environ;
    size_t ne = 0;
    while (environ[ne])
        ne++;
    char **envp = calloc(ne + 2, sizeof(*envp));
    char fd_env[48];
    if (!argv || !envp) {
        free(argv);
        free(envp);
        close(fd);
        master_fail_op_reexec(m, op, "cannot re-exec: out of memory");
        return;
    }
    argv[0] = op->binary;
    memcpy(argv + 1, m->o->self_argv, n * sizeof(*argv));
    size_t k = 0;
    for (size_t i = 0; i < ne; i++)
        if (strncmp(environ[i], "BATON_STATE_FD=", 15) != 0)
            envp[k++] = environ[i];
    snprintf(fd_env, sizeof(fd_env), "BATON_STATE_FD=%d", fd);
    envp[k++] = fd_env;
    /* Requests queued behind this one cannot cross the exec. */
    while (m->queue) {
        struct op *q = m->queue;
        m->queue = q->next;
        if (q->req)
            ctl_reply_error(q->req, "baton re-executed itself; send the request again");
        argv_free(q->argv);
        free(q);
    }
    if (set_cloexec_all(m, 0) < 0) {
        set_cloexec_all(m, 1);
        free(argv);
        free(envp);
        close(fd);
        master_fail_op_reexec(m, op, "cannot prepare descriptors for re-exec");
        return;
    }
    log_info("re-executing '%s' (pid %d keeps running)", op->binary, (int)getpid());
    if (op->req)
        ctl_reply_ok(op->req, json_pack("{s:i,s:s}", "pid", (int)getpid(), "binary", op->binary));
    op->req = NULL;
    execve(op->binary, argv, envp);
    int saved = errno;
    set_cloexec_all(m, 1);
    close(fd);
    free(argv);
    free(envp);
    snprintf(why, sizeof(why), "cannot execute '%s': %s", op->binary, strerror(saved));
    master_fail_op_reexec(m, op, why);
}

static void on_selfcheck(struct probe *p, int ok, const char *what, const char *out, void *data)
{
    struct master *m = data;
    struct op *op = m->op;
    if (!op || op->kind != OP_REEXEC || op->check != p)
        return;
    op->check = NULL;
    char why[PATH_MAX + 400];
    if (!ok) {
        snprintf(why, sizeof(why), "refusing to re-execute '%s': its self-check '--version' %s",
                 op->binary, what);
        master_fail_op_reexec(m, op, why);
        return;
    }
    if (strncmp(out, "baton ", 6) != 0) {
        size_t n = strcspn(out, "\n");
        snprintf(why, sizeof(why),
                 "refusing to re-execute '%s': its self-check '--version' printed '%.*s', not "
                 "'baton VERSION'",
                 op->binary, (int)(n > 60 ? 60 : n), out);
        master_fail_op_reexec(m, op, why);
        return;
    }
    do_exec(m, op);
}

void handover_reexec(struct master *m, struct op *op)
{
    char *argv[] = {op->binary, "--version", NULL};
    struct err e;
    if (access(op->binary, X_OK) < 0) {
        char why[PATH_MAX + 100];
        snprintf(why, sizeof(why), "refusing to re-execute '%s': %s", op->binary, strerror(errno));
        master_fail_op_reexec(m, op, why);
        return;
    }
    if (probe_start(&op->check, m->loop, argv, NULL, 5000, on_selfcheck, m, &e) < 0)
        master_fail_op_reexec(m, op, e.msg);
}

/* --- taking over ------------------------------------------------------------------------ */

/* Re-creates a generation from the state; workers that are gone are left out. */
static struct gen *adopt_gen(struct master *m, const struct state_gen *sg, int orphan,
                             int check_start)
{
    struct gen *g = gen_create(m, sg->argv, sg->id, sg->nslots);
    if (!g)
        return NULL;
    g->orphan = orphan;
    g->restarts = sg->restarts;
    for (int i = 0; sg->ports && i < sg->nslots; i++)
        g->slots[i].port = sg->ports[i];
    g->started_unix_ms = sg->started_unix_ms;
    int64_t age = wall_ms() - sg->started_unix_ms;
    if (age > 0 && (uint64_t)age < g->started_ms)
        g->started_ms -= (uint64_t)age;
    for (int i = 0; i < sg->nworkers; i++) {
        const struct state_worker *sw = &sg->workers[i];
        struct err e;
        if (check_start && (sw->start_time == 0 || proc_start_time(sw->pid) != sw->start_time))
            continue;
        if (g->slots[sw->slot].w)
            continue;
        if (worker_adopt(g, sw->slot, sw->pid, !orphan, &e) < 0) {
            log_warn("generation %u: %s", g->id, e.msg);
            continue;
        }
        g->slots[sw->slot].w->ready = sw->ready;
        g->slots[sw->slot].w->stopping = sw->stopping;
        if (!orphan)
            g->slots[sw->slot].w->proc_start = sw->start_time;
    }
    return g;
}

static void on_drain_timeout_restored(struct loop *loop, struct timer *t)
{
    gen_event(t->data, GEV_DRAIN_TIMEOUT, NULL);
}

int handover_restore(struct master *m, int fd, struct err *e)
{
    char *text = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            if (cap >= STATE_MAX_BYTES) {
                free(text);
                close(fd);
                return err_set(e, "re-exec state is longer than %d bytes", STATE_MAX_BYTES);
            }
            cap = cap ? cap * 2 : 8192;
            char *nt = realloc(text, cap);
            if (!nt) {
                free(text);
                close(fd);
                return err_errno(e, ENOMEM, "cannot read re-exec state");
            }
            text = nt;
        }
        ssize_t r = read(fd, text + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    struct run_state s;
    int rc = state_parse(text, len, &s, e);
    free(text);
    if (rc < 0)
        return err_wrap(e, "cannot take over after re-exec");
    rc = -1;
    if (s.nlisten != m->o->nlisten) {
        err_set(e,
                "cannot take over after re-exec: %d listening sockets handed over, %d "
                "configured",
                s.nlisten, m->o->nlisten);
        goto out;
    }
    for (int i = 0; i < s.nlisten; i++) {
        m->listen_fds[i] = s.listen[i].fd;
        fd_set_cloexec(s.listen[i].fd, 1, NULL);
    }
    m->notify_fd = s.notify_fd;
    fd_set_cloexec(m->notify_fd, 1, NULL);
    fd_set_cloexec(s.control_fd, 1, NULL);
    if (ctl_server_adopt(&m->ctl, m->loop, s.control_fd, m->o->control, control_handle, m, e) < 0)
        goto out;
    m->reexecs = s.reexecs;
    m->started_unix_ms = s.started_unix_ms;
    m->prev_argv = s.prev_argv;
    s.prev_argv = NULL;
    for (int i = 0; i < s.ngens; i++) {
        struct state_gen *sg = &s.gens[i];
        struct gen *g = adopt_gen(m, sg, sg->orphan, sg->orphan);
        if (!g) {
            err_set(e, "cannot take over generation %u: out of memory", sg->id);
            goto out;
        }
        g->state = (enum gen_state)sg->state;
        g->drain_deadline_unix_ms = sg->drain_deadline_unix_ms;
        if (sg->id == s.current_gen)
            m->current = g;
        if (g->state == GEN_DRAINING || g->state == GEN_FAILED) {
            int64_t left = g->drain_deadline_unix_ms - wall_ms();
            timer_start(m->loop, &g->drain_timer, left > 0 ? (uint64_t)left : 0,
                        on_drain_timeout_restored, g);
        }
    }
    if (s.next_gen > m->next_gen)
        m->next_gen = s.next_gen;
    if (s.proxy_mode != (m->o->mode == RUN_PROXY)) {
        err_set(e,
                "cannot take over after re-exec: the state is of --mode %s, the options say "
                "--mode %s",
                s.proxy_mode ? "proxy" : "handoff", m->o->mode == RUN_PROXY ? "proxy" : "handoff");
        goto out;
    }
    m->px.restarts = s.proxy_restarts;
    if (s.proxy_mode && pxw_adopt(m, s.proxy_pid, s.proxy_start_time, e) < 0)
        goto out;
    if (m->px.pid)
        m->px.ready = s.proxy_ready;
    /* Workers that ended around the exec: restart (serving) or finish (draining). */
    for (struct gen *g = m->gens, *next; g; g = next) {
        next = g->next;
        if (g->state == GEN_SERVING && !g->orphan) {
            for (int i = 0; i < g->nslots; i++)
                if (!g->slots[i].w)
                    gen_event(g, GEV_WORKER_EXIT, &g->slots[i]);
        } else if (g->live == 0 && g->state != GEN_SERVING) {
            gen_event(g, GEV_ALL_EXITED, NULL);
        }
    }
    log_info("took over after re-exec #%u: %d generations, current %u", m->reexecs, s.ngens,
             m->current ? m->current->id : 0);
    rc = 0;
out:
    state_free(&s);
    return rc;
}

/* A stolen fd must be a listening socket on the address it had. */
static int is_listener_for(int fd, const char *addr)
{
    int acc = 0;
    socklen_t len = sizeof(acc);
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) < 0 || !acc)
        return 0;
    struct addr a;
    if (addr_from_fd(fd, &a, NULL) < 0)
        return 0;
    return strcmp(a.text, addr) == 0;
}

int handover_recover(struct master *m, struct err *e)
{
    char *text;
    size_t len;
    struct err fe;
    if (state_read_file(m->state_path, &text, &len, &fe) < 0)
        return 0; /* no earlier master */
    struct run_state s;
    int rc = state_parse(text, len, &s, &fe);
    free(text);
    if (rc < 0) {
        log_warn("ignoring state file '%s': %s", m->state_path, fe.msg);
        return 0;
    }
    int survivors = 0;
    for (int i = 0; i < s.ngens; i++)
        for (int k = 0; k < s.gens[i].nworkers; k++) {
            struct state_worker *w = &s.gens[i].workers[k];
            if (w->start_time && proc_start_time(w->pid) == w->start_time)
                survivors++;
            else
                w->start_time = 0; /* gone (or the pid was reused) */
        }
    int proxy_alive =
        s.proxy_pid && s.proxy_start_time && proc_start_time(s.proxy_pid) == s.proxy_start_time;
    if ((s.proxy_mode || m->o->mode == RUN_PROXY) && (survivors || proxy_alive)) {
        err_set(e,
                "an earlier master (pid %d) left %d workers%s running; taking over after a "
                "killed master is not supported with --mode proxy: stop them (see '%s') and "
                "start again",
                (int)s.master_pid, survivors, proxy_alive ? " and its proxy worker" : "",
                m->state_path);
        state_free(&s);
        return -1;
    }
    if (survivors == 0) {
        log_info("state file of an earlier master (pid %d) found; none of its workers is left",
                 (int)s.master_pid);
        state_free(&s);
        return 0;
    }
    log_warn("an earlier master (pid %d) left %d workers running: taking them over",
             (int)s.master_pid, survivors);
    /* Take each listening socket back from a surviving worker, current generation first. */
    for (int li = 0; li < s.nlisten; li++) {
        const struct state_listen *l = &s.listen[li];
        int target = -1;
        for (int i = 0; i < m->o->nlisten; i++)
            if (strcmp(m->o->listen[i].text, l->addr) == 0 && m->listen_fds[i] < 0)
                target = i;
        if (target < 0)
            continue;
        for (int pass = 0; pass < 2 && m->listen_fds[target] < 0; pass++) {
            for (int i = 0; i < s.ngens && m->listen_fds[target] < 0; i++) {
                struct state_gen *sg = &s.gens[i];
                if ((sg->id == s.current_gen) != (pass == 0))
                    continue;
                for (int k = 0; k < sg->nworkers && m->listen_fds[target] < 0; k++) {
                    struct state_worker *w = &sg->workers[k];
                    if (!w->start_time)
                        continue;
                    int fd = fd_steal(w->pid, l->worker_fd, &fe);
                    if (fd < 0) {
                        log_debug("%s", fe.msg);
                        continue;
                    }
                    if (!is_listener_for(fd, l->addr)) {
                        close(fd);
                        continue;
                    }
                    fd_set_nonblock(fd, 1, NULL);
                    m->listen_fds[target] = fd;
                    log_info("recovered listening socket %s from worker %d (its fd %d)", l->addr,
                             (int)w->pid, l->worker_fd);
                }
            }
        }
    }
    for (int i = 0; i < s.ngens; i++) {
        struct state_gen *sg = &s.gens[i];
        int alive = 0;
        for (int k = 0; k < sg->nworkers; k++)
            alive += sg->workers[k].start_time != 0;
        if (!alive)
            continue;
        struct gen *g = adopt_gen(m, sg, 1, 1);
        if (!g) {
            err_set(e, "cannot take over generation %u: out of memory", sg->id);
            state_free(&s);
            return -1;
        }
        g->state = GEN_SERVING;
        log_info("generation %u: took over %d workers (%s)", g->id, g->live,
                 sg->id == s.current_gen ? "serving" : "to drain");
        if (sg->id == s.current_gen && !m->current)
            m->current = g;
        else
            gen_event(g, GEV_STOP, NULL);
    }
    if (s.next_gen > m->next_gen)
        m->next_gen = s.next_gen;
    m->prev_argv = s.prev_argv;
    s.prev_argv = NULL;
    state_free(&s);
    return 0;
}
