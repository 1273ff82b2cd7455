/* http mode: HTTP/1.1 between client and backend, parsed with http_parser, one
 * exchange (request + response) at a time per client connection. The client
 * connection and the backend connection are separate: after each response the
 * backend connection is kept only if its backend still takes new work, so a drain or
 * a pool switch moves keep-alive clients at their next request without an error.
 *
 * Per client connection:
 *
 *     HEAD --(head parsed)--> CONNECT --(backend ready)--> EXCHANGE --(response done,
 *      ^                        |  (reused backend: skip)      |       keep-alive)--+
 *      |                        +--(no backend: 503)--> CLOSING                      |
 *      +-------------------------------------------------------------------------- +
 *     EXCHANGE --(101 Switching Protocols)--> TUNNEL (raw bytes both ways)
 *     any --(malformed request 400, head too big 431, header timeout 408)--> CLOSING
 *     CLOSING --(answer sent, after an error)--> LINGER (read and drop what the client
 *     still sends, so the close does not reset the answer away) --(EOF or 1 s)--> closed
 *
 * Transition -> function (events of http_next[][] below): HEAD->CONNECT EV_ROUTE
 * http_route_request() (also EXCHANGE->CONNECT: a request sent again), CONNECT->EXCHANGE
 * EV_BACKEND http_route_request()/http_backend_ready(), EXCHANGE->HEAD EV_KEEPALIVE
 * finish_exchange(), ->CLOSING EV_CLOSE http_answer_error()/finish_exchange()/
 * http_backend_gone(), EXCHANGE->TUNNEL EV_UPGRADE http_parse_response(), CLOSING->LINGER
 * EV_ANSWERED http_run(). Every buffer has a fixed cap (header_max for heads,
 * buffer_bytes for bodies): a full buffer stops reading from its source. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "proxy/buf.h"
#include "proxy/conn.h"
#include "proxy/http.h"

#define LINGER_MS 1000

/* next phase per [phase][event]; BAD marks a transition that must never happen */
#define BAD (-1)
static const int http_next[][EV_N] = {
    /*            ROUTE       BACKEND      KEEPALIVE UPGRADE    CLOSE       ANSWERED */
    [HP_HEAD] = {HP_CONNECT, BAD, HP_HEAD, BAD, HP_CLOSING, BAD},
    [HP_CONNECT] = {HP_CONNECT, HP_EXCHANGE, BAD, BAD, HP_CLOSING, BAD},
    [HP_EXCHANGE] = {HP_CONNECT, BAD, HP_HEAD, HP_TUNNEL, HP_CLOSING, BAD},
    [HP_TUNNEL] = {BAD, BAD, BAD, BAD, HP_CLOSING, BAD},
    [HP_CLOSING] = {BAD, BAD, BAD, BAD, HP_CLOSING, HP_LINGER},
    [HP_LINGER] = {BAD, BAD, BAD, BAD, HP_LINGER, BAD},
};

static const char *const phase_names[] = {"HEAD",   "CONNECT", "EXCHANGE",
                                          "TUNNEL", "CLOSING", "LINGER"};

void http_set_phase(struct http_state *h, enum hevent ev)
{
    int next = http_next[h->phase][ev];
    if (next == BAD) {
        log_alert("proxy: http connection in phase %s got event %d; closing it",
                  phase_names[h->phase], (int)ev);
        next = HP_CLOSING;
    }
    h->phase = (enum hphase)next;
}

static int on_req_headers(http_parser *hp);
static int on_resp_headers(http_parser *hp);
static int on_message_done(http_parser *hp);

const http_parser_settings http_req_settings = {.on_headers_complete = on_req_headers,
                                                .on_message_complete = on_message_done};
const http_parser_settings http_resp_settings = {.on_headers_complete = on_resp_headers,
                                                 .on_message_complete = on_message_done};

static int on_req_headers(http_parser *hp)
{
    http_parser_pause(hp, 1);
    return 0;
}

