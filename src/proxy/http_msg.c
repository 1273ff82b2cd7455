/* http mode: one message in one direction. llhttp (strict, no lenient flag) reads the
 * bytes; the head is handed to the caller whole (paused at its end) to be checked and
 * re-emitted; the body is re-framed from the parser's callbacks: Content-Length bodies
 * as they are, chunked bodies chunk by chunk (same sizes, extensions dropped, trailers
 * checked whole then dropped), so the other side never gets a byte the parser did not
 * frame. The output never outgrows what was consumed by more than a size line, so a
 * fixed reserve keeps every buffer under its cap.
 *
 * Phases of one side (request: client -> backend buffer; response: backend -> client):
 *
 *              ME_HEAD              ME_LAST              ME_DONE
 *     HEAD ------------> BODY -------------> TRAILERS ----------> DONE
 *      |  ^  \              \                                    ^  |
 *      |  |   \ ME_TUNNEL    +------------- ME_DONE -------------+  | ME_RESET
 *      |  |    v (response)   \                                 /   v
 *      |  |   TUNNEL           +- ME_SPLICE -> SPLICE - ME_DONE +  HEAD
 *      |  +-- ME_INTERIM (response: 1xx)       (response)
 *      +----- ME_RESET (a resend: nothing of it was forwarded)
 *     DONE --ME_TUNNEL--> TUNNEL (request: the 101 answered it)
 *
 * Transition -> function: HEAD->BODY ME_HEAD http_parse_request()/http_parse_response()
 * (forward_*_head), HEAD->HEAD ME_INTERIM forward_response_head(), BODY->TRAILERS
 * ME_LAST on_chunk_header(), BODY|TRAILERS|SPLICE->DONE ME_DONE on_message_complete()/
 * http_splice_body(), BODY->SPLICE ME_SPLICE http_splice_body(), HEAD->TUNNEL (response)
 * and DONE->TUNNEL (request) ME_TUNNEL forward_response_head(), DONE|HEAD->HEAD ME_RESET
 * msg_reset(). Every other pair is invalid: msg_event() refuses it and the exchange is
 * closed. */
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "proxy/http_int.h"
#include "proxy/http_head.h"

#define BAD (-1)
/* next phase per [side][phase][event] */
static const signed char msg_action[SIDE_N][MP_N][ME_N] =
    {
        [SIDE_REQUEST] =
            {
                /*             HEAD     INTERIM SPLICE LAST         DONE     TUNNEL     RESET */
                [MP_HEAD] = {MP_BODY, BAD, BAD, BAD, BAD, BAD, MP_HEAD},
                [MP_BODY] = {BAD, BAD, BAD, MP_TRAILERS, MP_DONE, BAD, BAD},
                [MP_SPLICE] = {BAD, BAD, BAD, BAD, BAD, BAD, BAD},
                [MP_TRAILERS] = {BAD, BAD, BAD, BAD, MP_DONE, BAD, BAD},
                [MP_DONE] = {BAD, BAD, BAD, BAD, BAD, MP_TUNNEL, MP_HEAD},
                [MP_TUNNEL] = {BAD, BAD, BAD, BAD, BAD, BAD, BAD},
            },
        [SIDE_RESPONSE] =
            {
                [MP_HEAD] = {MP_BODY, MP_HEAD, BAD, BAD, BAD, MP_TUNNEL, MP_HEAD},
                [MP_BODY] = {BAD, BAD, MP_SPLICE, MP_TRAILERS, MP_DONE, BAD, BAD},
                [MP_SPLICE] = {BAD, BAD, BAD, BAD, MP_DONE, BAD, BAD},
                [MP_TRAILERS] = {BAD, BAD, BAD, BAD, MP_DONE, BAD, BAD},
                [MP_DONE] = {BAD, BAD, BAD, BAD, BAD, BAD, MP_HEAD},
                [MP_TUNNEL] = {BAD, BAD, BAD, BAD, BAD, BAD, BAD},
            },
};

static const char *const phase_names[MP_N] = {"HEAD",     "BODY", "SPLICE",
                                              "TRAILERS", "DONE", "TUNNEL"};

const char *msg_phase_name(enum msg_phase p)
{
    return (unsigned)p < MP_N ? phase_names[p] : "?";
}

int msg_next(enum msg_side side, enum msg_phase phase, enum msg_event ev)
{
    if ((unsigned)side >= SIDE_N || (unsigned)phase >= MP_N || (unsigned)ev >= ME_N)
        return BAD;
    return msg_action[side][phase][ev];
}

int msg_event(struct msg *m, enum msg_event ev)
{
    int next = msg_next(m->side, m->phase, ev);
    if (next == BAD) {
        log_alert("proxy: http %s side in phase %s got event %d", m->side ? "response" : "request",
                  msg_phase_name(m->phase), (int)ev);
        return -1;
    }
    m->phase = (enum msg_phase)next;
    return 0;
}

/* --- the parser's callbacks ------------------------------------------------------ */

/* Bytes kept free in the output before feeding body bytes: a chunk size line written
 * after its last byte arrived (it may have been consumed in an earlier call) */
#define MSG_RESERVE 32

