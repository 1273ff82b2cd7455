/* http mode, the client's side: the request parser, which forwards the head (rewritten)
 * and the body to the backend buffer, and the choice of a backend for each request. */
#include <stdio.h>

#include "core/log.h"
#include "proxy/buf.h"
#include "proxy/conn.h"
#include "proxy/http.h"

/* Queues bytes for the backend, keeping a copy for a resend while it fits. */
int http_to_backend(struct http_state *h, const char *p, size_t n)
{
    if (buf_append(&h->bout, p, n) < 0)
        return -1;
    if (h->replayable && buf_append(&h->replay, p, n) < 0)
        h->replayable = 0;
    return 0;
}

/* Chooses a backend for the request: an idle connection to it is used at once,
 * else a connect starts (CONNECT until http_backend_ready). */
void http_route_request(struct conn *c)
{
    struct http_state *h = c->h;
    http_set_phase(h, EV_ROUTE);
    int rc = conn_connect_backend(c);
    if (rc < 0) {
        log_warn("proxy: no backend available for a request of client %s (active pool '%s'); "
                 "answering 503",
                 c->peer, pool_active(c->p->table));
        http_answer_error(c, 503, "Service Unavailable");
        return;
    }
    h->backend_reused = c->breused;
    if (rc == 1) {
        http_set_phase(h, EV_BACKEND);
        if (!c->bw.active &&
            loop_watch(c->p->loop, &c->bw, c->bfd, EPOLLOUT | EPOLLIN, http_on_io, c, NULL) < 0)
            http_answer_error(c, 502, "Bad Gateway");
    }
}

static void start_exchange(struct conn *c)
{
    c->h->requests++;
    c->ntried = 0;
    if (!c->parked)
        conn_drop_backend(c);
    http_route_request(c);
}

/* Runs the request parser over client bytes; moves the head (rewritten) and body to
 * the backend buffer as room allows. */
int http_parse_request(struct conn *c)
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
            size_t n = http_parser_execute(&h->req, &http_req_settings,
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
                    http_answer_error(c, 431, "Request Header Fields Too Large");
                    return 1;
                }
                h->req_method = h->req.method;
                h->client_keepalive = http_should_keep_alive(&h->req) && !h->stopping;
                if (h->req.method == HTTP_CONNECT) {
                    log_warn("proxy: client %s sent CONNECT; answering 405", c->peer);
                    http_answer_error(c, 405, "Method Not Allowed");
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
                    http_answer_error(c, 431, "Request Header Fields Too Large");
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
                http_answer_error(c, 400, "Bad Request");
                return 1;
            }
            if (avail >= p->cfg.header_max_bytes) {
                log_warn("proxy: request head from client %s longer than %zu bytes; "
                         "answering 431",
                         c->peer, p->cfg.header_max_bytes);
                http_answer_error(c, 431, "Request Header Fields Too Large");
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
        size_t n = http_parser_execute(&h->req, &http_req_settings, start, avail);
        enum http_errno err = HTTP_PARSER_ERRNO(&h->req);
        if (err != HPE_OK && err != HPE_PAUSED) {
            log_warn("proxy: malformed request body from client %s: %s (%s)", c->peer,
                     http_errno_name(err), http_errno_description(err));
            http_answer_error(c, 400, "Bad Request");
            return 1;
        }
        size_t skip = h->req_skip_lf && n > 0 ? 1 : 0;
        if (n > skip && http_to_backend(h, start + skip, n - skip) < 0)
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