static int on_resp_headers(http_parser *hp)
{
    struct conn *c = hp->data;
    http_parser_pause(hp, 1);
    /* a response to HEAD has no body whatever its headers say */
    return c->h->req_method == HTTP_HEAD ? 1 : 0;
}

static int on_message_done(http_parser *hp)
{
    http_parser_pause(hp, 1);
    return 0;
}

/* --- timers ------------------------------------------------------------------- */

static void on_http_timer(struct loop *loop, struct timer *t);
static void http_run(struct conn *c);

static void arm_timer(struct conn *c)
{
    struct http_state *h = c->h;
    struct proxy *p = c->p;
    uint64_t due;
    if (h->phase == HP_LINGER)
        due = h->last_active_ms + LINGER_MS;
    else if (h->phase == HP_HEAD && h->stopping && buf_pending(&h->cin) == 0)
        due = h->last_active_ms + 1000; /* stopping: an idle client gets a short grace */
    else if (h->phase == HP_HEAD && h->head_start_ms)
        due = h->head_start_ms + (uint64_t)p->cfg.header_timeout_ms;
    else
        due = h->last_active_ms + (uint64_t)p->cfg.idle_timeout_ms;
    uint64_t now = loop_now_ms(p->loop);
    timer_start(p->loop, &h->timer, due > now ? due - now : 0, on_http_timer, c);
}

/* --- answering errors --------------------------------------------------------- */

void http_answer_error(struct conn *c, int status, const char *reason)
{
    struct http_state *h = c->h;
    http_set_phase(h, EV_CLOSE);
    h->close_after = 1;
    conn_drop_backend(c);
    if (h->resp_started) /* part of a response went out: only closing can tell */
        return;
    h->linger = 1;
    char msg[256];
    int n = snprintf(msg, sizeof(msg),
                     "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n%s\n",
                     status, reason, strlen(reason) + 1, reason);
    h->cout.off = h->cout.len = 0;
    buf_append(&h->cout, msg, (size_t)n);
}

static void on_http_timer(struct loop *loop, struct timer *t)
{
    struct conn *c = t->data;
    struct http_state *h = c->h;
    uint64_t now = loop_now_ms(loop);
    if (h->phase == HP_LINGER) {
        conn_close(c);
        return;
    }
    if (h->phase == HP_HEAD && h->stopping && buf_pending(&h->cin) == 0 &&
        now >= h->last_active_ms + 1000) {
        conn_close(c);
        return;
    }
    if (h->phase == HP_HEAD && h->head_start_ms &&
        now >= h->head_start_ms + (uint64_t)c->p->cfg.header_timeout_ms) {
        log_warn("proxy: client %s did not send a whole request head within %d ms; "
                 "answering 408",
                 c->peer, c->p->cfg.header_timeout_ms);
        http_answer_error(c, 408, "Request Timeout");
        http_run(c);
        return;
    }
    if (now >= h->last_active_ms + (uint64_t)c->p->cfg.idle_timeout_ms) {
        if (h->phase != HP_HEAD || buf_pending(&h->cin))
            log_info("proxy: client %s idle for %d ms; closing", c->peer,
                     c->p->cfg.idle_timeout_ms);
        conn_close(c);
        return;
    }
    arm_timer(c);
}

/* --- the exchange ------------------------------------------------------------- */

static void reset_exchange(struct http_state *h)
{
    http_parser_init(&h->req, HTTP_REQUEST); /* keeps .data */
    http_parser_init(&h->resp, HTTP_RESPONSE);
    h->req_head_done = h->req_done = h->req_skip_lf = 0;
    h->req_scanned = h->resp_scanned = 0;
    h->resp_head_done = h->resp_done = h->resp_skip_lf = h->resp_started = 0;
    h->replay.off = h->replay.len = 0;
    h->bin.off = h->bin.len = 0;
    h->replayable = 1;
    h->head_start_ms = 0;
    h->backend_eof = 0;
    http_set_phase(h, EV_KEEPALIVE);
}

static void set_parser_data(struct conn *c)
{
    c->h->req.data = c;
    c->h->resp.data = c;
}

