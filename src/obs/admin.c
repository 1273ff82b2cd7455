/* The admin listener's sockets: accept, read one request under a deadline, write the
 * whole response, close. Connections are few and short, so each is a small struct on a
 * list; a full list makes new connections wait in the kernel's queue. */
#include "obs/admin.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/addr.h"
#include "core/dlist.h"
#include "core/log.h"

struct admin_conn {
    struct admin *a;
    struct admin_conn *next, *prev;
    struct watcher w;
    struct timer deadline;
    struct admin_parser ap;
    struct expo out;
    size_t sent;
    int lingering; /* response sent: reading what the peer still sends until it closes */
};

struct admin {
    struct loop *loop;
    struct watcher lw;
    struct addr addr;
    struct admin_hooks hooks;
    char token[ADMIN_TOKEN_MAX + 1];
    struct admin_conn *conns;
    int nconns, paused;
};

static void on_listen(struct loop *loop, struct watcher *w, uint32_t revents);

static void conn_close(struct admin_conn *c)
{
    struct admin *a = c->a;
    loop_unwatch(a->loop, &c->w);
    close(c->w.fd);
    timer_stop(a->loop, &c->deadline);
    expo_free(&c->out);
    DLIST_UNLINK(a->conns, c);
    a->nconns--;
    loop_defer_free(a->loop, c);
    if (a->paused) {
        struct err e;
        if (loop_rewatch(a->loop, &a->lw, EPOLLIN, &e) == 0)
            a->paused = 0;
    }
}

static void on_deadline(struct loop *loop, struct timer *t)
{
    conn_close(t->data);
}

static void conn_write(struct admin_conn *c)
{
    while (c->sent < c->out.len) {
        ssize_t n = send(c->w.fd, c->out.buf + c->sent, c->out.len - c->sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct err e;
            if (c->w.events != EPOLLOUT && loop_rewatch(c->a->loop, &c->w, EPOLLOUT, &e) < 0)
                break;
            return;
        }
        if (n <= 0)
            break;
        c->sent += (size_t)n;
    }
    /* A lingering close: closing with unread bytes would reset the connection and could
     * destroy the response before the peer reads it (a refused oversized request). */
    struct err e;
    if (c->sent < c->out.len || shutdown(c->w.fd, SHUT_WR) < 0 ||
        loop_rewatch(c->a->loop, &c->w, EPOLLIN, &e) < 0) {
        conn_close(c);
        return;
    }
    c->lingering = 1;
    expo_free(&c->out);
    timer_start(c->a->loop, &c->deadline, ADMIN_LINGER_MS, on_deadline, c);
}

/* A request read whole, or refused: the response is built at once and written. */
static void conn_answer(struct admin_conn *c, int rc)
{
    if (rc == 1)
        admin_respond(&c->a->hooks, c->a->token, &c->ap.req, &c->out);
    else
        admin_respond_error(rc, "malformed or oversized request", &c->out);
    if (c->out.failed) {
        conn_close(c);
        return;
    }
    conn_write(c);
}

static void on_conn(struct loop *loop, struct watcher *w, uint32_t revents)
{
    struct admin_conn *c = w->data;
    if (c->out.len && !c->lingering) {
        conn_write(c);
        return;
    }
    char buf[4096];
    for (int budget = 0; budget < 64; budget++) {
        ssize_t n = recv(w->fd, buf, sizeof(buf), 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            conn_close(c); /* closed: before a whole request, or after the response */
            return;
        }
        if (c->lingering)
            continue; /* discarded */
        int rc = admin_parser_feed(&c->ap, buf, (size_t)n);
        if (rc != 0) {
            conn_answer(c, rc);
            return;
        }
    }
}

static void on_listen(struct loop *loop, struct watcher *w, uint32_t revents)
{
    struct admin *a = w->data;
    for (int i = 0; i < 16; i++) {
        if (a->nconns >= ADMIN_CONNS_MAX) {
            struct err e;
            if (loop_rewatch(loop, &a->lw, 0, &e) == 0)
                a->paused = 1;
            return;
        }
        int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        struct admin_conn *c = calloc(1, sizeof(*c));
        struct err e;
        if (!c || loop_watch(loop, &c->w, fd, EPOLLIN, on_conn, c, &e) < 0) {
            free(c);
            close(fd);
            return;
        }
        c->a = a;
        admin_parser_init(&c->ap);
        expo_init(&c->out);
        DLIST_PUSH(a->conns, c);
        a->nconns++;
        timer_start(loop, &c->deadline, ADMIN_DEADLINE_MS, on_deadline, c);
    }
}

int admin_open(struct admin **out, struct loop *loop, const char *addr, const char *token_file,
               const struct admin_hooks *hooks, struct err *e)
{
    struct admin *a = calloc(1, sizeof(*a));
    if (!a)
        return err_errno(e, ENOMEM, "cannot open the admin listener");
    a->loop = loop;
    a->hooks = *hooks;
    a->lw.fd = -1;
    if ((token_file && token_file[0] &&
         admin_read_token(token_file, a->token, sizeof(a->token), e) < 0) ||
        addr_parse(addr, 0, &a->addr, e) < 0)
        goto fail;
    int fd = addr_listen(&a->addr, 64, e);
    if (fd < 0)
        goto fail;
    if (loop_watch(loop, &a->lw, fd, EPOLLIN, on_listen, a, e) < 0) {
        close(fd);
        goto fail;
    }
    log_info("admin listener on %s (%s)", a->addr.text,
             a->token[0] ? "changes allowed with the admin token" : "read-only");
    *out = a;
    return 0;
fail:
    free(a);
    return err_wrap(e, "--metrics '%s'", addr);
}

void admin_close(struct admin *a)
{
    if (!a)
        return;
    while (a->conns)
        conn_close(a->conns);
    if (a->lw.active) {
        loop_unwatch(a->loop, &a->lw);
        close(a->lw.fd);
    }
    explicit_bzero(a->token, sizeof(a->token));
    if (a->hooks.free_data)
        a->hooks.free_data(a->hooks.data);
    free(a);
}
