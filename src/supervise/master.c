/* The master of `baton run`: sets up the listening sockets, the notify and control
 * sockets and the signalfd, starts the first generation (or takes over from a killed
 * master or its own previous image), then runs the loop until stopped. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/fdpass.h"
#include "core/log.h"
#include "supervise/master.h"
#include "supervise/notify.h"
#include "supervise/state.h"

int run_parse_signal(const char *name)
{
    static const struct {
        const char *name;
        int sig;
    } sigs[] = {{"TERM", SIGTERM}, {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"HUP", SIGHUP},
                {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"KILL", SIGKILL}, {"WINCH", SIGWINCH}};
    if (strncmp(name, "SIG", 3) == 0)
        name += 3;
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        if (strcmp(name, sigs[i].name) == 0)
            return sigs[i].sig;
    char *end;
    long n = strtol(name, &end, 10);
    if (*name && !*end && n > 0 && n < 65)
        return (int)n;
    return -1;
}

int run_parse_ready(const char *spec, struct run_opts *o, struct err *e)
{
    if (strcmp(spec, "notify") == 0) {
        o->ready_mode = READY_NOTIFY;
        return 0;
    }
    if (strncmp(spec, "exec:", 5) == 0 && spec[5]) {
        o->ready_mode = READY_EXEC;
        o->ready_cmd = (char *)spec + 5;
        return 0;
    }
    if (strncmp(spec, "after:", 6) == 0) {
        char *end;
        errno = 0;
        unsigned long long ms = strtoull(spec + 6, &end, 10);
        if (!errno && spec[6] && !*end && ms <= 3600000) {
            o->ready_mode = READY_AFTER;
            o->ready_after_ms = ms;
            return 0;
        }
    }
    if (strcmp(spec, "connect") == 0) {
        o->ready_mode = READY_CONNECT;
        return 0;
    }
    if (strncmp(spec, "http:", 5) == 0 && spec[5] == '/' && strlen(spec + 5) < RUN_READY_PATH_MAX &&
        !strpbrk(spec + 5, " \r\n")) {
        o->ready_mode = READY_HTTP;
        snprintf(o->ready_path, sizeof(o->ready_path), "%s", spec + 5);
        return 0;
    }
    return err_set(e,
                   "invalid --ready '%s': expected notify, exec:CMD or after:MS (with --mode "
                   "proxy also connect or http:/PATH)",
                   spec);
}

/* --- notify socket ----------------------------------------------------------------- */

static void on_notify(struct loop *loop, struct watcher *watcher, uint32_t revents)
{
    struct master *m = watcher->data;
    char buf[NOTIFY_MSG_MAX];
    for (int budget = 0; budget < 256; budget++) {
        pid_t pid;
        struct err e;
        ssize_t n = notify_recv(m->notify_fd, buf, sizeof(buf), &pid, &e);
        if (n == 0)
            return;
        if (n < 0) {
            log_warn("notify: %s", e.msg);
            continue;
        }
        struct notify_msg msg;
        if (notify_parse(buf, (size_t)n, &msg, &e) < 0) {
            log_warn("notify from pid %d: %s", (int)pid, e.msg);
            continue;
        }
        if (pxw_notify(m, pid, msg.ready, msg.stopping))
            continue;
        /* As systemd's NotifyAccess=all: a process forked by a worker speaks for it. */
        struct worker *w = worker_find(m, pid);
        pid_t up = pid;
        for (int i = 0; !w && i < 4; i++) {
            up = proc_parent(up);
            if (up <= 1)
                break;
            w = worker_find(m, up);
        }
        if (!w) {
            log_debug("notify from pid %d, which is not a worker: ignored", (int)pid);
            continue;
        }
        if (msg.has_status)
            log_debug("generation %u: worker %d status: %s", w->g->id, (int)pid, msg.status);
        if (msg.stopping && !w->stopping) {
            w->stopping = 1;
            log_debug("generation %u: worker %d stopped accepting", w->g->id, (int)pid);
            state_save(m);
            op_check_switch(m);
        }
        if (msg.ready && !w->ready && m->o->ready_mode == READY_NOTIFY) {
            w->ready = 1;
            log_debug("generation %u: worker %d is ready", w->g->id, (int)pid);
            state_save(m);
            gen_check_ready(w->g);
        }
    }
}

/* --- signals ------------------------------------------------------------------------ */

