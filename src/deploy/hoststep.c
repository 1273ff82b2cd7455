/* Each host's steps: the actions of the host state machine (hostsm.c) run here, each
 * one asynchronous, each ending in exactly one event back into host_event():
 *   drain / enable   set the server's state on every balancer endpoint, then poll
 *                    until it holds 0 connections / is UP everywhere (or time runs out)
 *   upgrade / revert a command on the host over the transport
 *   probe            ask the host which release it runs (after a restart)
 *   check            health checks until they pass or the progress deadline */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/clock.h"
#include "deploy/remote.h"
#include "deploy/rollout_int.h"

static void run_action(struct deploy *d, struct hrun *h, int action);

/* Delivers an event from the loop rather than from inside the caller's stack. */
struct posted {
    struct timer t;
    struct deploy *d;
    int i;
    enum host_event ev;
    char detail[ERR_MSG_MAX];
};

static void on_posted(struct loop *loop, struct timer *t)
{
    (void)loop;
    struct posted *p = t->data;
    struct deploy *d = p->d;
    int i = p->i;
    enum host_event ev = p->ev;
    char detail[ERR_MSG_MAX];
    snprintf(detail, sizeof(detail), "%s", p->detail);
    free(p);
    d->h[i].posted--;
    if (!d->h[i].cancelled)
        host_event(d, i, ev, detail);
}

static void post_event(struct hrun *h, enum host_event ev, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void post_event(struct hrun *h, enum host_event ev, const char *fmt, ...)
{
    struct posted *p = calloc(1, sizeof(*p));
    if (!p) {
        log_error("deploy: out of memory posting an event for %s", h->d->df->hosts[h->idx].name);
        return;
    }
    h->posted++;
    p->d = h->d;
    p->i = h->idx;
    p->ev = ev;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->detail, sizeof(p->detail), fmt, ap);
    va_end(ap);
    timer_start(h->d->loop, &p->t, 0, on_posted, p);
}

static const struct df_host *dhost(const struct hrun *h)
{
    return &h->d->df->hosts[h->idx];
}

static int reverting(const struct hrun *h)
{
    enum host_state s = h->d->st.hosts[h->idx].state;
    return s == HS_REVERT_DRAINING || s == HS_REVERTING || s == HS_REVERT_CHECKING ||
           s == HS_REVERT_ENABLING;
}

/* The release the host's current step is about. */
static const char *step_release(const struct hrun *h)
{
    return reverting(h) ? h->d->st.from : h->d->st.release;
}

/* --- balancer steps: drain / enable ------------------------------------------------ */

static void poll_stats(struct loop *loop, struct timer *t);

static void on_stats(int rc, const struct bal_stats *st, const char *error, void *data)
{
    struct hrun *h = data;
    struct deploy *d = h->d;
    h->stats_pending = 0;
    if (h->cancelled)
        return;
    if (rc != BAL_OK) {
        host_event(d, h->idx, rc == BAL_UNREACHABLE ? HEV_LOST : HEV_FAIL, error);
        return;
    }
    const struct df_host *dh = dhost(h);
    const struct bal_server *s = bal_stats_find(st, dh->server);
    uint64_t elapsed = clock_now_ms() - h->step_start_ms;
    int n = d->bal->nendpoints;
    if (!s || s->found < n) {
        char why[160];
        snprintf(why, sizeof(why), "server '%s' is not in the balancer's backend on every endpoint",
                 dh->server);
        host_event(d, h->idx, HEV_FAIL, why);
        return;
    }
    if (h->waiting_for == BAL_DRAIN) {
        if (s->cur == 0) {
            host_event(d, h->idx, HEV_OK, "0 connections");
            return;
        }
        if (elapsed >= d->df->rollout.drain_timeout_ms) {
            char why[160];
            snprintf(why, sizeof(why), "%lld connection%s left after %.1fs (drain-timeout)", s->cur,
                     s->cur == 1 ? "" : "s", (double)elapsed / 1000.0);
            host_event(d, h->idx, HEV_TIMEOUT, why);
            return;
        }
    } else if (s->up == n) {
        host_event(d, h->idx, HEV_OK, "UP");
        return;
    } else if (elapsed >= d->df->rollout.progress_deadline_ms) {
        char why[160];
        snprintf(why, sizeof(why), "%s is '%s' in the balancer after %.1fs (progress-deadline)",
                 dh->server, s->status, (double)elapsed / 1000.0);
        host_event(d, h->idx, HEV_FAIL, why);
        return;
    }
    timer_start(d->loop, &h->poll, POLL_MS, poll_stats, h);
}

static void poll_stats(struct loop *loop, struct timer *t)
{
    (void)loop;
    struct hrun *h = t->data;
    struct err e;
    if (h->d->bal->drv->stats(h->d->bal, on_stats, h, &e) < 0) {
        post_event(h, HEV_FAIL, "%s", e.msg);
        return;
    }
    h->stats_pending = 1;
}

