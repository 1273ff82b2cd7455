/* The master of `baton run`: owns the loop, the listening sockets, the notify and
 * control sockets and the signalfd; starts the first generation (or takes over from
 * its own previous image or from a killed master); routes what the generations, the
 * mode and the operations report; writes the state file. Never touches traffic. */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/addr.h"
#include "core/ctl.h"
#include "core/fdpass.h"
#include "core/log.h"
#include "supervise/ctx.h"
#include "supervise/gens.h"
#include "supervise/mode.h"
#include "supervise/notify.h"
#include "supervise/observe.h"
#include "supervise/op.h"
#include "supervise/recover.h"
#include "supervise/reexec.h"
#include "supervise/sdnotify.h"
#include "supervise/state.h"
#include "supervise/statefile.h"

struct master {
    struct run_ctx ctx;
    struct run_opts *o;
    int listen_fds[RUN_MAX_LISTEN];
    char listen_fds_env[32], listen_names_env[RUN_MAX_LISTEN * (ADDR_NAME_MAX + 1) + 32];
    struct watcher sig_w, notify_w;
    int notify_fd;
    char notify_path[ADDR_UNIX_PATH_SIZE], state_path[160];
    struct ctl_server *ctl;
    struct gens *gs;
    struct mode *md;
    struct ops *q;
    int exit_code;
    struct ctl_req *stop_reqs[8];
    int nstop_reqs;
    int64_t started_unix_ms;
    struct runobs *obs;   /* --metrics: the admin listener */
    struct statefile *sf; /* writes the state file off the loop, once running */
    int state_dirty;      /* changed since the state file was last written */
};

/* --- the master's own memory ------------------------------------------------------------ */

/* The pages of stack kept resident from the start, counted from its top: the arguments
 * and environment, the random gap of up to 8 kB the kernel leaves below them and the
 * deepest call the master makes (at most 40 kB from the top, measured over upgrades and
 * re-execs; a deeper one adds its pages as before). */
#define MASTER_STACK_RESIDENT (40 * 1024)

/* Makes the top MASTER_STACK_RESIDENT bytes of the stack resident at once. The kernel
 * puts each image's first stack frame a random distance below the stack's top, and the
 * pages a run touched (and those of that gap it never touches) then vary by two from one
 * re-exec to the next; populated from the top, the master's stack is the same pages in
 * every image (docs/internals/master-memory.md). The contents are not touched. */
static void stack_populate(void)
{
#ifdef MADV_POPULATE_WRITE
    uintptr_t name = (uintptr_t)getauxval(AT_EXECFN); /* the last string at the top */
    long page = sysconf(_SC_PAGESIZE);
    if (!name || page <= 0 || name < MASTER_STACK_RESIDENT)
        return;
    uintptr_t top = (name | ((uintptr_t)page - 1)) + 1;
    if (madvise((void *)(top - MASTER_STACK_RESIDENT), MASTER_STACK_RESIDENT, MADV_POPULATE_WRITE) <
        0)
        log_debug("stack not populated: %s", strerror(errno));
#endif
}

/* Once the master is settled (one generation, the mode idle), the heap's free pages go
 * back to the kernel: what an upgrade or a re-exec allocated on the way and freed would
 * otherwise stay resident, a page or two more or less from one to the next. */
static void heap_settle(struct master *m)
{
    if (gens_count(m->gs) == 1 && !m->md->ops->busy(m->md))
        malloc_trim(0);
}

/* --- the state file ------------------------------------------------------------------ */

/* The master's own part: its pid and start, its descriptors (only handed over across a
 * re-exec) and the listening sockets with the numbers the workers see them under. */
