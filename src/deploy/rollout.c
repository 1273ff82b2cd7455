/* The fleet's sequence, once prepare.c took the lease and checked the connections and
 * the balancer. One reconciling step, rollout_advance(), runs after every event:
 *   rollout: expand -> canaries (max-parallel at a time) -> bake + verify -> the rest
 *            -> contract -> done;  a host or the bake failing turns it into
 *   revert:  the upgraded hosts back, in reverse order -> reverted.
 * A lost host or an interrupt stops new steps; what runs finishes; the progress file
 * keeps every host's step for `resume`. The end releases the lease and closes the
 * connections, and the loop stops once no reply is outstanding. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "core/log.h"
#include "deploy/rollout_int.h"
#include "deploy/verify.h"

/* --- the run --------------------------------------------------------------------------- */

static int forward_state(enum host_state s)
{
    return s == HS_DRAINING || s == HS_UPGRADING || s == HS_PROBING || s == HS_CHECKING ||
           s == HS_ENABLING || s == HS_RESTORING;
}

void rollout_start(struct deploy *d)
{
    if (d->stopping) {
        rollout_finish(d, 0);
        return;
    }
    d->step = FS_RUN;
    d->in_advance = 1; /* the events below must not start other hosts yet */
    if (d->o->mode == DEPLOY_NEW) {
        progress_note(d->pg, "deploying %s to %d hosts (%s%s%s)", d->st.release, d->df->nhosts,
                      d->st.from[0] ? "from " : "", d->st.from,
                      d->st.from[0] ? "" : "first deploy");
        rollout_save(d);
    }
    for (int i = 0; i < d->st.nhosts && !d->stop_now; i++) {
        enum host_state s = d->st.hosts[i].state;
        if (hsm_is_at_rest(s))
            continue;
        int back = d->o->mode == DEPLOY_ABORT && forward_state(s);
        host_event(d, i, back ? HEV_REVERT : HEV_RESUME, back ? "abort" : "resume");
    }
    if (d->o->mode == DEPLOY_ABORT)
        rollout_save(d);
    d->in_advance = 0;
    rollout_advance(d);
}

static int count_busy(const struct deploy *d)
{
    int n = 0;
    for (int i = 0; i < d->df->nhosts; i++)
        n += d->h[i].busy;
    return n;
}

static void on_migrate(const struct child_result *r, int lost, void *data)
{
    struct deploy *d = data;
    d->migrate_op = NULL;
    int ok = !lost && r->exited && r->status == 0;
    enum dstep *step = d->st.expand == DS_PENDING ? &d->st.expand : &d->st.contract;
    const char *verb = step == &d->st.expand ? "expand" : "contract";
    if (ok) {
        *step = DS_DONE;
        progress_note(d->pg, "database: %s done", verb);
    } else {
        char what[64];
        child_result_text(r, what, sizeof(what));
        d->halted = 1;
        rollout_reason(d, "baton migrate %s failed (%s): %.300s", verb, what, r->err);
    }
    rollout_save(d);
    rollout_advance(d);
}

static void start_migrate(struct deploy *d, const char *verb)
{
    char dir[DF_PATH_MAX + 64];
    struct err e;
    if (dfile_expand(d->df->database.dir, d->st.release, NULL, dir, sizeof(dir), &e) < 0) {
        d->halted = 1;
        rollout_reason(d, "%s", e.msg);
        rollout_advance(d);
        return;
    }
    char *argv[] = {(char *)d->o->migrate, "--db", (char *)d->df->database.url, "--dir", dir,
                    (char *)verb,          NULL};
    char shown[DF_PATH_MAX + 64];
    snprintf(shown, sizeof(shown), "baton migrate --dir %s %s", dir, verb);
    progress_note(d->pg, "database: %s (release %s)", verb, d->st.release);
    if (tr_spawn(d->local, argv, "database", shown, d->df->database.timeout_ms, -1, on_migrate, d,
                 &d->migrate_op, &e) < 0) {
        d->halted = 1;
        rollout_reason(d, "%s", e.msg);
        rollout_advance(d);
    }
}

/* --- the bake ------------------------------------------------------------------------- */

/* The servers of the canary hosts (or of the others) as a list of names. */
static int servers_of(const struct deploy *d, int canary, const char **names)
{
    int n = 0;
    for (int i = 0; i < d->df->nhosts; i++)
        if (d->df->hosts[i].canary == canary)
            names[n++] = d->df->hosts[i].server;
    return n;
}

