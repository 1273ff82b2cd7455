/* The adaptive throttle of backfills. PostgreSQL: a probe thread on its own session runs
 * the probe query in a loop and, once per batch, counts the sessions waiting on baton's
 * locks and the other active sessions; after each batch the duty (the share of time
 * batches run) drops by 30% when a limit is passed, with no probe target drops straight
 * to what keeps the app's loss within THROTTLE_APP_LOSS (against the probe's latency
 * before the first batch), and rises by 1 point otherwise, never above the cap. The limits come
 * from the options, then from table `baton_throttle`, which `baton migrate throttle` writes and a
 * running backfill reads every 500 ms. */
#include "migrate/throttle.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/log.h"
#include "migrate/ledger.h"
#include "migrate/runner.h"

#define THROTTLE_MIN_DUTY      2.0
#define THROTTLE_READ_EVERY_MS 500
#define PROBE_PAUSE_MS         20
#define PROBE_TIMEOUT_MS       2000
#define BASE_PROBES            15
#define BASE_MAX_MS            1000

/* The app's speed while the probe takes `ms`, as a share of its speed at `base` ms. */
static double app_speed(double base, double ms)
{
    return ms > base ? base / ms : 1;
}

double throttle_budget_duty(const struct throttle_sample *s)
{
    double lb = 1 - app_speed(s->base_ms, s->probe_ms);
    double lr = s->rest_ms > 0 ? 1 - app_speed(s->base_ms, s->rest_ms) : 0;
    if (lr >= THROTTLE_APP_LOSS)
        return 0;
    if (lb <= lr)
        return 100;
    double d = 100 * (THROTTLE_APP_LOSS - lr) / (lb - lr);
    return d < 100 ? d : 100;
}

double throttle_next_duty(double duty, const struct throttle_limits *l,
                          const struct throttle_sample *s, const char **why)
{
    double cap = l->duty_percent > 0 && l->duty_percent <= 100 ? l->duty_percent : 100;
    int fixed = l->probe_target_ms > 0;
    double budget = !fixed && s->base_ms > 0 && s->probe_ms >= 0 ? throttle_budget_duty(s) : 100;
    *why = NULL;
    if (s->lock_waits > 0)
        *why = "sessions wait for a lock of the backfill";
    else if (fixed && s->probe_ms >= 0 && s->probe_ms > l->probe_target_ms)
        *why = "probe latency over its target";
    else if (l->max_active > 0 && s->active > l->max_active)
        *why = "active sessions over --max-active";
    else if (l->max_lag_ms > 0 && s->lag_ms > l->max_lag_ms)
        *why = "replica lag over --max-lag";
    double next = *why ? duty * 0.7 : s->no_probe ? duty : duty + 1;
    if (!*why && budget < duty)
        *why = "the app slows down past the backfill's budget";
    if (next > budget)
        next = budget;
    if (next < THROTTLE_MIN_DUTY)
        next = THROTTLE_MIN_DUTY;
    if (next > cap) /* the cap wins, even under the floor */
        next = cap;
    return next;
}

static int cmp_ms(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Once per batch, while it runs: sessions waiting on the runner's locks, other active
   client sessions. */
static void probe_sessions(struct throttle *t, int runner_pid)
{
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FILTER (WHERE %d = ANY(pg_blocking_pids(pid))), count(*) FILTER "
             "(WHERE state = 'active' AND backend_type = 'client backend' AND pid <> %d AND pid "
             "<> pg_backend_pid()) FROM pg_stat_activity",
             runner_pid, runner_pid);
    struct database_rows r;
    struct err e;
    if (database_query(t->probe_db, sql, &r, &e) < 0)
        return;
    const char *w = database_cell(&r, 0, 0), *a = database_cell(&r, 0, 1);
    pthread_mutex_lock(&t->mu);
    if (w && atoi(w) > t->lock_waits)
        t->lock_waits = atoi(w);
    if (a && atoi(a) > t->active)
        t->active = atoi(a);
    pthread_mutex_unlock(&t->mu);
    database_rows_free(&r);
}

