/* http mode: the exchange phases of one client connection (request + response, one at
 * a time), and the proxy's own error answers. The client connection and the backend
 * connection are separate: after each response the backend connection is kept only if
 * its backend still takes new work, so a drain or a pool switch moves keep-alive
 * clients at their next request without an error.
 *
 *     HEAD --ROUTE--> CONNECT --BACKEND--> EXCHANGE --KEEPALIVE--> HEAD
 *      |  (head forwarded)  ^  (reused: at once)  |  (response done, keep-alive)
 *      |                    +------ ROUTE --------+  (request resent elsewhere)
 *      |                                          +--UPGRADE--> TUNNEL (raw bytes)
 *     any --CLOSE--> ENDING: the last response goes out, then the close
 *     any --ERROR--> CLOSING: the proxy's answer (400, 408, 431, 502, 503...) goes out
 *     CLOSING --ANSWERED--> LINGER: read and drop what the client still sends, so the
 *                           close does not reset the answer away (until EOF or 1 s)
 *
 * Transition -> function: HEAD->CONNECT and EXCHANGE->CONNECT ROUTE http_route_request()
 * (http.c), CONNECT->EXCHANGE BACKEND http_route_request()/http_backend_ready(),
 * EXCHANGE->HEAD KEEPALIVE reset_exchange(), EXCHANGE->TUNNEL UPGRADE start_tunnel()
 * (http_response.c), ->ENDING CLOSE finish_exchange()/http_backend_gone(), ->CLOSING
 * ERROR http_answer_error(), CLOSING->LINGER ANSWERED http_run(). The per-direction
 * message phases live in http_msg.c. */
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "proxy/buf.h"
#include "proxy/conn.h"
#include "proxy/http_int.h"

#define BAD (-1)
/* next phase per [phase][event] */
static const signed char http_action[HP_N][EV_N] = {
    /*           ROUTE       BACKEND      KEEPALIVE UPGRADE   CLOSE      ERROR      ANSWERED */
    [HP_HEAD] = {HP_CONNECT, BAD, HP_HEAD, BAD, HP_ENDING, HP_CLOSING, BAD},
    [HP_CONNECT] = {HP_CONNECT, HP_EXCHANGE, BAD, BAD, HP_ENDING, HP_CLOSING, BAD},
    [HP_EXCHANGE] = {HP_CONNECT, BAD, HP_HEAD, HP_TUNNEL, HP_ENDING, HP_CLOSING, BAD},
    [HP_TUNNEL] = {BAD, BAD, BAD, BAD, HP_ENDING, HP_ENDING, BAD},
    [HP_ENDING] = {BAD, BAD, BAD, BAD, HP_ENDING, HP_ENDING, BAD},
    [HP_CLOSING] = {BAD, BAD, BAD, BAD, HP_CLOSING, HP_CLOSING, HP_LINGER},
    [HP_LINGER] = {BAD, BAD, BAD, BAD, HP_LINGER, HP_LINGER, BAD},
};

static const char *const phase_names[HP_N] = {"HEAD",   "CONNECT", "EXCHANGE", "TUNNEL",
                                              "ENDING", "CLOSING", "LINGER"};

const char *http_phase_name(enum hphase p)
{
    return (unsigned)p < HP_N ? phase_names[p] : "?";
}

int http_next(enum hphase phase, enum hevent ev)
{
    if ((unsigned)phase >= HP_N || (unsigned)ev >= EV_N)
        return BAD;
    return http_action[phase][ev];
}

void http_set_phase(struct http_state *h, enum hevent ev)
{
    int next = http_next(h->phase, ev);
    if (next == BAD) {
        log_alert("proxy: http connection in phase %s got event %d; closing it",
                  http_phase_name(h->phase), (int)ev);
        next = HP_ENDING;
    }
    h->phase = (enum hphase)next;
}

const char *http_status_text(int status)
{
    switch (status) {
    case 400:
        return "Bad Request";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 431:
        return "Request Header Fields Too Large";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Error";
    }
}

void http_answer_error(struct conn *c, int status, const char *reason)
{
    struct http_state *h = c->h;
    h->close_after = 1;
    conn_drop_backend(c); /* never reused after an error */
    if (h->resp.phase != MP_HEAD) {
        /* part of a response went out: only closing can tell */
        http_set_phase(h, EV_CLOSE);
        return;
    }
    http_set_phase(h, EV_ERROR);
    char msg[256];
    int n = snprintf(msg, sizeof(msg),
                     "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n%s\n",
                     status, reason, strlen(reason) + 1, reason);
    h->cout.off = h->cout.len = 0;
    buf_append(&h->cout, msg, (size_t)n);
}
