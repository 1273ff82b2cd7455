/* The fleet's sequence. Before anything changes: take the lease (a second deploy is
 * refused here, naming the holder), open an SSH connection to every host, forward the
 * balancer's remote sockets, check that every balancer endpoint knows every host.
 * Then one reconciling step, rollout_advance(), runs after every event:
 *   rollout: expand -> canaries (max-parallel at a time) -> bake + verify -> the rest
 *            -> contract -> done;  a host or the bake failing turns it into
 *   revert:  the upgraded hosts back, in reverse order -> reverted.
 * A lost host or an interrupt stops new steps; what runs finishes; the progress file
 * keeps every host's step for `resume`. The end releases the lease and closes the
 * connections, and the loop stops once no reply is outstanding. */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "deploy/rollout_int.h"
#include "deploy/verify.h"

enum fleet_step { FS_LEASE, FS_OPEN, FS_FORWARD, FS_CHECK, FS_RUN, FS_END };

static void finish(struct deploy *d, int ok);

void rollout_reason(struct deploy *d, const char *fmt, ...)
{
    if (d->reason[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->reason, sizeof(d->reason), fmt, ap);
    va_end(ap);
    snprintf(d->st.reason, sizeof(d->st.reason), "%s", d->reason);
}

static void unix_ms_text(int64_t ms, char *out, size_t cap)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(out, cap, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

/* --- the lease ------------------------------------------------------------------------ */

static void renew(struct deploy *d);

static void on_renew(int rc, const struct dlease_info *info, const char *error, void *data)
{
    struct deploy *d = data;
    d->renewing = 0;
    if (rc == DLEASE_OK) {
        d->renewed_ms = clock_now_ms();
    } else if (rc == DLEASE_HELD) {
        d->lease_held = 0;
        d->stopping = 1;
        rollout_reason(d, "another deploy took the lease over (%s, token %lld): stopping",
                       info->holder, (long long)info->token);
    } else if (clock_now_ms() - d->renewed_ms > d->df->lease.ttl_ms * 2 / 3) {
        d->stopping = 1;
        rollout_reason(d, "cannot renew the deploy lease before it expires: %s", error);
    }
    if (d->renew_again && d->lease_held) {
        d->renew_again = 0;
        renew(d);
    }
    rollout_advance(d);
}

/* Records the progress in the lease too (coalesced: one renewal in flight at a time). */
static void renew(struct deploy *d)
{
    if (!d->lease_held || d->step == FS_END)
        return;
    if (d->renewing) {
        d->renew_again = 1;
        return;
    }
    char text[200];
    int done = 0, busy = 0;
    for (int i = 0; i < d->st.nhosts; i++) {
        done += d->st.hosts[i].state == HS_DONE;
        busy += !hsm_is_at_rest(d->st.hosts[i].state);
    }
    snprintf(text, sizeof(text), "%s %s: %d/%d hosts done, %d in progress",
             dstate_phase_name(d->st.phase), d->st.release, done, d->st.nhosts, busy);
    struct err e;
    if (dlease_renew(d->lease, text, on_renew, d, &e) == 0)
        d->renewing = 1;
}

static void on_heartbeat(struct loop *loop, struct timer *t)
{
    struct deploy *d = t->data;
    renew(d);
    timer_start(loop, t, d->df->lease.ttl_ms / 3, on_heartbeat, d);
}

void rollout_save(struct deploy *d)
{
    struct err e;
    if (dstate_save(d->df->state_path, &d->st, &e) < 0) {
        d->stopping = 1;
        rollout_reason(d, "%s", e.msg);
    }
    /* the lease's copy of the progress follows each host to rest and each phase */
    int at_rest = 0;
    for (int i = 0; i < d->st.nhosts; i++)
        at_rest += hsm_is_at_rest(d->st.hosts[i].state);
    if (at_rest != d->lease_seen_rest || (int)d->st.phase != d->lease_seen_phase) {
        d->lease_seen_rest = at_rest;
        d->lease_seen_phase = (int)d->st.phase;
        renew(d);
    }
}

static void open_hosts(struct deploy *d);
static void take(struct deploy *d, int64_t expect);

static void on_take(int rc, const struct dlease_info *info, const char *error, void *data)
{
    struct deploy *d = data;
    if (rc == DLEASE_OK) {
        d->lease_held = 1;
        d->renewed_ms = clock_now_ms();
        progress_note(d->pg, "lease taken at %s (token %lld)", dlease_where(d->lease),
                      (long long)info->token);
        timer_start(d->loop, &d->heartbeat, d->df->lease.ttl_ms / 3, on_heartbeat, d);
        if (d->unfinished[0]) {
            rollout_reason(d, "%s", d->unfinished);
            finish(d, 0);
            return;
        }
        open_hosts(d);
        return;
    }
    if (rc == DLEASE_HELD && !d->took_over &&
        (dlease_holder_dead_here(info->holder) || d->o->take_over)) {
        d->took_over = 1;
        progress_note(d->pg, "taking the lease over from %s (token %lld): %s", info->holder,
                      (long long)info->token,
                      d->o->take_over ? "--take-over" : "that process is gone");
        take(d, info->token);
        return;
    }
    if (rc == DLEASE_HELD) {
        char since[64];
        unix_ms_text(info->since_unix_ms, since, sizeof(since));
        rollout_reason(
            d,
            "service '%s' is being deployed by %s since %s (lease token %lld at %s%s%s); "
            "wait for it, or take a stale lease over with --take-over",
            d->df->service, info->holder, since, (long long)info->token, dlease_where(d->lease),
            info->progress[0] ? "; " : "", info->progress);
    } else {
        rollout_reason(d, "cannot take the deploy lease: %s", error);
    }
    finish(d, 0);
}

static void take(struct deploy *d, int64_t expect)
{
    struct err e;
    if (dlease_take(d->lease, expect, on_take, d, &e) < 0) {
        rollout_reason(d, "cannot take the deploy lease: %s", e.msg);
        finish(d, 0);
    }
}

static void on_lease_host_open(const struct child_result *r, int lost, void *data)
{
    struct deploy *d = data;
    if (lost || !r->exited || r->status != 0) {
        char dest[DF_HOSTNAME_MAX + 64];
        dfile_dest_text(d->df, &d->df->lease.host, dest, sizeof(dest));
        rollout_reason(d, "cannot reach the lease's host %s: %s", dest,
                       r->err[0] ? r->err : "ssh failed");
        finish(d, 0);
        return;
    }
    take(d, -1);
}

/* --- before anything changes: connections, forwards, the balancer's servers --------- */

static void start_run(struct deploy *d);

static void on_checked(int rc, const struct bal_stats *st, const char *error, void *data)
{
    struct deploy *d = data;
    d->pending = 0;
    if (rc != BAL_OK) {
        rollout_reason(d, "cannot read the balancer: %s", error);
        finish(d, 0);
        return;
    }
    int up = 0;
    for (int i = 0; i < d->df->nhosts; i++) {
        const struct df_host *h = &d->df->hosts[i];
        const struct bal_server *s = bal_stats_find(st, h->server);
        if (!s || s->found < d->bal->nendpoints) {
            rollout_reason(d,
                           "the balancer has no server '%s' (host %s) in %s '%s' on every "
                           "endpoint",
                           h->server, h->name,
                           d->df->balancer.type == DF_HAPROXY ? "backend" : "proxy",
                           d->df->balancer.backend);
            finish(d, 0);
            return;
        }
        up += s->up == d->bal->nendpoints;
    }
    progress_note(d->pg, "balancer: %d endpoint%s, %d of %d servers UP", d->bal->nendpoints,
                  d->bal->nendpoints == 1 ? "" : "s", up, d->df->nhosts);
    start_run(d);
}

static void check_balancer(struct deploy *d)
{
    const char *paths[DF_SOCKETS_MAX];
    struct err e;
    d->step = FS_CHECK;
    for (int i = 0; i < d->df->balancer.nsockets; i++)
        paths[i] = d->forwarded[i];
    if (balancer_new(d->loop, d->df, paths, &d->bal, &e) < 0 ||
        d->bal->drv->stats(d->bal, on_checked, d, &e) < 0) {
        rollout_reason(d, "%s", e.msg);
        finish(d, 0);
        return;
    }
    d->pending = 1;
}

/* An open or a forward finished: the first failure is the reason; the last one on. */
static void on_prepared(const struct child_result *r, int lost, void *data)
{
    struct deploy *d = data;
    if (lost || !r->exited || r->status != 0)
        rollout_reason(d, "%s", r->err[0] ? r->err : "ssh failed");
    if (--d->pending > 0)
        return;
    if (d->reason[0]) {
        finish(d, 0);
        return;
    }
    if (d->step == FS_OPEN) {
        d->step = FS_FORWARD;
        d->pending = 1;
        for (int i = 0; i < d->df->balancer.nsockets; i++) {
            const struct df_socket *k = &d->df->balancer.sockets[i];
            struct err e;
            snprintf(d->forwarded[i], sizeof(d->forwarded[i]), "%s",
                     k->is_unix ? k->path : k->text);
            if (!k->is_unix || !d->df->balancer.remote)
                continue;
            if (d->ssh->drv->forward(d->ssh, &d->df->balancer.host, "balancer", k->path,
                                     d->forwarded[i], sizeof(d->forwarded[i]), on_prepared, d,
                                     &e) < 0)
                rollout_reason(d, "%s", e.msg);
            else
                d->pending++;
        }
        struct child_result none = {.exited = 1, .err = ""};
        on_prepared(&none, 0, d);
        return;
    }
    check_balancer(d);
}

static void open_one(struct deploy *d, const struct df_dest *dest, const char *label)
{
    struct err e;
    if (d->ssh->drv->open(d->ssh, dest, label, on_prepared, d, &e) < 0)
        rollout_reason(d, "%s", e.msg);
    else
        d->pending++;
}

static void open_hosts(struct deploy *d)
{
    d->step = FS_OPEN;
    d->pending = 1;
    for (int i = 0; i < d->df->nhosts; i++)
        open_one(d, &d->df->hosts[i].ssh, d->df->hosts[i].name);
    if (d->df->balancer.remote)
        open_one(d, &d->df->balancer.host, "balancer");
    struct child_result none = {.exited = 1, .err = ""};
    on_prepared(&none, 0, d);
}

/* --- the run --------------------------------------------------------------------------- */

static int forward_state(enum host_state s)
{
    return s == HS_DRAINING || s == HS_UPGRADING || s == HS_PROBING || s == HS_CHECKING ||
           s == HS_ENABLING || s == HS_RESTORING;
}

static void start_run(struct deploy *d)
{
    if (d->stopping) {
        finish(d, 0);
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
        finish(d, 0);
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
        finish(d, 1);
    }
}

/* Takes the upgraded hosts back, in reverse order, max-parallel at a time. */
static void roll_back(struct deploy *d, int busy)
{
    if (d->stopping) {
        if (!busy)
            finish(d, 0);
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
    finish(d, d->o->mode == DEPLOY_ABORT && !d->gave_up && !d->failed);
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
        finish(d, 0);
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

static void finish(struct deploy *d, int ok)
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

static void on_signal(struct loop *loop, struct watcher *w, uint32_t revents)
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
        finish(d, 0);
}

/* --- entry points ---------------------------------------------------------------------- */

/* The progress this run starts from: fresh for a new deploy, else the file's. */
static int prepare_state(const struct dfile *df, const struct deploy_opts *o, struct dstate *st,
                         char *unfinished_msg, size_t cap, struct err *e)
{
    struct dstate old;
    int exists;
    const char *path = df->state_path;
    if (dstate_load(path, &old, &exists, e) < 0)
        return -1;
    if (o->mode == DEPLOY_NEW) {
        int open_run = exists && (old.phase == DP_ROLLOUT || old.phase == DP_REVERT);
        char from[DF_RELEASE_MAX] = "";
        if (o->from)
            snprintf(from, sizeof(from), "%s", o->from);
        else if (exists)
            snprintf(from, sizeof(from), "%s", old.phase == DP_DONE ? old.release : old.from);
        char unfinished[DF_RELEASE_MAX];
        snprintf(unfinished, sizeof(unfinished), "%s", exists ? old.release : "");
        dstate_free(&old);
        /* told once the lease is ours: a deploy running now is named by the lease */
        if (open_run)
            snprintf(unfinished_msg, cap,
                     "'%s' records an unfinished deploy of release %s: 'baton deploy resume %s' "
                     "finishes it, 'baton deploy abort %s' reverts it",
                     path, unfinished, df->path, df->path);
        if (strcmp(from, o->release) == 0)
            return err_set(e, "the fleet runs release %s already", o->release);
        if (!from[0] && df->app.strategy == DF_REMOVE_UPGRADE_ADD)
            return err_set(e,
                           "a revert needs the release the fleet runs now: give --from "
                           "RELEASE (later deploys remember it in '%s')",
                           path);
        return dstate_init(st, df, o->release, from, e);
    }
    const char *verb = o->mode == DEPLOY_RESUME ? "resume" : "abort";
    if (!exists)
        return err_set(e, "nothing to %s: no progress file '%s'", verb, path);
    if (dstate_matches(&old, df, e) < 0)
        goto bad;
    if (o->mode == DEPLOY_RESUME && old.phase != DP_ROLLOUT && old.phase != DP_REVERT) {
        err_set(e, "nothing to resume: the deploy of %s is %s", old.release,
                dstate_phase_name(old.phase));
        goto bad;
    }
    if (o->mode == DEPLOY_ABORT && (old.phase == DP_REVERTED || old.contract == DS_DONE)) {
        err_set(e, "cannot abort: the deploy of %s is %s", old.release,
                old.phase == DP_REVERTED ? "reverted already"
                                         : "finished and its contract ran (the previous release "
                                           "may not run on the contracted database)");
        goto bad;
    }
    if (o->from && !old.from[0])
        snprintf(old.from, sizeof(old.from), "%s", o->from);
    if (o->mode == DEPLOY_ABORT)
        old.phase = DP_REVERT;
    *st = old;
    return 0;
bad:
    dstate_free(&old);
    return -1;
}

static enum dplan_mode plan_mode_of(const struct deploy_opts *o)
{
    return o->mode == DEPLOY_NEW      ? DPLAN_DEPLOY
           : o->mode == DEPLOY_RESUME ? DPLAN_RESUME
                                      : DPLAN_ABORT;
}

static void progress_log(void *data, const char *label, const char *command,
                         const struct child_result *r)
{
    struct deploy *d = data;
    if (d->pg)
        progress_command(d->pg, label, command, r);
}

static int setup(struct deploy *d, struct err *e)
{
    const struct dfile *df = d->df;
    char holder[DLEASE_TEXT_MAX];
    dlease_holder_self(holder, sizeof(holder));
    static const int sigs[] = {SIGINT, SIGTERM};
    if (loop_new(&d->loop, e) < 0 || dplan_make(df, &d->st, plan_mode_of(d->o), &d->plan, e) < 0)
        return -1;
    d->h = calloc((size_t)df->nhosts, sizeof(*d->h));
    if (!d->h)
        return err_set(e, "out of memory");
    for (int i = 0; i < df->nhosts; i++)
        d->h[i] = (struct hrun){.d = d, .idx = i};
    if (transport_new(&transport_ssh_driver, d->loop, df, d->o->runtime_dir, progress_log, d,
                      &d->ssh, e) < 0 ||
        transport_new(&transport_local_driver, d->loop, df, NULL, progress_log, d, &d->local, e) <
            0)
        return -1;
    d->lock_tr = df->lease.remote && !df->database.enabled ? d->ssh : d->local;
    if (dlease_new(df, d->lock_tr, d->o->migrate, holder, &d->lease, e) < 0 ||
        progress_new(d->o->display, d->o->out, d->loop, df, &d->st, &d->pg, e) < 0)
        return -1;
    d->sigfd = loop_watch_signals(d->loop, &d->sigw, sigs, 2, on_signal, d, e);
    return d->sigfd < 0 ? -1 : 0;
}

static void teardown(struct deploy *d)
{
    if (d->sigfd > 0) {
        loop_unwatch(d->loop, &d->sigw);
        close(d->sigfd);
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        sigprocmask(SIG_UNBLOCK, &set, NULL);
    }
    progress_free(d->pg);
    dlease_free(d->lease);
    balancer_free(d->bal);
    transport_free(d->ssh);
    transport_free(d->local);
    bal_stats_free(&d->bake_before);
    free(d->h);
    dplan_free(&d->plan);
    dstate_free(&d->st);
    loop_free(d->loop);
}

int deploy_run(const struct dfile *df, const struct deploy_opts *o, struct err *e)
{
    struct deploy d = {.df = df, .o = o, .sigfd = -1};
    if (prepare_state(df, o, &d.st, d.unfinished, sizeof(d.unfinished), e) < 0)
        return -1;
    int rc = -1;
    if (setup(&d, e) < 0)
        goto out;
    d.step = FS_LEASE;
    if (df->lease.remote && !df->database.enabled) {
        struct err oe;
        if (d.ssh->drv->open(d.ssh, &df->lease.host, "lease", on_lease_host_open, &d, &oe) < 0) {
            rollout_reason(&d, "%s", oe.msg);
            finish(&d, 0);
        }
    } else {
        take(&d, -1);
    }
    if (loop_run(d.loop, e) < 0)
        goto out;
    rc = d.result;
    if (rc < 0)
        err_set(e, "%s", d.reason);
out:
    teardown(&d);
    return rc;
}

int deploy_dry_run(const struct dfile *df, const struct deploy_opts *o, FILE *out, struct err *e)
{
    struct dstate st;
    struct dplan p;
    char unfinished[DSTATE_MSG_MAX] = "";
    if (prepare_state(df, o, &st, unfinished, sizeof(unfinished), e) < 0)
        return -1;
    if (unfinished[0]) {
        dstate_free(&st);
        return err_set(e, "%s", unfinished);
    }
    if (dplan_make(df, &st, plan_mode_of(o), &p, e) < 0) {
        dstate_free(&st);
        return -1;
    }
    dplan_print(&p, df, &st, balancer_driver_for(df), o->migrate, out);
    dplan_free(&p);
    dstate_free(&st);
    return 0;
}

/* --- status ----------------------------------------------------------------------------- */

struct status_ask {
    struct loop *loop;
    int rc;
    struct dlease_info info;
    char error[ERR_MSG_MAX];
};

static void on_show(int rc, const struct dlease_info *info, const char *error, void *data)
{
    struct status_ask *a = data;
    a->rc = rc;
    if (info)
        a->info = *info;
    snprintf(a->error, sizeof(a->error), "%s", error ? error : "");
    loop_stop(a->loop);
}

/* Asks the lease who holds it; rc as the lease callback's. */
static void ask_lease(const struct dfile *df, const struct deploy_opts *o, struct status_ask *a)
{
    struct transport *t = NULL;
    struct dlease *l = NULL;
    struct err e = {{0}};
    char holder[DLEASE_TEXT_MAX];
    dlease_holder_self(holder, sizeof(holder));
    a->rc = DLEASE_ERROR;
    const struct transport_driver *drv =
        df->lease.remote && !df->database.enabled ? &transport_ssh_driver : &transport_local_driver;
    if (loop_new(&a->loop, &e) < 0 ||
        transport_new(drv, a->loop, df, o->runtime_dir, NULL, NULL, &t, &e) < 0 ||
        dlease_new(df, t, o->migrate, holder, &l, &e) < 0 || dlease_show(l, on_show, a, &e) < 0 ||
        loop_run(a->loop, &e) < 0)
        snprintf(a->error, sizeof(a->error), "%s", e.msg);
    dlease_free(l);
    transport_free(t);
    loop_free(a->loop);
}

static void print_status(const struct dstate *st, const struct status_ask *a, const char *where,
                         FILE *out)
{
    char started[64], updated[64], since[64];
    unix_ms_text(st->started_unix_ms, started, sizeof(started));
    unix_ms_text(st->updated_unix_ms, updated, sizeof(updated));
    fprintf(out, "service %s: release %s%s%s%s, %s; started %s, updated %s\n", st->service,
            st->release, st->from[0] ? " (from " : "", st->from, st->from[0] ? ")" : "",
            dstate_phase_name(st->phase), started, updated);
    fprintf(out, "expand %s, bake %s, contract %s\n", dstate_step_name(st->expand),
            dstate_step_name(st->bake), dstate_step_name(st->contract));
    if (st->reason[0])
        fprintf(out, "reason: %s\n", st->reason);
    fprintf(out, "  %-16s %-16s %s\n", "HOST", "STEP", "LAST ERROR");
    for (int i = 0; i < st->nhosts; i++)
        fprintf(out, "  %-16s %-16s %s\n", st->hosts[i].name, hsm_state_name(st->hosts[i].state),
                st->hosts[i].error);
    if (a->rc < 0) {
        fprintf(out, "lease (%s): cannot be read: %s\n", where, a->error);
    } else if (!a->info.holder[0]) {
        fprintf(out, "lease (%s): free (token %lld)\n", where, (long long)a->info.token);
    } else {
        unix_ms_text(a->info.since_unix_ms, since, sizeof(since));
        fprintf(out, "lease (%s): held by %s since %s (token %lld)%s%s\n", where, a->info.holder,
                since, (long long)a->info.token, a->info.progress[0] ? ": " : "", a->info.progress);
    }
}

int deploy_status(const struct dfile *df, const struct deploy_opts *o, int json, FILE *out,
                  struct err *e)
{
    struct dstate st;
    int exists;
    if (dstate_load(df->state_path, &st, &exists, e) < 0)
        return -1;
    if (!exists)
        return err_set(e, "no deploy of '%s' is recorded ('%s' does not exist)", df->service,
                       df->state_path);
    struct status_ask a = {0};
    ask_lease(df, o, &a);
    char where[DF_PATH_MAX + DF_HOSTNAME_MAX];
    struct dlease *l = NULL;
    struct err le;
    if (dlease_new(df, NULL, o->migrate, "", &l, &le) == 0)
        snprintf(where, sizeof(where), "%s", dlease_where(l));
    dlease_free(l);
    if (json) {
        json_t *doc = json_pack("{s:o}", "progress", dstate_to_json(&st));
        if (a.rc >= 0)
            json_object_set_new(doc, "lease",
                                json_pack("{s:s,s:s,s:I,s:I,s:I,s:s}", "where", where, "holder",
                                          a.info.holder, "token", (json_int_t)a.info.token,
                                          "since_unix_ms", (json_int_t)a.info.since_unix_ms,
                                          "expires_unix_ms", (json_int_t)a.info.expires_unix_ms,
                                          "progress", a.info.progress));
        else
            json_object_set_new(doc, "lease_error", json_string(a.error));
        char *text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (text)
            fprintf(out, "%s\n", text);
        free(text);
        json_decref(doc);
    } else {
        print_status(&st, &a, where, out);
    }
    dstate_free(&st);
    return 0;
}
