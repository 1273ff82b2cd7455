/* The http relay (relay.h): HTTP/1.1 between client and backend, one exchange (request
 * + response) at a time per client connection, each message parsed by llhttp, checked
 * again and forwarded in normalized form (http_request.c, http_response.c). This file
 * is the top of the http files: the I/O loop, timers, choosing a backend per request,
 * resends, and the relay's entry points. The exchange phases and their table are in
 * http_exchange.c, the per-direction message phases in http_msg.c. Every buffer has a
 * fixed cap (header_max for heads, buffer_bytes for bodies): a full buffer stops
 * reading from its source. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "proxy/buf.h"
#include "proxy/conn.h"
#include "proxy/http_int.h"
#include "proxy/observe.h"

#define LINGER_MS 1000

static void on_io(struct loop *loop, struct watcher *w, uint32_t revents);

/* --- timers ------------------------------------------------------------------- */

static void on_http_timer(struct loop *loop, struct timer *t);
static void http_run(struct conn *c);

/* When the connection's next deadline falls (what happens then: on_http_timer). */
static uint64_t next_deadline(const struct conn *c)
{
    const struct http_state *h = c->h;
    const struct proxy *p = c->p;
    if (h->phase == HP_LINGER)
        return h->last_active_ms + LINGER_MS;
    if (h->phase == HP_HEAD && p->stopping && buf_pending(&h->cin) == 0)
        return h->last_active_ms + 1000; /* stopping: an idle client gets a short grace */
    if (h->phase == HP_HEAD && h->head_start_ms)
        return h->head_start_ms + (uint64_t)p->cfg.header_timeout_ms;
    uint64_t idle = h->last_active_ms + (uint64_t)p->cfg.idle_timeout_ms;
    uint64_t lowat = http_lowat_deadline(c);
    return lowat && lowat < idle ? lowat : idle;
}

static void arm_timer(struct conn *c)
{
    struct http_state *h = c->h;
    struct loop *loop = c->p->loop;
    uint64_t due = next_deadline(c);
    /* armed to fire no later: then it finds nothing due and re-arms, so that a request
     * costs no timer change */
    if (timer_armed(&h->timer) && h->timer.when_ms <= due)
        return;
    uint64_t now = loop_now_ms(loop);
    timer_start(loop, &h->timer, due > now ? due - now : 0, on_http_timer, c);
}

static void on_http_timer(struct loop *loop, struct timer *t)
{
    struct conn *c = t->data;
    struct http_state *h = c->h;
    if (loop_now_ms(loop) < next_deadline(c)) {
        arm_timer(c);
        return;
    }
    uint64_t lowat = http_lowat_deadline(c);
    if (lowat && loop_now_ms(loop) >= lowat) {
        if (http_lowat_expired(c) < 0)
            conn_close(c); /* the rest of the body could not wake the proxy */
        else
            http_run(c);
        return;
    }
    if (h->phase == HP_LINGER || (h->phase == HP_HEAD && c->p->stopping && !buf_pending(&h->cin))) {
        conn_close(c);
        return;
    }
    if (h->phase == HP_HEAD && h->head_start_ms) {
        log_warn("proxy: client %s did not send a whole request head within %d ms; "
                 "answering 408",
                 c->peer, c->p->cfg.header_timeout_ms);
        http_answer_error(c, 408, "Request Timeout");
        http_run(c);
        return;
    }
    if (h->phase != HP_HEAD || buf_pending(&h->cin))
        log_info("proxy: client %s idle for %d ms; closing", c->peer, c->p->cfg.idle_timeout_ms);
    conn_close(c);
}

/* --- the exchange ------------------------------------------------------------- */

static void reset_exchange(struct http_state *h)
{
    msg_event(&h->req, ME_RESET);
    msg_event(&h->resp, ME_RESET);
    msg_reset(&h->req);
    msg_reset(&h->resp);
    h->req.copy = &h->replay;
    h->replay.off = h->replay.len = 0;
    h->bin.off = h->bin.len = 0;
    h->head_start_ms = 0;
    h->backend_eof = 0;
    h->backend_keepalive = 0;
    http_set_phase(h, EV_KEEPALIVE);
}

