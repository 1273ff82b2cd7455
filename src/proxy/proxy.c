/* The proxy engine's core: accepting clients (bounded by max_conns), choosing a
 * backend and connecting with retries on other backends, the idle pool of backend
 * connections, the buffer pool, idle/connect deadlines, drain deadlines and the
 * graceful stop. The relaying itself is a relay's (relay.h), chosen at accept time and
 * reached only through its table: this file names no protocol. */
#include "proxy/proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/dlist.h"
#include "core/log.h"
#include "proxy/conn.h"

static void listeners_watch(struct proxy *p, int on)
{
    for (struct listener *l = p->listeners; l; l = l->next) {
        if (on && !l->w.active)
            loop_watch(p->loop, &l->w, l->w.fd, EPOLLIN, l->w.cb, l, NULL);
        else if (!on)
            loop_unwatch(p->loop, &l->w);
    }
}

static void on_accept_timer(struct loop *loop, struct timer *t)
{
    struct proxy *p = t->data;
    p->accept_paused = 0;
    if (!p->stopping && p->nconns < (size_t)p->cfg.max_conns)
        listeners_watch(p, 1);
}

static void pause_accept(struct proxy *p, int retry_ms)
{
    if (p->accept_paused)
        return;
    p->accept_paused = 1;
    listeners_watch(p, 0);
    if (retry_ms > 0)
        timer_start(p->loop, &p->accept_timer, (uint64_t)retry_ms, on_accept_timer, p);
}

static void on_timer(struct loop *loop, struct timer *t);

void conn_arm_idle(struct conn *c)
{
    c->last_active_ms = loop_now_ms(c->p->loop);
    timer_start(c->p->loop, &c->timer, (uint64_t)c->p->cfg.idle_timeout_ms, on_timer, c);
}

static void peer_text(const struct sockaddr_storage *ss, char *buf, size_t size)
{
    char host[INET6_ADDRSTRLEN] = "unix";
    if (ss->ss_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, host, sizeof(host));
    else if (ss->ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, host, sizeof(host));
    snprintf(buf, size, "%s", host);
}

static void on_listener(struct loop *loop, struct watcher *w, uint32_t revents)
{
    struct listener *l = w->data;
    struct proxy *p = l->p;
    for (int i = 0; i < 64; i++) {
        if (p->nconns >= (size_t)p->cfg.max_conns) {
            /* leave the rest in the kernel's queue until a connection ends */
            if (!p->accept_paused)
                log_warn("proxy: %d connections open (--max-conns); accepting paused",
                         p->cfg.max_conns);
            p->refused_full++;
            l->limited[LIMIT_MAX_CONNS]++;
            pause_accept(p, 0);
            return;
        }
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        int fd = accept4(w->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                log_warn("proxy: cannot accept: %s; pausing accept for 100 ms", strerror(errno));
                l->limited[LIMIT_FDS]++;
                pause_accept(p, 100);
            }
            return;
        }
        struct conn *c = calloc(1, sizeof(*c));
        if (!c) {
            close(fd);
            return;
        }
        if (ss.ss_family != AF_UNIX) {
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        }
        c->p = p;
        c->relay = relay_for_mode(p->cfg.mode);
        c->cfd = fd;
        c->bfd = -1;
        peer_text(&ss, c->peer, sizeof(c->peer));
        DLIST_PUSH(p->conns, c);
        p->nconns++;
        p->accepted++;
        l->accepted++;
        if (c->relay->start(c) < 0)
            conn_close(c);
    }
}

int proxy_add_listener(struct proxy *p, int fd, struct err *e)
{
    struct listener *l = calloc(1, sizeof(*l));
    if (!l)
        return err_errno(e, ENOMEM, "cannot add listener");
    l->p = p;
    struct addr a;
    if (addr_from_fd(fd, &a, NULL) == 0) {
        snprintf(l->name, sizeof(l->name), "%s", a.text);
        l->tcp = a.family != AF_UNIX;
    } else {
        snprintf(l->name, sizeof(l->name), "fd %d", fd);
    }
    if (loop_watch(p->loop, &l->w, fd, EPOLLIN, on_listener, l, e) < 0) {
        free(l);
        return -1;
    }
    l->next = p->listeners;
    p->listeners = l;
    return 0;
}

