/* http mode, the backend's side: each response head is read by llhttp, checked again by
 * http_head_check and forwarded in canonical form; the body follows re-framed
 * (http_msg.c), or by splice(2) when it is a long Content-Length body. An ambiguous or
 * malformed response becomes a 502 and its backend connection is closed, never reused. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "proxy/buf.h"
#include "proxy/conn.h"
#include "proxy/http_int.h"
#include "proxy/http_head.h"
#include "proxy/observe.h"

static const char *backend_name(const struct conn *c)
{
    return c->backend ? c->backend->name : "?";
}

static int bad_response(struct conn *c, const char *why)
{
    log_warn("proxy: malformed response from backend '%s': %s; answering 502", backend_name(c),
             why);
    http_answer_error(c, 502, "Bad Gateway");
    return 1;
}

/* Writes the checked head to the client buffer; 0 when there is no room yet (the head
 * is read again later), -1 when it can never fit. */
static int emit_head(struct conn *c, const char *raw, const struct http_head *hd,
                     const struct head_out *o)
{
    struct http_state *h = c->h;
    buf_compact(&h->cout);
    long n = buf_ensure(&h->cout) < 0
                 ? -1
                 : http_head_emit(raw, hd, o, h->cout.data + h->cout.len, buf_room(&h->cout));
    if (n < 0)
        return buf_pending(&h->cout) > 0 ? 0 : -1;
    h->cout.len += (size_t)n;
    buf_consume(&h->bin, hd->len);
    return 1;
}

/* 101 Switching Protocols to a request that asked for it: raw bytes both ways after. */
static int start_tunnel(struct conn *c, const char *raw, const struct http_head *hd)
{
    struct http_state *h = c->h;
    if (!h->req_upgrade || h->req.phase != MP_DONE)
        return bad_response(c, "101 to a request that did not ask to upgrade");
    struct head_out o = {.framing = FRAME_NONE, .connection = CONN_UPGRADE};
    int r = emit_head(c, raw, hd, &o);
    if (r <= 0)
        return r < 0 ? bad_response(c, "101 head too large") : 0;
    h->close_after = 1;
    msg_event(&h->resp, ME_TUNNEL);
    msg_event(&h->req, ME_TUNNEL);
    http_set_phase(h, EV_UPGRADE);
    /* bytes after the heads belong to the new protocol */
    if (buf_pending(&h->bin) &&
        buf_append(&h->cout, h->bin.data + h->bin.off, buf_pending(&h->bin)) == 0)
        h->bin.off = h->bin.len = 0;
    if (buf_pending(&h->cin) &&
        buf_append(&h->bout, h->cin.data + h->cin.off, buf_pending(&h->cin)) == 0)
        h->cin.off = h->cin.len = 0;
    return 1;
}

/* An interim 1xx head goes to an HTTP/1.1 client as it is; the final head follows. */
static int forward_interim(struct conn *c, const char *raw, const struct http_head *hd)
{
    struct http_state *h = c->h;
    if (h->req_minor == 1) {
        struct head_out o = {.framing = FRAME_NONE, .connection = CONN_NONE};
        int r = emit_head(c, raw, hd, &o);
        if (r <= 0)
            return r < 0 ? bad_response(c, "1xx head too large") : 0;
    } else {
        buf_consume(&h->bin, hd->len);
    }
    msg_event(&h->resp, ME_INTERIM);
    msg_reset(&h->resp);
    return 1;
}

