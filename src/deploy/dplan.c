/* Making and printing the plan. The order is canaries first, then the other hosts in
 * the file's order; a resume puts the hosts caught mid-step first; a revert walks the
 * order backwards. */
#include "deploy/dplan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "deploy/remote.h"

int dplan_make(const struct dfile *df, const struct dstate *st, enum dplan_mode mode,
               struct dplan *p, struct err *e)
{
    memset(p, 0, sizeof(*p));
    p->mode = mode;
    size_t n = (size_t)df->nhosts;
    p->order = calloc(n, sizeof(int));
    p->forward = calloc(n, sizeof(int));
    p->back = calloc(n, sizeof(int));
    if (!p->order || !p->forward || !p->back) {
        dplan_free(p);
        return err_errno(e, ENOMEM, "cannot plan the deploy");
    }
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < df->nhosts; i++)
            if (df->hosts[i].canary == !pass)
                p->order[p->n++] = i;
    int reverting = mode == DPLAN_ABORT || st->phase == DP_REVERT;
    if (!reverting && st->phase == DP_ROLLOUT) {
        /* those caught mid-step first, then those not started */
        for (int pass = 0; pass < 2; pass++)
            for (int k = 0; k < p->n; k++) {
                enum host_state s = st->hosts[p->order[k]].state;
                int mid = !hsm_is_at_rest(s);
                int unstarted = s == HS_PENDING || s == HS_RESTORED;
                if ((pass == 0 && mid) || (pass == 1 && unstarted))
                    p->forward[p->nforward++] = p->order[k];
            }
        for (int k = 0; k < p->nforward; k++)
            p->ncanary += df->hosts[p->forward[k]].canary;
        p->expand = st->expand == DS_PENDING;
        p->bake = st->bake == DS_PENDING;
        p->contract = st->contract == DS_PENDING;
    }
    for (int k = p->n - 1; k >= 0; k--)
        if (hsm_may_be_upgraded(st->hosts[p->order[k]].state) || mode == DPLAN_DEPLOY)
            p->back[p->nback++] = p->order[k];
    return 0;
}

void dplan_free(struct dplan *p)
{
    free(p->order);
    free(p->forward);
    free(p->back);
    memset(p, 0, sizeof(*p));
}

/* "  drain    unix:/run/h.sock  set server be/web1 state drain" for every endpoint. */
static void print_balancer(const struct balancer *b, const struct df_host *h, enum bal_admin st,
                           const char *step, FILE *out)
{
    char req[512];
    b->drv->describe(b, h->server, st, req, sizeof(req));
    for (int i = 0; i < b->df->balancer.nsockets; i++)
        fprintf(out, "     %-9s %s: %s\n", i ? "" : step, b->df->balancer.sockets[i].text, req);
}

static void print_check(const struct dfile *df, const struct df_host *h, const char *release,
                        FILE *out)
{
    char cmd[DF_CMD_MAX + 256];
    struct err e;
    if (df->rollout.health == DF_HEALTH_HTTP)
        fprintf(out, "     check     GET http://%s:%d%s", h->address, df->app.port,
                df->rollout.health_arg);
    else if (dfile_expand(df->rollout.health_arg, release, h, cmd, sizeof(cmd), &e) == 0)
        fprintf(out, "     check     ssh %s: %s", h->name, cmd);
    fprintf(out, " until %d pass%s in a row (every %llums; deadline %llus)\n",
            df->rollout.health_passes, df->rollout.health_passes == 1 ? "" : "es",
            (unsigned long long)df->rollout.health_interval_ms,
            (unsigned long long)df->rollout.progress_deadline_ms / 1000);
}

/* The steps of one host going to `release` (forward) or back to `from`. */
static void print_host(const struct balancer *b, const struct df_host *h, const char *release,
                       const char *from, int back, FILE *out)
{
    const struct dfile *df = b->df;
    char cmd[REMOTE_CMD_MAX], dest[DF_HOSTNAME_MAX + 64];
    struct err e;
    dfile_dest_text(df, &h->ssh, dest, sizeof(dest));
    if (back || df->app.strategy == DF_REMOVE_UPGRADE_ADD) {
        print_balancer(b, h, BAL_DRAIN, "drain", out);
        fprintf(out, "     %-9s until every balancer shows 0 connections on %s (at most %llus%s)\n",
                "wait", h->server, (unsigned long long)df->rollout.drain_timeout_ms / 1000,
                back ? ", then go on" : ", else put back and stop");
    }
    int rc = back ? remote_revert(df, h, from, cmd, sizeof(cmd), &e)
                  : remote_upgrade(df, h, release, cmd, sizeof(cmd), &e);
    fprintf(out, "     %-9s ssh %s %s%s\n", back ? "revert" : "upgrade", dest,
            rc == 0 ? cmd : "-- cannot: ", rc == 0 ? "" : e.msg);
    print_check(df, h, back ? from : release, out);
    print_balancer(b, h, BAL_READY, "enable", out);
    fprintf(out, "     %-9s until every balancer shows %s UP (deadline %llus)\n", "wait", h->server,
            (unsigned long long)df->rollout.progress_deadline_ms / 1000);
}

