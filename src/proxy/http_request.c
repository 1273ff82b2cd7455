/* http mode, the client's side: each request head is read by llhttp, checked again by
 * http_head_check and forwarded in canonical form (one framing field, hop-by-hop fields
 * gone, X-Forwarded-For added); the body follows re-framed (http_msg.c). Anything
 * ambiguous is answered 400 (or 405/431/501/505) and the connection closes: nothing of
 * a rejected message, nor anything after it, reaches a backend. */
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "proxy/buf.h"
#include "proxy/conn.h"
#include "proxy/http_int.h"
#include "proxy/http_head.h"

static int reject(struct conn *c, int status, const char *why)
{
    if (status == 431)
        log_warn("proxy: request head from client %s too large (%s); answering 431", c->peer, why);
    else
        log_warn("proxy: malformed request from client %s: %s; answering %d", c->peer, why, status);
    http_answer_error(c, status, http_status_text(status));
    return 1;
}

/* The head cin[0..len) is whole and llhttp paused after it: check it, write its
 * canonical form for the backend, and let the body follow. */
static int forward_request_head(struct conn *c, size_t len)
{
    struct http_state *h = c->h;
    struct proxy *p = c->p;
    const char *raw = h->cin.data + h->cin.off;
    struct http_head hd;
    int status = http_head_check(HEAD_REQUEST, raw, len, &hd);
    if (status)
        return reject(c, status, hd.error);
    if (!msg_same_framing(&h->req, &hd))
        return reject(c, 400, "framing read differently by the two parsers");
    h->req_minor = hd.minor;
    h->req_head = hd.method.len == 4 && memcmp(raw + hd.method.off, "HEAD", 4) == 0;
    uint8_t m = h->req.parser.method;
    h->req_idempotent = m == HTTP_GET || m == HTTP_HEAD || m == HTTP_OPTIONS;
    h->req_upgrade = hd.conn_upgrade && hd.has_upgrade;
    h->client_keepalive = (hd.minor ? !hd.conn_close : hd.conn_keep_alive) && !p->stopping;
    struct head_out o = {.framing = hd.framing, .length = hd.length, .extra = h->xff};
    o.connection = h->req_upgrade ? CONN_UPGRADE : hd.minor ? CONN_NONE : CONN_KEEP_ALIVE;
    buf_compact(&h->bout);
    long n = buf_ensure(&h->bout) < 0
                 ? -1
                 : http_head_emit(raw, &hd, &o, h->bout.data + h->bout.len, buf_room(&h->bout));
    if (n < 0)
        return reject(c, 431, "no room for the forwarded head");
    if (h->req.copy && buf_append(h->req.copy, h->bout.data + h->bout.len, (size_t)n) < 0)
        h->req.copy = NULL; /* too long to resend */
    h->bout.len += (size_t)n;
    buf_consume(&h->cin, len);
    msg_event(&h->req, ME_HEAD);
    msg_resume(&h->req);
    const char *why = NULL;
    if (msg_feed(&h->req, NULL, 0, &why) < 0) /* a message without body ends here */
        return reject(c, 400, why);
    return HTTP_PROGRESS | HTTP_ROUTE;
}

/* MP_HEAD: feeds the bytes not seen yet; forwards the head once it is whole. */
static int request_head(struct conn *c)
{
    struct http_state *h = c->h;
    struct proxy *p = c->p;
    if (!h->head_start_ms)
        h->head_start_ms = loop_now_ms(p->loop);
    const char *why = NULL;
    size_t len = 0;
    int rc = msg_feed_head(&h->req, &h->cin, p->cfg.header_max_bytes, &len, &why);
    if (rc == -1)
        return reject(c, 400, why);
    if (rc == -2)
        return reject(c, 431, "longer than --header-max");
    return rc ? forward_request_head(c, len) : 0;
}

/* Runs the request side over client bytes: checks the head, forwards it normalized and
 * re-frames the body into the backend buffer as room allows. */
int http_parse_request(struct conn *c)
{
    struct http_state *h = c->h;
    int progress = 0;
    while (buf_pending(&h->cin) > 0 && h->phase != HP_CLOSING) {
        const char *in = h->cin.data + h->cin.off, *why = "malformed trailer section";
        size_t avail = buf_pending(&h->cin);
        long n;
        if (h->req.phase == MP_HEAD)
            return progress | request_head(c); /* the caller routes a forwarded head */
        else if (h->req.phase == MP_BODY) {
            n = msg_feed(&h->req, in, avail, &why);
        } else if (h->req.phase == MP_TRAILERS) {
            n = msg_trailers(&h->req, in, avail, c->p->cfg.header_max_bytes);
        } else {
            return progress; /* DONE: pipelined bytes wait for the next exchange */
        }
        if (n < 0)
            return reject(c, 400, why);
        if (n == 0)
            return progress;
        buf_consume(&h->cin, (size_t)n);
        progress = 1;
    }
    return progress;
}
