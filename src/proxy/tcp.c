/* tcp mode: relays bytes both ways between client and backend. The splice path moves
 * them through a pipe per direction without copying to user space; the copy path uses
 * one bounded buffer per direction. --relay auto (the default) starts each direction
 * on the copy path, cheaper for small messages, and moves it to splice once a read
 * fills the whole buffer (a bulk transfer); --relay splice / copy force one path, and
 * a socket that cannot splice falls back to copy. A full pipe or buffer stops reading its source
 * (backpressure), so memory per connection is fixed. EOF on one side is passed on as
 * shutdown(SHUT_WR). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "proxy/conn.h"

static int dir_src(const struct conn *c, int d)
{
    return d == 0 ? c->cfd : c->bfd;
}

static int dir_dst(const struct conn *c, int d)
{
    return d == 0 ? c->bfd : c->cfd;
}

static size_t dir_pending(const struct tcp_dir *t)
{
    return t->in_pipe + (t->len - t->off);
}

#define SPLICE_STREAMING_BYTES (64 * 1024) /* a splice read this large: more is coming */

/* One read of direction t on the splice path: 1 to go on, 0 to wait, -1 on error. */
static int read_splice(struct conn *c, struct tcp_dir *t, int src, int *drained)
{
    if (t->pipe[0] < 0 && (t->pipe_size = proxy_pipe(t->pipe)) == 0) {
        log_warn("proxy: cannot create a pipe (%s); relaying client %s by copy", strerror(errno),
                 c->peer);
        t->splice = 0;
        return 1;
    }
    ssize_t n =
        splice(src, NULL, t->pipe[1], NULL, t->pipe_size, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n < 0) {
        if (errno == EAGAIN)
            return 0;
        if (errno == EINVAL || errno == ENOSYS)
            t->splice = 0; /* this socket type cannot splice */
        return errno == EINTR || !t->splice ? 1 : -1;
    }
    if (n == 0)
        t->eof = 1;
    /* A read shorter than the pipe does not mean the socket is empty: a socket holds
     * at most its receive buffer (about 1 MB when grown), so a streaming sender's
     * reads are all "short". Only a small read says the sender paused; after a large
     * one the loop reads again once the pipe is flushed (the sender has likely refilled
     * the socket meanwhile), instead of going back to epoll for every megabyte. */
    *drained = (size_t)n < t->pipe_size && (size_t)n < SPLICE_STREAMING_BYTES;
    if (c->backend)
        c->backend->bytes[t - c->dir] += (uint64_t)n;
    t->in_pipe = (size_t)n;
    c->last_active_ms = loop_now_ms(c->p->loop);
    return 1;
}

/* One read of direction t on the copy path: into the proxy's scratch buffer and sent at
 * once; only bytes the destination cannot take now are kept, in a buffer of t. */
static int read_copy(struct conn *c, struct tcp_dir *t, int src, int dst, int *drained)
{
    char *scratch = c->p->scratch;
    ssize_t n = recv(src, scratch, c->p->cfg.buffer_bytes, 0);
    if (n < 0)
        return errno == EAGAIN ? 0 : errno == EINTR ? 1 : -1;
    if (n == 0) {
        t->eof = 1;
        return 1;
    }
    *drained = (size_t)n < c->p->cfg.buffer_bytes;
    if (c->backend)
        c->backend->bytes[t - c->dir] += (uint64_t)n;
    if (!*drained && c->p->cfg.relay == RELAY_AUTO)
        t->splice = 1; /* a bulk transfer: splice from now on */
    c->last_active_ms = loop_now_ms(c->p->loop);
    ssize_t w = send(dst, scratch, (size_t)n, MSG_NOSIGNAL);
    if (w < 0 && errno != EAGAIN && errno != EINTR)
        return -1;
    if (w < 0)
        w = 0;
    if (w < n) {
        t->buf = proxy_buf_get(c->p);
        if (!t->buf)
            return -1;
        memcpy(t->buf, scratch + w, (size_t)(n - w));
        t->off = 0;
        t->len = (size_t)(n - w);
    }
    return 1;
}

/* One write toward dst of what t holds: from its pipe (splice path) when that holds
 * bytes, else from its buffer (copy path). Returns the bytes written, or -1 with errno
 * set. */
static ssize_t write_pending(struct tcp_dir *t, int dst)
{
    ssize_t n;
    if (t->in_pipe > 0) {
        n = splice(t->pipe[0], NULL, dst, NULL, t->in_pipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n > 0)
            t->in_pipe -= (size_t)n;
    } else {
        n = send(dst, t->buf + t->off, t->len - t->off, MSG_NOSIGNAL);
        if (n > 0)
            t->off += (size_t)n;
    }
    return n;
}