static void print_db(const struct dfile *df, const struct dstate *st, const char *verb,
                     const char *migrate, int *step, FILE *out)
{
    char dir[DF_PATH_MAX + 64];
    struct err e;
    if (dfile_expand(df->database.dir, st->release, NULL, dir, sizeof(dir), &e) < 0)
        snprintf(dir, sizeof(dir), "%s", df->database.dir);
    fprintf(out, "%d. database: %s --db %s --dir %s %s\n", (*step)++, migrate, df->database.url,
            dir, verb);
}

/* Where the balancer's endpoints and the lease are. */
static void print_where(const struct dfile *df, FILE *out)
{
    char dest[DF_HOSTNAME_MAX + 64] = "";
    if (df->balancer.remote)
        dfile_dest_text(df, &df->balancer.host, dest, sizeof(dest));
    fprintf(out, "balancer: %s%s%s:",
            df->balancer.type == DF_HAPROXY ? "haproxy backend " : "baton proxy",
            df->balancer.backend, "");
    for (int i = 0; i < df->balancer.nsockets; i++) {
        const struct df_socket *k = &df->balancer.sockets[i];
        fprintf(out, " %s%s%s%s", k->text, k->is_unix && dest[0] ? " (on " : "",
                k->is_unix && dest[0] ? dest : "", k->is_unix && dest[0] ? " over ssh)" : "");
    }
    if (df->database.enabled) {
        fprintf(out, "\nlease: the database's baton_deploy_lease row\n");
        return;
    }
    char lock[DF_HOSTNAME_MAX + 64] = "this machine";
    if (df->lease.remote)
        dfile_dest_text(df, &df->lease.host, lock, sizeof(lock));
    fprintf(out, "\nlease: lock file %s on %s\n", df->lease.path, lock);
}

void dplan_print(const struct dplan *p, const struct dfile *df, const struct dstate *st,
                 const struct balancer_driver *drv, const char *migrate, FILE *out)
{
    struct balancer b = {.drv = drv, .df = df};
    int step = 1;
    char from[DF_RELEASE_MAX + 16] = "";
    if (st->from[0])
        snprintf(from, sizeof(from), " (from %s)", st->from);
    fprintf(out, "%s of '%s': release %s%s, %s, %d host%s, max-parallel %d\n",
            p->mode == DPLAN_ABORT ? "abort" : "deploy", df->service, st->release, from,
            df->app.strategy == DF_IN_PLACE ? "in-place" : "remove-upgrade-add", df->nhosts,
            df->nhosts == 1 ? "" : "s", df->rollout.max_parallel);
    print_where(df, out);
    if (p->expand)
        print_db(df, st, "expand", migrate, &step, out);
    for (int k = 0; k < p->nforward; k++) {
        const struct df_host *h = &df->hosts[p->forward[k]];
        if (k == p->ncanary && p->bake)
            fprintf(out, "%d. bake %llus, then verify the canaries on the balancer's counters\n",
                    step++, (unsigned long long)df->rollout.bake_ms / 1000);
        fprintf(out, "%d. %s%s (%s)\n", step++, h->canary ? "canary " : "", h->name,
                hsm_state_name(st->hosts[p->forward[k]].state));
        print_host(&b, h, st->release, st->from, 0, out);
    }
    if (p->bake && p->ncanary == p->nforward)
        fprintf(out, "%d. bake %llus, then verify the canaries\n", step++,
                (unsigned long long)df->rollout.bake_ms / 1000);
    if (p->contract)
        print_db(df, st, "contract", migrate, &step, out);
    fprintf(out, "%s: back to %s in this order, %d at a time:\n",
            p->mode == DPLAN_ABORT ? "abort" : "on a failure",
            st->from[0] ? st->from
                        : "the "
                          "previous release",
            df->rollout.max_parallel);
    for (int k = 0; k < p->nback; k++) {
        const struct df_host *h = &df->hosts[p->back[k]];
        fprintf(out, "   %s\n", h->name);
        if (k == 0)
            print_host(&b, h, st->release, st->from, 1, out);
    }
}
