/* Health checks: every interval each backend gets a connect (or an HTTP GET of the
 * configured path, answered 2xx/3xx); `fall` failures in a row take it out, `rise`
 * successes put it back. A connect refused during traffic counts as a failure at once,
 * so the next client is not sent to a backend that just refused one, unless it is the
 * only backend clients can go to: then the checks alone take it out. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "proxy/conn.h"

struct check {
    struct proxy *p;
    struct backend *b;
    struct timer timer;
    struct watcher w;
    int fd;
    int sending, reading;
    int fails, oks;
    char buf[256];
    size_t len;
};

int health_start(struct proxy *p, struct err *e)
{
    return 0;
}

static void check_close_fd(struct check *k)
{
    if (k->fd >= 0) {
        loop_unwatch(k->p->loop, &k->w);
        close(k->fd);
        k->fd = -1;
    }
    k->sending = k->reading = 0;
}

static void on_check_timer(struct loop *loop, struct timer *t);

static void verdict(struct check *k, int ok, const char *why)
{
    struct backend *b = k->b;
    struct proxy *p = k->p;
    check_close_fd(k);
    if (ok) {
        k->fails = 0;
        k->oks++;
        if (!b->healthy && k->oks >= p->cfg.health_rise) {
            backend_event(b, BEV_HEALTH_OK);
            log_info("proxy: backend '%s' (%s) is up again", b->name, b->addr.text);
        }
    } else {
        k->oks = 0;
        k->fails++;
        if (b->healthy && k->fails >= p->cfg.health_fall) {
            backend_event(b, BEV_HEALTH_FAIL);
            log_warn("proxy: backend '%s' is down: %s", b->name, why);
        }
    }
    timer_start(p->loop, &k->timer, (uint64_t)p->cfg.health_interval_ms, on_check_timer, k);
}

static void on_check_io(struct loop *loop, struct watcher *w, uint32_t revents)
{
    struct check *k = w->data;
    struct proxy *p = k->p;
    struct err e;
    if (!k->sending && !k->reading) {
        if (addr_connect_result(k->fd, &k->b->addr, &e) < 0) {
            verdict(k, 0, e.msg);
            return;
        }
        if (p->cfg.health != HEALTH_HTTP) {
            verdict(k, 1, NULL);
            return;
        }
        k->sending = 1;
    }
    if (k->sending) {
        char req[PROXY_HEALTH_PATH_MAX + 128];
        int n = snprintf(req, sizeof(req),
                         "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: baton-health\r\n"
                         "Connection: close\r\n\r\n",
                         p->cfg.health_path, k->b->addr.text);
        if (send(k->fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
            verdict(k, 0, "cannot send the health request");
            return;
        }
        k->sending = 0;
        k->reading = 1;
        k->len = 0;
        loop_rewatch(loop, &k->w, EPOLLIN, NULL);
        return;
    }
    ssize_t n = recv(k->fd, k->buf + k->len, sizeof(k->buf) - 1 - k->len, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n > 0)
        k->len += (size_t)n;
    k->buf[k->len] = 0;
    char *eol = strstr(k->buf, "\r\n");
    if (!eol && n > 0 && k->len < sizeof(k->buf) - 1)
        return;
    int status = 0;
    if (strncmp(k->buf, "HTTP/1.", 7) == 0 && k->len >= 12)
        status = atoi(k->buf + 9);
    if (status >= 200 && status < 400) {
        verdict(k, 1, NULL);
    } else {
        char why[128];
        if (status)
            snprintf(why, sizeof(why), "GET %.60s answered %d", p->cfg.health_path, status);
        else
            snprintf(why, sizeof(why), "GET %.60s got no HTTP answer", p->cfg.health_path);
        verdict(k, 0, why);
    }
}

static void on_check_timer(struct loop *loop, struct timer *t)
{
    struct check *k = t->data;
    struct proxy *p = k->p;
    if (k->fd >= 0) { /* the previous check did not finish in time */
        char why[96];
        snprintf(why, sizeof(why), "no answer to the health check within %d ms",
                 p->cfg.health_interval_ms);
        verdict(k, 0, why);
        return;
    }
    struct err e;
    k->fd = addr_connect(&k->b->addr, &e);
    if (k->fd < 0) {
        verdict(k, 0, e.msg);
        return;
    }
    if (loop_watch(loop, &k->w, k->fd, EPOLLOUT, on_check_io, k, &e) < 0) {
        close(k->fd);
        k->fd = -1;
        verdict(k, 0, e.msg);
        return;
    }
    int limit = p->cfg.connect_timeout_ms < p->cfg.health_interval_ms ? p->cfg.connect_timeout_ms
                                                                      : p->cfg.health_interval_ms;
    timer_start(loop, &k->timer, (uint64_t)limit, on_check_timer, k);
}

void health_track(struct proxy *p, struct backend *b)
{
    if (p->cfg.health == HEALTH_NONE || b->health)
        return;
    struct check *k = calloc(1, sizeof(*k));
    if (!k)
        return;
    k->p = p;
    k->b = b;
    k->fd = -1;
    b->health = k;
    pool_backend_ref(b);
    /* first check soon, spread a little so many backends do not check in lockstep */
    timer_start(p->loop, &k->timer, 10 + (uint64_t)(rand() % 50), on_check_timer, k);
}

void health_untrack(struct proxy *p, struct backend *b)
{
    struct check *k = b->health;
    if (!k)
        return;
    check_close_fd(k);
    timer_stop(p->loop, &k->timer);
    b->health = NULL;
    /* its watcher may have an event in the batch the loop is going through */
    loop_defer_free(p->loop, k);
    pool_backend_unref(b);
}

/* How many backends new connections may go to now. */
static int eligible_count(struct proxy *p)
{
    int n = 0;
    for (struct backend *b = pool_first(p->table); b; b = b->next)
        n += pool_eligible(p->table, b);
    return n;
}

void health_passive_fail(struct proxy *p, struct backend *b)
{
    struct check *k = b->health;
    if (!k || !b->healthy)
        return;
    /* The last backend clients can go to stays in rotation: marking it down would answer
     * every client with an error until its next check, even when it refused one connect
     * only (a restart); its checks still take it out. The caller logged the failure. */
    if (pool_eligible(p->table, b) && eligible_count(p) == 1)
        return;
    k->oks = 0;
    k->fails = p->cfg.health_fall;
    backend_event(b, BEV_HEALTH_FAIL);
    log_warn("proxy: backend '%s' is down: a connection to it failed", b->name);
}

void health_free(struct proxy *p)
{
    for (struct backend *b = pool_first(p->table); b; b = b->next)
        health_untrack(p, b);
}