static void bake_judge(int rc, const struct bal_stats *st, const char *error, void *data)
{
    struct deploy *d = data;
    d->bake_running = 0;
    if (d->stop_now)
        return;
    if (rc != BAL_OK) {
        d->stopping = 1;
        rollout_reason(d, "cannot read the balancer at the end of the bake: %s", error);
        rollout_advance(d);
        return;
    }
    const char **names = calloc((size_t)d->df->nhosts, sizeof(*names));
    struct verify_group canary, base;
    char report[DSTATE_MSG_MAX];
    int nc = servers_of(d, 1, names);
    verify_group_sum(&d->bake_before, st, names, nc, 1, &canary);
    int nb = servers_of(d, 0, names);
    verify_group_sum(&d->bake_before, st, names, nb, 0, &base);
    free(names);
    int pass = verify_judge(d->df, &canary, &base, report, sizeof(report));
    d->st.bake = pass ? DS_DONE : DS_FAILED;
    progress_note(d->pg, "bake %s: %s", pass ? "passed" : "FAILED", report);
    if (!pass) {
        d->failed = 1;
        rollout_reason(d, "the canaries failed verification during the bake (%s); reverted",
                       report);
    }
    rollout_save(d);
    rollout_advance(d);
}

static void on_bake_timer(struct loop *loop, struct timer *t)
{
    (void)loop;
    struct deploy *d = t->data;
    struct err e;
    if (d->bal->drv->stats(d->bal, bake_judge, d, &e) < 0) {
        struct bal_stats none = {0};
        bake_judge(BAL_REFUSED, &none, e.msg, d);
    }
}

static void bake_start(int rc, const struct bal_stats *st, const char *error, void *data)
{
    struct deploy *d = data;
    if (d->stop_now || d->stopping) {
        d->bake_running = 0;
        rollout_advance(d);
        return;
    }
    if (rc != BAL_OK) {
        d->bake_running = 0;
        d->stopping = 1;
        rollout_reason(d, "cannot read the balancer to start the bake: %s", error);
        rollout_advance(d);
        return;
    }
    bal_stats_free(&d->bake_before);
    for (int i = 0; i < st->n; i++) {
        struct bal_server *s = bal_stats_get(&d->bake_before, st->v[i].name);
        if (s)
            *s = st->v[i];
    }
    progress_note(d->pg, "bake: %.1fs watching the canaries on the balancer's counters",
                  (double)d->df->rollout.bake_ms / 1000.0);
    timer_start(d->loop, &d->bake_timer, d->df->rollout.bake_ms, on_bake_timer, d);
}

static void start_bake(struct deploy *d)
{
    struct err e;
    d->bake_running = 1;
    if (d->bal->drv->stats(d->bal, bake_start, d, &e) < 0) {
        struct bal_stats none = {0};
        bake_start(BAL_REFUSED, &none, e.msg, d);
    }
}

/* --- reconciling ----------------------------------------------------------------------- */

static int all_done(const struct deploy *d, int canaries_only)
{
    for (int i = 0; i < d->df->nhosts; i++)
        if ((!canaries_only || d->df->hosts[i].canary) && d->st.hosts[i].state != HS_DONE)
            return 0;
    return 1;
}

/* Starts hosts forward while there is room; the rest waits for the bake. */
static void roll_forward(struct deploy *d, int busy)
{
    if (d->failed || d->halted || d->stopping) {
        if (busy)
            return;
        if (d->failed && !d->stopping) {
            d->st.phase = DP_REVERT;
            progress_note(d->pg, "reverting the hosts upgraded, in reverse order");
            rollout_save(d);
            d->advance_again = 1;
            return;
        }
        rollout_finish(d, 0);
        return;
    }
    if (d->st.expand == DS_PENDING) {
        if (!d->migrate_op)
            start_migrate(d, "expand");
        return;
    }
    for (int k = 0; k < d->plan.n && busy < d->df->rollout.max_parallel; k++) {
        int i = d->plan.order[k];
        enum host_state s = d->st.hosts[i].state;
        if (s != HS_PENDING && s != HS_RESTORED)
            continue;
        if (!d->df->hosts[i].canary && d->st.bake == DS_PENDING) {
            if (busy == 0 && all_done(d, 1))
                start_bake(d);
            return;
        }
        host_event(d, i, d->df->app.strategy == DF_IN_PLACE ? HEV_START_INPLACE : HEV_START, "");
        busy++;
    }
    if (busy || !all_done(d, 0))
        return;
    if (d->st.bake == DS_PENDING) {
        start_bake(d);
    } else if (d->st.contract == DS_PENDING) {
        if (!d->migrate_op)
            start_migrate(d, "contract");
    } else {
        d->st.phase = DP_DONE;
        rollout_save(d);
        rollout_finish(d, 1);
    }
}

/* Takes the upgraded hosts back, in reverse order, max-parallel at a time. */
static void roll_back(struct deploy *d, int busy)
{
    if (d->stopping) {
        if (!busy)
            rollout_finish(d, 0);
        return;
    }
    for (int k = d->plan.n - 1; k >= 0 && busy < d->df->rollout.max_parallel; k--) {
        int i = d->plan.order[k];
        if (d->st.hosts[i].state != HS_DONE)
            continue;
        host_event(d, i, HEV_REVERT, "");
        busy++;
    }
    if (busy)
        return;
    d->st.phase = DP_REVERTED;
    rollout_save(d);
    rollout_finish(d, d->o->mode == DEPLOY_ABORT && !d->gave_up && !d->failed);
}

