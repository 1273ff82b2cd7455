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
 * route_request() (also EXCHANGE->CONNECT: a request sent again), CONNECT->EXCHANGE
 * EV_BACKEND route_request()/http_backend_ready(), EXCHANGE->HEAD EV_KEEPALIVE
 * finish_exchange(), ->CLOSING EV_CLOSE answer_error()/finish_exchange()/
 * backend_gone(), EXCHANGE->TUNNEL EV_UPGRADE parse_response(), CLOSING->LINGER
 * EV_ANSWERED http_run(). Every buffer has a fixed cap (header_max for heads,
 * buffer_bytes for bodies): a full buffer stops reading from its source. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "proxy/buf.h"
#include "proxy/conn.h"

/* Exported by libhttp_parser 2.9 but missing from its header: whether a message's
 * body ends only when the connection closes. */
int http_message_needs_eof(const http_parser *parser);

enum hphase { HP_HEAD, HP_CONNECT, HP_EXCHANGE, HP_TUNNEL, HP_CLOSING, HP_LINGER };

#define LINGER_MS 1000

enum hevent { EV_ROUTE, EV_BACKEND, EV_KEEPALIVE, EV_UPGRADE, EV_CLOSE, EV_ANSWERED, EV_N };

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

/* The only place the phase changes: looks the transition up in http_next. */
static void set_phase(struct http_state *h, enum hevent ev);

struct http_state {
    enum hphase phase;
    http_parser req, resp;
    struct buf cin;    /* from the client, not parsed yet (or pipelined) */
    struct buf bout;   /* to the backend */
    struct buf bin;    /* from the backend, not parsed yet */
    struct buf cout;   /* to the client */
    struct buf replay; /* the request as sent, to resend after a stale backend connection */
    int replayable;
    int req_head_done, req_done, req_skip_lf;
    size_t req_scanned, resp_scanned; /* head bytes already fed to the parser */
    int resp_head_done, resp_done, resp_skip_lf, resp_started;
    int req_method;
    int client_keepalive, close_after, stopping, backend_reused, tunnel_eof[2];
    int backend_eof, client_eof, linger;
    /* a large Content-Length response body goes backend -> pipe -> client by splice */
    int splicing;
    int pipe[2];
    size_t in_pipe;
    uint64_t head_start_ms, last_active_ms;
    struct timer timer;
    unsigned requests;
};

static void set_phase(struct http_state *h, enum hevent ev)
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

static const http_parser_settings req_settings = {.on_headers_complete = on_req_headers,
                                                  .on_message_complete = on_message_done};
