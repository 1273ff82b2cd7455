/* Control socket server and client. The server reads at most CTL_REQUEST_MAX bytes
 * per request, checks the peer's uid before parsing, and never blocks the loop. */
#include "core/ctl.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/addr.h"
#include "core/dlist.h"
#include "core/log.h"

struct ctl_server {
    struct loop *loop;
    struct watcher w;
    char path[ADDR_UNIX_PATH_SIZE];
    ctl_handler handler;
    void *data;
    struct ctl_req *reqs; /* live requests, to detach on close */
};

struct ctl_req {
    struct ctl_server *server; /* NULL once the server closed */
    struct ctl_req *next, *prev;
    struct watcher w;
    int fd; /* -1 once the client went away */
    unsigned uid;
    int dispatched; /* handler called; waiting for ctl_reply */
    char *buf;      /* request bytes in, then reply bytes out */
    size_t len, off;
    int replying;
};

static void req_unlink(struct ctl_req *r)
{
    if (!r->server)
        return;
    DLIST_UNLINK(r->server->reqs, r);
    r->next = r->prev = NULL;
}

static void req_close_fd(struct ctl_req *r)
{
    if (r->fd < 0)
        return;
    if (r->server)
        loop_unwatch(r->server->loop, &r->w);
    close(r->fd);
    r->fd = -1;
}

static void req_free(struct ctl_req *r)
{
    req_close_fd(r);
    req_unlink(r);
    free(r->buf);
    r->buf = NULL;
    if (r->server)
        loop_defer_free(r->server->loop, r);
    else
        free(r);
}

int ctl_parse_request(const char *buf, size_t len, json_t **out, struct err *e)
{
    json_error_t je;
    json_t *msg = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    if (!msg)
        return err_set(e, "malformed control request: %s at column %d", je.text, je.column);
    if (!json_is_object(msg)) {
        json_decref(msg);
        return err_set(e, "malformed control request: expected a JSON object");
    }
    json_t *cmd = json_object_get(msg, "cmd");
    if (!json_is_string(cmd) || json_string_length(cmd) == 0) {
        json_decref(msg);
        return err_set(e, "malformed control request: missing string field \"cmd\"");
    }
    *out = msg;
    return 0;
}

static void req_on_writable(struct loop *loop, struct watcher *w, uint32_t revents);

static void req_flush(struct ctl_req *r)
{
    while (r->off < r->len) {
        ssize_t n = send(r->fd, r->buf + r->off, r->len - r->off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            if (r->server)
                loop_rewatch(r->server->loop, &r->w, EPOLLOUT, NULL);
            return;
        }
        if (n <= 0)
            break;
        r->off += (size_t)n;
    }
    req_free(r);
}

static void req_on_writable(struct loop *loop, struct watcher *w, uint32_t revents)
{
    req_flush(w->data);
}

void ctl_reply(struct ctl_req *r, json_t *reply)
{
    char *text = json_dumps(reply, JSON_COMPACT);
    json_decref(reply);
    if (r->fd < 0 || !text) {
        free(text);
        req_free(r);
        return;
    }
    size_t n = strlen(text);
    free(r->buf);
    r->buf = malloc(n + 1);
    if (!r->buf) {
        free(text);
        req_free(r);
        return;
    }
    memcpy(r->buf, text, n);
    r->buf[n] = '\n';
    free(text);
    r->len = n + 1;
    r->off = 0;
    r->replying = 1;
    if (r->server) {
        r->w.cb = req_on_writable;
        loop_rewatch(r->server->loop, &r->w, 0, NULL);
    }
    req_flush(r);
}

void ctl_reply_ok(struct ctl_req *r, json_t *extra)
{
    json_t *reply = json_object();
    json_object_set_new(reply, "ok", json_true());
    if (extra) {
        json_object_update(reply, extra);
        json_decref(extra);
    }
    ctl_reply(r, reply);
}

void ctl_reply_error(struct ctl_req *r, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    ctl_reply(r, json_pack("{s:b,s:s}", "ok", 0, "error", msg));
}

unsigned ctl_req_uid(const struct ctl_req *req)
{
    return req->uid;
}

