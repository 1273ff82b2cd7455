/* `baton migrate`: forward-only expand / backfill / contract migrations on SQLite and
 * PostgreSQL. The CLI fills struct migrate_opts and calls one function per verb. */
#ifndef BATON_MIGRATE_MIGRATE_H
#define BATON_MIGRATE_MIGRATE_H

#include <stdio.h>

#include "core/err.h"

struct migrate_opts {
    const char *db_url;   /* sqlite:PATH, postgres://..., or a libpq conninfo */
    const char *dir;      /* migration files; releases.ini lives here too */
    const char *releases; /* manifest path; default DIR/releases.ini if it exists */
    int json;
    int lease_ms;          /* runner lease time to live (default 30000) */
    int wait_ms;           /* how long to wait for another runner (default 120000) */
    int lock_timeout_ms;   /* PostgreSQL lock_timeout for DDL and batches (default 2000) */
    int retries;           /* retries of a step that hit a lock timeout (default 20) */
    int batch_size;        /* first batch size (default 500) */
    int batch_max;         /* largest batch (default 50000) */
    int time_target_ms;    /* batch time the size adapts to (default 50) */
    int duty_percent;      /* share of time batches may keep the database busy (default 50):
                              after a batch of t ms, pause t * (100 - duty) / duty ms */
    int batch_sleep_ms;    /* extra pause between batches (default 0; tests slow batches) */
    const char *probe_sql; /* PostgreSQL: the query the throttle times (default SELECT 1) */
    int probe_target_ms;   /* probe latency while batches run; 0: 4x its latency at rest */
    int max_active;        /* back off above this many other active sessions (0: off) */
    int max_lag_ms;        /* back off above this replica replay lag (0: off) */
    int small_table_rows;  /* lint: a table with fewer rows (by --db) may be locked briefly
                              (default 1000) */
    int lint_style;        /* lint: also the style rules (default off) */
};

/* Fills the defaults above and the environment (BATON_DB, BATON_MIGRATIONS,
 * BATON_MIGRATE_BATCH_SLEEP_MS). */
void migrate_opts_init(struct migrate_opts *o);

/* Expands (then backfills) every pending migration up to `to` (NULL: all). Refuses,
 * before any DDL, to pass a checkpoint release whose contract has not run. */
int migrate_expand(const struct migrate_opts *o, const char *to, struct err *e);
/* Backfills every expanded migration. */
int migrate_backfill(const struct migrate_opts *o, struct err *e);
/* Contracts every backfilled migration up to `to` (NULL: all). */
int migrate_contract(const struct migrate_opts *o, const char *to, struct err *e);
/* Undoes the expansion of `id` (its contract must not have run). */
int migrate_abort(const struct migrate_opts *o, const char *id, struct err *e);

int migrate_status(const struct migrate_opts *o, FILE *out, struct err *e);
/* Prints what would run; returns the number of lint findings, or -1. */
int migrate_plan(const struct migrate_opts *o, FILE *out, struct err *e);
/* Lints files for the dialect of o->db_url if given (with facts from that database), else
 * for both without facts; returns the findings (and unreadable files), or -1. */
int migrate_lint(const struct migrate_opts *o, char **files, int nfiles, FILE *out, struct err *e);
int migrate_path(const struct migrate_opts *o, const char *from, const char *to, FILE *out,
                 struct err *e);
/* 1 when the database is usable by `release`, 0 when not (reasons printed), -1 error. */
int migrate_check(const struct migrate_opts *o, const char *release, FILE *out, struct err *e);
/* Creates DIR/NNNN_NAME.migration from a template; prints its path. */
int migrate_new(const struct migrate_opts *o, const char *name, FILE *out, struct err *e);

#endif