static void on_set(int rc, const char *error, void *data)
{
    struct hrun *h = data;
    h->stats_pending = 0;
    if (h->cancelled)
        return;
    if (rc != BAL_OK) {
        host_event(h->d, h->idx, rc == BAL_UNREACHABLE ? HEV_LOST : HEV_FAIL, error);
        return;
    }
    timer_start(h->d->loop, &h->poll, 0, poll_stats, h);
}

static void step_balancer(struct hrun *h, enum bal_admin target)
{
    struct err e;
    h->waiting_for = target;
    h->step_start_ms = clock_now_ms();
    if (h->d->bal->drv->set_state(h->d->bal, dhost(h)->server, target, on_set, h, &e) < 0) {
        post_event(h, HEV_FAIL, "%s", e.msg);
        return;
    }
    h->stats_pending = 1;
}

/* --- remote steps: upgrade, probe, revert -------------------------------------------- */

/* What a failed command said: its JSON "error" (baton upgrade --json), else stderr,
 * else its exit status. */
static void command_failure(const struct child_result *r, char *out, size_t cap)
{
    char what[64];
    child_result_text(r, what, sizeof(what));
    json_error_t je;
    json_t *o = r->out_len ? json_loads(r->out, JSON_DISABLE_EOF_CHECK, &je) : NULL;
    const char *msg = json_string_value(json_object_get(o, "error"));
    snprintf(out, cap, "%s: %.300s", what, msg ? msg : r->err[0] ? r->err : "no message");
    json_decref(o);
}

static void on_command(const struct child_result *r, int lost, void *data)
{
    struct hrun *h = data;
    h->op = NULL;
    char why[ERR_MSG_MAX];
    if (lost) {
        snprintf(why, sizeof(why), "cannot reach %s: %.300s", dhost(h)->name, r->err);
        host_event(h->d, h->idx, HEV_LOST, why);
    } else if (r->exited && r->status == 0) {
        host_event(h->d, h->idx, HEV_OK, "");
    } else {
        command_failure(r, why, sizeof(why));
        host_event(h->d, h->idx, HEV_FAIL, why);
    }
}

/* How remote.c writes the command of a step on the host for a release. */
typedef int (*remote_build_fn)(const struct dfile *df, const struct df_host *host,
                               const char *release, char *out, size_t cap, struct err *e);

/* Runs on the host the command `build` writes for `release`; a command that cannot be
 * written fails the step, and so does an empty one when `empty_why` says why. */
static void run_remote(struct hrun *h, remote_build_fn build, const char *release,
                       const char *empty_why, tr_cb cb)
{
    char cmd[REMOTE_CMD_MAX];
    struct err e;
    struct transport *t = h->d->ssh;
    if (build(h->d->df, dhost(h), release, cmd, sizeof(cmd), &e) < 0)
        post_event(h, HEV_FAIL, "%s", e.msg);
    else if (!cmd[0] && empty_why)
        post_event(h, HEV_FAIL, "%s", empty_why);
    else if (t->drv->run(t, &dhost(h)->ssh, dhost(h)->name, cmd, 0, cb, h, &h->op, &e) < 0)
        post_event(h, HEV_FAIL, "%s", e.msg);
}

static void step_upgrade(struct hrun *h)
{
    run_remote(h, remote_upgrade, h->d->st.release, NULL, on_command);
}

/* Probe answer: does the host run the release this step is about? 1 or 0, -1 (why says
 * what failed), or -2 when the host could not be reached (LOST is raised here). */
static int probe_answer(struct hrun *h, const struct child_result *r, int lost, char *why,
                        size_t cap)
{
    struct err e = {{0}};
    h->op = NULL;
    if (lost) {
        snprintf(why, cap, "cannot reach %s: %.300s", dhost(h)->name, r->err);
        host_event(h->d, h->idx, HEV_LOST, why);
        return -2;
    }
    if (!r->exited || r->status != 0) {
        command_failure(r, why, cap);
        return -1;
    }
    int runs = remote_runs(h->d->df, dhost(h), h->d->st.release, r->out, &e);
    if (runs < 0)
        snprintf(why, cap, "%s", e.msg);
    return runs;
}

static void on_probe(const struct child_result *r, int lost, void *data)
{
    struct hrun *h = data;
    char why[ERR_MSG_MAX] = "";
    int runs = probe_answer(h, r, lost, why, sizeof(why));
    if (runs == 1)
        host_event(h->d, h->idx, HEV_OK, "runs the release already");
    else if (runs != -2)
        host_event(h->d, h->idx, HEV_FAIL, runs == 0 ? "does not run the release yet" : why);
}

static void step_probe(struct hrun *h)
{
    run_remote(h, remote_probe, h->d->st.release, "no probe in [app]: the upgrade runs again",
               on_probe);
}

static void step_revert(struct hrun *h);

/* In-place revert, first half: roll back only a host that runs the new release. */
static void on_revert_probe(const struct child_result *r, int lost, void *data)
{
    struct hrun *h = data;
    char why[ERR_MSG_MAX] = "";
    int runs = probe_answer(h, r, lost, why, sizeof(why));
    if (runs == -1)
        host_event(h->d, h->idx, HEV_FAIL, why);
    else if (runs == 0)
        host_event(h->d, h->idx, HEV_OK, "does not run the new release: nothing to roll back");
    else {
        h->revert_guarded = 1;
        step_revert(h);
    }
}