/* Moves what it can in direction d. Returns -1 on a hard error, else 0. */
static int pump(struct conn *c, int d)
{
    struct tcp_dir *t = &c->dir[d];
    int src = dir_src(c, d), dst = dir_dst(c, d);
    int drained = 0; /* the last read returned less than asked: the socket is empty */
    for (int round = 0; round < 16; round++) {
        /* flush what is pending */
        if (t->in_pipe > 0 || t->off < t->len) {
            int from_pipe = t->in_pipe > 0;
            if (write_pending(t, dst) < 0) {
                if (errno == EAGAIN)
                    return 0;
                if (errno == EINTR)
                    continue;
                return -1;
            }
            if (from_pipe ? t->in_pipe > 0 : t->off < t->len)
                continue;
            if (!from_pipe) {
                t->off = t->len = 0;
                proxy_buf_put(c->p, t->buf); /* an idle direction holds no buffer */
                t->buf = NULL;
            }
        }
        if (t->eof) {
            if (!t->shut) {
                shutdown(dst, SHUT_WR);
                t->shut = 1;
            }
            return 0;
        }
        if (drained)
            return 0; /* level-triggered epoll reports more data if it comes */
        int r = t->splice ? read_splice(c, t, src, &drained) : read_copy(c, t, src, dst, &drained);
        if (r <= 0)
            return r;
    }
    return 0;
}

/* Watches for what each direction waits on: its source readable when nothing is
 * pending, its destination writable when something is. */
static void rewatch(struct conn *c)
{
    uint32_t ev[2] = {0, 0}; /* [0] client fd, [1] backend fd */
    for (int d = 0; d < 2; d++) {
        struct tcp_dir *t = &c->dir[d];
        int src_i = d == 0 ? 0 : 1, dst_i = d == 0 ? 1 : 0;
        if (dir_pending(t) > 0)
            ev[dst_i] |= EPOLLOUT;
        else if (!t->eof)
            ev[src_i] |= EPOLLIN;
    }
    loop_rewatch(c->p->loop, &c->cw, ev[0], NULL);
    loop_rewatch(c->p->loop, &c->bc->w, ev[1], NULL);
}

static int finished(const struct conn *c)
{
    return c->dir[0].shut && c->dir[1].shut;
}

static void on_io(struct loop *loop, struct watcher *w, uint32_t revents)
{
    struct conn *c = w->data;
    int is_client = w == &c->cw;
    /* IN on a fd feeds the direction it is the source of; OUT drains the one it is the
     * destination of; errors and hang-ups run both so that they are noticed. */
    int run[2] = {0, 0};
    if (revents & (EPOLLERR | EPOLLHUP))
        run[0] = run[1] = 1;
    if (revents & EPOLLIN)
        run[is_client ? 0 : 1] = 1;
    if (revents & EPOLLOUT)
        run[is_client ? 1 : 0] = 1;
    for (int d = 0; d < 2; d++) {
        if (run[d] && pump(c, d) < 0) {
            conn_close(c);
            return;
        }
    }
    if (finished(c)) {
        conn_close(c);
        return;
    }
    rewatch(c);
}

static int tcp_start(struct conn *c);

static void tcp_backend_ready(struct conn *c, int ok)
{
    if (!ok) {
        log_warn("proxy: no backend could take client %s; closing it", c->peer);
        conn_close(c);
        return;
    }
    if (tcp_start(c) < 0)
        conn_close(c);
}

static int tcp_start(struct conn *c)
{
    struct proxy *p = c->p;
    c->dir[0].splice = c->dir[1].splice = p->cfg.relay == RELAY_SPLICE;
    conn_arm_idle(c);
    if (loop_watch(p->loop, &c->cw, c->cfd, EPOLLIN, on_io, c, NULL) < 0 ||
        conn_watch_backend(c, EPOLLIN, on_io) < 0)
        return -1;
    /* bytes the client sent while we connected are waiting: move them now */
    if (pump(c, 0) < 0)
        return -1;
    rewatch(c);
    return 0;
}

/* A client was accepted: its backend connect starts at once. */
static int tcp_accepted(struct conn *c)
{
    c->dir[0].pipe[0] = c->dir[0].pipe[1] = c->dir[1].pipe[0] = c->dir[1].pipe[1] = -1;
    if (conn_connect_backend(c) < 0) {
        log_warn("proxy: no backend available for client %s (active pool '%s')", c->peer,
                 pool_active(c->p->table));
        return -1;
    }
    return 0;
}

/* The proxy stops: a tcp connection finishes on its own (or at the stop timeout). */
static void tcp_stop(struct conn *c)
{
}

static void tcp_free(struct conn *c)
{
    for (int d = 0; d < 2; d++) {
        struct tcp_dir *t = &c->dir[d];
        for (int i = 0; i < 2; i++)
            if (t->pipe[i] >= 0) {
                close(t->pipe[i]);
                t->pipe[i] = -1;
            }
        proxy_buf_put(c->p, t->buf);
        t->buf = NULL;
    }
}

const struct relay relay_tcp = {
    .name = "tcp",
    .pools_backends = 0,
    .start = tcp_accepted,
    .backend_ready = tcp_backend_ready,
    .stop = tcp_stop,
    .free = tcp_free,
};
