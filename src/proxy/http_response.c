/* http mode, the backend's side: the response parser, which forwards the head
 * (rewritten) and the body to the client buffer, a resend when a backend closes before
 * answering, and the splice path for large response bodies. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include "core/log.h"
#include "proxy/buf.h"
#include "proxy/conn.h"
#include "proxy/http.h"

/* Exported by libhttp_parser 2.9 but missing from its header: whether a message's
 * body ends only when the connection closes. */
int http_message_needs_eof(const http_parser *parser);

/* Runs the response parser over backend bytes into the client buffer. */
int http_parse_response(struct conn *c)
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
            size_t n = http_parser_execute(&h->resp, &http_resp_settings, start + h->resp_scanned,
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
                        http_answer_error(c, 502, "Bad Gateway");
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
                        http_answer_error(c, 502, "Bad Gateway");
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
                    http_set_phase(h, EV_UPGRADE);
                    h->close_after = 1;
                    /* client bytes after the request belong to the new protocol */
                    if (buf_pending(&h->cin))
                        http_to_backend(h, h->cin.data + h->cin.off, buf_pending(&h->cin));
                    h->cin.off = h->cin.len = 0;
                    return 1;
                }
                continue;
            }
            if (err != HPE_OK) {
                log_warn("proxy: malformed response from backend '%s': %s (%s); answering 502",
                         c->backend ? c->backend->name : "?", http_errno_name(err),
                         http_errno_description(err));
                http_answer_error(c, 502, "Bad Gateway");
                return 1;
            }
            if (avail >= p->cfg.header_max_bytes) {
                log_warn("proxy: response head from backend '%s' longer than %zu bytes; "
                         "answering 502",
                         c->backend ? c->backend->name : "?", p->cfg.header_max_bytes);
                http_answer_error(c, 502, "Bad Gateway");
                return 1;
            }
            return progress;
        }
        size_t room = buf_room(&h->cout) + h->cout.off;
        if (room == 0)
            return progress;
        if (avail > room + (size_t)h->resp_skip_lf)
            avail = room + (size_t)h->resp_skip_lf;
        size_t n = http_parser_execute(&h->resp, &http_resp_settings, start, avail);
        enum http_errno err = HTTP_PARSER_ERRNO(&h->resp);
        if (err != HPE_OK && err != HPE_PAUSED) {
            log_warn("proxy: malformed response body from backend '%s': %s",
                     c->backend ? c->backend->name : "?", http_errno_description(err));
            http_answer_error(c, 502, "Bad Gateway");
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
void http_backend_gone(struct conn *c, int err)
{
    struct http_state *h = c->h;
    struct backend *b = c->backend;
    if (h->resp_head_done && !h->resp_done && !err) {
        /* a response delimited by the close: the parser completes it on EOF */
        http_parser_execute(&h->resp, &http_resp_settings, NULL, 0);
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
            http_route_request(c);
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

#define SPLICE_BODY_MIN   (64 * 1024) /* smaller bodies are copied */
#define SPLICE_BODY_CHUNK (64 * 1024)

/* Whether the rest of the response body can bypass user space: identity framing with
 * a known length left, every byte before it already forwarded. */
int http_body_can_splice(const struct conn *c)
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
int http_splice_body(struct conn *c)
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
