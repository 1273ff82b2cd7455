/* The adaptive throttle of backfills: after each batch it decides the pause before the
 * next one from what the application feels (PostgreSQL: a probe query's latency while
 * batches run, sessions waiting on locks, active sessions, replica lag), backing off fast
 * and coming back slowly, with --duty-percent as a cap; settings retuned while a backfill
 * runs (`baton migrate throttle`) are read from table `baton_throttle`. */
#ifndef BATON_MIGRATE_THROTTLE_H
#define BATON_MIGRATE_THROTTLE_H

#include <pthread.h>
#include <stdio.h>

#include "core/err.h"
#include "migrate/database.h"
#include "migrate/migrate.h"

/* The limits the throttle keeps to; a value < 0 means "not set" (the table's columns). */
struct throttle_limits {
    int duty_percent;    /* cap on the share of time batches run, 1..100 */
    int probe_target_ms; /* probe latency while batches run; 0: auto (from the rest latency) */
    int max_active;      /* other active sessions; 0: no limit */
    int max_lag_ms;      /* replica replay lag; 0: no limit */
};

/* What was measured around one batch. */
struct throttle_sample {
    double probe_ms; /* slowest probe while the batch ran (-1: none finished) */
    double rest_ms;  /* the probe's typical latency between batches */
    int lock_waits;  /* sessions waiting for a lock baton's session holds */
    int active;      /* other active client sessions */
    double lag_ms;   /* replica replay lag (-1: no replica) */
    int no_probe;    /* the probe runs but none overlapped the batch: hold the duty */
    double base_ms;  /* the probe's latency before the backfill began (<= 0: unknown) */
};

/* The share of the app's speed a backfill may cost on average, when no probe target is
   set: the automatic rule keeps pgbench-like apps at >= 0.9x with a margin for noise. */
#define THROTTLE_APP_LOSS 0.05

/* The highest duty (percent) that keeps the app's loss within THROTTLE_APP_LOSS, from the
 * probe's latency before the backfill (base), during batches and between them: the app
 * runs at about base/latency of its speed in each, so at duty D it loses
 * D (1 - base/probe) + (1 - D) (1 - base/rest). 100 when batches cost nothing more than
 * the pauses, 0 when the pauses alone already cost the whole budget. Pure, for tests. */
double throttle_budget_duty(const struct throttle_sample *s);

/* The next duty (percent) from the current one, at least 5 and at most the cap: 30% lower
 * when a limit is passed (*why says which); with no probe target set, straight down to the
 * budget's duty when over it; else 1 point higher, never over the budget (the same when
 * the probe had no news). Pure, for tests. */
double throttle_next_duty(double duty, const struct throttle_limits *l,
                          const struct throttle_sample *s, const char **why);

struct throttle {
    const struct migrate_opts *o;
    struct throttle_limits lim; /* effective: the options, then the table */
    double duty;
    double next_read_ms; /* when to read baton_throttle again */
    /* the probe: its own session, a thread timing the probe query in a loop */
    struct database *probe_db;
    pthread_t th;
    pthread_mutex_t mu;
    int running, stop;
    int in_batch;        /* set while a batch runs */
    int batch_seq;       /* batches begun */
    double batch_sum_ms; /* probes that overlapped a batch since the last decision */
    int batch_probes;
    double rest_ms;  /* smoothed probe latency between batches */
    double base_ms;  /* the probe's median latency before the first batch */
    double batch_ms; /* smoothed probe latency while batches run */
    int nprobes, probe_errors;
    int sampled;            /* the sessions of the current batch were counted */
    int runner_pid;         /* the backfill's own session */
    int lock_waits, active; /* most seen during the current batch */
    int nbatches, backoffs;
    double duty_sum;
};

/* Starts the throttle of a backfill on `db` (PostgreSQL: opens the probe session). */
int throttle_start(struct throttle *t, const struct migrate_opts *o, struct database *db,
                   struct err *e);
void throttle_batch_begin(struct throttle *t);
/* After a batch that took `took_ms`: measures, adapts, and returns the pause in ms. */
int throttle_after_batch(struct throttle *t, struct database *db, double took_ms);
void throttle_stop(struct throttle *t);

/* `baton migrate throttle`: stores the limits that are set (>= 0) for running and later
 * backfills; `reset` clears every stored limit first. Prints the stored row. */
int migrate_throttle(const struct migrate_opts *o, const struct throttle_limits *set, int reset,
                     FILE *out, struct err *e);

#endif