static const http_parser_settings resp_settings = {.on_headers_complete = on_resp_headers,
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

static void answer_error(struct conn *c, int status, const char *reason)
{
    struct http_state *h = c->h;
    set_phase(h, EV_CLOSE);
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
        answer_error(c, 408, "Request Timeout");
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
    set_phase(h, EV_KEEPALIVE);
}

static void set_parser_data(struct conn *c)
{
    c->h->req.data = c;
    c->h->resp.data = c;
}

/* Queues bytes for the backend, keeping a copy for a resend while it fits. */
static int to_backend(struct http_state *h, const char *p, size_t n)
{
    if (buf_append(&h->bout, p, n) < 0)
        return -1;
    if (h->replayable && buf_append(&h->replay, p, n) < 0)
        h->replayable = 0;
    return 0;
}

static void on_io(struct loop *loop, struct watcher *w, uint32_t revents);

/* Chooses a backend for the request: an idle connection to it is used at once,
 * else a connect starts (CONNECT until http_backend_ready). */
static void route_request(struct conn *c)
{
    struct http_state *h = c->h;
    set_phase(h, EV_ROUTE);
    int rc = conn_connect_backend(c);
    if (rc < 0) {
        log_warn("proxy: no backend available for a request of client %s (active pool '%s'); "
                 "answering 503",
                 c->peer, pool_active(c->p->table));
        answer_error(c, 503, "Service Unavailable");
        return;
    }
    h->backend_reused = c->breused;
    if (rc == 1) {
        set_phase(h, EV_BACKEND);
        if (!c->bw.active &&
            loop_watch(c->p->loop, &c->bw, c->bfd, EPOLLOUT | EPOLLIN, on_io, c, NULL) < 0)
            answer_error(c, 502, "Bad Gateway");
    }
}

static void start_exchange(struct conn *c)
{
    c->h->requests++;
    c->ntried = 0;
    if (!c->parked)
        conn_drop_backend(c);
    route_request(c);
}

/* Runs the request parser over client bytes; moves the head (rewritten) and body to
 * the backend buffer as room allows. */
static int parse_request(struct conn *c)
{
    struct http_state *h = c->h;
    struct proxy *p = c->p;
    int progress = 0;
    while (!h->req_done && buf_pending(&h->cin) > 0 && h->phase != HP_CLOSING) {
        if (!h->req_head_done) {
            if (!h->head_start_ms)
                h->head_start_ms = loop_now_ms(p->loop);
            size_t avail = buf_pending(&h->cin);
            if (avail == h->req_scanned)
                return progress; /* nothing new (a zero length would mean EOF) */
            size_t n = http_parser_execute(&h->req, &req_settings,
                                           h->cin.data + h->cin.off + h->req_scanned,
                                           avail - h->req_scanned);
            enum http_errno err = HTTP_PARSER_ERRNO(&h->req);
            h->req_scanned += n;
            if (err == HPE_PAUSED) {
                /* paused on the head's last LF: the head ends after it */
                size_t head = h->req_scanned + 1;
                h->req_scanned = 0;
                if (head > p->cfg.header_max_bytes) {
                    log_warn("proxy: request head from client %s longer than %zu bytes; "
                             "answering 431",
                             c->peer, p->cfg.header_max_bytes);
                    answer_error(c, 431, "Request Header Fields Too Large");
                    return 1;
                }
                h->req_method = h->req.method;
                h->client_keepalive = http_should_keep_alive(&h->req) && !h->stopping;
                if (h->req.method == HTTP_CONNECT) {
                    log_warn("proxy: client %s sent CONNECT; answering 405", c->peer);
                    answer_error(c, 405, "Method Not Allowed");
                    return 1;
                }
                char extra[128] = "";
                if (p->cfg.xff)
                    snprintf(extra, sizeof(extra), "X-Forwarded-For: %s\r\n", c->peer);
                buf_compact(&h->bout);
                long m = buf_ensure(&h->bout) < 0
                             ? -1
                             : http_head_rewrite(h->cin.data + h->cin.off, head, 0, extra,
                                                 h->bout.data + h->bout.len, buf_room(&h->bout));
                if (m < 0 || (h->replayable &&
                              buf_append(&h->replay, h->bout.data + h->bout.len, (size_t)m) < 0)) {
                    log_warn("proxy: request head from client %s too large; answering 431",
                             c->peer);
                    answer_error(c, 431, "Request Header Fields Too Large");
                    return 1;
                }
                h->bout.len += (size_t)m;
                buf_consume(&h->cin, head - 1); /* the LF is parsed once more */
                h->req_skip_lf = 1;
                h->req_head_done = 1;
                http_parser_pause(&h->req, 0);
                start_exchange(c);
                progress = 1;
                continue;
            }
            if (err != HPE_OK) {
                log_warn("proxy: malformed request from client %s: %s (%s); answering 400", c->peer,
                         http_errno_name(err), http_errno_description(err));
                answer_error(c, 400, "Bad Request");
                return 1;
            }
            if (avail >= p->cfg.header_max_bytes) {
                log_warn("proxy: request head from client %s longer than %zu bytes; "
                         "answering 431",
                         c->peer, p->cfg.header_max_bytes);
                answer_error(c, 431, "Request Header Fields Too Large");
                return 1;
            }
            return progress; /* need more bytes */
        }
        /* body: parse what fits in the backend buffer */
        size_t avail = buf_pending(&h->cin);
        size_t room = buf_room(&h->bout) + h->bout.off;
        if (room == 0)
            return progress;
        if (avail > room + (size_t)h->req_skip_lf)
            avail = room + (size_t)h->req_skip_lf;
        const char *start = h->cin.data + h->cin.off;
        size_t n = http_parser_execute(&h->req, &req_settings, start, avail);
        enum http_errno err = HTTP_PARSER_ERRNO(&h->req);
        if (err != HPE_OK && err != HPE_PAUSED) {
            log_warn("proxy: malformed request body from client %s: %s (%s)", c->peer,
                     http_errno_name(err), http_errno_description(err));
            answer_error(c, 400, "Bad Request");
            return 1;
        }
        size_t skip = h->req_skip_lf && n > 0 ? 1 : 0;
        if (n > skip && to_backend(h, start + skip, n - skip) < 0)
            return progress; /* cannot happen: room was checked */
        if (n > 0)
            h->req_skip_lf = 0;
        buf_consume(&h->cin, n);
        progress = progress || n > 0;
        if (err == HPE_PAUSED) {
            h->req_done = 1;
            http_parser_pause(&h->req, 0);
        }
        if (n == 0)
            break;
    }
    return progress;
}

static void finish_exchange(struct conn *c);

/* Runs the response parser over backend bytes into the client buffer. */
static int parse_response(struct conn *c)
{
    struct http_state *h = c->h;
    struct proxy *p = c->p;
    int progress = 0;
    while (!h->resp_done && buf_pending(&h->bin) > 0 && h->phase == HP_EXCHANGE) {
        const char *start = h->bin.data + h->bin.off;
        size_t avail = buf_pending(&h->bin);
        if (!h->resp_head_done) {
            if (avail == h->resp_scanned)
                return progress;
            size_t n = http_parser_execute(&h->resp, &resp_settings, start + h->resp_scanned,
                                           avail - h->resp_scanned);
            enum http_errno err = HTTP_PARSER_ERRNO(&h->resp);
            h->resp_scanned += n;
            if (err == HPE_PAUSED) {
                size_t head = h->resp_scanned + 1;
                int status = h->resp.status_code;
                int upgrade = status == 101;
                int interim = status >= 100 && status < 200;
                if (!interim) {
                    int needs_eof = http_message_needs_eof(&h->resp);
                    h->close_after = h->close_after || !h->client_keepalive || needs_eof ||
                                     h->stopping || !h->req_done || h->client_eof;
                }
                const char *extra = h->close_after           ? "Connection: close\r\n"
                                    : h->req.http_minor == 0 ? "Connection: keep-alive\r\n"
                                                             : "";
                if (interim) {
                    h->resp_scanned = 0;
                    if (buf_append(&h->cout, start, head) < 0) {
                        answer_error(c, 502, "Bad Gateway");
                        return 1;
                    }
                } else {
                    size_t cap = buf_room(&h->cout) + h->cout.off;
                    buf_compact(&h->cout);
                    long m = buf_ensure(&h->cout) < 0
                                 ? -1
                                 : http_head_rewrite(start, head, 1, extra,
                                                     h->cout.data + h->cout.len, cap);
                    if (m < 0) {
                        if (buf_pending(&h->cout) > 0) {
                            /* wait for room; the head is parsed again then */
                            http_parser_init(&h->resp, HTTP_RESPONSE);
                            h->resp_scanned = 0;
                            return progress;
                        }
                        log_warn("proxy: response head from backend '%s' too large; "
                                 "answering 502",
                                 c->backend ? c->backend->name : "?");
                        answer_error(c, 502, "Bad Gateway");
                        return 1;
                    }
                    h->cout.len += (size_t)m;
                    h->resp_scanned = 0;
                }
                h->resp_started = 1;
                buf_consume(&h->bin, head - 1);
                h->resp_skip_lf = 1;
                h->resp_head_done = 1;
                http_parser_pause(&h->resp, 0);
                progress = 1;
                if (upgrade) {
                    /* the parser stops at the end of the 101 head: the rest is raw */
                    buf_consume(&h->bin, 1);
                    set_phase(h, EV_UPGRADE);
                    h->close_after = 1;
                    /* client bytes after the request belong to the new protocol */
                    if (buf_pending(&h->cin))
                        to_backend(h, h->cin.data + h->cin.off, buf_pending(&h->cin));
                    h->cin.off = h->cin.len = 0;
                    return 1;
                }
                continue;
            }
            if (err != HPE_OK) {
                log_warn("proxy: malformed response from backend '%s': %s (%s); answering 502",
                         c->backend ? c->backend->name : "?", http_errno_name(err),
                         http_errno_description(err));
                answer_error(c, 502, "Bad Gateway");
                return 1;
            }
            if (avail >= p->cfg.header_max_bytes) {
                log_warn("proxy: response head from backend '%s' longer than %zu bytes; "
                         "answering 502",
                         c->backend ? c->backend->name : "?", p->cfg.header_max_bytes);
                answer_error(c, 502, "Bad Gateway");
                return 1;
            }
            return progress;
        }
        size_t room = buf_room(&h->cout) + h->cout.off;
        if (room == 0)
            return progress;
        if (avail > room + (size_t)h->resp_skip_lf)
            avail = room + (size_t)h->resp_skip_lf;
        size_t n = http_parser_execute(&h->resp, &resp_settings, start, avail);
        enum http_errno err = HTTP_PARSER_ERRNO(&h->resp);
        if (err != HPE_OK && err != HPE_PAUSED) {
            log_warn("proxy: malformed response body from backend '%s': %s",
                     c->backend ? c->backend->name : "?", http_errno_description(err));
            answer_error(c, 502, "Bad Gateway");
            return 1;
        }
        size_t skip = h->resp_skip_lf && n > 0 ? 1 : 0;
        if (n > skip && buf_pending(&h->cout) == 0 && n == buf_pending(&h->bin)) {
            /* all of bin is body for the client and nothing waits before it: hand the
             * buffer over instead of copying it (bulk downloads) */
            struct buf t = h->cout;
            h->cout = h->bin;
            h->bin = t;
            buf_consume(&h->cout, skip);
        } else {
            if (n > skip)
                buf_append(&h->cout, start + skip, n - skip);
            buf_consume(&h->bin, n);
        }
        if (n > 0)
            h->resp_skip_lf = 0;
        progress = progress || n > 0;
        if (err == HPE_PAUSED) {
            http_parser_pause(&h->resp, 0);
            int status = h->resp.status_code;
            if (status >= 100 && status < 200) {
                /* an interim answer (100 Continue): the real one follows */
                http_parser_init(&h->resp, HTTP_RESPONSE);
                h->resp.data = c;
                h->resp_head_done = 0;
                continue;
            }
            h->resp_done = 1;
        }
        if (n == 0)
            break;
    }
    return progress;
}

/* The backend closed (or failed) while an exchange was going on. */
static void backend_gone(struct conn *c, int err)
{
    struct http_state *h = c->h;
    struct backend *b = c->backend;
    if (h->resp_head_done && !h->resp_done && !err) {
        /* a response delimited by the close: the parser completes it on EOF */
        http_parser_execute(&h->resp, &resp_settings, NULL, 0);
        if (HTTP_PARSER_ERRNO(&h->resp) == HPE_PAUSED) {
            h->resp_done = 1;
            h->close_after = 1;
            conn_drop_backend(c);
            return;
        }
    }
    if (!h->resp_started) {
        /* nothing reached the client yet: a stale keep-alive connection or an
         * idempotent request is sent again on another backend */
        int idempotent = h->req_method == HTTP_GET || h->req_method == HTTP_HEAD ||
                         h->req_method == HTTP_OPTIONS;
        if (h->replayable && (h->backend_reused || idempotent) && b) {
            if (!h->backend_reused) {
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
            h->resp_scanned = 0;
            http_parser_init(&h->resp, HTTP_RESPONSE);
            h->resp.data = c;
            h->backend_eof = 0;
            route_request(c);
            return;
        }
        log_warn("proxy: backend '%s' closed before answering client %s; answering 502",
                 b ? b->name : "?", c->peer);
        answer_error(c, 502, "Bad Gateway");
        return;
    }
    log_warn("proxy: backend '%s' closed in the middle of a response to client %s",
             b ? b->name : "?", c->peer);
    set_phase(h, EV_CLOSE);
    h->close_after = 1;
    conn_drop_backend(c);
}

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
        set_phase(h, EV_CLOSE);
        return;
    }
    reset_exchange(h);
    set_parser_data(c);
}

