/* A request/reply exchange as a small state machine on the loop: CONNECTING (EPOLLOUT,
 * then SO_ERROR; a unix socket's full backlog is retried), SENDING, READING (to EOF, or
 * the first newline), then the callback. A timer bounds the whole exchange; a reply
 * over the cap is an error, not truncated. */
#include "core/sockreq.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SOCKREQ_RETRY_MS 10 /* connect again after EAGAIN (the peer's backlog is full) */
#define SOCKREQ_BUF_MIN  4096

enum sr_phase { SR_CONNECTING, SR_SENDING, SR_READING };

struct sockreq {
    struct loop *loop;
    struct addr to;
    int fd;
    struct watcher w;
    struct timer deadline; /* the whole exchange */
    struct timer retry;    /* the next connect, or the report of one that failed at once */
    uint64_t timeout_ms;
    enum sr_phase phase;
    char *req;
    size_t req_len, req_off;
    char *buf; /* the reply so far, grown up to cap (+1 for its NUL) */
    size_t len, size, cap;
    int line;
    sockreq_cb cb;
    void *data;
    char early[ERR_MSG_MAX]; /* a connect that failed at once */
};

static void sr_free(struct sockreq *r)
{
    timer_stop(r->loop, &r->deadline);
    timer_stop(r->loop, &r->retry);
    if (r->fd >= 0) {
        if (r->w.active)
            loop_unwatch(r->loop, &r->w);
        close(r->fd);
    }
    free(r->req);
    free(r->buf);
    loop_defer_free(r->loop, r); /* its watcher may have an event pending in this batch */
}

static void sr_finish(struct sockreq *r, int ok, const char *error)
{
    if (ok)
        r->buf[r->len] = 0;
    sockreq_cb cb = r->cb;
    void *data = r->data;
    /* the callback may start another request: free first, with the reply kept */
    char *buf = r->buf;
    size_t len = r->len;
    r->buf = NULL;
    sr_free(r);
    cb(ok, ok ? buf : NULL, ok ? len : 0, error, data);
    free(buf);
}

static void sr_fail(struct sockreq *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sr_fail(struct sockreq *r, const char *fmt, ...)
{
    char msg[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    sr_finish(r, 0, msg);
}

/* Room for more of the reply: 1, or 0 after failing the request. */
static int sr_room(struct sockreq *r)
{
    if (r->len < r->size)
        return 1;
    if (r->size >= r->cap) {
        sr_fail(r, "reply from '%s' is longer than %zu bytes", r->to.text, r->cap);
        return 0;
    }
    size_t size = r->size * 2 < r->cap ? r->size * 2 : r->cap;
    char *buf = realloc(r->buf, size + 1);
    if (!buf) {
        sr_fail(r, "cannot read the reply from '%s': %s", r->to.text, strerror(ENOMEM));
        return 0;
    }
    r->buf = buf;
    r->size = size;
    return 1;
}

static void sr_read(struct sockreq *r)
{
    for (;;) {
        if (!sr_room(r))
            return;
        ssize_t n = recv(r->fd, r->buf + r->len, r->size - r->len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n < 0) {
            sr_fail(r, "cannot read from '%s': %s", r->to.text, strerror(errno));
            return;
        }
        if (n == 0) {
            sr_finish(r, 1, NULL);
            return;
        }
        r->len += (size_t)n;
        if (r->line && memchr(r->buf + r->len - (size_t)n, '\n', (size_t)n)) {
            sr_finish(r, 1, NULL);
            return;
        }
    }
}

static void sr_send(struct sockreq *r)
{
    while (r->req_off < r->req_len) {
        ssize_t n = send(r->fd, r->req + r->req_off, r->req_len - r->req_off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n < 0 && errno == EPIPE)
            break; /* the peer answered early (a refusal, say): read what it said */
        if (n < 0) {
            sr_fail(r, "cannot send to '%s': %s", r->to.text, strerror(errno));
            return;
        }
        r->req_off += (size_t)n;
    }
    r->req_off = r->req_len;
    r->phase = SR_READING;
    struct err e;
    if (loop_rewatch(r->loop, &r->w, EPOLLIN, &e) < 0)
        sr_fail(r, "%s", e.msg);
}

static void on_io(struct loop *loop, struct watcher *w, uint32_t revents)
{
    (void)loop;
    (void)revents;
    struct sockreq *r = w->data;
    struct err e;
    switch (r->phase) {
    case SR_CONNECTING:
        if (addr_connect_result(r->fd, &r->to, &e) < 0) {
            sr_fail(r, "%s", e.msg);
            return;
        }
        r->phase = SR_SENDING;
        sr_send(r);
        return;
    case SR_SENDING:
        sr_send(r);
        return;
    case SR_READING:
        sr_read(r);
        return;
    }
}

static void on_deadline(struct loop *loop, struct timer *t)
{
    (void)loop;
    struct sockreq *r = t->data;
    static const char *const what[] = {"connecting to", "sending to", "waiting for the reply of"};
    sr_fail(r, "timed out after %llu ms %s '%s'", (unsigned long long)r->timeout_ms, what[r->phase],
            r->to.text);
}

static void on_early_failure(struct loop *loop, struct timer *t)
{
    (void)loop;
    struct sockreq *r = t->data;
    sr_fail(r, "%s", r->early);
}

static void on_retry(struct loop *loop, struct timer *t);

/* Connects, or arms the retry of a full backlog; a failure is reported from the loop,
 * like any other (the caller's callback never runs from inside sockreq_start). */
static void sr_connect(struct sockreq *r)
{
    struct err e;
    r->fd = addr_connect(&r->to, &e);
    if (r->fd < 0 && errno == EAGAIN) {
        timer_start(r->loop, &r->retry, SOCKREQ_RETRY_MS, on_retry, r);
        return;
    }
    if (r->fd < 0 || loop_watch(r->loop, &r->w, r->fd, EPOLLOUT, on_io, r, &e) < 0) {
        snprintf(r->early, sizeof(r->early), "%s", e.msg);
        timer_start(r->loop, &r->retry, 0, on_early_failure, r);
    }
}

static void on_retry(struct loop *loop, struct timer *t)
{
    (void)loop;
    sr_connect(t->data);
}

int sockreq_start(struct loop *loop, const struct addr *to, const char *request, int line,
                  uint64_t timeout_ms, size_t cap, sockreq_cb cb, void *data, struct sockreq **out,
                  struct err *e)
{
    struct sockreq *r = calloc(1, sizeof(*r));
    if (!r)
        return err_errno(e, ENOMEM, "cannot reach '%s'", to->text);
    r->loop = loop;
    r->to = *to;
    r->fd = -1;
    r->line = line;
    r->cb = cb;
    r->data = data;
    r->cap = cap ? cap : 1;
    r->size = r->cap < SOCKREQ_BUF_MIN ? r->cap : SOCKREQ_BUF_MIN;
    r->timeout_ms = timeout_ms;
    r->req_len = strlen(request);
    r->req = strdup(request);
    r->buf = malloc(r->size + 1);
    if (!r->req || !r->buf) {
        sr_free(r);
        return err_errno(e, ENOMEM, "cannot reach '%s'", to->text);
    }
    timer_start(loop, &r->deadline, timeout_ms, on_deadline, r);
    sr_connect(r);
    if (out)
        *out = r;
    return 0;
}

void sockreq_cancel(struct sockreq *r)
{
    if (r)
        sr_free(r);
}
