/* `baton proxy --workers N` (workers.h). The parent forks N workers once the table is
 * built and the listeners are bound, so that a bad option fails before any fork. Each
 * worker is the standalone engine (engine_run) with its own loop, table copy and
 * listeners; the parent relays nothing. It owns the control socket and a
 * SOCK_SEQPACKET channel per worker: a command goes to every worker (all at once, then
 * the replies are read), and the merged reply answers the client, so a drain or a
 * switch has reached every worker when `baton switch` returns. A message on a channel
 * is an 8-byte sequence number and one JSON text; a reply with another number (one
 * that came after its deadline) is dropped. A worker that dies stops the others and
 * the parent exits 1 (a supervisor such as `baton run` starts it again). */
#include "proxy/workers.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/log.h"
#include "proxy/chan.h"
#include "proxy/host.h"
#include "proxy/observe.h"

#define CHAN_REPLY_MS   10000
#define WORKER_READY_MS 10000

struct worker {
    struct parent *pa;
    pid_t pid;
    int chan; /* the parent's end */
    struct watcher pidw;
    int exited;
};

struct parent {
    struct loop *loop;
    struct host_control control;
    struct admin *admin; /* --metrics: every worker's counters, added up */
    struct watcher sigw;
    struct worker w[WORKERS_MAX];
    int n, live, stopping, failed;
    uint64_t seq;
    char *buf; /* CHAN_MSG_MAX */
    char why[ERR_MSG_MAX];
};

/* --- the parent: one command to every worker ---------------------------------- */