/* --- backend side ------------------------------------------------------------- */

static void backend_link(struct conn *c, struct backend *b)
{
    pool_backend_ref(b);
    c->backend = b;
    c->bprev = NULL;
    c->bnext = b->conn_list;
    if (c->bnext)
        c->bnext->bprev = c;
    b->conn_list = c;
    pool_conn_opened(b);
    c->counted = 1;
}

void conn_drop_backend(struct conn *c)
{
    struct backend *b = c->backend;
    if (c->bfd >= 0) {
        loop_unwatch(c->p->loop, &c->bc->w);
        close(c->bfd);
        loop_defer_free(c->p->loop, c->bc);
        c->bc = NULL;
        c->bfd = -1;
    }
    c->bconnecting = 0;
    c->parked = 0;
    if (!b)
        return;
    if (c->bprev)
        c->bprev->bnext = c->bnext;
    else if (b->conn_list == c)
        b->conn_list = c->bnext;
    if (c->bnext)
        c->bnext->bprev = c->bprev;
    c->bnext = c->bprev = NULL;
    c->backend = NULL;
    if (c->counted) {
        c->counted = 0;
        if (pool_conn_closed(b))
            log_info("proxy: backend '%s' (%s) drained: no connection left", b->name, b->addr.text);
    }
    pool_backend_unref(b);
}

/* --- idle backend connections (http mode) ------------------------------------ */

#define IDLE_PER_BACKEND_MAX 256

/* Takes bc out of its backend's idle pool: still watched when kept (its new user sets
 * the callback), else closed. */
static void idle_unlink(struct bconn *bc, int keep)
{
    struct backend *b = bc->b;
    DLIST_UNLINK(b->idle_list, bc);
    bc->next = bc->prev = NULL;
    bc->b = NULL;
    b->nidle--;
    if (!keep) {
        loop_unwatch(bc->p->loop, &bc->w);
        close(bc->w.fd);
        loop_defer_free(bc->p->loop, bc);
    }
    pool_backend_unref(b);
}

static void on_idle_event(struct loop *loop, struct watcher *w, uint32_t revents)
{
    /* an idle connection has nothing to say: any event means the backend closed it */
    idle_unlink(w->data, 0);
}

void conn_release_backend(struct conn *c)
{
    struct proxy *p = c->p;
    struct backend *b = c->backend;
    if (!b || c->bfd < 0 || c->bconnecting || !pool_eligible(p->table, b) ||
        b->nidle >= IDLE_PER_BACKEND_MAX) {
        conn_drop_backend(c);
        return;
    }
    struct bconn *bc = c->bc;
    bc->w.cb = on_idle_event;
    bc->w.data = bc;
    if (loop_rewatch(p->loop, &bc->w, EPOLLIN | EPOLLRDHUP, NULL) < 0) {
        conn_drop_backend(c);
        return;
    }
    c->bc = NULL;
    c->bfd = -1; /* now the pool's */
    pool_backend_ref(b);
    bc->b = b;
    DLIST_PUSH(b->idle_list, bc);
    b->nidle++;
    conn_drop_backend(c);
}

void proxy_idle_flush(struct proxy *p, struct backend *b)
{
    pool_backend_ref(b);
    while (b->idle_list)
        idle_unlink(b->idle_list, 0);
    struct conn *c = b->conn_list;
    while (c) {
        struct conn *next = c->bnext;
        if (c->parked)
            conn_drop_backend(c);
        c = next;
    }
    pool_backend_unref(b);
}

