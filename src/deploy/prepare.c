/* Before anything changes: the lease (taken, renewed on a heartbeat and whenever a host
 * comes to rest, with the progress), one SSH connection per host, the balancer's remote
 * sockets forwarded, and a check that every balancer endpoint knows every host. Also the
 * run's record every step writes: its reason and the progress file. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "deploy/rollout_int.h"

/* --- the record ---------------------------------------------------------------------- */

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

void rollout_time_text(int64_t ms, char *out, size_t cap)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(out, cap, "%Y-%m-%d %H:%M:%S UTC", &tm);
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
        prep_renew(d);
    }
}

/* --- the lease ------------------------------------------------------------------------ */

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
        prep_renew(d);
    }
    d->advance(d);
}

/* Records the progress in the lease too (coalesced: one renewal in flight at a time). */
void prep_renew(struct deploy *d)
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
    prep_renew(d);
    timer_start(loop, t, d->df->lease.ttl_ms / 3, on_heartbeat, d);
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
            d->finish(d, 0);
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
        rollout_time_text(info->since_unix_ms, since, sizeof(since));
        rollout_reason(
            d,
            "service '%s' is being deployed by %s since %s (lease token %lld at %s%s%s); "
            "wait for it, or take a stale lease over with --take-over",
            d->df->service, info->holder, since, (long long)info->token, dlease_where(d->lease),
            info->progress[0] ? "; " : "", info->progress);
    } else {
        rollout_reason(d, "cannot take the deploy lease: %s", error);
    }
    d->finish(d, 0);
}

static void take(struct deploy *d, int64_t expect)
{
    struct err e;
    if (dlease_take(d->lease, expect, on_take, d, &e) < 0) {
        rollout_reason(d, "cannot take the deploy lease: %s", e.msg);
        d->finish(d, 0);
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
        d->finish(d, 0);
        return;
    }
    take(d, -1);
}

/* --- before anything changes: connections, forwards, the balancer's servers --------- */

static void on_checked(int rc, const struct bal_stats *st, const char *error, void *data)
{
    struct deploy *d = data;
    d->pending = 0;
    if (rc != BAL_OK) {
        rollout_reason(d, "cannot read the balancer: %s", error);
        d->finish(d, 0);
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
            d->finish(d, 0);
            return;
        }
        up += s->up == d->bal->nendpoints;
    }
    progress_note(d->pg, "balancer: %d endpoint%s, %d of %d servers UP", d->bal->nendpoints,
                  d->bal->nendpoints == 1 ? "" : "s", up, d->df->nhosts);
    d->start(d);
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
        d->finish(d, 0);
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
        d->finish(d, 0);
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

void prep_begin(struct deploy *d)
{
    d->step = FS_LEASE;
    if (d->df->lease.remote && !d->df->database.enabled) {
        struct err e;
        if (d->ssh->drv->open(d->ssh, &d->df->lease.host, "lease", on_lease_host_open, d, &e) < 0) {
            rollout_reason(d, "%s", e.msg);
            d->finish(d, 0);
        }
    } else {
        take(d, -1);
    }
}