static json_t *error_reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *error_reply(const char *fmt, ...)
{
    char msg[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return json_pack("{s:b,s:s}", "ok", 0, "error", msg);
}

/* The reply of worker w to request `seq`, waiting until deadline_ms. */
static json_t *read_reply(struct parent *pa, struct worker *w, uint64_t seq, uint64_t deadline_ms)
{
    for (;;) {
        uint64_t now = clock_now_ms();
        struct pollfd pfd = {.fd = w->chan, .events = POLLIN};
        int r = now < deadline_ms ? poll(&pfd, 1, (int)(deadline_ms - now)) : 0;
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return error_reply("worker %d (pid %d) did not answer within %d ms", (int)(w - pa->w),
                               (int)w->pid, CHAN_REPLY_MS);
        ssize_t n = recv(w->chan, pa->buf, CHAN_MSG_MAX, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (n < CHAN_HEADER)
            return error_reply("worker %d (pid %d) closed its channel", (int)(w - pa->w),
                               (int)w->pid);
        uint64_t got;
        memcpy(&got, pa->buf, CHAN_HEADER);
        if (got != seq)
            continue; /* the late answer to an earlier request */
        json_error_t jerr;
        json_t *reply = json_loadb(pa->buf + CHAN_HEADER, (size_t)n - CHAN_HEADER, 0, &jerr);
        if (!json_is_object(reply)) {
            json_decref(reply);
            return error_reply("worker %d sent a malformed reply", (int)(w - pa->w));
        }
        return reply;
    }
}

/* Sends req to every live worker, then reads their replies into replies[] (new
 * references, one per live worker); returns how many. */
static int workers_ask(struct parent *pa, json_t *req, json_t **replies)
{
    json_t *got[WORKERS_MAX] = {0};
    int n = 0;
    uint64_t seq = ++pa->seq;
    char *text = json_dumps(req, JSON_COMPACT);
    for (int i = 0; i < pa->n; i++)
        if (!pa->w[i].exited && (!text || chan_send(pa->w[i].chan, seq, text) < 0))
            got[i] = text ? error_reply("cannot reach worker %d (pid %d): %s", i, (int)pa->w[i].pid,
                                        strerror(errno))
                          : error_reply("cannot encode the request");
    free(text);
    uint64_t deadline = clock_now_ms() + CHAN_REPLY_MS;
    for (int i = 0; i < pa->n; i++) {
        if (pa->w[i].exited) {
            json_decref(got[i]);
            continue;
        }
        replies[n++] = got[i] ? got[i] : read_reply(pa, &pa->w[i], seq, deadline);
    }
    return n;
}

/* Sends req to every live worker; their replies merged, new reference. */
static json_t *workers_call(struct parent *pa, json_t *req)
{
    json_t *replies[WORKERS_MAX];
    int n = workers_ask(pa, req, replies);
    json_t *merged = n ? workers_merge(replies, n) : error_reply("no worker is running");
    for (int i = 0; i < n; i++)
        json_decref(replies[i]);
    return merged;
}

/* "metrics": every worker's counters added up (proxy_observe_sum). */
static json_t *workers_metrics(struct parent *pa, json_t *req)
{
    json_t *replies[WORKERS_MAX], *sum = NULL;
    int n = workers_ask(pa, req, replies);
    for (int i = 0; i < n && !sum; i++)
        if (!json_is_true(json_object_get(replies[i], "ok"))) {
            const char *why = json_string_value(json_object_get(replies[i], "error"));
            sum = error_reply("worker %d: %s", i, why ? why : "failed");
        }
    if (!sum && n > 0) {
        sum = json_deep_copy(replies[0]);
        for (int i = 1; i < n; i++)
            proxy_observe_sum(sum, replies[i]);
        json_object_set_new(sum, "workers", json_integer(n));
    }
    for (int i = 0; i < n; i++)
        json_decref(replies[i]);
    return sum ? sum : error_reply("no worker is running");
}

/* A runtime command for the workers (from the control socket or the admin listener). */
static json_t *parent_command(void *data, json_t *req)
{
    const char *cmd = json_string_value(json_object_get(req, "cmd"));
    if (cmd && strcmp(cmd, "metrics") == 0)
        return workers_metrics(data, req);
    return workers_call(data, req);
}

static void on_ctl(struct ctl_req *req, const char *cmd, json_t *msg, void *data)
{
    ctl_reply(req, parent_command(data, msg));
}

/* --- merging replies ------------------------------------------------------------ */

static void merge_object(json_t *out, json_t *r, int *incoherent);

static void merge_backends(json_t *out, json_t *r, int *incoherent)
{
    if (!json_is_array(out) || !json_is_array(r) || json_array_size(out) != json_array_size(r)) {
        *incoherent = 1;
        return;
    }
    for (size_t i = 0; i < json_array_size(out); i++) {
        json_t *a = json_array_get(out, i), *b = json_array_get(r, i);
        const char *na = json_string_value(json_object_get(a, "name"));
        const char *nb = json_string_value(json_object_get(b, "name"));
        if (!na || !nb || strcmp(na, nb) != 0) {
            *incoherent = 1;
            return;
        }
        merge_object(a, b, incoherent);
    }
}

static void merge_object(json_t *out, json_t *r, int *incoherent)
{
    static const char *const sums[] = {"connections", "accepted", "max_conns_reached", "total",
                                       "failures"};
    for (size_t i = 0; i < sizeof(sums) / sizeof(sums[0]); i++) {
        json_t *a = json_object_get(out, sums[i]), *b = json_object_get(r, sums[i]);
        if (json_is_integer(a) && json_is_integer(b))
            json_object_set_new(out, sums[i],
                                json_integer(json_integer_value(a) + json_integer_value(b)));
    }
    json_t *a = json_object_get(out, "switched_unix_ms"),
           *b = json_object_get(r, "switched_unix_ms");
    if (json_is_integer(a) && json_is_integer(b) && json_integer_value(b) > json_integer_value(a))
        json_object_set(out, "switched_unix_ms", b);
    if (json_is_true(json_object_get(r, "stopping")))
        json_object_set_new(out, "stopping", json_true());
    const char *state = json_string_value(json_object_get(r, "state"));
    if (state && strcmp(state, "draining") == 0 && json_object_get(out, "state"))
        json_object_set_new(out, "state", json_string("draining"));
    if (json_object_get(out, "backends"))
        merge_backends(json_object_get(out, "backends"), json_object_get(r, "backends"),
                       incoherent);
}

json_t *workers_merge(json_t *const *replies, int n)
{
    if (n <= 0 || !json_is_true(json_object_get(replies[0], "ok")))
        return n > 0 ? json_incref(replies[0]) : error_reply("no worker answered");
    for (int i = 1; i < n; i++) {
        if (!json_is_true(json_object_get(replies[i], "ok"))) {
            const char *why = json_string_value(json_object_get(replies[i], "error"));
            return error_reply("worker %d: %s", i, why ? why : "failed");
        }
    }
    json_t *out = json_deep_copy(replies[0]);
    int incoherent = 0;
    for (int i = 1; i < n && !incoherent; i++)
        merge_object(out, replies[i], &incoherent);
    if (incoherent) {
        json_decref(out);
        return error_reply("the workers' backend tables differ");
    }
    if (json_object_get(out, "backends")) {
        /* how the kernel spread the clients (SO_REUSEPORT hashes each connection) */
        json_t *each = json_array();
        for (int i = 0; i < n; i++)
            json_array_append_new(each,
                                  json_pack("{s:O?,s:O?}", "connections",
                                            json_object_get(replies[i], "connections"), "accepted",
                                            json_object_get(replies[i], "accepted")));
        json_object_set_new(out, "workers", json_integer(n));
        json_object_set_new(out, "per_worker", each);
    }
    return out;
}

/* --- the parent's life cycle ------------------------------------------------------ */

static void stop_workers(struct parent *pa)
{
    for (int i = 0; i < pa->n; i++)
        if (!pa->w[i].exited)
            kill(pa->w[i].pid, SIGTERM);
}

static void on_worker_exit(struct loop *loop, struct watcher *pw, uint32_t revents)
{
    struct worker *w = pw->data;
    struct parent *pa = w->pa;
    int status = 0;
    waitpid(w->pid, &status, 0);
    loop_unwatch(loop, pw);
    close(pw->fd);
    w->exited = 1;
    pa->live--;
    int clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!pa->stopping || !clean) {
        if (!pa->failed)
            snprintf(pa->why, sizeof(pa->why), "worker %d (pid %d) %s %d", (int)(w - pa->w),
                     (int)w->pid,
                     WIFSIGNALED(status) ? "was killed by signal" : "exited with status",
                     WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        if (!pa->stopping)
            log_error("proxy: %s; stopping the other workers", pa->why);
        pa->failed = 1;
        pa->stopping = 1;
        stop_workers(pa);
    }
    if (pa->live == 0)
        loop_stop(loop);
}

static void on_signal(struct loop *loop, struct watcher *sw, uint32_t revents)
{
    struct parent *pa = sw->data;
    struct signalfd_siginfo si;
    while (read(sw->fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if ((si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) && !pa->stopping) {
            log_info("proxy: %s: stopping %d workers",
                     si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT", pa->live);
            pa->stopping = 1;
            stop_workers(pa);
            host_notify("STOPPING=1");
        }
    }
}

/* The listeners of worker i: shared ones (inherited, unix) and, for an inet address,
 * worker 0 takes the socket bound before the fork and the others bind their own. */
static int worker_listeners(int i, const int *fds, int nfds, int inherited, int *own, struct err *e)
{
    for (int j = 0; j < nfds; j++) {
        struct addr a;
        own[j] = fds[j];
        if (inherited || i == 0)
            continue;
        if (addr_from_fd(fds[j], &a, e) < 0)
            goto fail;
        if (a.family != AF_UNIX && (own[j] = host_listen(&a, 1, e)) < 0)
            goto fail;
        continue;
    fail:
        while (j-- > 0)
            if (own[j] != fds[j])
                close(own[j]);
        return -1;
    }
    return 0;
}

/* In the new worker: keeps only its own fds, then runs the engine. Never returns. */
static void worker_main(struct parent *pa, int i, const struct proxy_serve_opts *o,
                        struct engine_args *a, const int *fds, int parent_end)
{
    pid_t parent = getppid();
    prctl(PR_SET_PDEATHSIG, SIGTERM); /* the parent killed outright takes its workers along */
    close(parent_end);
    for (int k = 0; k < i; k++)
        close(pa->w[k].chan);
    for (int j = 0; j < a->nfds; j++)
        if (a->fds[j] != fds[j])
            close(fds[j]); /* a listener no one watches would strand its connections */
    if (getppid() != parent)
        _exit(1);
    unsetenv("NOTIFY_SOCKET"); /* the parent speaks for the workers */
    char role[32];
    snprintf(role, sizeof(role), "proxy-w%d", i);
    log_setup((enum log_level)o->log_level, role);
    struct err e;
    int rc = engine_run(o, a, &e);
    if (rc < 0)
        log_error("proxy: %s", e.msg);
    fflush(NULL);
    _exit(rc < 0 ? 1 : 0);
}

static int spawn(struct parent *pa, int i, const struct proxy_serve_opts *o,
                 struct pool_table *table, const int *fds, int nfds, int inherited, struct err *e)
{
    int own[SERVE_LISTEN_MAX], sv[2];
    if (worker_listeners(i, fds, nfds, inherited, own, e) < 0)
        return -1;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        err_errno(e, errno, "cannot create a channel to worker %d", i);
        goto out;
    }
    int size = CHAN_MSG_MAX;
    setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        struct engine_args a = {.table = table,
                                .fds = own,
                                .nfds = nfds,
                                .inherited = inherited,
                                .chan = sv[1],
                                .worker = i};
        worker_main(pa, i, o, &a, fds, sv[0]);
    }
    close(sv[1]);
    if (pid < 0) {
        close(sv[0]);
        err_errno(e, errno, "cannot start worker %d", i);
        goto out;
    }
    pa->w[i] = (struct worker){.pa = pa, .pid = pid, .chan = sv[0]};
    pa->n++;
    pa->live++;
out:
    for (int j = 0; j < nfds; j++)
        if (own[j] != fds[j])
            close(own[j]);
    return pa->n == i + 1 ? 0 : -1;
}

/* The parent's loop: worker exits, signals, the control socket; then READY=1 once
 * every worker answered. */
static int parent_setup(struct parent *pa, const struct proxy_serve_opts *o, int inherited,
                        struct err *e)
{
    if (loop_new(&pa->loop, e) < 0)
        return -1;
    for (int i = 0; i < pa->n; i++)
        if (loop_watch_pid(pa->loop, &pa->w[i].pidw, pa->w[i].pid, on_worker_exit, &pa->w[i], e) <
            0)
            return -1;
    int sigs[] = {SIGTERM, SIGINT};
    if (loop_watch_signals(pa->loop, &pa->sigw, sigs, 2, on_signal, pa, e) < 0)
        return -1;
    if (host_control_open(&pa->control, pa->loop, o->control, inherited, on_ctl, pa, e) < 0)
        return -1;
    if (o->metrics && proxy_observe_open(&pa->admin, pa->loop, o->metrics, o->admin_token_file,
                                         parent_command, pa, e) < 0)
        return -1;
    json_t *req = json_pack("{s:s}", "cmd", "status");
    json_t *r = workers_call(pa, req);
    json_decref(req);
    int rc = json_is_true(json_object_get(r, "ok"))
                 ? 0
                 : err_set(e, "the workers did not start: %s",
                           json_string_value(json_object_get(r, "error")));
    json_decref(r);
    return rc;
}

static void parent_free(struct parent *pa)
{
    if (pa->live > 0) {
        stop_workers(pa);
        for (int i = 0; i < pa->n; i++)
            if (!pa->w[i].exited)
                waitpid(pa->w[i].pid, NULL, 0);
    }
    for (int i = 0; i < pa->n; i++) {
        if (pa->w[i].pidw.active) {
            loop_unwatch(pa->loop, &pa->w[i].pidw);
            close(pa->w[i].pidw.fd);
        }
        close(pa->w[i].chan);
    }
    if (pa->sigw.active) {
        loop_unwatch(pa->loop, &pa->sigw);
        close(pa->sigw.fd);
    }
    host_control_close(&pa->control);
    admin_close(pa->admin);
    loop_free(pa->loop);
    free(pa->buf);
    free(pa);
}

int workers_serve(const struct proxy_serve_opts *o, struct pool_table *table, const int *fds,
                  int nfds, int inherited, struct err *e)
{
    struct parent *pa = calloc(1, sizeof(*pa));
    int rc = -1;
    if (pa)
        pa->buf = malloc(CHAN_MSG_MAX);
    if (!pa || !pa->buf) {
        err_errno(e, ENOMEM, "cannot start workers");
        goto out;
    }
    for (int i = 0; i < o->workers && i < WORKERS_MAX; i++)
        if (spawn(pa, i, o, table, fds, nfds, inherited, e) < 0)
            goto out;
    for (int j = 0; j < nfds; j++)
        close(fds[j]);
    nfds = 0;
    if (parent_setup(pa, o, inherited, e) < 0)
        goto out;
    log_info("proxy: %s mode, %d workers, control socket '%s', active pool '%s'",
             o->cfg.mode == PROXY_HTTP ? "http" : "tcp", pa->n, o->control, pool_active(table));
    host_notify("READY=1");
    rc = loop_run(pa->loop, e);
    if (rc == 0 && pa->failed)
        rc = err_set(e, "%s", pa->why);
out:
    for (int j = 0; j < nfds; j++)
        close(fds[j]);
    pool_table_free(table);
    if (pa)
        parent_free(pa);
    return rc;
}