/* A response went out whole: keeps or drops the backend connection, then waits for the
 * next request or closes. */
static void finish_exchange(struct conn *c)
{
    struct http_state *h = c->h;
    /* bytes after the response (a backend that sent a body to HEAD) would be read
     * as the next answer: such a connection is not reused */
    if (http_should_keep_alive(&h->resp) && !h->backend_eof && buf_pending(&h->bin) == 0)
        conn_park_backend(c);
    else
        conn_drop_backend(c);
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
    set_parser_data(c);
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
                         !h->tunnel_eof[0] && !h->client_eof;
    if ((reading_client && (buf_room(&h->cin) > 0 || h->cin.off > 0)) || h->phase == HP_LINGER)
        cev |= EPOLLIN;
    if (buf_pending(&h->cout) || h->in_pipe > 0)
        cev |= EPOLLOUT;
    if (c->bfd >= 0 && !c->bconnecting) {
        if (buf_pending(&h->bout))
            bev |= EPOLLOUT;
        if (!h->backend_eof &&
            (h->splicing ? h->in_pipe == 0 : buf_room(&h->bin) > 0 || h->bin.off > 0))
            bev |= EPOLLIN | EPOLLRDHUP;
        loop_rewatch(c->p->loop, &c->bw, bev, NULL);
    }
    loop_rewatch(c->p->loop, &c->cw, cev, NULL);
}