static void master_to_json(const struct master *m, json_t *root, int for_exec)
{
    struct state_listen ls[STATE_MAX_LISTEN];
    int n = m->o->nlisten < STATE_MAX_LISTEN ? m->o->nlisten : STATE_MAX_LISTEN;
    for (int i = 0; i < n; i++) {
        snprintf(ls[i].name, sizeof(ls[i].name), "%s", m->o->listen[i].name);
        snprintf(ls[i].addr, sizeof(ls[i].addr), "%s", m->o->listen[i].text);
        ls[i].fd = for_exec ? m->listen_fds[i] : -1;
        ls[i].worker_fd = 3 + i;
    }
    json_object_set_new(root, "master_pid", json_integer(getpid()));
    json_object_set_new(root, "notify_fd", json_integer(for_exec ? m->notify_fd : -1));
    json_object_set_new(root, "control_fd",
                        json_integer(for_exec && m->ctl ? ctl_server_fd(m->ctl) : -1));
    json_object_set_new(root, "started_unix_ms", json_integer(m->started_unix_ms));
    json_object_set_new(root, "mode", json_string(m->md->ops->name));
    json_object_set_new(root, "listen", state_listens_json(ls, n));
}

/* The whole state: each part written by its owner. Caller frees. */
static char *state_text(const struct master *m, int for_exec)
{
    json_t *root = state_new();
    master_to_json(m, root, for_exec);
    gens_to_json(m->gs, root);
    op_to_json(m->q, root);
    m->md->ops->to_json(m->md, root);
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return text;
}

/* Hands the state to the writer thread (written here, before it runs). */
static void state_save(struct master *m)
{
    struct err e;
    m->state_dirty = 0;
    char *text = state_text(m, 0);
    if (!text)
        log_warn("cannot save state: out of memory");
    else if (m->sf)
        statefile_post(m->sf, text);
    else {
        if (state_write_file(m->state_path, text, &e) < 0)
            log_warn("cannot save state: %s", e.msg);
        free(text);
    }
}

/* The state is serialized once per loop iteration that changed it, after the
 * iteration's events were dispatched (an upgrade changes it several times in one), and
 * written by the writer thread: a write and a rename can block for milliseconds on a
 * busy disk. */
static void on_idle(struct loop *loop, void *data)
{
    struct master *m = data;
    if (m->state_dirty) {
        state_save(m);
        heap_settle(m);
    }
}

/* Before a reply: a client that got an answer finds a state file at least as new. */
static void state_flush(void *data)
{
    struct master *m = data;
    if (m->state_dirty)
        state_save(m);
    if (m->sf)
        statefile_wait(m->sf);
}

/* The master's part back (fds: handed over across a re-exec, else -1). */
static int master_from_json(json_t *root, long long *pid, long long *started, int *notify_fd,
                            int *control_fd, struct state_listen *ls, int *n, struct err *e)
{
    long long nfd, cfd;
    struct state_int f[] = {{"master_pid", 1, STATE_MAX_PID, pid},
                            {"notify_fd", -1, 1 << 20, &nfd},
                            {"control_fd", -1, 1 << 20, &cfd},
                            {"started_unix_ms", 0, INT64_MAX, started}};
    if (state_get_ints(root, f, 4, "state", e) < 0 ||
        state_listens_from_json(json_object_get(root, "listen"), ls, n, e) < 0)
        return -1;
    *notify_fd = (int)nfd;
    *control_fd = (int)cfd;
    return 0;
}

/* --- stopping ------------------------------------------------------------------------- */

/* Ends the loop once a stopping master has no generation and no process of the mode. */
static void maybe_exit(struct master *m)
{
    if (m->ctx.stopping && gens_count(m->gs) == 0 && !m->md->ops->busy(m->md))
        loop_stop(m->ctx.loop);
}

static void master_stop(struct master *m, struct ctl_req *req)
{
    if (req && m->nstop_reqs < (int)(sizeof(m->stop_reqs) / sizeof(m->stop_reqs[0])))
        m->stop_reqs[m->nstop_reqs++] = req;
    else if (req)
        ctl_reply_ok(req, NULL);
    if (m->ctx.stopping)
        return;
    m->ctx.stopping = 1;
    log_info("stopping: draining every generation");
    sdnotify_stopping("stopping: draining every generation");
    op_stopping(m->q);
    gens_stop_all(m->gs, "baton is stopping");
    op_stopped(m->q);
    m->md->ops->stop(m->md);
    maybe_exit(m);
}

