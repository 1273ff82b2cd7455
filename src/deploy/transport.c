/* What the transports share: running a command as a child and logging it, quoting for
 * the remote shell, and the local driver (this machine's /bin/sh). */
#include "deploy/transport.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHOWN_MAX 512

struct tr_op {
    struct transport *t;
    struct child *child;
    char label[DF_NAME_MAX + DF_HOSTNAME_MAX];
    char shown[SHOWN_MAX];
    int lost_status;
    tr_cb cb;
    void *data;
};

int shell_quote(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    if (cap < 3)
        return -1;
    out[n++] = '\'';
    for (; *s; s++) {
        const char *piece = *s == '\'' ? "'\\''" : NULL;
        size_t len = piece ? 4 : 1;
        if (n + len + 2 > cap)
            return -1;
        memcpy(out + n, piece ? piece : s, len);
        n += len;
    }
    out[n++] = '\'';
    out[n] = 0;
    return 0;
}

static void op_done(const struct child_result *r, void *data)
{
    struct tr_op *op = data;
    struct transport *t = op->t;
    int lost = op->lost_status >= 0 && r->exited && r->status == op->lost_status;
    if (t->log)
        t->log(t->log_data, op->label, op->shown, r);
    tr_cb cb = op->cb;
    void *cb_data = op->data;
    free(op);
    cb(r, lost, cb_data);
}

int tr_spawn(struct transport *t, char *const *argv, const char *label, const char *shown,
             uint64_t timeout_ms, int lost_status, tr_cb cb, void *data, struct tr_op **out,
             struct err *e)
{
    struct tr_op *op = calloc(1, sizeof(*op));
    if (!op)
        return err_errno(e, ENOMEM, "cannot run a command on '%s'", label);
    op->t = t;
    op->cb = cb;
    op->data = data;
    op->lost_status = lost_status;
    snprintf(op->label, sizeof(op->label), "%s", label);
    snprintf(op->shown, sizeof(op->shown), "%s", shown);
    if (child_start(t->loop, argv, timeout_ms, op_done, op, &op->child, e) < 0) {
        free(op);
        return err_wrap(e, "%s", label);
    }
    if (out)
        *out = op;
    return 0;
}

void tr_op_cancel(struct tr_op *op)
{
    if (!op)
        return;
    child_cancel(op->child);
    free(op);
}

int transport_new(const struct transport_driver *drv, struct loop *loop, const struct dfile *df,
                  const char *dir, tr_log_fn log, void *log_data, struct transport **out,
                  struct err *e)
{
    struct transport *t = NULL;
    if (drv->create(dir, &t, e) < 0)
        return -1;
    t->drv = drv;
    t->loop = loop;
    t->df = df;
    t->log = log;
    t->log_data = log_data;
    *out = t;
    return 0;
}

void transport_free(struct transport *t)
{
    if (t)
        t->drv->free(t);
}

/* --- local: this machine's shell ------------------------------------------------ */

struct local_transport {
    struct transport base;
    struct timer soon;
    tr_cb cb;
    void *data;
};

static int local_create(const char *dir, struct transport **out, struct err *e)
{
    (void)dir;
    struct local_transport *l = calloc(1, sizeof(*l));
    if (!l)
        return err_errno(e, ENOMEM, "cannot create the local transport");
    *out = &l->base;
    return 0;
}

static int local_run(struct transport *t, const struct df_dest *d, const char *label,
                     const char *command, uint64_t timeout_ms, tr_cb cb, void *data,
                     struct tr_op **op, struct err *e)
{
    (void)d;
    char *argv[] = {"/bin/sh", "-c", (char *)command, NULL};
    return tr_spawn(t, argv, label, command, timeout_ms, -1, cb, data, op, e);
}

/* Nothing to open or forward here: the command `true` keeps the callbacks
 * asynchronous, as the ssh driver's are. */
static int local_open(struct transport *t, const struct df_dest *d, const char *label, tr_cb cb,
                      void *data, struct err *e)
{
    return local_run(t, d, label, "true", 5000, cb, data, NULL, e);
}

static int local_forward(struct transport *t, const struct df_dest *d, const char *label,
                         const char *remote, char *local, size_t cap, tr_cb cb, void *data,
                         struct err *e)
{
    if ((size_t)snprintf(local, cap, "%s", remote) >= cap)
        return err_set(e, "socket path '%s' is too long", remote);
    return local_open(t, d, label, cb, data, e);
}

static void local_soon(struct loop *loop, struct timer *tm)
{
    (void)loop;
    struct local_transport *l = tm->data;
    l->cb(NULL, 0, l->data);
}

static void local_close(struct transport *t, tr_cb cb, void *data)
{
    struct local_transport *l = (struct local_transport *)t;
    l->cb = cb;
    l->data = data;
    timer_start(t->loop, &l->soon, 0, local_soon, l);
}

static void local_free(struct transport *t)
{
    struct local_transport *l = (struct local_transport *)t;
    timer_stop(t->loop, &l->soon);
    free(l);
}

const struct transport_driver transport_local_driver = {
    .name = "local",
    .create = local_create,
    .open = local_open,
    .run = local_run,
    .forward = local_forward,
    .close = local_close,
    .free = local_free,
};