void conn_park_backend(struct conn *c)
{
    struct backend *b = c->backend;
    if (!b || c->bfd < 0 || c->bconnecting || !pool_eligible(c->p->table, b)) {
        conn_drop_backend(c);
        return;
    }
    c->parked = 1;
    if (c->counted) {
        c->counted = 0;
        pool_conn_closed(b);
    }
}

#define FREE_BUFS_MAX 1024

char *proxy_buf_get(struct proxy *p)
{
    struct free_buf *f = p->free_bufs;
    if (f) {
        p->free_bufs = f->next;
        p->nfree_bufs--;
        return (char *)f;
    }
    return malloc(p->buf_size);
}

void proxy_buf_put(struct proxy *p, char *buf)
{
    if (!buf)
        return;
    if (p->nfree_bufs >= FREE_BUFS_MAX) {
        free(buf);
        return;
    }
    struct free_buf *f = (struct free_buf *)(void *)buf; /* malloc'd: aligned */
    f->next = p->free_bufs;
    p->free_bufs = f;
    p->nfree_bufs++;
}

size_t proxy_pipe(int fds[2])
{
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0)
        return 0;
    /* best effort: past the user's pipe quota the kernel refuses, the default stays */
    fcntl(fds[1], F_SETPIPE_SZ, PROXY_PIPE_BYTES);
    int size = fcntl(fds[1], F_GETPIPE_SZ);
    return size > 0 ? (size_t)size : 65536;
}

/* After a failed connect: the next backend, or the relay's answer to no backend. */
static void connect_next(struct conn *c)
{
    int rc = conn_connect_backend(c);
    if (rc != 0)
        c->relay->backend_ready(c, rc > 0);
}

static void on_backend_connect(struct loop *loop, struct watcher *w, uint32_t revents)
{
    struct conn *c = w->data;
    struct backend *b = c->backend;
    struct err e;
    if (addr_connect_result(c->bfd, &b->addr, &e) == 0) {
        c->bconnecting = 0; /* the watcher stays: the relay takes it over */
        c->relay->backend_ready(c, 1);
        return;
    }
    b->failures++;
    log_warn("proxy: backend '%s': %s; trying another", b->name, e.msg);
    health_passive_fail(c->p, b);
    conn_drop_backend(c);
    connect_next(c);
}

int conn_watch_backend(struct conn *c, uint32_t events, watcher_cb cb)
{
    struct watcher *w = &c->bc->w;
    w->cb = cb;
    w->data = c;
    return loop_rewatch(c->p->loop, w, events, NULL);
}

int conn_connect_backend(struct conn *c)
{
    struct proxy *p = c->p;
    int limit = p->cfg.retries + 1 < CONN_TRIES_MAX ? p->cfg.retries + 1 : CONN_TRIES_MAX;
    while (c->ntried < limit) {
        struct backend *b = pool_pick(p->table, c->tried, c->ntried);
        if (!b)
            return -1;
        if (c->ntried)
            c->tried[c->ntried - 1]->retries++;
        c->tried[c->ntried++] = b;
        struct err e;
        if (c->parked) {
            if (c->backend == b) {
                /* the connection kept from the previous request: no epoll change */
                c->parked = 0;
                c->breused = 1;
                pool_conn_opened(b);
                c->counted = 1;
                return 1;
            }
            c->parked = 0;
            conn_release_backend(c); /* to its backend's pool, for other clients */
        }
        if (c->relay->pools_backends && b->idle_list) {
            struct bconn *bc = b->idle_list;
            idle_unlink(bc, 1);
            bc->w.data = c; /* the relay sets its callback before the loop runs again */
            c->bc = bc;
            c->bfd = bc->w.fd;
            c->breused = 1;
            backend_link(c, b);
            return 1;
        }
        c->breused = 0;
        struct bconn *bc = calloc(1, sizeof(*bc));
        int fd = bc ? addr_connect(&b->addr, &e) : err_errno(&e, ENOMEM, "out of memory");
        if (fd < 0) {
            free(bc);
            b->failures++;
            log_warn("proxy: backend '%s': %s; trying another", b->name, e.msg);
            health_passive_fail(p, b);
            continue;
        }
        bc->p = p;
        c->bc = bc;
        c->bfd = fd;
        c->bconnecting = 1;
        backend_link(c, b);
        if (loop_watch(p->loop, &bc->w, fd, EPOLLOUT, on_backend_connect, c, &e) < 0) {
            close(fd);
            free(bc);
            c->bc = NULL;
            c->bfd = -1;
            conn_drop_backend(c);
            continue;
        }
        timer_start(p->loop, &c->timer, (uint64_t)p->cfg.connect_timeout_ms, on_timer, c);
        return 0;
    }
    return -1;
}

