/* The engine in one process (engine.h): the loop, the proxy, its listeners, its
 * control (socket, or a worker's channel), signals and the graceful stop. */
#include "proxy/engine.h"

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "core/log.h"
#include "proxy/chan.h"
#include "proxy/host.h"
#include "proxy/observe.h"

struct engine {
    struct loop *loop;
    struct proxy *proxy;
    struct host_control control;
    struct admin *admin; /* --metrics */
    struct watcher sigw;
    struct watcher chanw; /* a worker: the parent's channel (workers.c) */
    int stop_timeout_ms;
};

static void on_ctl(struct ctl_req *req, const char *cmd, json_t *msg, void *data)
{
    struct engine *s = data;
    ctl_reply(req, proxy_command(s->proxy, msg));
}

/* The admin listener's commands: this process's engine. */
static json_t *engine_command(void *proxy, json_t *req)
{
    return proxy_command(proxy, req);
}

static void on_stopped(struct proxy *p, void *data)
{
    struct engine *s = data;
    log_info("proxy: every connection finished; exiting");
    loop_stop(s->loop);
}

static void on_signal(struct loop *loop, struct watcher *w, uint32_t revents)
{
    struct engine *s = w->data;
    struct signalfd_siginfo si;
    while (read(w->fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
            log_info("proxy: %s: stopping accepting; finishing %zu connection%s",
                     si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT", proxy_connections(s->proxy),
                     proxy_connections(s->proxy) == 1 ? "" : "s");
            proxy_shutdown(s->proxy, s->stop_timeout_ms, on_stopped, s);
            host_notify("STOPPING=1");
        }
    }
}

static void on_chan(struct loop *loop, struct watcher *w, uint32_t revents)
{
    struct engine *s = w->data;
    if (chan_answer(s->proxy, w->fd) < 0) {
        /* the parent is gone: stop as on SIGTERM */
        loop_unwatch(loop, w);
        proxy_shutdown(s->proxy, s->stop_timeout_ms, on_stopped, s);
    }
}

int engine_run(const struct proxy_serve_opts *o, const struct engine_args *a, struct err *e)
{
    struct engine s = {.stop_timeout_ms = o->stop_timeout_ms};
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
    } else if (host_control_open(&s.control, s.loop, o->control, a->inherited, on_ctl, &s, e) < 0 ||
               (o->metrics && proxy_observe_open(&s.admin, s.loop, o->metrics, o->admin_token_file,
                                                 engine_command, s.proxy, e) < 0)) {
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
        host_notify("READY=1");
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
    host_control_close(&s.control);
    admin_close(s.admin);
    proxy_free(s.proxy);
    pool_table_free(table);
    loop_free(s.loop);
    return rc;
}