/* --- what the parts report ------------------------------------------------------------- */

static void on_note(void *data, enum run_note n, struct gen *g, struct gen *old)
{
    struct master *m = data;
    switch (n) {
    case NOTE_CHANGED:
        m->state_dirty = 1;
        break;
    case NOTE_PROMOTED:
    case NOTE_FAILED:
    case NOTE_SWITCH_CHECK:
        op_note(m->q, n, g, old);
        break;
    case NOTE_RETIRED:
        op_note(m->q, n, g, old);
        if (m->md->ops->retired)
            m->md->ops->retired(m->md, g);
        maybe_exit(m);
        break;
    case NOTE_MODE_GONE:
        maybe_exit(m);
        break;
    case NOTE_FIRST_FAILED:
        if (!m->ctx.stopping)
            m->exit_code = 1;
        master_stop(m, NULL);
        break;
    }
    runobs_note(m->obs, n, g);
}

static int setup_worker(void *data, unsigned gen_id, int slot, int *port, struct gen_launch *l,
                        struct err *e)
{
    struct master *m = data;
    return m->md->ops->setup_worker(m->md, gen_id, slot, port, l, e);
}

static int exec_self(void *data, const char *binary, struct err *e)
{
    struct master *m = data;
    int fds[RUN_MAX_LISTEN + 2], n = 0;
    for (int i = 0; i < m->o->nlisten; i++)
        if (m->listen_fds[i] >= 0) /* none where the apps bind (--mode reuseport) */
            fds[n++] = m->listen_fds[i];
    fds[n++] = m->notify_fd;
    if (m->ctl)
        fds[n++] = ctl_server_fd(m->ctl);
    if (m->sf)
        statefile_wait(m->sf); /* no write of this image crosses the exec */
    char *text = state_text(m, 1);
    if (!text)
        return err_set(e, "cannot hand the state over: out of memory");
    int rc = reexec_exec(binary, m->o->self_argv, text, fds, n, op_before_exec, m->q, e);
    free(text);
    return rc;
}

/* --- notify socket, signals, control socket --------------------------------------------- */

static void on_notify(struct loop *loop, struct watcher *watcher, uint32_t revents)
{
    struct master *m = watcher->data;
    char buf[NOTIFY_MSG_MAX];
    for (int budget = 0; budget < 256; budget++) {
        pid_t pid;
        struct err e;
        struct notify_msg msg;
        ssize_t n = notify_recv(m->notify_fd, buf, sizeof(buf), &pid, &e);
        if (n == 0)
            return;
        if (n < 0)
            log_warn("notify: %s", e.msg);
        else if (notify_parse(buf, (size_t)n, &msg, &e) < 0)
            log_warn("notify from pid %d: %s", (int)pid, e.msg);
        else if (!m->md->ops->notify(m->md, pid, &msg) && !gens_notify(m->gs, pid, &msg))
            log_debug("notify from pid %d, which is not a worker: ignored", (int)pid);
    }
}