/* A response went out whole: keeps or drops the backend connection, then waits for the
 * next request or closes. */
static void finish_exchange(struct conn *c)
{
    struct http_state *h = c->h;
    /* bytes after the response (a backend that sent a body to HEAD) would be read
     * as the next answer: such a connection is not reused */
    if (h->backend_keepalive && !h->backend_eof && buf_pending(&h->bin) == 0) {
        if (h->close_after)
            conn_release_backend(c); /* for other clients */
        else
            conn_park_backend(c); /* for this client's next request */
    } else {
        conn_drop_backend(c);
    }
    buf_release(&h->bout);
    buf_release(&h->bin);
    buf_release(&h->cout);
    buf_release(&h->replay);
    buf_release(&h->cin);
    if (h->close_after) {
        http_set_phase(h, EV_CLOSE);
        return;
    }
    reset_exchange(h);
}

/* --- I/O ------------------------------------------------------------------------ */

static void update_watch(struct conn *c)
{
    struct http_state *h = c->h;
    uint32_t cev = 0, bev = 0;
    /* the client stays watched while a response is awaited (pipelined bytes wait in
     * cin), so a request costs no epoll change; a full cin stops it */
    int reading_client = (h->phase == HP_HEAD || h->phase == HP_EXCHANGE ||
                          h->phase == HP_CONNECT || h->phase == HP_TUNNEL) &&
                         !h->client_eof;
    if ((reading_client && (buf_room(&h->cin) > 0 || h->cin.off > 0)) || h->phase == HP_LINGER)
        cev |= EPOLLIN;
    if (buf_pending(&h->cout) || h->in_pipe > 0)
        cev |= EPOLLOUT;
    if (c->bfd >= 0 && !c->bconnecting) {
        if (buf_pending(&h->bout))
            bev |= EPOLLOUT;
        if (!h->backend_eof &&
            (h->resp.phase == MP_SPLICE ? h->in_pipe == 0
                                        : buf_room(&h->bin) > 0 || h->bin.off > 0))
            bev |= EPOLLIN | EPOLLRDHUP;
        loop_rewatch(c->p->loop, &c->bc->w, bev, NULL);
    }
    loop_rewatch(c->p->loop, &c->cw, cev, NULL);
}

