/* The control protocol: one JSON object per line over a Unix socket (mode 0600, peer
 * uid checked). A request is {"cmd":"NAME", ...}; a reply is {"ok":true, ...} or
 * {"ok":false,"error":"..."}. One request per connection; a reply may be deferred
 * (e.g. `upgrade` answers when the new generation serves or rolled back). */
#ifndef BATON_CORE_CTL_H
#define BATON_CORE_CTL_H

#include <jansson.h>
#include <stddef.h>

#include "core/err.h"
#include "core/loop.h"

#define CTL_REQUEST_MAX (64 * 1024)

struct ctl_server;
struct ctl_req;

/* Called once per well-formed request from an allowed peer. The handler must answer
 * with ctl_reply*() exactly once, now or later. */
typedef void (*ctl_handler)(struct ctl_req *req, const char *cmd, json_t *msg, void *data);

/* Binds `path` (parent directory created 0700 if missing; the socket is 0600) and
 * serves requests on `loop`. */
int ctl_server_open(struct ctl_server **out, struct loop *loop, const char *path,
                    ctl_handler handler, void *data, struct err *e);
/* As ctl_server_open on an already listening socket (inherited across re-exec). */
int ctl_server_adopt(struct ctl_server **out, struct loop *loop, int fd, const char *path,
                     ctl_handler handler, void *data, struct err *e);
/* The listening fd (to hand over across re-exec). */
int ctl_server_fd(const struct ctl_server *s);
/* Stops serving; with unlink_path, removes the socket file. Pending requests are
 * answered with an error. */
void ctl_server_close(struct ctl_server *s, int unlink_path);

/* Sends `reply` (reference stolen) and finishes the request. If the client went away,
 * the reply is dropped. */
void ctl_reply(struct ctl_req *req, json_t *reply);
/* {"ok":true} plus the fields of `extra` (stolen, may be NULL). */
void ctl_reply_ok(struct ctl_req *req, json_t *extra);
/* {"ok":false,"error":MESSAGE}. */
void ctl_reply_error(struct ctl_req *req, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The uid of the peer that sent the request. */
unsigned ctl_req_uid(const struct ctl_req *req);

/* Validates one request line: a JSON object with a non-empty string "cmd". On success
 * *out holds a new reference. Used by the server and the fuzz target. */
int ctl_parse_request(const char *buf, size_t len, json_t **out, struct err *e);

/* Client side: sends `request` (not stolen) to the server at `path` and waits up to
 * timeout_ms (0 = no limit) for the reply (*reply: new reference). */
int ctl_call(const char *path, json_t *request, json_t **reply, int timeout_ms, struct err *e);
/* Parses the reply the server at `path` sent (`len` bytes: its line, and what may follow)
 * into *out (a new reference, NULL on failure); an empty or malformed reply is refused
 * naming `path`. Whether it says "ok" is ctl_reply_check's to tell. */
int ctl_parse_reply(const char *buf, size_t len, const char *path, json_t **out, struct err *e);
/* 0 if reply has "ok":true; else -1 with the server's "error" text in e. */
int ctl_reply_check(json_t *reply, struct err *e);

/* The default control socket path for `name`: $XDG_RUNTIME_DIR/baton/NAME.sock, or
 * /tmp/baton-UID/NAME.sock. */
int ctl_default_path(const char *name, char *buf, size_t size, struct err *e);

#endif