static void step_revert(struct hrun *h)
{
    struct deploy *d = h->d;
    if (d->df->app.strategy == DF_IN_PLACE && !h->revert_guarded) {
        run_remote(h, remote_probe, d->st.release, NULL, on_revert_probe);
        return;
    }
    h->revert_guarded = 0;
    run_remote(h, remote_revert, d->st.from, NULL, on_command);
}

/* --- health ------------------------------------------------------------------------ */

static void on_health(int ok, int lost, const char *detail, void *data)
{
    struct hrun *h = data;
    h->health = NULL;
    char why[ERR_MSG_MAX];
    snprintf(why, sizeof(why), "health check: %s", detail);
    host_event(h->d, h->idx, ok ? HEV_OK : lost ? HEV_LOST : HEV_FAIL, ok ? "healthy" : why);
}

static void step_check(struct hrun *h)
{
    struct err e;
    if (hcheck_start(h->d->loop, h->d->df, h->d->ssh, dhost(h), step_release(h), on_health, h,
                     &h->health, &e) < 0)
        post_event(h, HEV_FAIL, "%s", e.msg);
}

/* --- events and actions -------------------------------------------------------------- */

static int forward_running(enum host_state s)
{
    return s == HS_UPGRADING || s == HS_PROBING || s == HS_CHECKING || s == HS_ENABLING;
}

static void run_action(struct deploy *d, struct hrun *h, int action)
{
    const char *name = dhost(h)->name;
    h->busy = action == HACT_DRAIN || action == HACT_ENABLE || action == HACT_UPGRADE ||
              action == HACT_PROBE || action == HACT_CHECK || action == HACT_REVERT;
    switch (action) {
    case HACT_DRAIN:
        step_balancer(h, BAL_DRAIN);
        return;
    case HACT_ENABLE:
        step_balancer(h, BAL_READY);
        return;
    case HACT_UPGRADE:
        step_upgrade(h);
        return;
    case HACT_PROBE:
        step_probe(h);
        return;
    case HACT_CHECK:
        step_check(h);
        return;
    case HACT_REVERT:
        step_revert(h);
        return;
    case HACT_HALT:
        d->halted = 1;
        rollout_reason(d,
                       "the drain of %s did not finish (%s); %s is back in the balancer as it "
                       "was, not upgraded",
                       name, h->detail, name);
        break;
    case HACT_GIVE_UP:
        d->gave_up++;
        rollout_reason(d, "%s could not be reverted (%s); it is left out of the balancer", name,
                       h->detail);
        break;
    case HACT_STOP:
        d->stopping = 1;
        rollout_reason(d, "stopped at %s (%s, step %s kept for resume)", name, h->detail,
                       hsm_state_name(d->st.hosts[h->idx].state));
        break;
    default:
        break;
    }
    d->advance(d);
}

void host_event(struct deploy *d, int i, enum host_event ev, const char *detail)
{
    struct hrun *h = &d->h[i];
    struct dstate_host *sh = &d->st.hosts[i];
    enum host_state before = sh->state;
    int act = hsm_step(&sh->state, ev);
    h->busy = 0;
    snprintf(h->detail, sizeof(h->detail), "%s", detail ? detail : "");
    if (act < 0) {
        log_alert("deploy: host %s: event %s cannot happen in step %s", sh->name,
                  hsm_event_name(ev), hsm_state_name(before));
        d->stopping = 1;
        rollout_reason(d, "internal error at %s (event %s in step %s)", sh->name,
                       hsm_event_name(ev), hsm_state_name(before));
        d->advance(d);
        return;
    }
    if (ev == HEV_FAIL && forward_running(before) && sh->state == HS_REVERT_DRAINING) {
        d->failed = 1;
        rollout_reason(d, "%s failed (%s %s); reverted", sh->name, hsm_state_name(before),
                       h->detail);
    }
    if (hsm_is_at_rest(before) && !hsm_is_at_rest(sh->state))
        sh->started_unix_ms = clock_wall_ms();
    if (hsm_is_at_rest(sh->state))
        sh->finished_unix_ms = clock_wall_ms();
    if (ev == HEV_FAIL || ev == HEV_TIMEOUT || ev == HEV_LOST)
        snprintf(sh->error, sizeof(sh->error), "%s", h->detail);
    rollout_save(d);
    progress_host(d->pg, i, h->detail);
    if (d->stop_now && act != HACT_NONE && act != HACT_FINISH) {
        d->advance(d);
        return;
    }
    run_action(d, h, act);
}

void host_cancel(struct deploy *d, int i)
{
    struct hrun *h = &d->h[i];
    h->cancelled = 1;
    tr_op_cancel(h->op);
    h->op = NULL;
    hcheck_cancel(h->health);
    h->health = NULL;
    timer_stop(d->loop, &h->poll);
    h->busy = 0;
}