static void *probe_main(void *arg)
{
    struct throttle *t = arg;
    for (;;) {
        pthread_mutex_lock(&t->mu);
        int stop = t->stop, in = t->in_batch, seq = t->batch_seq, sample = in && !t->sampled;
        if (sample)
            t->sampled = 1;
        pthread_mutex_unlock(&t->mu);
        if (stop)
            break;
        if (sample)
            probe_sessions(t, t->runner_pid);
        double t0 = (double)clock_now_us() / 1e3;
        struct database_rows r;
        struct err e;
        int rc = database_query(t->probe_db, t->o->probe_sql, &r, &e);
        double ms = (double)clock_now_us() / 1e3 - t0;
        if (rc == 0)
            database_rows_free(&r);
        pthread_mutex_lock(&t->mu);
        if (rc < 0)
            t->probe_errors++;
        else if (in || t->in_batch || t->batch_seq != seq) { /* a batch ran meanwhile */
            t->batch_sum_ms += ms;
            t->batch_probes++;
        } else {
            t->rest_ms = t->nprobes++ ? 0.9 * t->rest_ms + 0.1 * ms : ms;
        }
        pthread_mutex_unlock(&t->mu);
        sleep_ms(rc < 0 ? 200 : PROBE_PAUSE_MS);
    }
    return NULL;
}

/* The probe's median latency before the first batch (BASE_PROBES probes, or as many as
   BASE_MAX_MS allows a slow probe): what the app's speed is measured against. */
static void probe_base(struct throttle *t)
{
    double v[BASE_PROBES], start = (double)clock_now_us() / 1e3;
    int n = 0;
    for (int i = 0; i < BASE_PROBES && (double)clock_now_us() / 1e3 - start < BASE_MAX_MS; i++) {
        double t0 = (double)clock_now_us() / 1e3;
        struct database_rows r;
        struct err e;
        if (database_query(t->probe_db, t->o->probe_sql, &r, &e) < 0) {
            t->probe_errors++;
            continue;
        }
        database_rows_free(&r);
        v[n++] = (double)clock_now_us() / 1e3 - t0;
        sleep_ms(PROBE_PAUSE_MS);
    }
    if (n == 0)
        return;
    qsort(v, (size_t)n, sizeof(v[0]), cmp_ms);
    t->base_ms = v[n / 2];
    log_info("throttle: the probe takes %.2f ms before the backfill (median of %d)", t->base_ms, n);
}

/* The limits stored by `baton migrate throttle` over the options' (absent: the options). */
static void read_limits(struct throttle *t, struct database *db)
{
    double now = (double)clock_now_us() / 1e3;
    if (now < t->next_read_ms)
        return;
    t->next_read_ms = now + THROTTLE_READ_EVERY_MS;
    struct database_rows r;
    struct err e;
    if (database_query(db,
                       "SELECT duty_percent, probe_target_ms, max_active, max_lag_ms FROM "
                       "baton_throttle WHERE id = 1",
                       &r, &e) < 0) {
        log_warn("cannot read the throttle settings: %s", e.msg);
        return;
    }
    struct throttle_limits l = {t->o->duty_percent, t->o->probe_target_ms, t->o->max_active,
                                t->o->max_lag_ms};
    int *v[4] = {&l.duty_percent, &l.probe_target_ms, &l.max_active, &l.max_lag_ms};
    for (int i = 0; i < 4; i++) {
        const char *c = database_cell(&r, 0, i);
        char *end;
        long x = c ? strtol(c, &end, 10) : -1;
        if (c && *end == 0 && x >= 0 && x <= 100000000 && (i != 0 || (x >= 1 && x <= 100)))
            *v[i] = (int)x;
    }
    database_rows_free(&r);
    if (memcmp(&l, &t->lim, sizeof(l)) != 0)
        log_info("throttle: duty cap %d%%, probe target %d ms%s, max active %d, max lag %d ms",
                 l.duty_percent, l.probe_target_ms, l.probe_target_ms ? "" : " (auto)",
                 l.max_active, l.max_lag_ms);
    t->lim = l;
}