static void advance_once(struct deploy *d)
{
    if (d->step != FS_RUN)
        return;
    if (d->stop_now) {
        for (int i = 0; i < d->df->nhosts; i++)
            host_cancel(d, i);
        tr_op_cancel(d->migrate_op);
        d->migrate_op = NULL;
        timer_stop(d->loop, &d->bake_timer);
        d->bake_running = 0;
        rollout_finish(d, 0);
        return;
    }
    if (d->bake_running || d->migrate_op)
        return;
    int busy = count_busy(d);
    if (d->st.phase == DP_ROLLOUT)
        roll_forward(d, busy);
    else if (d->st.phase == DP_REVERT)
        roll_back(d, busy);
}

void rollout_advance(struct deploy *d)
{
    if (d->in_advance) {
        d->advance_again = 1;
        return;
    }
    d->in_advance = 1;
    do {
        d->advance_again = 0;
        advance_once(d);
    } while (d->advance_again && d->step == FS_RUN);
    d->in_advance = 0;
}

/* --- the end: release the lease, close the connections, wait for every reply --------- */

static void on_quiet_check(struct loop *loop, struct timer *t)
{
    struct deploy *d = t->data;
    int waiting = d->renewing || (d->bal && d->bal->pending);
    for (int i = 0; i < d->df->nhosts; i++)
        waiting |= d->h[i].posted > 0;
    if (waiting) {
        timer_start(loop, t, 20, on_quiet_check, d);
        return;
    }
    d->done = 1;
    loop_stop(loop);
}

static void on_closed(const struct child_result *r, int lost, void *data)
{
    (void)r;
    (void)lost;
    struct deploy *d = data;
    timer_start(d->loop, &d->finish_timer, 0, on_quiet_check, d);
}

static void on_released(int rc, const struct dlease_info *info, const char *error, void *data)
{
    (void)info;
    struct deploy *d = data;
    if (rc < 0)
        progress_note(d->pg, "could not release the lease: %s (it expires by itself)", error);
    d->ssh->drv->close(d->ssh, on_closed, d);
}

static void release_when_idle(struct loop *loop, struct timer *t)
{
    struct deploy *d = t->data;
    struct err e;
    if (d->renewing) { /* one lease operation at a time */
        timer_start(loop, t, 20, release_when_idle, d);
        return;
    }
    if (!d->lease_held || dlease_release(d->lease, on_released, d, &e) < 0)
        d->ssh->drv->close(d->ssh, on_closed, d);
}

void rollout_finish(struct deploy *d, int ok)
{
    if (d->step == FS_END)
        return;
    int ran = d->step == FS_RUN;
    d->step = FS_END;
    d->result = ok ? 0 : -1;
    timer_stop(d->loop, &d->heartbeat);
    timer_stop(d->loop, &d->bake_timer);
    char summary[DSTATE_MSG_MAX + 200];
    if (ok && d->st.phase == DP_REVERTED)
        snprintf(summary, sizeof(summary), "aborted: every host upgraded is back on %s",
                 d->st.from[0] ? d->st.from : "the previous release");
    else if (ok)
        snprintf(summary, sizeof(summary), "deployed %s to %d hosts", d->st.release, d->df->nhosts);
    else
        snprintf(summary, sizeof(summary), "%s",
                 d->reason[0] ? d->reason : "the deploy did not finish");
    if (!ok && ran && (d->st.phase == DP_ROLLOUT || d->st.phase == DP_REVERT)) {
        size_t n = strlen(summary);
        snprintf(summary + n, sizeof(summary) - n,
                 "; 'baton deploy resume %s' continues, 'baton deploy abort %s' reverts",
                 d->df->path, d->df->path);
    }
    snprintf(d->reason, sizeof(d->reason), "%s", summary);
    if (ran) {
        struct err e;
        snprintf(d->st.reason, sizeof(d->st.reason), "%s", ok ? "" : summary);
        if (dstate_save(d->df->state_path, &d->st, &e) < 0)
            log_error("deploy: %s", e.msg);
    }
    progress_end(d->pg, ok, summary);
    timer_start(d->loop, &d->finish_timer, 0, release_when_idle, d);
}

void rollout_on_signal(struct loop *loop, struct watcher *w, uint32_t revents)
{
    (void)loop;
    (void)revents;
    struct deploy *d = w->data;
    struct signalfd_siginfo si;
    while (read(w->fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (d->step == FS_END)
            continue;
        if (!d->stopping) {
            d->stopping = 1;
            rollout_reason(d, "interrupted (signal %u)", si.ssi_signo);
            progress_note(d->pg, "interrupted: the hosts in flight finish their steps, no new "
                                 "host starts; interrupt again to stop at once");
        } else {
            d->stop_now = 1;
        }
    }
    if (d->step == FS_RUN)
        rollout_advance(d);
    else if (d->stop_now && d->step != FS_END)
        rollout_finish(d, 0);
}
