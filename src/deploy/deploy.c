/* The entry points of baton deploy: the progress a run starts from (fresh, resumed or
 * aborted), the run itself on one event loop, the dry run, and the status. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "deploy/rollout_int.h"

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
    d->sigfd = loop_watch_signals(d->loop, &d->sigw, sigs, 2, rollout_on_signal, d, e);
    return d->sigfd < 0 ? -1 : 0;
}

static void teardown(struct deploy *d)
{
    if (d->sigfd > 0) {
        /* interrupts not read yet were for this deploy: drop them before unblocking */
        struct signalfd_siginfo si;
        while (read(d->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
            ;
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
    struct deploy d = {.df = df,
                       .o = o,
                       .sigfd = -1,
                       .advance = rollout_advance,
                       .start = rollout_start,
                       .finish = rollout_finish};
    if (prepare_state(df, o, &d.st, d.unfinished, sizeof(d.unfinished), e) < 0)
        return -1;
    int rc = -1;
    if (setup(&d, e) < 0)
        goto out;
    prep_begin(&d);
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
    rollout_time_text(st->started_unix_ms, started, sizeof(started));
    rollout_time_text(st->updated_unix_ms, updated, sizeof(updated));
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
        rollout_time_text(a->info.since_unix_ms, since, sizeof(since));
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