void http_on_io(struct loop *loop, struct watcher *w, uint32_t revents)
{
    struct conn *c = w->data;
    if (w == &c->bw && c->parked) {
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
    int progress = 0, r = 0;
    if (!h->tunnel_eof[0]) {
        r = buf_read(c->cfd, &h->bout);
        if (r < 0) {
            h->tunnel_eof[0] = 1;
            if (buf_pending(&h->bout) == 0 && c->bfd >= 0)
                shutdown(c->bfd, SHUT_WR);
        }
        progress |= r > 0;
    }
    if (c->bfd >= 0 && !h->backend_eof) {
        r = buf_read(c->bfd, &h->cout);
        if (r < 0)
            h->backend_eof = 1;
        progress |= r > 0;
    }
    if (c->bfd >= 0 && (r = buf_write(c->bfd, &h->bout)) < 0)
        return -1;
    progress |= r > 0;
    if ((r = buf_write(c->cfd, &h->cout)) < 0)
        return -1;
    progress |= r > 0;
    if (h->tunnel_eof[0] && h->backend_eof && !buf_pending(&h->cout))
        return -1; /* both sides done */
    if (h->backend_eof && !buf_pending(&h->cout))
        return -1;
    return progress;
}

static void http_run(struct conn *c)
{
    struct http_state *h = c->h;
    struct proxy *p = c->p;
    for (int round = 0; round < 32; round++) {
        int progress = 0, r;
        if (h->phase == HP_LINGER) {
            h->cin.off = h->cin.len = 0;
            r = buf_read(c->cfd, &h->cin);
            if (r < 0) {
                conn_close(c);
                return;
            }
            if (!r)
                break;
            continue;
        }
        if (h->phase == HP_TUNNEL) {
            r = run_tunnel(c);
            if (r < 0) {
                conn_close(c);
                return;
            }
            if (r > 0)
                h->last_active_ms = loop_now_ms(p->loop);
            if (!r)
                break;
            continue;
        }
        /* client -> proxy */
        if (h->phase != HP_CLOSING && !h->client_eof) {
            r = buf_read(c->cfd, &h->cin);
            if (r < 0) {
                /* the client left, or half-closed after whole requests: answer those,
                 * then close */
                if ((h->phase == HP_HEAD && buf_pending(&h->cin) == 0) ||
                    (h->phase != HP_HEAD && !h->req_done)) {
                    conn_close(c);
                    return;
                }
                h->client_eof = 1;
            }
            if (r > 0) {
                progress = 1;
                h->last_active_ms = loop_now_ms(p->loop);
            }
        }
        if (h->phase == HP_HEAD || h->phase == HP_EXCHANGE || h->phase == HP_CONNECT)
            progress |= http_parse_request(c);
        if (h->phase == HP_HEAD && h->client_eof) {
            /* half-closed and no whole request left */
            conn_close(c);
            return;
        }
        /* proxy -> backend */
        if (h->phase == HP_EXCHANGE && c->bfd >= 0) {
            r = buf_write(c->bfd, &h->bout);
            if (r < 0) {
                h->backend_eof = 1;
                http_backend_gone(c, 1);
                progress = 1;
                continue;
            }
            progress |= r;
        }
        /* backend -> proxy */
        if (h->phase == HP_EXCHANGE && c->bfd >= 0 && !h->backend_eof && http_body_can_splice(c)) {
            r = http_splice_body(c);
            if (r < 0) {
                log_warn("proxy: backend '%s' or client %s went away in the middle of a "
                         "response body",
                         c->backend ? c->backend->name : "?", c->peer);
                conn_close(c);
                return;
            }
            progress |= r;
        } else if (h->phase == HP_EXCHANGE && c->bfd >= 0 && !h->backend_eof) {
            r = buf_read(c->bfd, &h->bin);
            if (r > 0) {
                progress = 1;
                h->last_active_ms = loop_now_ms(p->loop);
            } else if (r < 0) {
                h->backend_eof = 1;
                progress = 1;
            }
        }
        if (h->phase == HP_EXCHANGE)
            progress |= http_parse_response(c);
        if (h->phase == HP_EXCHANGE && h->backend_eof && !h->resp_done &&
            buf_pending(&h->bin) == 0) {
            http_backend_gone(c, 0);
            progress = 1;
        }
        /* proxy -> client */
        r = buf_write(c->cfd, &h->cout);
        if (r < 0) {
            conn_close(c);
            return;
        }
        progress |= r;
        if (h->phase == HP_EXCHANGE && h->resp_done && (h->req_done || h->close_after) &&
            buf_pending(&h->cout) == 0) {
            finish_exchange(c);
            progress = 1;
        }
        if (h->phase == HP_CLOSING && buf_pending(&h->cout) == 0) {
            if (!h->linger || shutdown(c->cfd, SHUT_WR) < 0) {
                conn_close(c);
                return;
            }
            http_set_phase(h, EV_ANSWERED);
            h->last_active_ms = loop_now_ms(p->loop);
            continue;
        }
        if (!progress)
            break;
    }
    update_watch(c);
    arm_timer(c);
}

void http_backend_ready(struct conn *c, int ok)
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
    h->backend_reused = c->breused;
    if (loop_watch(c->p->loop, &c->bw, c->bfd, EPOLLOUT, http_on_io, c, NULL) < 0) {
        conn_close(c);
        return;
    }
    http_run(c);
}

void http_stop(struct conn *c)
{
    struct http_state *h = c->h;
    if (!h)
        return;
    h->stopping = 1;
    /* an idle keep-alive client gets a short grace for a request already on its way */
    if (h->phase == HP_HEAD)
        arm_timer(c);
}

int http_conn_init(struct conn *c)
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
    reset_exchange(h);
    set_parser_data(c);
    h->last_active_ms = loop_now_ms(p->loop);
    h->stopping = p->stopping;
    if (loop_watch(p->loop, &c->cw, c->cfd, EPOLLIN, http_on_io, c, NULL) < 0)
        return -1;
    arm_timer(c);
    return 0;
}

void http_conn_free(struct conn *c)
{
    struct http_state *h = c->h;
    if (!h)
        return;
    timer_stop(c->p->loop, &h->timer);
    for (int i = 0; i < 2; i++)
        if (h->pipe[i] >= 0)
            close(h->pipe[i]);
    struct buf *bufs[] = {&h->cin, &h->bout, &h->bin, &h->cout, &h->replay};
    for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++)
        buf_free(bufs[i]);
    free(h);
    c->h = NULL;
}
