/* Internals shared by the http mode's files. Calls go one way, top to bottom:
 *   http.c           the relay (relay.h): I/O loop, timers, routing, resends
 *   http_request.c   the client's side      http_response.c  the backend's side
 *   http_exchange.c  the exchange phases and the proxy's own error answers
 *   http_msg.c       the per-direction message phases, llhttp, body re-framing
 *   http_head.c      the head checker and canonical writer (http_head.h)
 * This header belongs to none of them, so that no file below http.c depends on it:
 * http.c's own interface is relay_http (relay.h). Not for use outside
 * src/proxy/http*.c and their unit tests. */
#ifndef BATON_PROXY_HTTP_INT_H
#define BATON_PROXY_HTTP_INT_H

#include <llhttp.h>
#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"
#include "proxy/buf.h"

struct conn;
struct http_head;

/* The exchange as a whole (http_exchange.c). The other state of a connection is what
 * the messages and sockets said (keep-alive, EOF), not where the exchange stands. */
enum hphase {
    HP_HEAD,     /* waiting for (the rest of) a request head */
    HP_CONNECT,  /* head forwarded; a backend connect in progress */
    HP_EXCHANGE, /* request and response under way */
    HP_TUNNEL,   /* after 101: raw bytes both ways */
    HP_ENDING,   /* the last response goes out, then the close */
    HP_CLOSING,  /* the proxy's error answer goes out, then LINGER */
    HP_LINGER,   /* answer sent: reading and dropping until EOF or 1 s */
    HP_N
};
enum hevent {
    EV_ROUTE,     /* a request is to be sent: choose a backend */
    EV_BACKEND,   /* the backend side is ready */
    EV_KEEPALIVE, /* an exchange ended; the client may send another */
    EV_UPGRADE,   /* 101 Switching Protocols */
    EV_CLOSE,     /* the connection ends after what is queued for the client */
    EV_ERROR,     /* the proxy answers an error, then closes */
    EV_ANSWERED,  /* the error answer went out */
    EV_N
};

/* One message in one direction (http_msg.c): the request side reads the client and
 * writes the backend buffer, the response side reads the backend and writes the client
 * buffer. */
enum msg_side { SIDE_REQUEST, SIDE_RESPONSE, SIDE_N };
enum msg_phase {
    MP_HEAD,     /* head bytes arriving; nothing of this message forwarded */
    MP_BODY,     /* head forwarded; body re-framed from the parser's callbacks */
    MP_SPLICE,   /* response: the rest of a long Content-Length body by splice(2) */
    MP_TRAILERS, /* last chunk seen; the trailer section is checked whole */
    MP_DONE,     /* the message went out whole; the parser is paused after it */
    MP_TUNNEL,   /* after 101: raw bytes */
    MP_N
};
enum msg_event {
    ME_HEAD,    /* a head was checked and forwarded */
    ME_INTERIM, /* response: a 1xx head forwarded; the final head follows */
    ME_SPLICE,  /* response body moves to the splice path */
    ME_LAST,    /* the last chunk's size line */
    ME_DONE,    /* the message ended */
    ME_TUNNEL,  /* 101 Switching Protocols */
    ME_RESET,   /* next exchange on the same connection */
    ME_N
};

struct msg {
    enum msg_side side;
    enum msg_phase phase;
    llhttp_t parser;
    size_t scanned;       /* head bytes already fed to the parser */
    struct buf *out;      /* where the normalized message goes */
    struct buf *copy;     /* request: a copy for a resend, while it fits (else NULL) */
    uint64_t splice_left; /* MP_SPLICE: body bytes still to move */
    /* MP_SPLICE: the backend socket's receive low-water mark (1: the kernel's default),
     * when it was last raised, and whether the sender proved slow (then it stays 1) */
    int rcvlowat, lowat_slow;
    uint64_t lowat_ms;
    int unchunk; /* a chunked body goes out as plain bytes (to an HTTP/1.0 client) */
};