static void req_on_readable(struct loop *loop, struct watcher *w, uint32_t revents)
{
    struct ctl_req *r = w->data;
    if (r->dispatched) {
        /* Waiting for a deferred reply: only notice that the client left. */
        char c;
        ssize_t n = recv(r->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) ||
            (revents & (EPOLLHUP | EPOLLERR)))
            req_close_fd(r); /* the handler still owns r until it replies */
        return;
    }
    for (;;) {
        if (r->len == CTL_REQUEST_MAX) {
            ctl_reply_error(r, "control request longer than %d bytes", CTL_REQUEST_MAX);
            return;
        }
        ssize_t n = recv(r->fd, r->buf + r->len, CTL_REQUEST_MAX - r->len, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            req_free(r); /* client left before sending a whole line */
            return;
        }
        char *nl = memchr(r->buf + r->len, '\n', (size_t)n);
        r->len += (size_t)n;
        if (!nl)
            continue;
        size_t line = (size_t)(nl - r->buf);
        struct err e;
        json_t *msg;
        if (ctl_parse_request(r->buf, line, &msg, &e) < 0) {
            log_warn("control: %s", e.msg);
            ctl_reply_error(r, "%s", e.msg);
            return;
        }
        r->dispatched = 1;
        struct ctl_server *s = r->server;
        s->handler(r, json_string_value(json_object_get(msg, "cmd")), msg, s->data);
        json_decref(msg);
        return;
    }
}

static void server_on_accept(struct loop *loop, struct watcher *w, uint32_t revents)
{
    struct ctl_server *s = w->data;
    for (;;) {
        int fd = accept4(s->w.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        struct ucred cred;
        socklen_t len = sizeof(cred);
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
            close(fd);
            continue;
        }
        struct ctl_req *r = calloc(1, sizeof(*r));
        char *buf = malloc(CTL_REQUEST_MAX);
        if (!r || !buf) {
            free(r);
            free(buf);
            close(fd);
            continue;
        }
        r->server = s;
        r->fd = fd;
        r->buf = buf;
        r->uid = cred.uid;
        DLIST_PUSH(s->reqs, r);
        if (loop_watch(loop, &r->w, fd, EPOLLIN | EPOLLRDHUP, req_on_readable, r, NULL) < 0) {
            req_free(r);
            continue;
        }
        if (cred.uid != geteuid() && cred.uid != 0) {
            log_warn("control: refused a request from uid %u (owner is uid %u)", cred.uid,
                     (unsigned)geteuid());
            r->dispatched = 1;
            ctl_reply_error(r,
                            "permission denied: uid %u may not control this baton (owner "
                            "uid %u)",
                            cred.uid, (unsigned)geteuid());
        }
    }
}

static int make_parent_dir(const char *path, struct err *e)
{
    char dir[ADDR_UNIX_PATH_SIZE];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return 0;
    *slash = 0;
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return err_errno(e, errno, "cannot create directory '%s'", dir);
    return 0;
}

int ctl_server_adopt(struct ctl_server **out, struct loop *loop, int fd, const char *path,
                     ctl_handler handler, void *data, struct err *e)
{
    struct ctl_server *s = calloc(1, sizeof(*s));
    if (!s)
        return err_errno(e, ENOMEM, "cannot serve control socket '%s'", path);
    s->loop = loop;
    snprintf(s->path, sizeof(s->path), "%s", path);
    s->handler = handler;
    s->data = data;
    if (loop_watch(loop, &s->w, fd, EPOLLIN, server_on_accept, s, e) < 0) {
        free(s);
        return -1;
    }
    *out = s;
    return 0;
}

int ctl_server_open(struct ctl_server **out, struct loop *loop, const char *path,
                    ctl_handler handler, void *data, struct err *e)
{
    struct sockaddr_un un;
    if (addr_unix(&un, path, "control socket path", e) < 0 || make_parent_dir(path, e) < 0)
        return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return err_errno(e, errno, "cannot create control socket '%s'", path);
    /* A live server on the path means another baton owns this name. */
    if (connect(fd, (struct sockaddr *)&un, sizeof(un)) == 0 || errno == EAGAIN) {
        close(fd);
        return err_set(e,
                       "control socket '%s' is in use by a running baton; stop it or "
                       "choose another --name/--control",
                       path);
    }
    close(fd);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return err_errno(e, errno, "cannot create control socket '%s'", path);
    unlink(path);
    mode_t old = umask(0177);
    int rc = bind(fd, (struct sockaddr *)&un, sizeof(un));
    umask(old);
    if (rc < 0 || chmod(path, 0600) < 0 || listen(fd, 64) < 0) {
        int saved = errno;
        close(fd);
        return err_errno(e, saved, "cannot bind control socket '%s'", path);
    }
    if (ctl_server_adopt(out, loop, fd, path, handler, data, e) < 0) {
        close(fd);
        return -1;
    }
    return 0;
}

