/* Internals shared by the http mode's files (http.c: phases, timers and the I/O loop;
 * http_request.c: the client's side; http_response.c: the backend's side).
 * Not for use outside src/proxy/http*.c. */
#ifndef BATON_PROXY_HTTP_H
#define BATON_PROXY_HTTP_H

#include <http_parser.h>
#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"
#include "proxy/buf.h"

struct conn;

enum hphase { HP_HEAD, HP_CONNECT, HP_EXCHANGE, HP_TUNNEL, HP_CLOSING, HP_LINGER };

/* the events of http_next[][] (http.c) */
enum hevent { EV_ROUTE, EV_BACKEND, EV_KEEPALIVE, EV_UPGRADE, EV_CLOSE, EV_ANSWERED, EV_N };

/* One client connection in http mode (conn->h). */
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

/* http.c */
/* The only place the phase changes: looks the transition up in http_next. */
void http_set_phase(struct http_state *h, enum hevent ev);
/* Answers the client with an error (unless part of a response already went out) and
 * closes after it; the backend side is released. */
void http_answer_error(struct conn *c, int status, const char *reason);
/* The watcher callback of both sockets of a connection. */
void http_on_io(struct loop *loop, struct watcher *w, uint32_t revents);
/* Parser settings: both parsers pause at the end of a head and of a message. */
extern const http_parser_settings http_req_settings, http_resp_settings;

/* http_request.c */
/* Queues bytes for the backend, keeping a copy for a resend while it fits. */
int http_to_backend(struct http_state *h, const char *p, size_t n);
/* Chooses a backend for the request: an idle connection to it is used at once,
 * else a connect starts (CONNECT until http_backend_ready). */
void http_route_request(struct conn *c);
/* Runs the request parser over client bytes; moves the head (rewritten) and body to
 * the backend buffer as room allows. Returns 1 on progress. */
int http_parse_request(struct conn *c);

/* http_response.c */
/* Runs the response parser over backend bytes into the client buffer. */
int http_parse_response(struct conn *c);
/* The backend closed (or failed) while an exchange was going on. */
void http_backend_gone(struct conn *c, int err);
/* Whether the rest of the response body can bypass user space. */
int http_body_can_splice(const struct conn *c);
/* Moves body bytes backend -> pipe -> client: 1 on progress, 0 waiting, -1 failed. */
int http_splice_body(struct conn *c);

#endif