/* One client connection in http mode (conn->h). */
struct http_state {
    enum hphase phase;
    struct msg req, resp;
    struct buf cin;    /* from the client, not parsed yet (or pipelined) */
    struct buf bout;   /* to the backend */
    struct buf bin;    /* from the backend, not parsed yet */
    struct buf cout;   /* to the client */
    struct buf replay; /* the request as sent, to resend after a stale backend connection */
    int req_head, req_idempotent, req_minor, req_upgrade; /* what the request asked */
    int client_keepalive, backend_keepalive;              /* what the heads said */
    int close_after;             /* this exchange is the connection's last */
    int backend_eof, client_eof; /* what the sockets said */
    /* the socket may hold bytes: set by a readiness event, cleared once a read found it
     * empty, so that a request costs no read that only returns EAGAIN */
    int client_readable, backend_readable;
    int pipe[2];
    size_t in_pipe, pipe_size;
    uint64_t head_start_ms, last_active_ms;
    char xff[96]; /* "X-Forwarded-For: PEER\r\n", or "" with --no-xff */
    struct timer timer;
    unsigned requests;
};

/* http_exchange.c */
/* The next exchange phase for [phase][event], or -1 for a pair that must never happen
 * (the table; exposed for its unit test). */
int http_next(enum hphase phase, enum hevent ev);
const char *http_phase_name(enum hphase p);
/* The only place the exchange phase changes: a bad pair is logged and ends it. */
void http_set_phase(struct http_state *h, enum hevent ev);
/* Answers the client with an error (unless part of a response already went out) and
 * closes after it; the backend side is released, never reused. */
void http_answer_error(struct conn *c, int status, const char *reason);
/* Reason phrase of the statuses the proxy answers itself. */
const char *http_status_text(int status);

/* http_msg.c */
/* The next message phase for [side][phase][event], or -1 for a transition that must
 * never happen (the table; exposed for its unit test). */
int msg_next(enum msg_side side, enum msg_phase phase, enum msg_event ev);
/* The only place a message phase changes; returns -1 (phase left alone) on a bad pair. */
int msg_event(struct msg *m, enum msg_event ev);
const char *msg_phase_name(enum msg_phase p);
/* Sets m up for a new message (parser, phase MP_HEAD). */
void msg_reset(struct msg *m);
void msg_init(struct msg *m, enum msg_side side, struct buf *out, struct buf *copy);
/* Appends to m->out (and m->copy while it fits); -1 if out has no room. */
int msg_put(struct msg *m, const char *p, size_t n);
/* Feeds in[0..n) to m's parser. Returns bytes consumed, or -1 on a parse error (reason
 * in *why). Stops at the end of a head, at the last chunk and at the end of the message;
 * the body is re-framed into m->out, never more bytes than consumed. */
long msg_feed(struct msg *m, const char *in, size_t n, const char **why);
/* MP_HEAD: feeds the bytes of `in` that m has not scanned yet. Returns 1 once the head is
 * whole (its length in *len; m starts scanning afresh), 0 while it is not, -1 when it is
 * malformed (reason in *why), -2 when it is, or will be, longer than max. */
int msg_feed_head(struct msg *m, const struct buf *in, size_t max, size_t *len, const char **why);
/* MP_TRAILERS: checks and consumes the trailer section at the start of in (dropped;
 * the last chunk is written). Returns bytes consumed (0: more needed), -1 if malformed. */
long msg_trailers(struct msg *m, const char *in, size_t n, size_t max);
/* After a head was forwarded: lets the parser go on into the body. */
void msg_resume(struct msg *m);
/* Whether llhttp and the head checker found the same framing (one more guard against a
 * message two parsers would read differently). */
int msg_same_framing(const struct msg *m, const struct http_head *hd);

/* http_request.c */
#define HTTP_PROGRESS 1 /* bytes were consumed or produced */
#define HTTP_ROUTE    2 /* a request head was forwarded: the exchange starts */
/* Runs the request side over client bytes: checks the head, forwards it normalized and
 * re-frames the body into the backend buffer as room allows. Returns HTTP_* bits;
 * stops after a head so that the caller routes the request first. */
int http_parse_request(struct conn *c);

/* http_response.c */
/* Runs the response side over backend bytes into the client buffer. */
int http_parse_response(struct conn *c);
/* Whether the rest of the response body can bypass user space. */
int http_body_can_splice(const struct conn *c);
/* Moves body bytes backend -> pipe -> client: 1 on progress, 0 waiting, -1 failed. */
int http_splice_body(struct conn *c);
/* The time by which a raised low-water mark must have woken the proxy while it waits on
 * the backend (0: no mark raised, or the wait is on the client). */
uint64_t http_lowat_deadline(const struct conn *c);
/* Called once that deadline has passed: the mark goes back to 1 for the rest of the body
 * (the caller then runs the connection). -1 when the socket refused: the body would
 * stall, the caller closes the connection. */
int http_lowat_expired(struct conn *c);

#endif