int ctl_server_fd(const struct ctl_server *s)
{
    return s->w.fd;
}

void ctl_server_close(struct ctl_server *s, int unlink_path)
{
    if (!s)
        return;
    loop_unwatch(s->loop, &s->w);
    close(s->w.fd);
    if (unlink_path)
        unlink(s->path);
    while (s->reqs) {
        struct ctl_req *r = s->reqs;
        req_unlink(r);
        req_close_fd(r);
        r->server = NULL;
        if (!r->dispatched || r->replying)
            req_free(r);
        /* else the handler still owns r and frees it with its reply */
    }
    free(s);
}

/* --- client ------------------------------------------------------------------- */

static int wait_fd(int fd, short events, int timeout_ms, const char *path, struct err *e)
{
    struct pollfd p = {.fd = fd, .events = events};
    for (;;) {
        int n = poll(&p, 1, timeout_ms > 0 ? timeout_ms : -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return err_errno(e, errno, "cannot wait for control socket '%s'", path);
        if (n == 0)
            return err_set(e, "no reply from '%s' within %d ms", path, timeout_ms);
        return 0;
    }
}

int ctl_call(const char *path, json_t *request, json_t **reply, int timeout_ms, struct err *e)
{
    struct sockaddr_un un;
    if (addr_unix(&un, path, "control socket path", e) < 0)
        return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return err_errno(e, errno, "cannot create socket");
    char *text = NULL, *buf = NULL;
    int rc = -1;
    if (connect(fd, (struct sockaddr *)&un, sizeof(un)) < 0) {
        err_errno(e, errno, "cannot reach baton at '%s' (is it running? see --name/--control)",
                  path);
        goto out;
    }
    text = json_dumps(request, JSON_COMPACT);
    if (!text) {
        err_set(e, "cannot encode control request");
        goto out;
    }
    size_t n = strlen(text);
    text[n] = '\n'; /* json_dumps leaves room only for the NUL we overwrite; send n+1 */
    for (size_t off = 0; off < n + 1;) {
        ssize_t w = send(fd, text + off, n + 1 - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EPIPE)
            break; /* the server answered early (e.g. refused our uid): read its reply */
        if (w < 0) {
            err_errno(e, errno, "cannot send to '%s'", path);
            goto out;
        }
        off += (size_t)w;
    }
    size_t cap = 1 << 20, len = 0;
    buf = malloc(cap);
    if (!buf) {
        err_errno(e, ENOMEM, "cannot read reply");
        goto out;
    }
    for (;;) {
        if (wait_fd(fd, POLLIN, timeout_ms, path, e) < 0)
            goto out;
        ssize_t r = recv(fd, buf + len, cap - len, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            err_errno(e, errno, "cannot read reply from '%s'", path);
            goto out;
        }
        if (r == 0)
            break;
        len += (size_t)r;
        if (memchr(buf + len - (size_t)r, '\n', (size_t)r) || len == cap)
            break;
    }
    if (ctl_parse_reply(buf, len, path, reply, e) < 0)
        goto out;
    rc = 0;
out:
    free(text);
    free(buf);
    close(fd);
    return rc;
}

int ctl_parse_reply(const char *buf, size_t len, const char *path, json_t **out, struct err *e)
{
    *out = NULL;
    if (len == 0)
        return err_set(e, "'%s' closed the connection without a reply", path);
    json_error_t je;
    *out = json_loadb(buf, len, JSON_DISABLE_EOF_CHECK, &je);
    if (!*out)
        return err_set(e, "malformed reply from '%s': %s", path, je.text);
    return 0;
}

int ctl_reply_check(json_t *reply, struct err *e)
{
    if (json_is_true(json_object_get(reply, "ok")))
        return 0;
    const char *msg = json_string_value(json_object_get(reply, "error"));
    return err_set(e, "%s", msg ? msg : "request failed without a reason");
}

int ctl_default_path(const char *name, char *buf, size_t size, struct err *e)
{
    const char *rt = getenv("XDG_RUNTIME_DIR");
    int n;
    if (rt && *rt)
        n = snprintf(buf, size, "%s/baton/%s.sock", rt, name);
    else
        n = snprintf(buf, size, "/tmp/baton-%u/%s.sock", (unsigned)geteuid(), name);
    if (n < 0 || (size_t)n >= size || (size_t)n > ADDR_UNIX_PATH_MAX)
        return err_set(e, "control socket path for name '%s' is too long; use --control", name);
    return 0;
}