static void on_io(struct loop *loop, struct watcher *w, uint32_t revents)
{
    struct conn *c = w->data;
    int readable = (revents & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;
    if (w == &c->cw)
        c->h->client_readable |= readable;
    else
        c->h->backend_readable |= readable;
    if (w != &c->cw && c->parked) {
        /* a parked backend connection has nothing to say: it closed, or misbehaves */
        conn_drop_backend(c);
        update_watch(c);
        return;
    }
    http_run(c);
}

/* The tunnel after 101: raw bytes both ways until both sides finished. */
static int run_tunnel(struct conn *c)
{
    struct http_state *h = c->h;
    int progress = 0, r = 0, drained = 0;
    if (!h->client_eof && h->client_readable) {
        r = buf_read(c->cfd, &h->bout, &drained);
        h->client_readable = !drained;
        if (r < 0) {
            h->client_eof = 1;
            if (buf_pending(&h->bout) == 0 && c->bfd >= 0)
                shutdown(c->bfd, SHUT_WR);
        }
        progress |= r > 0;
    }
    if (c->bfd >= 0 && !h->backend_eof && h->backend_readable) {
        r = proxy_backend_recv(c, &h->cout, &drained);
        h->backend_readable = !drained;
        if (r < 0)
            h->backend_eof = 1;
        progress |= r > 0;
    }
    if (c->bfd >= 0 && (r = proxy_backend_send(c, &h->bout)) < 0)
        return -1;
    progress |= r > 0;
    if ((r = buf_write(c->cfd, &h->cout)) < 0)
        return -1;
    progress |= r > 0;
    if (h->client_eof && h->backend_eof && !buf_pending(&h->cout))
        return -1; /* both sides done */
    if (h->backend_eof && !buf_pending(&h->cout))
        return -1;
    return progress;
}

/* --- choosing a backend ------------------------------------------------------ */

/* Chooses a backend for the request: an idle connection to it is used at once, else a
 * connect starts (CONNECT until http_backend_ready). */
static void route_request(struct conn *c)
{
    struct http_state *h = c->h;
    http_set_phase(h, EV_ROUTE);
    h->backend_readable = 0; /* nothing to read before the request went out */
    int rc = conn_connect_backend(c);
    if (rc < 0) {
        log_warn("proxy: no backend available for a request of client %s (active pool '%s'); "
                 "answering 503",
                 c->peer, pool_active(c->p->table));
        http_answer_error(c, 503, "Service Unavailable");
        return;
    }
    if (rc == 1) {
        http_set_phase(h, EV_BACKEND);
        /* kept or pooled, the connection is still watched: its events are set by
         * update_watch at the end of this run (no epoll change when they stay) */
        if (conn_watch_backend(c, c->bc->w.events, on_io) < 0)
            http_answer_error(c, 502, "Bad Gateway");
    }
}

/* A request head went out to the backend buffer: the exchange starts. */
static void start_exchange(struct conn *c)
{
    c->h->requests++;
    c->ntried = 0;
    if (!c->parked)
        conn_drop_backend(c);
    route_request(c);
}

/* The backend closed (or failed) while an exchange was going on. */
static void backend_gone(struct conn *c, int err)
{
    struct http_state *h = c->h;
    struct backend *b = c->backend;
    if (h->resp.phase == MP_BODY && !err && llhttp_message_needs_eof(&h->resp.parser)) {
        /* a response delimited by the close: the parser completes it on EOF */
        llhttp_finish(&h->resp.parser);
        if (h->resp.phase == MP_DONE) {
            h->close_after = 1;
            conn_drop_backend(c);
            return;
        }
    }
    if (h->resp.phase == MP_HEAD) {
        /* nothing reached the client yet: a stale keep-alive connection or an
         * idempotent request is sent again on another backend */
        if (h->req.copy && (c->breused || h->req_idempotent) && b) {
            if (!c->breused) {
                b->failures++;
                health_passive_fail(c->p, b);
            }
            log_info("proxy: backend '%s' closed before answering client %s; sending the "
                     "request again",
                     b->name, c->peer);
            conn_drop_backend(c);
            h->bout.off = h->bout.len = 0;
            buf_append(&h->bout, h->replay.data, h->replay.len);
            h->bin.off = h->bin.len = 0;
            msg_event(&h->resp, ME_RESET);
            msg_reset(&h->resp);
            h->backend_eof = 0;
            route_request(c);
            return;
        }
        log_warn("proxy: backend '%s' closed before answering client %s; answering 502",
                 b ? b->name : "?", c->peer);
        http_answer_error(c, 502, "Bad Gateway");
        return;
    }
    log_warn("proxy: backend '%s' closed in the middle of a response to client %s",
             b ? b->name : "?", c->peer);
    http_set_phase(h, EV_CLOSE);
    h->close_after = 1;
    conn_drop_backend(c);
}

/* --- the I/O loop -------------------------------------------------------------- */

#define CLOSED (-1) /* the connection was closed: stop touching it */

/* Client bytes in, request side parsed. */
static int run_client_in(struct conn *c)
{
    struct http_state *h = c->h;
    int progress = 0;
    if (h->phase < HP_ENDING && !h->client_eof && h->client_readable) {
        int drained = 0, r = buf_read(c->cfd, &h->cin, &drained);
        h->client_readable = !drained;
        if (r < 0)
            h->client_eof = 1; /* left, or half-closed after its requests: answer those */
        if (r > 0) {
            progress = 1;
            h->last_active_ms = loop_now_ms(c->p->loop);
        }
    }
    if (h->phase == HP_HEAD || h->phase == HP_EXCHANGE || h->phase == HP_CONNECT) {
        int r = http_parse_request(c);
        if (r & HTTP_ROUTE) {
            start_exchange(c);
            if (h->phase == HP_EXCHANGE || h->phase == HP_CONNECT)
                r |= http_parse_request(c); /* the body that came with the head */
        }
        progress |= r & HTTP_PROGRESS;
    }
    /* a request the client can no longer complete: nothing more to answer */
    if (h->client_eof && buf_pending(&h->cin) == 0 &&
        (h->phase == HP_HEAD ||
         ((h->phase == HP_CONNECT || h->phase == HP_EXCHANGE) && h->req.phase != MP_DONE))) {
        conn_close(c);
        return CLOSED;
    }
    if (h->client_eof && h->phase == HP_HEAD && !(progress & HTTP_PROGRESS)) {
        conn_close(c); /* half a head, and no more bytes will come */
        return CLOSED;
    }
    return progress;
}

/* Request bytes out to the backend, response bytes in, response side parsed. */
static int run_backend(struct conn *c)
{
    struct http_state *h = c->h;
    int progress = 0, r;
    if (h->phase != HP_EXCHANGE || c->bfd < 0)
        return 0;
    if ((r = proxy_backend_send(c, &h->bout)) < 0) {
        h->backend_eof = 1;
        backend_gone(c, 1);
        return 1;
    }
    progress |= r;
    if (!h->backend_eof && http_body_can_splice(c)) {
        if ((r = http_splice_body(c)) < 0) {
            log_warn("proxy: backend '%s' or client %s went away in the middle of a "
                     "response body",
                     c->backend ? c->backend->name : "?", c->peer);
            conn_close(c);
            return CLOSED;
        }
        progress |= r;
    } else if (!h->backend_eof && h->backend_readable) {
        int drained = 0;
        r = proxy_backend_recv(c, &h->bin, &drained);
        h->backend_readable = !drained;
        if (r > 0)
            h->last_active_ms = loop_now_ms(c->p->loop);
        if (r < 0)
            h->backend_eof = 1;
        progress |= r != 0;
    }
    progress |= http_parse_response(c);
    if (h->phase == HP_EXCHANGE && h->backend_eof && h->resp.phase != MP_DONE &&
        buf_pending(&h->bin) == 0) {
        backend_gone(c, 0);
        progress = 1;
    }
    return progress;
}

/* Response bytes out to the client; the end of an exchange or of the connection. */
static int run_client_out(struct conn *c)
{
    struct http_state *h = c->h;
    int r = buf_write(c->cfd, &h->cout);
    if (r < 0) {
        conn_close(c);
        return CLOSED;
    }
    if (buf_pending(&h->cout) > 0)
        return r;
    if (h->phase == HP_EXCHANGE && h->resp.phase == MP_DONE &&
        (h->req.phase == MP_DONE || h->close_after)) {
        finish_exchange(c);
        return 1;
    }
    if (h->phase == HP_ENDING) {
        conn_close(c);
        return CLOSED;
    }
    if (h->phase == HP_CLOSING) {
        if (shutdown(c->cfd, SHUT_WR) < 0) {
            conn_close(c);
            return CLOSED;
        }
        http_set_phase(h, EV_ANSWERED);
        h->last_active_ms = loop_now_ms(c->p->loop);
        return 1;
    }
    return r;
}

/* LINGER: reads and drops until EOF (then closes); TUNNEL: raw bytes both ways. */
static int run_raw(struct conn *c)
{
    struct http_state *h = c->h;
    int r;
    if (h->phase == HP_LINGER) {
        h->cin.off = h->cin.len = 0;
        r = 0;
        if (h->client_readable) {
            int drained = 0;
            r = buf_read(c->cfd, &h->cin, &drained);
            h->client_readable = !drained;
        }
    } else {
        r = run_tunnel(c);
        if (r > 0)
            h->last_active_ms = loop_now_ms(c->p->loop);
    }
    if (r < 0) {
        conn_close(c);
        return CLOSED;
    }
    return r;
}

static void http_run(struct conn *c)
{
    struct http_state *h = c->h;
    for (int round = 0; round < 32; round++) {
        int progress = 0, r;
        if (h->phase == HP_LINGER || h->phase == HP_TUNNEL) {
            if ((r = run_raw(c)) == CLOSED)
                return;
            if (!r)
                break;
            continue;
        }
        if ((r = run_client_in(c)) == CLOSED)
            return;
        progress |= r;
        if ((r = run_backend(c)) == CLOSED)
            return;
        progress |= r;
        if ((r = run_client_out(c)) == CLOSED)
            return;
        progress |= r;
        if (!progress)
            break;
    }
    update_watch(c);
    arm_timer(c);
}

/* --- the relay's entry points ---------------------------------------------------- */

static void http_backend_ready(struct conn *c, int ok)
{
    struct http_state *h = c->h;
    timer_stop(c->p->loop, &c->timer);
    if (!ok) {
        log_warn("proxy: no backend could take a request of client %s; answering 503", c->peer);
        http_answer_error(c, 503, "Service Unavailable");
        http_run(c);
        return;
    }
    http_set_phase(h, EV_BACKEND);
    if (conn_watch_backend(c, EPOLLOUT, on_io) < 0) {
        conn_close(c);
        return;
    }
    http_run(c);
}

static void http_stop(struct conn *c)
{
    struct http_state *h = c->h;
    if (!h)
        return;
    /* an idle keep-alive client gets a short grace for a request already on its way */
    if (h->phase == HP_HEAD)
        arm_timer(c);
}

static int http_start(struct conn *c)
{
    struct proxy *p = c->p;
    struct http_state *h = calloc(1, sizeof(*h));
    if (!h)
        return -1;
    c->h = h;
    /* p->buf_size leaves 512 bytes over the caps for the lines a rewrite adds */
    size_t in_cap = p->buf_size - 512, out_cap = p->buf_size;
    buf_init(&h->cin, p, in_cap);
    buf_init(&h->bout, p, out_cap);
    buf_init(&h->bin, p, in_cap);
    buf_init(&h->cout, p, out_cap);
    buf_init(&h->replay, p, p->cfg.buffer_bytes);
    h->pipe[0] = h->pipe[1] = -1;
    if (p->cfg.xff)
        snprintf(h->xff, sizeof(h->xff), "X-Forwarded-For: %s\r\n", c->peer);
    msg_init(&h->req, SIDE_REQUEST, &h->bout, &h->replay);
    msg_init(&h->resp, SIDE_RESPONSE, &h->cout, NULL);
    reset_exchange(h);
    h->last_active_ms = loop_now_ms(p->loop);
    if (loop_watch(p->loop, &c->cw, c->cfd, EPOLLIN, on_io, c, NULL) < 0)
        return -1;
    arm_timer(c);
    return 0;
}

static void http_free(struct conn *c)
{
    struct http_state *h = c->h;
    if (!h)
        return;
    timer_stop(c->p->loop, &h->timer);
    if (c->parked)
        conn_release_backend(c); /* a clean exchange ended on it: others may use it */
    for (int i = 0; i < 2; i++)
        if (h->pipe[i] >= 0)
            close(h->pipe[i]);
    struct buf *bufs[] = {&h->cin, &h->bout, &h->bin, &h->cout, &h->replay};
    for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++)
        buf_free(bufs[i]);
    free(h);
    c->h = NULL;
}

const struct relay relay_http = {
    .name = "http",
    .pools_backends = 1,
    .start = http_start,
    .backend_ready = http_backend_ready,
    .stop = http_stop,
    .free = http_free,
};
