/* `baton proxy` as a process: sets up listeners, table, control socket and signals
 * around the engine, and speaks the systemd conventions so that `baton run -- baton
 * proxy` can replace one proxy generation by the next without dropping connections. */
#include "proxy/serve.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <unistd.h>

#include "core/addr.h"
#include "core/ctl.h"
#include "core/log.h"
#include "proxy/observe.h"
#include "proxy/workers.h"

struct serve {
    struct loop *loop;
    struct proxy *proxy;
    struct serve_control control;
    struct admin *admin; /* --metrics */
    struct watcher sigw;
    struct watcher chanw; /* a worker: the parent's channel (workers.c) */
    int stop_timeout_ms;
};

void serve_notify(const char *msg)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || !*path)
        return;
    struct sockaddr_un un;
    socklen_t len;
    struct err e;
    if (addr_unix_name(&un, &len, path, "NOTIFY_SOCKET", &e) < 0)
        return;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&un, len) < 0)
        log_warn("proxy: cannot notify '%s': %s", path, strerror(errno));
    close(fd);
}

int serve_take_listen_fds(int *fds, int max)
{
    const char *pid = getenv("LISTEN_PID"), *count = getenv("LISTEN_FDS");
    if (!pid || !count || atol(pid) != (long)getpid())
        return 0;
    int n = atoi(count);
    if (n <= 0)
        return 0;
    if (n > max)
        n = max;
    for (int i = 0; i < n; i++) {
        fds[i] = 3 + i;
        fcntl(3 + i, F_SETFD, FD_CLOEXEC);
        fcntl(3 + i, F_SETFL, fcntl(3 + i, F_GETFL) | O_NONBLOCK);
    }
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    return n;
}

static void on_ctl(struct ctl_req *req, const char *cmd, json_t *msg, void *data)
{
    struct serve *s = data;
    ctl_reply(req, proxy_command(s->proxy, msg));
}

/* Binds the control socket. A new generation started by `baton run` finds the old
 * one's socket live: it binds a temporary name and renames it over the path, so
 * control requests reach the newest proxy while the old one drains. */
int serve_control_open(struct serve_control *c, struct loop *loop, const char *path, int takeover,
                       ctl_handler handler, void *data, struct err *e)
{
    snprintf(c->path, sizeof(c->path), "%s", path);
    if (ctl_server_open(&c->ctl, loop, path, handler, data, e) == 0)
        goto bound;
    if (!takeover || !strstr(e->msg, "in use"))
        return -1;
    char tmp[108];
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.%d", path, (int)getpid()) >= sizeof(tmp))
        return err_set(e, "control socket path '%s' is too long", path);
    struct addr a;
    char spec[120];
    snprintf(spec, sizeof(spec), "unix:%s", tmp);
    if (addr_parse(spec, 0, &a, e) < 0)
        return -1;
    mode_t old = umask(0177);
    int fd = addr_listen(&a, 64, e);
    umask(old);
    if (fd < 0)
        return -1;
    if (rename(tmp, path) < 0) {
        int saved = errno;
        close(fd);
        unlink(tmp);
        return err_errno(e, saved, "cannot take over control socket '%s'", path);
    }
    if (ctl_server_adopt(&c->ctl, loop, fd, path, handler, data, e) < 0) {
        close(fd);
        return -1;
    }
    log_info("proxy: took over control socket '%s' from the previous generation", path);
bound:;
    struct stat st;
    if (stat(path, &st) == 0)
        c->ino = st.st_ino;
    return 0;
}

void serve_control_close(struct serve_control *c)
{
    if (!c->ctl)
        return;
    struct stat st;
    int ours = stat(c->path, &st) == 0 && st.st_ino == c->ino;
    ctl_server_close(c->ctl, ours);
    c->ctl = NULL;
}

static void on_stopped(struct proxy *p, void *data)
{
    struct serve *s = data;
    log_info("proxy: every connection finished; exiting");
    loop_stop(s->loop);
}

static void on_signal(struct loop *loop, struct watcher *w, uint32_t revents)
{
    struct serve *s = w->data;
    struct signalfd_siginfo si;
    while (read(w->fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
            log_info("proxy: %s: stopping accepting; finishing %zu connection%s",
                     si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT", proxy_connections(s->proxy),
                     proxy_connections(s->proxy) == 1 ? "" : "s");
            proxy_shutdown(s->proxy, s->stop_timeout_ms, on_stopped, s);
            serve_notify("STOPPING=1");
        }
    }
}

static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* The backend table from the options, or from the state file of a previous
 * generation when there is one. */
static int build_table(const struct proxy_serve_opts *o, struct pool_table **out, struct err *e)
{
    struct pool_table *table = NULL;
    if (pool_table_new(&table, o->balance, e) < 0)
        return -1;
    for (int i = 0; i < o->nbackends; i++)
        if (pool_add_spec(table, o->backends[i], NULL, e) < 0)
            goto fail;
    if (o->cfg.state_file[0]) {
        int loaded = pool_load(table, o->cfg.state_file, e);
        if (loaded < 0)
            goto fail;
        if (loaded == 0)
            log_info("proxy: backend table restored from state file '%s' (active pool '%s')",
                     o->cfg.state_file, pool_active(table));
    }
    if (!pool_first(table))
        log_warn("proxy: no backend yet; add one with 'baton backend add'");
    else if (!pool_exists(table, pool_active(table)))
        pool_set_active(table, pool_first(table)->pool);
    *out = table;
    return 0;
fail:
    pool_table_free(table);
    return -1;
}