/* Creates the settings table if missing (its own transaction). */
static int throttle_ensure(struct database *db, struct err *e)
{
    if (database_exec_tx(db,
                         "CREATE TABLE IF NOT EXISTS baton_throttle (id INTEGER PRIMARY KEY, "
                         "duty_percent INTEGER, probe_target_ms INTEGER, max_active INTEGER, "
                         "max_lag_ms INTEGER, updated_at TEXT)",
                         e) < 0)
        return err_wrap(e, "cannot create the throttle table");
    return 0;
}

int throttle_start(struct throttle *t, const struct migrate_opts *o, struct database *db,
                   struct err *e)
{
    memset(t, 0, sizeof(*t));
    t->o = o;
    t->lim.duty_percent = -1;
    if (throttle_ensure(db, e) < 0)
        return -1;
    read_limits(t, db);
    t->duty = t->lim.duty_percent;
    if (database_kind(db) != DATABASE_POSTGRES || !o->probe_sql || strcmp(o->probe_sql, "off") == 0)
        return 0;
    int64_t pid;
    int isnull;
    if (database_query_i64(db, "SELECT pg_backend_pid()", &pid, &isnull, e) < 0)
        return -1;
    t->runner_pid = (int)pid;
    if (database_open(o->db_url, &t->probe_db, e) < 0) {
        log_warn("the throttle runs without its probe: %s", e->msg);
        return 0;
    }
    char sql[128];
    snprintf(sql, sizeof(sql),
             "SET application_name = 'baton-probe'; SET statement_timeout = %d; SET "
             "lock_timeout = %d",
             PROBE_TIMEOUT_MS, PROBE_TIMEOUT_MS);
    if (database_exec(t->probe_db, sql, e) < 0) {
        database_close(t->probe_db);
        t->probe_db = NULL;
        return err_wrap(e, "cannot set up the throttle's probe session");
    }
    probe_base(t);
    pthread_mutex_init(&t->mu, NULL);
    if (pthread_create(&t->th, NULL, probe_main, t) != 0) {
        pthread_mutex_destroy(&t->mu);
        database_close(t->probe_db);
        t->probe_db = NULL;
        return err_set(e, "cannot start the throttle's probe thread");
    }
    t->running = 1;
    return 0;
}

void throttle_batch_begin(struct throttle *t)
{
    if (!t->running)
        return;
    pthread_mutex_lock(&t->mu);
    t->in_batch = 1;
    t->batch_seq++;
    t->sampled = 0;
    pthread_mutex_unlock(&t->mu);
}

int throttle_after_batch(struct throttle *t, struct database *db, double took_ms)
{
    read_limits(t, db);
    struct throttle_sample s = {.probe_ms = -1, .lag_ms = -1};
    if (t->running) {
        pthread_mutex_lock(&t->mu);
        t->in_batch = 0;
        double ms = t->batch_probes ? t->batch_sum_ms / t->batch_probes : -1;
        if (ms >= 0)
            t->batch_ms = t->batch_ms > 0 ? 0.7 * t->batch_ms + 0.3 * ms : ms;
        /* a set target compares each batch's probes, the budget a smoothed latency */
        s.probe_ms = t->lim.probe_target_ms > 0 ? ms : t->batch_ms > 0 ? t->batch_ms : -1;
        s.no_probe = t->batch_probes == 0;
        s.rest_ms = t->rest_ms;
        s.base_ms = t->base_ms;
        s.lock_waits = t->lock_waits;
        s.active = t->active;
        t->batch_sum_ms = 0;
        t->batch_probes = 0;
        t->lock_waits = t->active = 0;
        pthread_mutex_unlock(&t->mu);
    }
    if (t->running && t->lim.max_lag_ms > 0) {
        int64_t lag;
        int isnull;
        struct err e;
        if (database_query_i64(db,
                               "SELECT (max(extract(epoch FROM replay_lag)) * 1000)::bigint FROM "
                               "pg_stat_replication",
                               &lag, &isnull, &e) == 0 &&
            !isnull)
            s.lag_ms = (double)lag;
    }
    const char *why;
    double before = t->duty;
    t->duty = throttle_next_duty(t->duty, &t->lim, &s, &why);
    if (why) {
        t->backoffs++;
        if (t->duty < before)
            log_info("throttle: backing off to duty %.0f%%: %s (probe %.1f ms, rest %.1f ms, "
                     "before %.1f ms, "
                     "lock waits %d, active %d)",
                     t->duty, why, s.probe_ms, s.rest_ms, s.base_ms, s.lock_waits, s.active);
    }
    log_debug("throttle: batch %.1f ms, probe %.2f ms in batches, %.2f ms between, %.2f ms "
              "before; duty %.1f%% -> %.1f%%",
              took_ms, s.probe_ms, s.rest_ms, s.base_ms, before, t->duty);
    t->duty_sum += t->duty;
    t->nbatches++;
    double duty = t->duty;
    return (int)(took_ms * (100 - duty) / duty) + t->o->batch_sleep_ms;
}