static void on_signal(struct loop *loop, struct watcher *w, uint32_t revents)
{
    struct master *m = w->data;
    struct signalfd_siginfo si;
    while (read(w->fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        switch (si.ssi_signo) {
        case SIGHUP:
            log_info("SIGHUP: upgrade to a new generation of the same command");
            if (!m->stopping)
                op_enqueue(m, OP_UPGRADE, NULL, NULL, NULL);
            break;
        case SIGUSR2:
            log_info("SIGUSR2: re-executing '%s'", m->self_exe);
            if (!m->stopping)
                op_enqueue(m, OP_REEXEC, NULL, NULL, m->self_exe);
            break;
        case SIGTERM:
        case SIGINT:
            log_info("signal %d: graceful stop", (int)si.ssi_signo);
            master_stop(m, NULL);
            break;
        }
    }
}

/* --- set-up and tear-down -------------------------------------------------------------- */

void master_maybe_exit(struct master *m)
{
    if (m->stopping && !m->gens && !m->px.pid)
        loop_stop(m->loop);
}

/* NAME.notify and NAME.state beside the control socket NAME.sock. */
static int sibling_path(const char *control, const char *suffix, char *buf, size_t size,
                        struct err *e)
{
    size_t n = strlen(control);
    if (n > 5 && strcmp(control + n - 5, ".sock") == 0)
        n -= 5;
    if ((size_t)snprintf(buf, size, "%.*s%s", (int)n, control, suffix) >= size)
        return err_set(e, "control socket path '%s' is too long to put '%s' beside it", control,
                       suffix);
    return 0;
}

static void self_exe(char *buf, size_t size)
{
    ssize_t n = readlink("/proc/self/exe", buf, size - 1);
    if (n < 0)
        n = 0;
    buf[n] = 0;
    const char *del = " (deleted)";
    size_t dl = strlen(del);
    if ((size_t)n > dl && strcmp(buf + n - dl, del) == 0)
        buf[n - dl] = 0;
}

static void cleanup(struct master *m, int graceful)
{
    for (int i = 0; i < m->nstop_reqs; i++)
        ctl_reply_ok(m->stop_reqs[i], json_pack("{s:b}", "stopped", 1));
    m->nstop_reqs = 0;
    if (m->ctl)
        ctl_server_close(m->ctl, 1);
    if (m->notify_fd >= 0) {
        loop_unwatch(m->loop, &m->notify_w);
        close(m->notify_fd);
        if (graceful)
            unlink(m->notify_path);
    }
    for (int i = 0; i < m->nlisten; i++) {
        if (m->listen_fds[i] < 0)
            continue;
        close(m->listen_fds[i]);
        if (graceful && m->o->listen[i].family == AF_UNIX)
            unlink(((struct sockaddr_un *)&m->o->listen[i].ss)->sun_path);
    }
    if (graceful)
        unlink(m->state_path);
    if (m->sig_w.active) {
        loop_unwatch(m->loop, &m->sig_w);
        close(m->sig_w.fd);
    }
    argv_free(m->prev_argv);
    while (m->queue) {
        struct op *op = m->queue;
        m->queue = op->next;
        argv_free(op->argv);
        free(op);
    }
}

int run_main(struct run_opts *o)
{
    struct master master = {.o = o, .notify_fd = -1, .next_gen = 1, .exit_code = 0};
    struct master *m = &master;
    struct err e;
    int rc = 1;
    log_setup(o->log_level, "master");
    signal(SIGPIPE, SIG_IGN);
    m->started_unix_ms = wall_ms();
    m->nlisten = o->nlisten;
    for (int i = 0; i < RUN_MAX_LISTEN; i++)
        m->listen_fds[i] = -1;
    self_exe(m->self_exe, sizeof(m->self_exe));
    if (loop_new(&m->loop, &e) < 0) {
        log_error("%s", e.msg);
        return 1;
    }
    if (sibling_path(o->control, ".notify", m->notify_path, sizeof(m->notify_path), &e) < 0 ||
        sibling_path(o->control, ".state", m->state_path, sizeof(m->state_path), &e) < 0 ||
        sibling_path(o->control, ".proxy.sock", m->px.ctl_path, sizeof(m->px.ctl_path), &e) < 0)
        goto fail;
    m->next_port = o->private_lo + (int)(getpid() % (o->private_hi - o->private_lo + 1));
    static const int sigs[] = {SIGHUP, SIGUSR2, SIGTERM, SIGINT};
    if (loop_watch_signals(m->loop, &m->sig_w, sigs, 4, on_signal, m, &e) < 0)
        goto fail;
    const char *state_fd = getenv("BATON_STATE_FD");
    if (state_fd && *state_fd) {
        int fd = atoi(state_fd);
        unsetenv("BATON_STATE_FD");
        if (handover_restore(m, fd, &e) < 0)
            goto fail;
    } else {
        if (ctl_server_open(&m->ctl, m->loop, o->control, control_handle, m, &e) < 0)
            goto fail;
        m->notify_fd = notify_open(m->notify_path, &e);
        if (m->notify_fd < 0)
            goto fail;
        if (handover_recover(m, &e) < 0)
            goto fail;
        for (int i = 0; i < o->nlisten; i++) {
            if (m->listen_fds[i] >= 0)
                continue;
            m->listen_fds[i] = addr_listen(&o->listen[i], 4096, &e);
            if (m->listen_fds[i] < 0)
                goto fail;
            log_info("listening on %s%s%s", o->listen[i].name, o->listen[i].name[0] ? "=" : "",
                     o->listen[i].text);
        }
        op_enqueue(m, OP_START, argv_dup(o->command), NULL, NULL);
    }
    if (loop_watch(m->loop, &m->notify_w, m->notify_fd, EPOLLIN, on_notify, m, &e) < 0)
        goto fail;
    log_info("baton run '%s' ready: control %s, %d listening sockets, %d workers per generation",
             o->name, o->control, m->nlisten, o->workers);
    state_save(m);
    if (o->mode == RUN_PROXY)
        pxw_resume(m);
    if (!(m->stopping && !m->gens && !m->px.pid) && loop_run(m->loop, &e) < 0) {
        log_error("%s", e.msg);
        m->exit_code = 1;
    }
    rc = m->exit_code;
    log_info("stopped (exit code %d)", rc);
    cleanup(m, 1);
    loop_free(m->loop);
    return rc;
fail:
    log_error("%s", e.msg);
    cleanup(m, 0);
    loop_free(m->loop);
    return 1;
}
