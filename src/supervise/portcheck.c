/* One readiness check of a private app port: connect, then (http) send a GET and read
 * the status line. Everything waits on the loop; the answer buffer is capped. */
#include "supervise/portcheck.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/addr.h"

struct portcheck {
    struct loop *loop;
    struct addr addr;
    int fd;
    struct watcher w;
    struct timer timeout;
    uint64_t timeout_ms;
    int connected;
    char path[256]; /* "" = connect only */
    char answer[PORTCHECK_ANSWER_MAX + 1];
    size_t len;
    portcheck_done done;
    void *data;
};

static void check_free(struct portcheck *c)
{
    timer_stop(c->loop, &c->timeout);
    if (c->w.active)
        loop_unwatch(c->loop, &c->w);
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    loop_defer_free(c->loop, c);
}

static void finish(struct portcheck *c, int ok, const char *what)
{
    portcheck_done done = c->done;
    void *data = c->data;
    char copy[PORTCHECK_WHAT_MAX];
    snprintf(copy, sizeof(copy), "%s", what);
    check_free(c);
    if (done)
        done(ok, copy, data);
}

/* 1: decided (ok or not, *ok set), 0: need more bytes. */
static int parse_status(struct portcheck *c, int *ok, char *what, size_t size)
{
    char *eol = memchr(c->answer, '\n', c->len);
    if (!eol && c->len < PORTCHECK_ANSWER_MAX)
        return 0;
    int code = 0;
    if (strncmp(c->answer, "HTTP/1.", 7) != 0 || c->len < 12 ||
        sscanf(c->answer + 8, " %3d", &code) != 1 || code < 100) {
        snprintf(what, size, "GET %s: not an HTTP answer", c->path);
        *ok = 0;
        return 1;
    }
    *ok = code >= 200 && code < 400;
    snprintf(what, size, "GET %s answered %d", c->path, code);
    return 1;
}

static void on_io(struct loop *loop, struct watcher *w, uint32_t revents)
{
    struct portcheck *c = w->data;
    struct err e;
    char what[PORTCHECK_WHAT_MAX];
    if (!c->connected) {
        if (addr_connect_result(c->fd, &c->addr, &e) < 0) {
            finish(c, 0, e.msg);
            return;
        }
        c->connected = 1;
        if (!c->path[0]) {
            finish(c, 1, "connected");
            return;
        }
        char req[400];
        int n = snprintf(req, sizeof(req),
                         "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: baton-run\r\nConnection: "
                         "close\r\n\r\n",
                         c->path, c->addr.text);
        /* A fresh socket's send buffer takes a few hundred bytes at once. */
        if (send(c->fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
            snprintf(what, sizeof(what), "GET %s: cannot send: %s", c->path, strerror(errno));
            finish(c, 0, what);
            return;
        }
        if (loop_rewatch(loop, w, EPOLLIN, &e) < 0)
            finish(c, 0, e.msg);
        return;
    }
    for (;;) {
        ssize_t r = recv(c->fd, c->answer + c->len, PORTCHECK_ANSWER_MAX - c->len, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (r <= 0) {
            int ok = 0;
            c->answer[c->len] = 0;
            if (c->len && parse_status(c, &ok, what, sizeof(what)))
                finish(c, ok, what);
            else {
                snprintf(what, sizeof(what), "GET %s: connection closed without an answer",
                         c->path);
                finish(c, 0, what);
            }
            return;
        }
        c->len += (size_t)r;
        c->answer[c->len] = 0;
        int ok = 0;
        if (parse_status(c, &ok, what, sizeof(what))) {
            finish(c, ok, what);
            return;
        }
    }
}

static void on_timeout(struct loop *loop, struct timer *t)
{
    struct portcheck *c = t->data;
    char what[PORTCHECK_WHAT_MAX];
    snprintf(what, sizeof(what), "%s%s timed out after %llu ms", c->path[0] ? "GET " : "connect",
             c->path, (unsigned long long)c->timeout_ms);
    finish(c, 0, what);
}

int portcheck_start(struct portcheck **out, struct loop *loop, int port, const char *http_path,
                    uint64_t timeout_ms, portcheck_done done, void *data, struct err *e)
{
    struct portcheck *c = calloc(1, sizeof(*c));
    if (!c)
        return err_errno(e, ENOMEM, "cannot check port %d", port);
    c->loop = loop;
    c->fd = -1;
    c->done = done;
    c->data = data;
    c->timeout_ms = timeout_ms;
    if (http_path)
        snprintf(c->path, sizeof(c->path), "%s", http_path);
    char spec[64];
    snprintf(spec, sizeof(spec), "127.0.0.1:%d", port);
    if (addr_parse(spec, 0, &c->addr, e) < 0)
        goto fail;
    c->fd = addr_connect(&c->addr, e);
    if (c->fd < 0)
        goto fail;
    if (loop_watch(loop, &c->w, c->fd, EPOLLOUT, on_io, c, e) < 0)
        goto fail;
    timer_start(loop, &c->timeout, timeout_ms, on_timeout, c);
    *out = c;
    return 0;
fail:
    if (c->fd >= 0)
        close(c->fd);
    free(c);
    return -1;
}

void portcheck_cancel(struct portcheck *c)
{
    if (!c)
        return;
    c->done = NULL;
    check_free(c);
}

int portcheck_port_free(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ok = bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
    close(fd);
    return ok;
}