/* The response head bin[0..len) is whole and llhttp paused after it. */
static int forward_response_head(struct conn *c, size_t len)
{
    struct http_state *h = c->h;
    const char *raw = h->bin.data + h->bin.off;
    struct http_head hd;
    if (http_head_check(HEAD_RESPONSE, raw, len, &hd))
        return bad_response(c, hd.error);
    if (!msg_same_framing(&h->resp, &hd))
        return bad_response(c, "framing read differently by the two parsers");
    if (hd.status == 101)
        return start_tunnel(c, raw, &hd);
    if (hd.status < 200)
        return forward_interim(c, raw, &hd);
    proxy_count_response(c->backend, hd.status, loop_now_ms(c->p->loop) - h->head_start_ms);
    int bodiless = h->req_head || hd.status == 204 || hd.status == 304;
    /* an HTTP/1.0 client cannot read chunks: the body goes out plain, ended by the close */
    int unchunk = !bodiless && hd.framing == FRAME_CHUNKED && h->req_minor == 0;
    int needs_eof = !bodiless && hd.framing == FRAME_NONE;
    h->backend_keepalive = (hd.minor ? !hd.conn_close : hd.conn_keep_alive) && !needs_eof;
    h->close_after = h->close_after || !h->client_keepalive || needs_eof || unchunk ||
                     c->p->stopping || h->req.phase != MP_DONE ||
                     (h->client_eof && !buf_pending(&h->cin));
    struct head_out o = {.framing = hd.framing, .length = hd.length};
    if (hd.status == 204 || (!bodiless && hd.framing == FRAME_NONE) || unchunk)
        o.framing = FRAME_NONE;
    o.connection = h->close_after ? CONN_CLOSE : h->req_minor ? CONN_NONE : CONN_KEEP_ALIVE;
    int r = emit_head(c, raw, &hd, &o);
    if (r <= 0) {
        if (r < 0)
            return bad_response(c, "head too large for the client buffer");
        msg_reset(&h->resp); /* wait for room; the head is read again then */
        return 0;
    }
    if (bodiless)
        h->resp.parser.flags |= F_SKIPBODY; /* llhttp reads no body after this head */
    h->resp.unchunk = unchunk;
    msg_event(&h->resp, ME_HEAD);
    msg_resume(&h->resp);
    const char *why = NULL;
    if (msg_feed(&h->resp, NULL, 0, &why) < 0)
        return bad_response(c, why);
    return 1;
}

static int response_head(struct conn *c)
{
    struct http_state *h = c->h;
    const char *why = NULL;
    size_t len = 0;
    int rc = msg_feed_head(&h->resp, &h->bin, c->p->cfg.header_max_bytes, &len, &why);
    if (rc == -1)
        return bad_response(c, why);
    if (rc == -2)
        return bad_response(c, "head longer than --header-max");
    return rc ? forward_response_head(c, len) : 0;
}

/* Runs the response side over backend bytes into the client buffer. */
int http_parse_response(struct conn *c)
{
    struct http_state *h = c->h;
    int progress = 0;
    while (buf_pending(&h->bin) > 0 && h->phase == HP_EXCHANGE) {
        const char *in = h->bin.data + h->bin.off, *why = "malformed trailer section";
        size_t avail = buf_pending(&h->bin);
        long n;
        if (h->resp.phase == MP_HEAD) {
            int r = response_head(c);
            if (!r)
                return progress;
            progress = 1; /* a head forwarded (or a 502): go on with what follows */
            continue;
        } else if (h->resp.phase == MP_BODY) {
            n = msg_feed(&h->resp, in, avail, &why);
        } else if (h->resp.phase == MP_TRAILERS) {
            n = msg_trailers(&h->resp, in, avail, c->p->cfg.header_max_bytes);
        } else {
            return progress;
        }
        if (n < 0)
            return bad_response(c, why);
        if (n == 0)
            return progress;
        buf_consume(&h->bin, (size_t)n);
        progress = 1;
    }
    return progress;
}

#define SPLICE_BODY_MIN (64 * 1024) /* smaller bodies are copied */

/* Whether the rest of the response body can bypass user space: a Content-Length body
 * with a long rest, every byte before it already forwarded. */
int http_body_can_splice(const struct conn *c)
{
    const struct http_state *h = c->h;
    const llhttp_t *p = &h->resp.parser;
    if (h->resp.phase == MP_SPLICE)
        return 1;
    return c->p->cfg.relay != RELAY_COPY && h->resp.phase == MP_BODY && buf_pending(&h->bin) == 0 &&
           buf_pending(&h->cout) == 0 &&
           (p->flags & (F_CONTENT_LENGTH | F_CHUNKED | F_SKIPBODY)) == F_CONTENT_LENGTH &&
           p->content_length >= SPLICE_BODY_MIN;
}