static void on_signal(struct loop *loop, struct watcher *w, uint32_t revents)
{
    struct master *m = w->data;
    struct signalfd_siginfo si;
    while (read(w->fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        switch (si.ssi_signo) {
        case SIGHUP:
            log_event(LOG_INFO, "upgrade-requested", 0,
                      "SIGHUP: upgrade to a new generation of the same command");
            if (!m->ctx.stopping)
                op_enqueue(m->q, OP_UPGRADE, NULL, NULL, NULL);
            break;
        case SIGUSR2:
            log_info("SIGUSR2: re-executing '%s'", m->ctx.self_exe);
            if (!m->ctx.stopping)
                op_enqueue(m->q, OP_REEXEC, NULL, NULL, m->ctx.self_exe);
            break;
        case SIGTERM:
        case SIGINT:
            log_info("signal %d: graceful stop", (int)si.ssi_signo);
            master_stop(m, NULL);
            break;
        }
    }
}

static json_t *master_status(struct master *m)
{
    json_t *ls = json_array();
    for (int i = 0; i < m->o->nlisten; i++)
        json_array_append_new(
            ls, json_pack("{s:s,s:s}", "name", m->o->listen[i].name, "addr", m->o->listen[i].text));
    struct gen *cur = gens_current(m->gs);
    json_t *st = json_pack("{s:i,s:s,s:I,s:s,s:o,s:o,s:i,s:b,s:s}", "pid", (int)getpid(), "name",
                           m->o->name, "started_unix_ms", (json_int_t)m->started_unix_ms, "binary",
                           m->ctx.self_exe, "listen", ls, "generations", gens_status(m->gs),
                           "current_generation", cur ? (int)gen_id(cur) : 0, "stopping",
                           m->ctx.stopping, "mode", m->md->ops->name);
    op_status(m->q, st);
    m->md->ops->status(m->md, st);
    return st;
}

static json_t *status_for_admin(void *data)
{
    return master_status(data);
}

static void on_control(struct ctl_req *req, const char *cmd, json_t *msg, void *data)
{
    struct master *m = data;
    if (strcmp(cmd, "status") == 0) {
        state_flush(m);
        ctl_reply_ok(req, master_status(m));
        return;
    }
    if (strcmp(cmd, "stop") == 0) {
        log_info("control: stop requested");
        master_stop(m, req);
        return;
    }
    if (m->ctx.stopping) {
        ctl_reply_error(req, "baton is stopping");
        return;
    }
    if (!op_request(m->q, req, cmd, msg))
        ctl_reply_error(req,
                        "unknown command '%.64s'; expected upgrade, rollback, status, stop or "
                        "reexec",
                        cmd);
}

/* --- taking over ------------------------------------------------------------------------- */

/* After a re-exec: the descriptors and every part's state from the old image. */
static int restore(struct master *m, const char *text, size_t len, struct err *e)
{
    struct state_listen ls[STATE_MAX_LISTEN];
    int n, notify_fd, control_fd;
    long long pid = 0, started = 0;
    json_t *root = NULL;
    int rc = -1;
    if (state_load(text, len, &root, e) < 0 ||
        master_from_json(root, &pid, &started, &notify_fd, &control_fd, ls, &n, e) < 0)
        goto out;
    m->started_unix_ms = started;
    if (n != m->o->nlisten) {
        err_set(e, "%d listening sockets handed over, %d configured", n, m->o->nlisten);
        goto out;
    }
    for (int i = 0; i < n; i++) {
        m->listen_fds[i] = ls[i].fd;
        fd_set_cloexec(ls[i].fd, 1, NULL);
    }
    m->notify_fd = notify_fd;
    fd_set_cloexec(notify_fd, 1, NULL);
    fd_set_cloexec(control_fd, 1, NULL);
    if (ctl_server_adopt(&m->ctl, m->ctx.loop, control_fd, m->o->control, on_control, m, e) < 0 ||
        op_from_json(m->q, root, e) < 0 || gens_from_json(m->gs, root, e) < 0)
        goto out;
    gens_resume(m->gs);
    if (m->md->ops->from_json(m->md, root, e) < 0)
        goto out;
    /* Workers that ended around the exec: restart (serving) or finish (draining). */
    gens_settle(m->gs);
    struct gen *cur = gens_current(m->gs);
    log_info("took over after re-exec #%u: %d generations, current %u", op_reexecs(m->q),
             gens_count(m->gs), cur ? gen_id(cur) : 0);
    sdnotify_took_over("re-executed (#%u); generation %u serves", op_reexecs(m->q),
                       cur ? gen_id(cur) : 0);
    rc = 0;
out:
    json_decref(root);
    return rc < 0 ? err_wrap(e, "cannot take over after re-exec") : 0;
}

/* After a killed master: its state file, if any, and what survived of it. */
static int take_over(struct master *m, struct err *e)
{
    struct state_listen ls[STATE_MAX_LISTEN];
    int n, notify_fd, control_fd;
    long long pid = 0, started = 0;
    char *text;
    size_t len;
    json_t *root = NULL;
    struct err fe;
    if (state_read_file(m->state_path, &text, &len, &fe) < 0)
        return 0; /* no earlier master */
    int rc = 0;
    if (state_load(text, len, &root, &fe) < 0 ||
        master_from_json(root, &pid, &started, &notify_fd, &control_fd, ls, &n, &fe) < 0)
        log_warn("ignoring state file '%s': %s", m->state_path, fe.msg);
    else
        rc = recover_run(&m->ctx, m->md, m->gs, root, ls, n, (int)pid, m->listen_fds, m->state_path,
                         e);
    json_decref(root);
    free(text);
    return rc;
}

/* --- set-up and tear-down ------------------------------------------------------------------ */

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

/* What every child that gets the sockets finds in its environment. */
static void listen_env(struct master *m)
{
    snprintf(m->listen_fds_env, sizeof(m->listen_fds_env), "LISTEN_FDS=%d", m->o->nlisten);
    char *s = m->listen_names_env;
    size_t size = sizeof(m->listen_names_env), off = (size_t)snprintf(s, size, "LISTEN_FDNAMES=");
    for (int i = 0; i < m->o->nlisten; i++) {
        const char *nm = m->o->listen[i].name[0] ? m->o->listen[i].name : "unknown";
        off += (size_t)snprintf(s + off, size - off, "%s%s", i ? ":" : "", nm);
    }
    m->ctx.listen_env[0] = m->listen_fds_env;
    m->ctx.listen_env[1] = m->listen_names_env;
    m->ctx.listen_env[2] = NULL;
}

/* The loop, the paths, the context and the parts; no socket yet. */
static int master_init(struct master *m, struct run_opts *o, struct err *e)
{
    *m = (struct master){.o = o, .notify_fd = -1};
    for (int i = 0; i < RUN_MAX_LISTEN; i++)
        m->listen_fds[i] = -1;
    m->started_unix_ms = clock_wall_ms();
    struct run_ctx *c = &m->ctx;
    *c = (struct run_ctx){.o = o,
                          .listen_fds = m->listen_fds,
                          .nlisten = o->nlisten,
                          .setup_worker = setup_worker,
                          .setup_data = m,
                          .note = on_note,
                          .note_data = m};
    self_exe(c->self_exe, sizeof(c->self_exe));
    listen_env(m);
    if (loop_new(&c->loop, e) < 0 ||
        sibling_path(o->control, ".notify", m->notify_path, sizeof(m->notify_path), e) < 0 ||
        sibling_path(o->control, ".state", m->state_path, sizeof(m->state_path), e) < 0)
        return -1;
    snprintf(c->notify_env, sizeof(c->notify_env), "NOTIFY_SOCKET=%s", m->notify_path);
    if (gens_new(&m->gs, c, e) < 0 || mode_open(&m->md, c, m->gs, e) < 0 ||
        ops_new(&m->q, c, m->gs, m->md, exec_self, state_flush, m, e) < 0)
        return -1;
    c->private_ports = m->md->ops->private_ports;
    static const int sigs[] = {SIGHUP, SIGUSR2, SIGTERM, SIGINT};
    return loop_watch_signals(c->loop, &m->sig_w, sigs, 4, on_signal, m, e) < 0 ? -1 : 0;
}

/* A fresh start: the control and notify sockets, what a killed master left, the
 * listening sockets not taken back from it, and the first generation. */
static int master_open(struct master *m, struct err *e)
{
    struct run_opts *o = m->o;
    if (ctl_server_open(&m->ctl, m->ctx.loop, o->control, on_control, m, e) < 0)
        return -1;
    m->notify_fd = notify_open(m->notify_path, e);
    if (m->notify_fd < 0 || take_over(m, e) < 0)
        return -1;
    for (int i = 0; i < o->nlisten; i++) {
        if (m->listen_fds[i] >= 0 || m->md->ops->apps_bind)
            continue;
        m->listen_fds[i] = addr_listen(&o->listen[i], 4096, e);
        if (m->listen_fds[i] < 0)
            return -1;
        log_info("listening on %s%s%s", o->listen[i].name, o->listen[i].name[0] ? "=" : "",
                 o->listen[i].text);
    }
    op_enqueue(m->q, OP_START, spawn_argv_dup(o->command), NULL, NULL);
    return 0;
}

static void cleanup(struct master *m, int graceful)
{
    /* The files go before `stop` is answered: a master started right after that answer
     * must not lose its own notify socket or state file to this one. */
    if (m->notify_fd >= 0) {
        loop_unwatch(m->ctx.loop, &m->notify_w);
        close(m->notify_fd);
        if (graceful)
            unlink(m->notify_path);
    }
    for (int i = 0; i < m->o->nlisten; i++) {
        if (m->listen_fds[i] < 0)
            continue;
        close(m->listen_fds[i]);
        if (graceful && m->o->listen[i].family == AF_UNIX)
            unlink(((struct sockaddr_un *)&m->o->listen[i].ss)->sun_path);
    }
    statefile_close(m->sf); /* its last write lands before the file goes */
    m->sf = NULL;
    if (graceful)
        unlink(m->state_path);
    for (int i = 0; i < m->nstop_reqs; i++)
        ctl_reply_ok(m->stop_reqs[i], json_pack("{s:b}", "stopped", 1));
    m->nstop_reqs = 0;
    if (m->ctl)
        ctl_server_close(m->ctl, 1);
    if (m->sig_w.active) {
        loop_unwatch(m->ctx.loop, &m->sig_w);
        close(m->sig_w.fd);
    }
    runobs_free(m->obs);
    ops_free(m->q);
    if (m->md)
        m->md->ops->free(m->md);
    gens_free(m->gs);
    loop_free(m->ctx.loop);
}

int run_main(struct run_opts *o)
{
    struct master master, *m = &master;
    struct err e;
    char *text = NULL;
    size_t len;
    log_setup(o->log_level, "master");
    stack_populate();
    signal(SIGPIPE, SIG_IGN);
    if (master_init(m, o, &e) < 0 ||
        runobs_open(&m->obs, &m->ctx, m->gs, m->q, status_for_admin, m, &e) < 0 ||
        reexec_take_state(&text, &len, &e) < 0 ||
        (text ? restore(m, text, len, &e) : master_open(m, &e)) < 0 ||
        loop_watch(m->ctx.loop, &m->notify_w, m->notify_fd, EPOLLIN, on_notify, m, &e) < 0) {
        free(text);
        log_error("%s", e.msg);
        cleanup(m, 0);
        return 1;
    }
    free(text);
    log_info("baton run '%s' ready: control %s, %d listening sockets, %d workers per generation",
             o->name, o->control, o->nlisten, o->workers);
    sdnotify_start(m->ctx.loop);
    if (statefile_open(&m->sf, m->state_path, &e) < 0)
        log_warn("%s; the loop writes the state file itself", e.msg);
    m->state_dirty = 1;
    state_flush(m); /* the first generation's workers are on disk before anything else */
    heap_settle(m);
    loop_on_idle(m->ctx.loop, on_idle, m);
    m->md->ops->resume(m->md);
    if (!(m->ctx.stopping && gens_count(m->gs) == 0 && !m->md->ops->busy(m->md)) &&
        loop_run(m->ctx.loop, &e) < 0) {
        log_error("%s", e.msg);
        m->exit_code = 1;
    }
    int rc = m->exit_code;
    log_info("stopped (exit code %d)", rc);
    cleanup(m, 1);
    return rc;
}
