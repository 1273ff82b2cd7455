/* The control protocol's client side as a state machine on the loop: connecting (a
 * full accept queue is retried), sending the request line, reading the reply line up
 * to CTLCALL_REPLY_MAX bytes; a timer bounds the whole call. */
#include "supervise/ctlcall.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/addr.h"
#include "core/ctl.h"

#define CTLCALL_RETRY_MS 10 /* connect again after EAGAIN (the peer's accept queue is full) */

struct ctlcall {
    struct loop *loop;
    struct sockaddr_un un;
    int fd;
    struct watcher w;
    struct timer timeout, retry;
    uint64_t timeout_ms;
    char *out; /* the request line */
    size_t out_len, out_off;
    char *in; /* the reply so far */
    size_t in_len, in_cap;
    ctlcall_done done; /* NULL once cancelled */
    void *data;
};

static void call_free(struct ctlcall *c)
{
    timer_stop(c->loop, &c->timeout);
    timer_stop(c->loop, &c->retry);
    if (c->w.active)
        loop_unwatch(c->loop, &c->w);
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    free(c->out);
    free(c->in);
    c->out = c->in = NULL;
    loop_defer_free(c->loop, c);
}

static void finish(struct ctlcall *c, json_t *reply, const char *error)
{
    ctlcall_done done = c->done;
    void *data = c->data;
    c->done = NULL;
    call_free(c);
    if (done)
        done(reply, error, data);
}

static void fail(struct ctlcall *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(struct ctlcall *c, const char *fmt, ...)
{
    char msg[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    finish(c, NULL, msg);
}

/* The reply is complete (a newline, or the peer closed): parse and check it. */
static void got_reply(struct ctlcall *c)
{
    struct err e;
    json_t *reply;
    if (ctl_parse_reply(c->in, c->in_len, c->un.sun_path, &reply, &e) < 0 ||
        ctl_reply_check(reply, &e) < 0) {
        json_decref(reply);
        finish(c, NULL, e.msg);
        return;
    }
    finish(c, reply, NULL);
    json_decref(reply);
}

static void on_read(struct ctlcall *c)
{
    for (;;) {
        if (c->in_len == c->in_cap) {
            if (c->in_cap >= CTLCALL_REPLY_MAX) {
                fail(c, "reply from '%s' is longer than %d bytes", c->un.sun_path,
                     CTLCALL_REPLY_MAX);
                return;
            }
            size_t cap = c->in_cap ? c->in_cap * 2 : 4096;
            char *in = realloc(c->in, cap);
            if (!in) {
                fail(c, "cannot read the reply from '%s': %s", c->un.sun_path, strerror(ENOMEM));
                return;
            }
            c->in = in;
            c->in_cap = cap;
        }
        ssize_t r = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (r < 0) {
            fail(c, "cannot read the reply from '%s': %s", c->un.sun_path, strerror(errno));
            return;
        }
        if (r == 0 || memchr(c->in + c->in_len, '\n', (size_t)r)) {
            c->in_len += (size_t)r;
            got_reply(c);
            return;
        }
        c->in_len += (size_t)r;
    }
}

static void on_write(struct ctlcall *c)
{
    while (c->out_off < c->out_len) {
        ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (w < 0 && errno == EPIPE)
            break; /* the peer answered early (e.g. refused us): read its reply */
        if (w < 0) {
            fail(c, "cannot send to '%s': %s", c->un.sun_path, strerror(errno));
            return;
        }
        c->out_off += (size_t)w;
    }
    c->out_off = c->out_len;
    struct err e;
    if (loop_rewatch(c->loop, &c->w, EPOLLIN, &e) < 0)
        fail(c, "%s", e.msg);
}

static void on_io(struct loop *loop, struct watcher *w, uint32_t revents)
{
    struct ctlcall *c = w->data;
    if (c->out_off < c->out_len) {
        int soerr = addr_sock_error(c->fd);
        if (soerr) {
            fail(c, "cannot reach baton at '%s': %s", c->un.sun_path, strerror(soerr));
            return;
        }
        on_write(c);
        return;
    }
    on_read(c);
}

static void on_timeout(struct loop *loop, struct timer *t)
{
    struct ctlcall *c = t->data;
    fail(c, "no reply from '%s' within %llu ms", c->un.sun_path, (unsigned long long)c->timeout_ms);
}

/* 0: connected or connecting (watched), 1: retry armed, -1: failed (e). */
static int do_connect(struct ctlcall *c, struct err *e)
{
    if (connect(c->fd, (struct sockaddr *)&c->un, sizeof(c->un)) < 0 && errno != EINPROGRESS) {
        if (errno != EAGAIN)
            return err_errno(e, errno, "cannot reach baton at '%s'", c->un.sun_path);
        return 1;
    }
    return loop_watch(c->loop, &c->w, c->fd, EPOLLOUT, on_io, c, e);
}

static void on_retry(struct loop *loop, struct timer *t)
{
    struct ctlcall *c = t->data;
    struct err e;
    int rc = do_connect(c, &e);
    if (rc < 0)
        fail(c, "%s", e.msg);
    else if (rc == 1)
        timer_start(loop, &c->retry, CTLCALL_RETRY_MS, on_retry, c);
}

int ctlcall_start(struct ctlcall **out, struct loop *loop, const char *path, json_t *request,
                  uint64_t timeout_ms, ctlcall_done done, void *data, struct err *e)
{
    struct ctlcall *c = calloc(1, sizeof(*c));
    if (!c)
        return err_errno(e, ENOMEM, "cannot call '%s'", path);
    if (addr_unix(&c->un, path, "control socket path", e) < 0) {
        free(c);
        return -1;
    }
    c->loop = loop;
    c->done = done;
    c->data = data;
    c->timeout_ms = timeout_ms;
    c->out = json_dumps(request, JSON_COMPACT);
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (!c->out || c->fd < 0) {
        int saved = c->out ? errno : ENOMEM;
        if (c->fd >= 0)
            close(c->fd);
        free(c->out);
        free(c);
        return err_errno(e, saved, "cannot call '%s'", path);
    }
    c->out_len = strlen(c->out);
    c->out[c->out_len++] = '\n'; /* over the NUL: json_dumps leaves no more room */
    int rc = do_connect(c, e);
    if (rc < 0) {
        close(c->fd);
        free(c->out);
        free(c);
        return -1;
    }
    if (rc == 1)
        timer_start(loop, &c->retry, CTLCALL_RETRY_MS, on_retry, c);
    timer_start(loop, &c->timeout, timeout_ms, on_timeout, c);
    *out = c;
    return 0;
}

void ctlcall_cancel(struct ctlcall *c)
{
    if (!c)
        return;
    c->done = NULL;
    call_free(c);
}