int msg_put(struct msg *m, const char *p, size_t n)
{
    if (buf_append(m->out, p, n) < 0)
        return -1;
    if (m->copy && buf_append(m->copy, p, n) < 0)
        m->copy = NULL; /* too long to resend */
    return 0;
}

static int on_headers_complete(llhttp_t *p)
{
    return HPE_PAUSED; /* the caller checks and forwards the head */
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
    return msg_put(p->data, at, len) < 0 ? -1 : 0;
}

static int on_chunk_header(llhttp_t *p)
{
    struct msg *m = p->data;
    if (p->content_length == 0)
        return msg_event(m, ME_LAST) < 0 ? -1 : HPE_PAUSED;
    if (m->unchunk)
        return 0;
    char line[24]; /* lower-case hex, then CRLF, written from the end */
    size_t i = sizeof(line) - 2;
    line[i] = '\r';
    line[i + 1] = '\n';
    uint64_t v = p->content_length;
    do {
        line[--i] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    return msg_put(m, line + i, sizeof(line) - i) < 0 ? -1 : 0;
}

static int on_chunk_complete(llhttp_t *p)
{
    struct msg *m = p->data;
    if (m->phase != MP_BODY || m->unchunk)
        return 0; /* the last chunk: written once its trailers are checked */
    return msg_put(m, "\r\n", 2) < 0 ? -1 : 0;
}

static int on_message_complete(llhttp_t *p)
{
    struct msg *m = p->data;
    if (m->phase == MP_HEAD)
        return -1; /* cannot happen: the head pauses first */
    return msg_event(m, ME_DONE) < 0 ? -1 : HPE_PAUSED;
}

static const llhttp_settings_t msg_settings = {
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_chunk_header = on_chunk_header,
    .on_chunk_complete = on_chunk_complete,
    .on_message_complete = on_message_complete,
};

void msg_reset(struct msg *m)
{
    llhttp_init(&m->parser, m->side == SIDE_REQUEST ? HTTP_REQUEST : HTTP_RESPONSE, &msg_settings);
    m->parser.data = m;
    m->phase = MP_HEAD;
    m->scanned = 0;
    m->splice_left = 0;
    m->unchunk = 0;
}

void msg_init(struct msg *m, enum msg_side side, struct buf *out, struct buf *copy)
{
    m->side = side;
    m->out = out;
    m->copy = copy;
    msg_reset(m);
}

void msg_resume(struct msg *m)
{
    if (llhttp_get_errno(&m->parser) == HPE_PAUSED)
        llhttp_resume(&m->parser);
}

long msg_feed(struct msg *m, const char *in, size_t n, const char **why)
{
    if (m->phase != MP_HEAD && n > 0) {
        /* the body: never more than the output can take with its reserve */
        size_t room = buf_room(m->out) + m->out->off;
        if (room <= MSG_RESERVE)
            return 0;
        if (n > room - MSG_RESERVE)
            n = room - MSG_RESERVE;
    }
    static const char none[1];
    enum llhttp_errno err = llhttp_execute(&m->parser, n ? in : none, n);
    if (err == HPE_OK)
        return (long)n;
    if (err == HPE_PAUSED || err == HPE_PAUSED_UPGRADE)
        return n ? llhttp_get_error_pos(&m->parser) - in : 0;
    *why = llhttp_get_error_reason(&m->parser);
    if (!*why)
        *why = llhttp_errno_name(err);
    return -1;
}

int msg_feed_head(struct msg *m, const struct buf *in, size_t max, size_t *len, const char **why)
{
    size_t avail = buf_pending(in);
    if (avail == m->scanned)
        return 0;
    long n = msg_feed(m, in->data + in->off + m->scanned, avail - m->scanned, why);
    if (n < 0)
        return -1;
    m->scanned += (size_t)n;
    if (llhttp_get_errno(&m->parser) == HPE_PAUSED) {
        *len = m->scanned;
        m->scanned = 0;
        return *len > max ? -2 : 1;
    }
    return avail >= max ? -2 : 0;
}

long msg_trailers(struct msg *m, const char *in, size_t n, size_t max)
{
    long t = http_trailers_check(in, n);
    if (t < 0 || (t == 0 && n > max))
        return -1;
    if (t == 0 || buf_room(m->out) + m->out->off < 5)
        return 0;
    msg_resume(m);
    enum llhttp_errno err = llhttp_execute(&m->parser, in, (size_t)t);
    if (err != HPE_PAUSED || llhttp_get_error_pos(&m->parser) != in + t || m->phase != MP_DONE)
        return -1; /* llhttp and the trailer check disagree on where the message ends */
    if (!m->unchunk)
        msg_put(m, "0\r\n\r\n", 5);
    return t;
}

int msg_same_framing(const struct msg *m, const struct http_head *hd)
{
    const llhttp_t *p = &m->parser;
    int chunked = (p->flags & F_CHUNKED) != 0, length = (p->flags & F_CONTENT_LENGTH) != 0;
    if (hd->framing == FRAME_CHUNKED)
        return chunked && !length;
    if (hd->framing == FRAME_LENGTH)
        return length && !chunked && p->content_length == hd->length;
    return !chunked && !length && !(p->flags & F_TRANSFER_ENCODING);
}
