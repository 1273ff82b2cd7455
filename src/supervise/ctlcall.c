/* The control protocol's client side on the loop: one JSON line sent and one reply line
 * read by a core/sockreq exchange (connect with retry of a full backlog, the timeout, the
 * cap on the reply), the reply parsed and checked here. */
#include "supervise/ctlcall.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/addr.h"
#include "core/ctl.h"
#include "core/sockreq.h"

struct ctlcall {
    struct sockreq *req;
    char path[ADDR_UNIX_PATH_SIZE]; /* names the peer in the reply's errors */
    ctlcall_done done;
    void *data;
};

/* The exchange ended: the reply line parsed and checked, then `done`. The call is freed
 * first: `done` may start the next one. */
static void on_reply(int ok, const char *line, size_t len, const char *error, void *data)
{
    struct ctlcall *c = data;
    ctlcall_done done = c->done;
    void *done_data = c->data;
    struct err e;
    json_t *reply = NULL;
    if (ok &&
        (ctl_parse_reply(line, len, c->path, &reply, &e) < 0 || ctl_reply_check(reply, &e) < 0)) {
        json_decref(reply);
        reply = NULL;
        error = e.msg;
    }
    free(c);
    done(reply, error, done_data);
    json_decref(reply);
}

int ctlcall_start(struct ctlcall **out, struct loop *loop, const char *path, json_t *request,
                  uint64_t timeout_ms, ctlcall_done done, void *data, struct err *e)
{
    if (strlen(path) > ADDR_UNIX_PATH_MAX)
        return err_set(e, "control socket path '%s' is longer than %zu bytes", path,
                       ADDR_UNIX_PATH_MAX);
    struct addr to;
    char spec[ADDR_UNIX_PATH_SIZE + 8];
    snprintf(spec, sizeof(spec), "unix:%s", path);
    if (addr_parse(spec, 0, &to, e) < 0)
        return -1;
    struct ctlcall *c = calloc(1, sizeof(*c));
    char *line = json_dumps(request, JSON_COMPACT);
    if (!c || !line) {
        free(c);
        free(line);
        return err_errno(e, ENOMEM, "cannot call '%s'", path);
    }
    snprintf(c->path, sizeof(c->path), "%s", path);
    c->done = done;
    c->data = data;
    size_t n = strlen(line);
    char *msg = realloc(line, n + 2); /* the line and its newline */
    if (!msg) {
        free(line);
        free(c);
        return err_errno(e, ENOMEM, "cannot call '%s'", path);
    }
    msg[n] = '\n';
    msg[n + 1] = 0;
    int rc =
        sockreq_start(loop, &to, msg, 1, timeout_ms, CTLCALL_REPLY_MAX, on_reply, c, &c->req, e);
    free(msg);
    if (rc < 0) {
        free(c);
        return -1;
    }
    *out = c;
    return 0;
}

void ctlcall_cancel(struct ctlcall *c)
{
    if (!c)
        return;
    sockreq_cancel(c->req);
    free(c);
}
