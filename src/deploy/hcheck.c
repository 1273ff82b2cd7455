/* Health checks as a loop of attempts: each attempt is a sockreq (http:) or a remote
 * command (exec:), then a timer for the next one, until enough passes in a row or the
 * deadline. An attempt in flight when the deadline passes is cancelled. */
#include "deploy/hcheck.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/sockreq.h"

struct hcheck {
    struct loop *loop;
    const struct dfile *df;
    struct transport *tr;
    const struct df_host *host;
    char command[DF_CMD_MAX + 256];
    char request[512];
    struct addr to;
    int passes, lost;
    struct timer next, deadline;
    struct sockreq *req;
    struct tr_op *op;
    char detail[ERR_MSG_MAX];
    hcheck_cb cb;
    void *data;
};

int hcheck_http_ok(const char *reply, size_t len, int *status)
{
    *status = 0;
    if (len < 12 || strncmp(reply, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)reply[7]) ||
        reply[8] != ' ')
        return 0;
    for (int i = 9; i < 12; i++)
        if (!isdigit((unsigned char)reply[i]))
            return 0;
    if (len > 12 && reply[12] != ' ' && reply[12] != '\r')
        return 0;
    *status = (reply[9] - '0') * 100 + (reply[10] - '0') * 10 + (reply[11] - '0');
    return *status >= 200 && *status < 400;
}

static void finish(struct hcheck *hc, int ok)
{
    hcheck_cb cb = hc->cb;
    void *data = hc->data;
    int lost = hc->lost;
    char detail[ERR_MSG_MAX];
    snprintf(detail, sizeof(detail), "%s", hc->detail);
    hcheck_cancel(hc);
    cb(ok, lost, detail, data);
}

static void attempt(struct loop *loop, struct timer *t);

/* One attempt's outcome: pass or not; schedules the next or finishes. */
static void attempt_done(struct hcheck *hc, int pass)
{
    if (pass && ++hc->passes >= hc->df->rollout.health_passes) {
        finish(hc, 1);
        return;
    }
    if (!pass)
        hc->passes = 0;
    timer_start(hc->loop, &hc->next, hc->df->rollout.health_interval_ms, attempt, hc);
}

static void on_http(int ok, const char *reply, size_t len, const char *error, void *data)
{
    struct hcheck *hc = data;
    hc->req = NULL;
    int status = 0, pass = ok && hcheck_http_ok(reply, len, &status);
    hc->lost = 0;
    if (!ok)
        snprintf(hc->detail, sizeof(hc->detail), "%s", error);
    else if (!pass)
        snprintf(hc->detail, sizeof(hc->detail), "GET %s answered %d", hc->df->rollout.health_arg,
                 status);
    attempt_done(hc, pass);
}

static void on_exec(const struct child_result *r, int lost, void *data)
{
    struct hcheck *hc = data;
    hc->op = NULL;
    int pass = !lost && r->exited && r->status == 0;
    hc->lost = lost;
    if (!pass) {
        char what[64];
        child_result_text(r, what, sizeof(what));
        snprintf(hc->detail, sizeof(hc->detail), "'%s': %s%s%.200s", hc->command, what,
                 r->err[0] ? ": " : "", r->err);
    }
    attempt_done(hc, pass);
}

static void attempt(struct loop *loop, struct timer *t)
{
    (void)loop;
    struct hcheck *hc = t->data;
    struct err e;
    int rc;
    if (hc->df->rollout.health == DF_HEALTH_HTTP)
        rc = sockreq_start(hc->loop, &hc->to, hc->request, 0, hc->df->rollout.health_timeout_ms,
                           64 * 1024, on_http, hc, &hc->req, &e);
    else
        rc = hc->tr->drv->run(hc->tr, &hc->host->ssh, hc->host->name, hc->command,
                              hc->df->rollout.health_timeout_ms, on_exec, hc, &hc->op, &e);
    if (rc < 0) {
        snprintf(hc->detail, sizeof(hc->detail), "%s", e.msg);
        attempt_done(hc, 0);
    }
}

static void on_deadline(struct loop *loop, struct timer *t)
{
    (void)loop;
    struct hcheck *hc = t->data;
    if (!hc->detail[0])
        snprintf(hc->detail, sizeof(hc->detail), "no answer");
    finish(hc, 0);
}

int hcheck_start(struct loop *loop, const struct dfile *df, struct transport *tr,
                 const struct df_host *h, const char *release, hcheck_cb cb, void *data,
                 struct hcheck **out, struct err *e)
{
    struct hcheck *hc = calloc(1, sizeof(*hc));
    if (!hc)
        return err_errno(e, ENOMEM, "cannot check '%s'", h->name);
    *hc = (struct hcheck){.loop = loop, .df = df, .tr = tr, .host = h, .cb = cb, .data = data};
    if (df->rollout.health == DF_HEALTH_HTTP) {
        char spec[DF_HOSTNAME_MAX + 16];
        int v6 = strchr(h->address, ':') != NULL;
        snprintf(spec, sizeof(spec), "%s%s%s:%d", v6 ? "[" : "", h->address, v6 ? "]" : "",
                 df->app.port);
        if (addr_parse(spec, 0, &hc->to, e) < 0) {
            free(hc);
            return err_wrap(e, "health check of '%s'", h->name);
        }
        snprintf(hc->request, sizeof(hc->request),
                 "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: baton-deploy\r\nConnection: "
                 "close\r\n\r\n",
                 df->rollout.health_arg, spec);
    } else if (dfile_expand(df->rollout.health_arg, release, h, hc->command, sizeof(hc->command),
                            e) < 0) {
        free(hc);
        return -1;
    }
    timer_start(loop, &hc->deadline, df->rollout.progress_deadline_ms, on_deadline, hc);
    timer_start(loop, &hc->next, 0, attempt, hc);
    if (out)
        *out = hc;
    return 0;
}

void hcheck_cancel(struct hcheck *hc)
{
    if (!hc)
        return;
    timer_stop(hc->loop, &hc->next);
    timer_stop(hc->loop, &hc->deadline);
    sockreq_cancel(hc->req);
    tr_op_cancel(hc->op);
    free(hc);
}