/* The receive low-water mark of the splice path. With a fast sender each wake-up found
 * only the ~60 kB that arrived since the last one: the proxy woke and spliced 2-3 times
 * as often as it had to. Once a read finds the backend socket empty, the socket is asked
 * to hold up to SPLICE_LOWAT_MAX (never more than what is left of the body, whose last
 * bytes must wake the proxy) before it wakes the proxy; a FIN or an error still wakes it
 * at once. Bytes below the mark wake nothing, so a mark not reached within
 * SPLICE_LOWAT_WAIT_MS is lowered to 1 for the rest of the body (the sender is slow: it
 * pays that wait once per body). Back to 1 when the body has ended: the connection may
 * carry the next response. (docs/internals/proxy-performance.md) */
#define SPLICE_LOWAT_MAX     (256 * 1024)
#define SPLICE_LOWAT_WAIT_MS 2

/* 0, or -1 when the socket refused the value (then its mark is what it was). */
static int set_backend_lowat(struct conn *c, struct msg *m, uint64_t want)
{
    int v = want > SPLICE_LOWAT_MAX ? SPLICE_LOWAT_MAX : want < 1 ? 1 : (int)want;
    if (v == m->rcvlowat)
        return 0;
    if (setsockopt(c->bfd, SOL_SOCKET, SO_RCVLOWAT, &v, sizeof(v)) < 0) {
        log_warn("proxy: cannot set the receive low-water mark of backend '%s' to %d: %s",
                 backend_name(c), v, strerror(errno));
        m->lowat_slow = 1; /* never raised again for this body */
        return -1;
    }
    m->rcvlowat = v;
    return 0;
}

uint64_t http_lowat_deadline(const struct conn *c)
{
    const struct http_state *h = c->h;
    /* only while the proxy waits on the backend: a slow client (bytes in the pipe) is
     * waited for without a timer, and the next read of the backend starts the wait */
    if (h->resp.phase != MP_SPLICE || h->resp.rcvlowat <= 1 || h->in_pipe > 0)
        return 0;
    return h->resp.lowat_ms + SPLICE_LOWAT_WAIT_MS;
}

int http_lowat_expired(struct conn *c)
{
    struct http_state *h = c->h;
    h->resp.lowat_slow = 1;
    log_debug("proxy: backend '%s' sent less than the mark within %d ms; waking on every "
              "byte for the rest of the body",
              backend_name(c), SPLICE_LOWAT_WAIT_MS);
    return set_backend_lowat(c, &h->resp, 1);
}

/* Moves body bytes backend -> pipe -> client, counting what is left of the body.
 * Returns 1 on progress, 0 when waiting, -1 when the backend ended early or a socket
 * failed. */
int http_splice_body(struct conn *c)
{
    struct http_state *h = c->h;
    int progress = 0;
    if (h->resp.phase != MP_SPLICE) {
        if (h->pipe[0] < 0 && (h->pipe_size = proxy_pipe(h->pipe)) == 0)
            return 0; /* no pipe: the copy path goes on */
        h->resp.splice_left = h->resp.parser.content_length;
        h->resp.rcvlowat = 1; /* a fresh socket, or one whose last body reset it */
        h->resp.lowat_slow = 0;
        msg_event(&h->resp, ME_SPLICE);
        log_debug("proxy: splicing %llu bytes of response body to client %s",
                  (unsigned long long)h->resp.splice_left, c->peer);
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
        if (h->resp.splice_left == 0) {
            if (set_backend_lowat(c, &h->resp, 1) < 0)
                h->backend_keepalive = 0; /* a raised mark would stall its next response */
            msg_event(&h->resp, ME_DONE);
            return 1;
        }
        size_t want =
            h->resp.splice_left < h->pipe_size ? (size_t)h->resp.splice_left : h->pipe_size;
        ssize_t n = splice(c->bfd, NULL, h->pipe[1], NULL, want, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n == 0)
            return -1; /* the backend closed before the end of the body */
        if (n < 0 && errno == EAGAIN && !h->resp.lowat_slow) {
            set_backend_lowat(c, &h->resp, h->resp.splice_left);
            h->resp.lowat_ms = loop_now_ms(c->p->loop);
        }
        if (n < 0)
            return errno == EAGAIN || errno == EINTR ? progress : -1;
        h->in_pipe = (size_t)n;
        proxy_count_bytes(c->backend, 1, (uint64_t)n);
        h->resp.splice_left -= (uint64_t)n;
        h->last_active_ms = loop_now_ms(c->p->loop);
        progress = 1;
    }
    return progress;
}
