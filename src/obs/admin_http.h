/* The admin listener's HTTP/1.1: a strict request parser (llhttp, no lenient flag, caps
 * on every part a peer fills) and the routes that turn one request into one whole
 * response. No sockets here: the unit tests and the fuzz target drive it directly.
 *
 *   GET  /                the status page (embedded assets: /, /app.js, /app.css)
 *   GET  /metrics         Prometheus text exposition
 *   GET  /api/status      {"role":..,"read_only":..,"status":{..}} for the page
 *   POST /api/ACTION      a state change; needs "Authorization: Bearer TOKEN" and a
 *                         token configured, else 403 (read-only) or 401 (wrong token) */
#ifndef BATON_OBS_ADMIN_HTTP_H
#define BATON_OBS_ADMIN_HTTP_H

#include <jansson.h>
#include <llhttp.h>
#include <stddef.h>

#include "core/err.h"
#include "obs/expo.h"

#define ADMIN_HEAD_MAX  8192 /* request line and headers */
#define ADMIN_URL_MAX   512
#define ADMIN_BODY_MAX  4096
#define ADMIN_TOKEN_MAX 256

/* What the process behind the listener provides. */
struct admin_hooks {
    const char *role; /* "master" or "proxy": which panels the page draws */
    void (*metrics)(void *data, struct expo *x);
    json_t *(*status)(void *data); /* new reference */
    /* A POST /api/ACTION with its JSON object body: the reply object (new reference)
     * and its HTTP status (200, 202 accepted, 400, 404 unknown action, 409 refused). */
    json_t *(*action)(void *data, const char *action, json_t *args, int *http_status);
    void (*free_data)(void *data); /* NULL, or frees data when the listener closes */
    void *data;
};

/* An embedded file of web/ (generated at build time from web/embed.sh). */
struct admin_asset {
    const char *path, *type;
    const unsigned char *data;
    size_t len;
};
extern const struct admin_asset admin_assets[];
extern const int admin_nassets;

struct admin_req {
    int method; /* enum llhttp_method */
    char url[ADMIN_URL_MAX];
    size_t url_len;
    char auth[ADMIN_TOKEN_MAX + 16]; /* the Authorization value */
    int nauth;                       /* Authorization headers seen */
    char body[ADMIN_BODY_MAX];
    size_t body_len;
};

struct admin_parser {
    llhttp_t p;
    struct admin_req req;
    size_t head_bytes; /* of the head so far (as llhttp handed it over) */
    char field[32];    /* the header name being read (cut: not one we keep) */
    size_t field_len;
    int field_auth, done, status;
};

void admin_parser_init(struct admin_parser *ap);
/* Feeds bytes of one request. Returns 1 once the whole request was read (bytes after
 * it are refused: one request per connection), 0 for more, or the HTTP status that
 * refuses it (400 malformed, 405, 413 body, 414 URL, 431 head). */
int admin_parser_feed(struct admin_parser *ap, const char *buf, size_t len);

/* Writes the whole response to a parsed request into out (status line, headers with
 * Content-Length and Connection: close, body). `token` "" means read-only. */
void admin_respond(const struct admin_hooks *h, const char *token, const struct admin_req *r,
                   struct expo *out);
/* A bare error response (a request that did not parse). */
void admin_respond_error(int status, const char *why, struct expo *out);

/* Reads the admin token from `path`: one line of 16..256 printable characters without
 * spaces, in a file that only its owner may read. */
int admin_read_token(const char *path, char *token, size_t size, struct err *e);

#endif