static void on_timer(struct loop *loop, struct timer *t)
{
    struct conn *c = t->data;
    struct proxy *p = c->p;
    if (c->bconnecting) {
        struct backend *b = c->backend;
        b->failures++;
        log_warn("proxy: backend '%s': cannot connect to '%s' within %d ms; trying another",
                 b->name, b->addr.text, p->cfg.connect_timeout_ms);
        health_passive_fail(p, b);
        conn_drop_backend(c);
        connect_next(c);
        return;
    }
    uint64_t now = loop_now_ms(loop);
    uint64_t due = c->last_active_ms + (uint64_t)p->cfg.idle_timeout_ms;
    if (now < due) {
        timer_start(loop, t, due - now, on_timer, c);
        return;
    }
    log_info("proxy: client %s idle for %d ms; closing", c->peer, p->cfg.idle_timeout_ms);
    conn_close(c);
}

void conn_close(struct conn *c)
{
    struct proxy *p = c->p;
    timer_stop(p->loop, &c->timer);
    c->relay->free(c);
    conn_drop_backend(c);
    if (c->cfd >= 0) {
        loop_unwatch(p->loop, &c->cw);
        close(c->cfd);
        c->cfd = -1;
    }
    DLIST_UNLINK(p->conns, c);
    p->nconns--;
    loop_defer_free(p->loop, c);
    if (p->accept_paused && !timer_armed(&p->accept_timer) && !p->stopping &&
        p->nconns < (size_t)p->cfg.max_conns) {
        p->accept_paused = 0;
        listeners_watch(p, 1);
    }
    if (p->stopping)
        proxy_check_done(p);
}

/* --- drain deadlines ------------------------------------------------------------ */

static void on_drain_timer(struct loop *loop, struct timer *t);

static void drain_rearm(struct proxy *p)
{
    uint64_t next = 0;
    for (struct backend *b = pool_first(p->table); b; b = b->next)
        if (b->state == BACKEND_DRAINING && b->drain_until && (!next || b->drain_until < next))
            next = b->drain_until;
    if (!next) {
        timer_stop(p->loop, &p->drain_timer);
        return;
    }
    uint64_t now = clock_now_ms();
    timer_start(p->loop, &p->drain_timer, next > now ? next - now : 0, on_drain_timer, p);
}

static void on_drain_timer(struct loop *loop, struct timer *t)
{
    struct proxy *p = t->data;
    uint64_t now = clock_now_ms();
    for (struct backend *b = pool_first(p->table); b; b = b->next) {
        if (b->state != BACKEND_DRAINING || !b->drain_until || b->drain_until > now)
            continue;
        int cut = 0;
        pool_backend_ref(b);
        proxy_idle_flush(p, b);
        while (b->conn_list) {
            conn_close(b->conn_list);
            cut++;
        }
        b->drain_until = 0;
        log_info("proxy: drain timeout of backend '%s' cut %d connection%s", b->name, cut,
                 cut == 1 ? "" : "s");
        pool_backend_unref(b);
    }
    drain_rearm(p);
}

/* Called after a backend entered drain (admin or switch): idle http connections let
 * it go now; the deadline timer is re-armed. */
void proxy_backend_drained(struct proxy *p, struct backend *b)
{
    proxy_idle_flush(p, b);
    drain_rearm(p);
}

