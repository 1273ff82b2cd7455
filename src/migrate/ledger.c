/* Ledger rows and the runner lease, in SQL both databases accept (ON CONFLICT upserts,
 * RETURNING to see whether a fenced update hit the row). */
#include "migrate/ledger.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"

static const char *phase_names[PH_COUNT] = {
    "pending",     "expanding",  "expanded", "backfilling", "backfilled",
    "contracting", "contracted", "aborting", "aborted",
};

const char *ledger_phase_name(enum mphase p)
{
    return p < PH_COUNT ? phase_names[p] : "?";
}

static enum mphase phase_parse(const char *s)
{
    for (int i = 0; i < PH_COUNT; i++)
        if (s && strcmp(s, phase_names[i]) == 0)
            return (enum mphase)i;
    return PH_PENDING;
}

void ledger_now(char *buf, size_t cap)
{
    clock_utc_text(clock_wall_ms(), buf, cap);
}

void jitter_sleep_ms(int ms)
{
    static unsigned seed;
    if (!seed)
        seed = (unsigned)getpid() ^ (unsigned)clock_wall_ms();
    if (ms <= 0)
        return;
    long d = ms / 2 + (long)(rand_r(&seed) % (unsigned)(ms + 1));
    struct timespec ts = {d / 1000, (d % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

int ledger_ensure(struct database *db, struct err *e)
{
    const char *sql = "CREATE TABLE IF NOT EXISTS baton_migrations ("
                      " id TEXT PRIMARY KEY, checksum TEXT NOT NULL, phase TEXT NOT NULL,"
                      " step INTEGER NOT NULL DEFAULT 0, backfill_pos BIGINT,"
                      " backfill_batches BIGINT NOT NULL DEFAULT 0, started_at TEXT,"
                      " updated_at TEXT, expanded_at TEXT, contracted_at TEXT);"
                      "CREATE TABLE IF NOT EXISTS baton_lock ("
                      " id INTEGER PRIMARY KEY, holder TEXT, token BIGINT NOT NULL,"
                      " expires_ms BIGINT NOT NULL)";
    return database_exec_tx(db, sql, e) < 0 ? err_wrap(e, "cannot create the ledger tables") : 0;
}

static void copy_cell(char *dst, size_t cap, const char *v)
{
    snprintf(dst, cap, "%s", v ? v : "");
}

int ledger_load(struct database *db, struct ledger *out, struct err *e)
{
    memset(out, 0, sizeof(*out));
    int yes;
    if (db->drv->table_exists(db, "baton_migrations", &yes, e) < 0)
        return -1;
    if (!yes)
        return 0;
    struct database_rows r;
    if (database_query(
            db,
            "SELECT id, checksum, phase, step, backfill_pos, backfill_batches, started_at,"
            " updated_at, expanded_at, contracted_at FROM baton_migrations ORDER BY id",
            &r, e) < 0)
        return err_wrap(e, "cannot read the ledger");
    out->v = calloc((size_t)(r.nrows ? r.nrows : 1), sizeof(*out->v));
    if (!out->v) {
        database_rows_free(&r);
        return err_set(e, "out of memory");
    }
    for (int i = 0; i < r.nrows; i++) {
        struct ledger_entry *le = &out->v[i];
        copy_cell(le->id, sizeof(le->id), database_cell(&r, i, 0));
        copy_cell(le->checksum, sizeof(le->checksum), database_cell(&r, i, 1));
        le->phase = phase_parse(database_cell(&r, i, 2));
        le->step = database_cell(&r, i, 3) ? atoi(database_cell(&r, i, 3)) : 0;
        le->has_pos = database_cell(&r, i, 4) != NULL;
        le->pos = le->has_pos ? strtoll(database_cell(&r, i, 4), NULL, 10) : 0;
        le->batches = database_cell(&r, i, 5) ? strtoll(database_cell(&r, i, 5), NULL, 10) : 0;
        copy_cell(le->started_at, sizeof(le->started_at), database_cell(&r, i, 6));
        copy_cell(le->updated_at, sizeof(le->updated_at), database_cell(&r, i, 7));
        copy_cell(le->expanded_at, sizeof(le->expanded_at), database_cell(&r, i, 8));
        copy_cell(le->contracted_at, sizeof(le->contracted_at), database_cell(&r, i, 9));
    }
    out->n = r.nrows;
    database_rows_free(&r);
    return 0;
}

struct ledger_entry *ledger_find(struct ledger *l, const char *id)
{
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->v[i].id, id) == 0)
            return &l->v[i];
    return NULL;
}

void ledger_free(struct ledger *l)
{
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

/* A text value as an SQL literal (ids and timestamps hold no quotes; checked anyway). */
static void lit(char *buf, size_t cap, const char *s)
{
    if (!s || !*s || strchr(s, '\''))
        snprintf(buf, cap, "NULL");
    else
        snprintf(buf, cap, "'%s'", s);
}

int ledger_put(struct database *db, const struct ledger_entry *le, struct err *e)
{
    char sql[2048], pos[32], id[MFILE_ID_MAX + 4], sum[40], st[40], up[40], ex[40], co[40];
    if (le->has_pos)
        snprintf(pos, sizeof(pos), "%lld", (long long)le->pos);
    else
        snprintf(pos, sizeof(pos), "NULL");
    lit(id, sizeof(id), le->id);
    lit(sum, sizeof(sum), le->checksum);
    lit(st, sizeof(st), le->started_at);
    lit(up, sizeof(up), le->updated_at);
    lit(ex, sizeof(ex), le->expanded_at);
    lit(co, sizeof(co), le->contracted_at);
    snprintf(sql, sizeof(sql),
             "INSERT INTO baton_migrations (id, checksum, phase, step, backfill_pos,"
             " backfill_batches, started_at, updated_at, expanded_at, contracted_at)"
             " VALUES (%s, %s, '%s', %d, %s, %lld, %s, %s, %s, %s)"
             " ON CONFLICT (id) DO UPDATE SET checksum = excluded.checksum,"
             " phase = excluded.phase, step = excluded.step,"
             " backfill_pos = excluded.backfill_pos, backfill_batches = excluded.backfill_batches,"
             " started_at = excluded.started_at, updated_at = excluded.updated_at,"
             " expanded_at = excluded.expanded_at, contracted_at = excluded.contracted_at",
             id, sum, ledger_phase_name(le->phase), le->step, pos, (long long)le->batches, st, up,
             ex, co);
    if (database_exec(db, sql, e) < 0)
        return err_wrap(e, "cannot update the ledger row of '%s'", le->id);
    return 0;
}

/* Whether the holder string "host:pid" names a process that is still alive here. */
static int holder_alive(const char *holder)
{
    char host[64] = "";
    gethostname(host, sizeof(host) - 1);
    const char *colon = strrchr(holder, ':');
    if (!colon || (size_t)(colon - holder) != strlen(host) ||
        strncmp(holder, host, strlen(host)) != 0)
        return 1; /* another host: trust the expiry only */
    long pid = strtol(colon + 1, NULL, 10);
    if (pid <= 0)
        return 0;
    return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

/* One attempt: 1 taken, 0 held by a live runner, -1 error. */
static int lease_try(struct database *db, struct lease *l, struct err *e)
{
    int got = 0;
    if (db->drv->try_session_lock(db, &got, e) < 0)
        return -1;
    if (!got)
        return 0;
    if (ledger_ensure(db, e) < 0)
        return -1;
    if (database_begin(db, e) < 0)
        return -1;
    struct database_rows r;
    if (database_query(db, "SELECT holder, token, expires_ms FROM baton_lock WHERE id = 1", &r, e) <
        0) {
        database_rollback(db);
        return -1;
    }
    int64_t now = clock_wall_ms(), token = 0;
    char sql[512];
    if (r.nrows == 0) {
        token = 1;
        snprintf(sql, sizeof(sql),
                 "INSERT INTO baton_lock (id, holder, token, expires_ms) VALUES (1, '%s', 1, %lld)",
                 l->holder, (long long)(now + l->lease_ms));
    } else {
        const char *holder = database_cell(&r, 0, 0);
        token = strtoll(database_cell(&r, 0, 1) ? database_cell(&r, 0, 1) : "0", NULL, 10);
        int64_t expires =
            strtoll(database_cell(&r, 0, 2) ? database_cell(&r, 0, 2) : "0", NULL, 10);
        /* PostgreSQL: the advisory lock already proves the last holder's session is gone */
        int live = !db->drv->session_lock_fences && holder && expires > now && holder_alive(holder);
        if (live) {
            database_rows_free(&r);
            database_rollback(db);
            return 0;
        }
        token++;
        snprintf(
            sql, sizeof(sql),
            "UPDATE baton_lock SET holder = '%s', token = %lld, expires_ms = %lld WHERE id = 1",
            l->holder, (long long)token, (long long)(now + l->lease_ms));
    }
    database_rows_free(&r);
    if (database_exec(db, sql, e) < 0 || database_commit(db, e) < 0) {
        database_rollback(db);
        return -1;
    }
    l->token = token;
    l->held = 1;
    return 1;
}

int lease_acquire(struct database *db, struct lease *l, int wait_ms, struct err *e)
{
    char host[64] = "";
    gethostname(host, sizeof(host) - 1);
    snprintf(l->holder, sizeof(l->holder), "%s:%ld", host, (long)getpid());
    for (size_t i = 0; l->holder[i]; i++)
        if (l->holder[i] == '\'')
            l->holder[i] = '_';
    if (l->lease_ms <= 0)
        l->lease_ms = 30000;
    int64_t deadline = clock_wall_ms() + wait_ms;
    int pause = 20;
    for (;;) {
        int rc = lease_try(db, l, e);
        if (rc > 0)
            return 0;
        if (rc < 0 && !db->retryable)
            return err_wrap(e, "cannot take the migration lease");
        if (clock_wall_ms() >= deadline)
            return err_set(e, "another 'baton migrate' runner holds the lease (waited %d ms)",
                           wait_ms);
        jitter_sleep_ms(pause);
        if (pause < 200)
            pause *= 2;
    }
}

int lease_fence(struct database *db, struct lease *l, struct err *e)
{
    char sql[256];
    snprintf(
        sql, sizeof(sql),
        "UPDATE baton_lock SET expires_ms = %lld WHERE id = 1 AND token = %lld RETURNING token",
        (long long)(clock_wall_ms() + l->lease_ms), (long long)l->token);
    struct database_rows r;
    if (database_query(db, sql, &r, e) < 0)
        return -1;
    int ok = r.nrows == 1;
    database_rows_free(&r);
    if (!ok) {
        l->held = 0;
        return err_set(e, "lost the migration lease (token %lld): another runner took over",
                       (long long)l->token);
    }
    return 0;
}

void lease_release(struct database *db, struct lease *l)
{
    if (!l->held)
        return;
    struct err e;
    char sql[256];
    snprintf(sql, sizeof(sql),
             "UPDATE baton_lock SET holder = NULL, expires_ms = 0 WHERE id = 1 AND token = %lld",
             (long long)l->token);
    if (database_begin(db, &e) == 0) {
        if (database_exec(db, sql, &e) < 0 || database_commit(db, &e) < 0)
            database_rollback(db);
    }
    db->drv->release_session_lock(db);
    l->held = 0;
}