/* The listening sockets: inherited by LISTEN_FDS, else bound from --listen (with
 * SO_REUSEPORT when workers will bind the same addresses again). */
static int open_listeners(const struct proxy_serve_opts *o, int *fds, int *inherited, struct err *e)
{
    int nfds = serve_take_listen_fds(fds, SERVE_LISTEN_MAX);
    *inherited = nfds > 0;
    if (*inherited)
        log_info("proxy: took %d listening socket%s from LISTEN_FDS", nfds, nfds == 1 ? "" : "s");
    for (int i = 0; !*inherited && i < o->nlisten; i++) {
        struct addr a;
        if (addr_parse(o->listen[i], 0, &a, e) < 0 ||
            (fds[nfds] = serve_listen(&a, o->workers > 1, e)) < 0) {
            while (nfds > 0)
                close(fds[--nfds]);
            return -1;
        }
        nfds++;
    }
    if (nfds == 0)
        return err_set(e, "no listener: give --listen ADDR (or LISTEN_FDS)");
    return nfds;
}

int serve_listen(const struct addr *a, int reuseport, struct err *e)
{
    if (!reuseport || a->family == AF_UNIX)
        return addr_listen(a, 1024, e);
    int fd = socket(a->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return err_errno(e, errno, "cannot create socket for '%s'", a->text);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (a->family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
        bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0 || listen(fd, 1024) < 0) {
        int saved = errno;
        close(fd);
        return err_errno(e, saved, "cannot bind '%s'", a->text);
    }
    return fd;
}

static void on_chan(struct loop *loop, struct watcher *w, uint32_t revents)
{
    struct serve *s = w->data;
    if (workers_chan_answer(s->proxy, w->fd) < 0) {
        /* the parent is gone: stop as on SIGTERM */
        loop_unwatch(loop, w);
        proxy_shutdown(s->proxy, s->stop_timeout_ms, on_stopped, s);
    }
}

int serve_engine(const struct proxy_serve_opts *o, const struct serve_engine_args *a, struct err *e)
{
    struct serve s = {.stop_timeout_ms = o->stop_timeout_ms};
    struct pool_table *table = a->table;
    int nfds = a->nfds, rc = -1;
    struct proxy_config cfg = o->cfg;
    if (a->worker > 0)
        cfg.state_file[0] = 0; /* worker 0 alone writes it */
    if (loop_new(&s.loop, e) < 0)
        goto out;
    if (proxy_new(&s.proxy, s.loop, &cfg, table, e) < 0)
        goto out;
    table = NULL;
    while (nfds > 0) {
        if (proxy_add_listener(s.proxy, a->fds[nfds - 1], e) < 0)
            goto out;
        nfds--;
    }
    if (a->chan >= 0) {
        if (loop_watch(s.loop, &s.chanw, a->chan, EPOLLIN, on_chan, &s, e) < 0)
            goto out;
    } else if (serve_control_open(&s.control, s.loop, o->control, a->inherited, on_ctl, &s, e) <
                   0 ||
               (o->metrics &&
                proxy_observe_open(&s.admin, s.proxy, o->metrics, o->admin_token_file, e) < 0)) {
        goto out;
    }
    int sigs[] = {SIGTERM, SIGINT};
    if (loop_watch_signals(s.loop, &s.sigw, sigs, 2, on_signal, &s, e) < 0)
        goto out;
    if (cfg.state_file[0])
        proxy_state_changed(s.proxy);
    if (a->chan < 0) {
        log_info("proxy: %s mode, control socket '%s', active pool '%s'",
                 o->cfg.mode == PROXY_HTTP ? "http" : "tcp", o->control,
                 pool_active(proxy_table(s.proxy)));
        serve_notify("READY=1");
    }
    rc = loop_run(s.loop, e);
out:
    for (int i = 0; i < nfds; i++)
        close(a->fds[i]);
    if (s.sigw.active) {
        loop_unwatch(s.loop, &s.sigw);
        close(s.sigw.fd);
    }
    if (s.chanw.active)
        loop_unwatch(s.loop, &s.chanw);
    serve_control_close(&s.control);
    admin_close(s.admin);
    proxy_free(s.proxy);
    pool_table_free(table);
    loop_free(s.loop);
    return rc;
}

int proxy_serve(const struct proxy_serve_opts *o, struct err *e)
{
    struct pool_table *table = NULL;
    int fds[SERVE_LISTEN_MAX];
    int inherited = 0;
    signal(SIGPIPE, SIG_IGN);
    raise_fd_limit();
    if (o->workers > 1 && o->metrics)
        return err_set(e, "--metrics serves one process's figures; use it with --workers 1 (the "
                          "default) for now");
    if (build_table(o, &table, e) < 0)
        return -1;
    int nfds = open_listeners(o, fds, &inherited, e);
    if (nfds < 0) {
        pool_table_free(table);
        return -1;
    }
    if (o->workers > 1)
        return workers_serve(o, table, fds, nfds, inherited, e);
    struct serve_engine_args a = {
        .table = table, .fds = fds, .nfds = nfds, .inherited = inherited, .chan = -1};
    return serve_engine(o, &a, e);
}