/* --- life cycle --------------------------------------------------------------- */

int proxy_new(struct proxy **out, struct loop *loop, const struct proxy_config *cfg,
              struct pool_table *table, struct err *e)
{
    struct proxy *p = calloc(1, sizeof(*p));
    if (!p)
        return err_errno(e, ENOMEM, "cannot create proxy");
    p->loop = loop;
    p->cfg = *cfg;
    if (p->cfg.buffer_bytes < 1024)
        p->cfg.buffer_bytes = 1024;
    if (p->cfg.header_max_bytes < 256)
        p->cfg.header_max_bytes = 256;
    p->table = table;
    p->buf_size = (p->cfg.buffer_bytes > p->cfg.header_max_bytes ? p->cfg.buffer_bytes
                                                                 : p->cfg.header_max_bytes) +
                  512;
    p->scratch = malloc(p->cfg.buffer_bytes);
    if (!p->scratch || health_start(p, e) < 0) {
        free(p->scratch);
        free(p);
        return err_errno(e, ENOMEM, "cannot create proxy");
    }
    for (struct backend *b = pool_first(table); b; b = b->next)
        health_track(p, b);
    drain_rearm(p);
    *out = p;
    return 0;
}

struct pool_table *proxy_table(struct proxy *p)
{
    return p->table;
}

size_t proxy_connections(const struct proxy *p)
{
    return p->nconns;
}

void proxy_check_done(struct proxy *p)
{
    if (p->stopping && p->nconns == 0 && p->done) {
        proxy_done_cb done = p->done;
        p->done = NULL;
        timer_stop(p->loop, &p->stop_timer);
        done(p, p->done_data);
    }
}

static void on_stop_timer(struct loop *loop, struct timer *t)
{
    struct proxy *p = t->data;
    if (p->nconns)
        log_warn("proxy: stop timeout: cutting %zu connection%s", p->nconns,
                 p->nconns == 1 ? "" : "s");
    while (p->conns)
        conn_close(p->conns);
    proxy_check_done(p);
}

void proxy_shutdown(struct proxy *p, int timeout_ms, proxy_done_cb done, void *data)
{
    p->done = done;
    p->done_data = data;
    if (!p->stopping) {
        p->stopping = 1;
        timer_stop(p->loop, &p->accept_timer);
        while (p->listeners) {
            struct listener *l = p->listeners;
            p->listeners = l->next;
            loop_unwatch(p->loop, &l->w);
            close(l->w.fd);
            /* an event of this listener may still be pending in the loop's batch */
            loop_defer_free(p->loop, l);
        }
        struct conn *c = p->conns;
        while (c) {
            struct conn *next = c->next;
            c->relay->stop(c);
            c = next;
        }
        if (timeout_ms > 0)
            timer_start(p->loop, &p->stop_timer, (uint64_t)timeout_ms, on_stop_timer, p);
    }
    proxy_check_done(p);
}

void proxy_free(struct proxy *p)
{
    if (!p)
        return;
    while (p->conns)
        conn_close(p->conns);
    while (p->listeners) {
        struct listener *l = p->listeners;
        p->listeners = l->next;
        loop_unwatch(p->loop, &l->w);
        close(l->w.fd);
        free(l);
    }
    timer_stop(p->loop, &p->drain_timer);
    timer_stop(p->loop, &p->accept_timer);
    timer_stop(p->loop, &p->stop_timer);
    for (struct backend *b = pool_first(p->table); b; b = b->next)
        proxy_idle_flush(p, b);
    health_free(p);
    pool_table_free(p->table);
    while (p->free_bufs) {
        struct free_buf *f = p->free_bufs;
        p->free_bufs = f->next;
        free(f);
    }
    free(p->scratch);
    free(p);
}

void proxy_state_changed(struct proxy *p)
{
    if (!p->cfg.state_file[0])
        return;
    struct err e;
    if (pool_save(p->table, p->cfg.state_file, &e) < 0)
        log_error("proxy: %s", e.msg);
}
