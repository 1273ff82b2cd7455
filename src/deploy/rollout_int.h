/* Inside the rollout (rollout.c: the fleet's sequence; hoststep.c: each host's steps).
 * Not an interface: the rest of baton calls deploy.h. */
#ifndef BATON_DEPLOY_ROLLOUT_INT_H
#define BATON_DEPLOY_ROLLOUT_INT_H

#include "deploy/balancer.h"
#include "deploy/deploy_opts.h"
#include "deploy/dstate.h"
#include "deploy/hcheck.h"
#include "deploy/hostsm.h"
#include "deploy/dlease.h"
#include "deploy/dplan.h"
#include "deploy/transport.h"

#define POLL_MS 100 /* balancer polling while a drain or an enable is waited for */

struct deploy;

/* One host during the run: what is in flight for its current step. */
struct hrun {
    struct deploy *d;
    int idx;
    int busy; /* an action runs (an event will come) */
    struct tr_op *op;
    struct hcheck *health;
    int stats_pending;        /* a balancer call in flight: its reply is ignored once cancelled */
    int cancelled;            /* stop now: replies in flight are dropped */
    int posted;               /* events waiting on the loop (hoststep.c) */
    struct timer poll;        /* next balancer poll */
    uint64_t step_start_ms;   /* for drain-timeout and the progress deadline */
    int waiting_for;          /* BAL_DRAIN or BAL_READY: what the polls look for */
    int revert_guarded;       /* in-place revert: status asked, rollback next */
    char detail[ERR_MSG_MAX]; /* what the last step said */
};

struct deploy {
    struct loop *loop;
    const struct dfile *df;
    const struct deploy_opts *o;
    struct dstate st;
    struct dplan plan;
    struct transport *ssh, *local;
    struct transport *lock_tr; /* the lease's way: ssh, or local */
    struct balancer *bal;
    struct dlease *lease;
    struct progress *pg;
    struct hrun *h;
    char forwarded[DF_SOCKETS_MAX][DF_PATH_MAX];
    int step;                      /* enum fleet_step (rollout.c) */
    int in_advance, advance_again; /* rollout_advance is not re-entered */
    int took_over;                 /* one take-over attempt of the lease */
    struct tr_op *migrate_op;      /* baton-migrate expand / contract */
    int pending;                   /* opens, forwards, checks in flight during preparation */
    int lease_held;                /* ours: release it at the end */
    int failed;                    /* a host or the bake failed: revert */
    int halted;                    /* a drain timed out: stop, nothing to revert */
    int stopping;                  /* contact lost or interrupted: finish what runs, then stop */
    int stop_now;                  /* second interrupt: cancel what runs */
    int gave_up;                   /* hosts whose revert failed */
    char reason[DSTATE_MSG_MAX];
    char unfinished[DSTATE_MSG_MAX]; /* a new deploy over an unfinished one: refused */
    int done;                        /* the loop ends */
    int result;                      /* 0 success */
    int bake_running;
    struct bal_stats bake_before;
    struct timer bake_timer, heartbeat, finish_timer;
    int renewing, renew_again;
    int lease_seen_rest, lease_seen_phase; /* the progress the lease last got */
    uint64_t renewed_ms;
    struct watcher sigw;
    int sigfd;
    /* The rollout's entry points (rollout.c), set by deploy_run: prepare.c and hoststep.c
     * call up through them, so that calls between the files go down only. */
    void (*advance)(struct deploy *d);
    void (*start)(struct deploy *d);
    void (*finish)(struct deploy *d, int ok);
};

/* hoststep.c */
/* Applies ev to host i, saves the progress file, shows it, and runs the new action. */
void host_event(struct deploy *d, int i, enum host_event ev, const char *detail);
/* Cancels what host i has in flight (stop now); its step stays recorded. */
void host_cancel(struct deploy *d, int i);

enum fleet_step { FS_LEASE, FS_OPEN, FS_FORWARD, FS_CHECK, FS_RUN, FS_END };

/* prepare.c */
/* Takes the lease, then opens, forwards and checks; ends in rollout_start. */
void prep_begin(struct deploy *d);
/* Renews the lease with the progress (one renewal in flight; coalesced). */
void prep_renew(struct deploy *d);
/* "2026-05-01 12:00:03 UTC" */
void rollout_time_text(int64_t ms, char *out, size_t cap);
/* Records the first reason the deploy failed or stopped. */
void rollout_reason(struct deploy *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Saves the progress file (and the lease's copy of it); a failure to save stops the
 * deploy. */
void rollout_save(struct deploy *d);

/* rollout.c */
/* The run proper, once everything is ready (resume and abort events first). */
void rollout_start(struct deploy *d);
/* Ends the deploy: saves, shows, releases the lease, closes, stops the loop when quiet. */
void rollout_finish(struct deploy *d, int ok);
void rollout_on_signal(struct loop *loop, struct watcher *w, uint32_t revents);
/* Called after every change: starts what can start, ends the run when all is done. */
void rollout_advance(struct deploy *d);

#endif