/* --- I/O ------------------------------------------------------------------------ */

#define SPLICE_BODY_MIN   (64 * 1024) /* smaller bodies are copied */
#define SPLICE_BODY_CHUNK (64 * 1024)

/* Whether the rest of the response body can bypass user space: identity framing with
 * a known length left, every byte before it already forwarded. */
static int body_can_splice(const struct conn *c)
{
    const struct http_state *h = c->h;
    if (h->splicing)
        return 1;
    return c->p->cfg.relay != RELAY_COPY && h->resp_head_done && !h->resp_done &&
           !h->resp_skip_lf && buf_pending(&h->bin) == 0 && buf_pending(&h->cout) == 0 &&
           !(h->resp.flags & F_CHUNKED) && h->resp.content_length != ULLONG_MAX &&
           h->resp.content_length >= SPLICE_BODY_MIN && h->req_method != HTTP_HEAD;
}

/* Moves body bytes backend -> pipe -> client; the parser's remaining length is kept
 * in step. Returns 1 on progress, 0 when waiting, -1 when the backend ended early or
 * a socket failed. */
static int splice_body(struct conn *c)
{
    struct http_state *h = c->h;
    int progress = 0;
    if (!h->splicing) {
        if (h->pipe[0] < 0 && pipe2(h->pipe, O_NONBLOCK | O_CLOEXEC) < 0)
            return 0; /* no pipe: the copy path goes on */
        h->splicing = 1;
        log_debug("proxy: splicing %llu bytes of response body to client %s",
                  (unsigned long long)h->resp.content_length, c->peer);
    }
    for (int round = 0; round < 16; round++) {
        if (h->in_pipe > 0) {
            ssize_t n = splice(h->pipe[0], NULL, c->cfd, NULL, h->in_pipe,
                               SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
            if (n < 0)
                return errno == EAGAIN || errno == EINTR ? progress : -1;
            h->in_pipe -= (size_t)n;
            progress = 1;
            if (h->in_pipe > 0)
                continue;
        }
        if (h->resp.content_length == 0) {
            h->splicing = 0;
            h->resp_done = 1;
            return 1;
        }
        size_t want = h->resp.content_length < SPLICE_BODY_CHUNK ? (size_t)h->resp.content_length
                                                                 : SPLICE_BODY_CHUNK;
        ssize_t n = splice(c->bfd, NULL, h->pipe[1], NULL, want, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n == 0)
            return -1; /* the backend closed before the end of the body */
        if (n < 0)
            return errno == EAGAIN || errno == EINTR ? progress : -1;
        h->in_pipe = (size_t)n;
        h->resp.content_length -= (uint64_t)n;
        h->last_active_ms = loop_now_ms(c->p->loop);
        progress = 1;
    }
    return progress;
}

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

static void on_io(struct loop *loop, struct watcher *w, uint32_t revents)
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
            progress |= parse_request(c);
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
                backend_gone(c, 1);
                progress = 1;
                continue;
            }
            progress |= r;
        }
        /* backend -> proxy */
        if (h->phase == HP_EXCHANGE && c->bfd >= 0 && !h->backend_eof && body_can_splice(c)) {
            r = splice_body(c);
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
            progress |= parse_response(c);
        if (h->phase == HP_EXCHANGE && h->backend_eof && !h->resp_done &&
            buf_pending(&h->bin) == 0) {
            backend_gone(c, 0);
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
            set_phase(h, EV_ANSWERED);
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
        answer_error(c, 503, "Service Unavailable");
        http_run(c);
        return;
    }
    set_phase(h, EV_BACKEND);
    h->backend_reused = c->breused;
    if (loop_watch(c->p->loop, &c->bw, c->bfd, EPOLLOUT, on_io, c, NULL) < 0) {
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
    if (loop_watch(p->loop, &c->cw, c->cfd, EPOLLIN, on_io, c, NULL) < 0)
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