void throttle_stop(struct throttle *t)
{
    if (t->nbatches)
        log_info("throttle: %d batches, mean duty %.0f%%, %d back-offs, %d failed probes",
                 t->nbatches, t->duty_sum / t->nbatches, t->backoffs, t->probe_errors);
    if (t->running) {
        pthread_mutex_lock(&t->mu);
        t->stop = 1;
        pthread_mutex_unlock(&t->mu);
        pthread_join(t->th, NULL);
        pthread_mutex_destroy(&t->mu);
        t->running = 0;
    }
    database_close(t->probe_db);
    t->probe_db = NULL;
}

static void print_limit(FILE *out, const char *name, const char *v, const char *unit,
                        const char *unset)
{
    fprintf(out, "%s: %s%s\n", name, v ? v : unset, v ? unit : "");
}

/* Prints the stored row of the throttle settings. */
static int print_limits(struct database *db, FILE *out, struct err *e)
{
    struct database_rows r;
    if (database_query(
            db,
            "SELECT duty_percent, probe_target_ms, max_active, max_lag_ms, updated_at FROM "
            "baton_throttle WHERE id = 1",
            &r, e) < 0)
        return -1;
    const char *opt = "(the backfill's option)";
    print_limit(out, "duty-percent", database_cell(&r, 0, 0), "", opt);
    print_limit(out, "probe-target", database_cell(&r, 0, 1), "ms", opt);
    print_limit(out, "max-active", database_cell(&r, 0, 2), "", opt);
    print_limit(out, "max-lag", database_cell(&r, 0, 3), "ms", opt);
    print_limit(out, "updated", database_cell(&r, 0, 4), "", "never");
    database_rows_free(&r);
    return 0;
}

int migrate_throttle(const struct migrate_opts *o, const struct throttle_limits *set, int reset,
                     FILE *out, struct err *e)
{
    struct database *db;
    if (database_open(o->db_url, &db, e) < 0)
        return -1;
    char now[32], sql[512];
    ledger_now(now, sizeof(now));
    int n = snprintf(sql, sizeof(sql), "UPDATE baton_throttle SET updated_at = '%s'", now);
    const char *cols[4] = {"duty_percent", "probe_target_ms", "max_active", "max_lag_ms"};
    const int vals[4] = {set->duty_percent, set->probe_target_ms, set->max_active, set->max_lag_ms};
    for (int i = 0; i < 4; i++) {
        if (vals[i] >= 0)
            n += snprintf(sql + n, sizeof(sql) - (size_t)n, ", %s = %d", cols[i], vals[i]);
        else if (reset)
            n += snprintf(sql + n, sizeof(sql) - (size_t)n, ", %s = NULL", cols[i]);
    }
    snprintf(sql + n, sizeof(sql) - (size_t)n, " WHERE id = 1");
    int rc = -1;
    if (throttle_ensure(db, e) < 0 || database_begin(db, e) < 0)
        goto out;
    if (database_exec(db, "INSERT INTO baton_throttle (id) VALUES (1) ON CONFLICT (id) DO NOTHING",
                      e) < 0 ||
        database_exec(db, sql, e) < 0 || database_commit(db, e) < 0) {
        database_rollback(db);
        err_wrap(e, "cannot store the throttle settings");
        goto out;
    }
    rc = print_limits(db, out, e);
out:
    database_close(db);
    return rc;
}
