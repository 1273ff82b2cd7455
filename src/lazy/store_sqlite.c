/* SQLite store: one table (id TEXT PRIMARY KEY, doc TEXT, rev INTEGER) per collection in
 * a WAL database; compare-and-set is UPDATE ... WHERE id=? AND rev=?, and a write with
 * moved parts is one IMMEDIATE transaction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "lazy/lazy_int.h"

#define SQLITE_BUSY_MS 30000

/* A document written into table %s, the collection's own or a moved part's. */
#define SQ_UPSERT                                                                                  \
    "INSERT INTO \"%s\"(id, doc) VALUES(?1, ?2) ON CONFLICT(id) DO UPDATE SET "                    \
    "doc = excluded.doc, rev = rev + 1"

struct sq_store {
    struct lazy_store base;
    sqlite3 *db;
    char table[LAZY_NAME_MAX + 1];
    sqlite3_stmt *get, *cas, *put, *scan, *range, *version;
    /* the set-based sweep: the plan's statements (bound to its literals) and the stale
     * queries for version stale_latest */
    sqlite3_stmt *plan[LAZY_PLAN_MAX_STMTS];
    int nplan;
    sqlite3_stmt *stale_range, *stale_all;
    int stale_latest;
};

static int sq_err(struct sq_store *q, struct err *e, const char *what)
{
    return err_set(e, "sqlite '%s': %s: %s", q->base.collection, what, sqlite3_errmsg(q->db));
}

static int sq_exec(struct sq_store *q, const char *sql, struct err *e)
{
    char *msg = NULL;
    if (sqlite3_exec(q->db, sql, NULL, NULL, &msg) == SQLITE_OK)
        return 0;
    err_set(e, "sqlite '%s': %s", q->base.collection, msg ? msg : sqlite3_errmsg(q->db));
    sqlite3_free(msg);
    return -1;
}

static int sq_ensure(struct sq_store *q, const char *table, struct err *e)
{
    char sql[256];
    snprintf(sql, sizeof(sql),
             "CREATE TABLE IF NOT EXISTS \"%s\" (id TEXT PRIMARY KEY, doc TEXT NOT NULL, "
             "rev INTEGER NOT NULL DEFAULT 1)",
             table);
    return sq_exec(q, sql, e);
}

static int sq_get(struct lazy_store *s, const char *id, struct lazy_raw *out, struct err *e)
{
    struct sq_store *q = (struct sq_store *)s;
    sqlite3_stmt *st = q->get;
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        sqlite3_reset(st);
        return LAZY_ENOTFOUND;
    }
    if (rc != SQLITE_ROW) {
        sq_err(q, e, "read");
        sqlite3_reset(st);
        return -1;
    }
    const char *text = (const char *)sqlite3_column_text(st, 0);
    out->id = strdup(id);
    out->text = strdup(text ? text : "");
    out->rev = sqlite3_column_int64(st, 1);
    sqlite3_reset(st);
    if (!out->id || !out->text) {
        lazy_raw_clear(out);
        return err_set(e, "out of memory");
    }
    return 0;
}

static int sq_upsert(struct sq_store *q, const char *table, const char *id, const char *text,
                     struct err *e)
{
    sqlite3_stmt *st = q->put;
    int own = 0;
    if (strcmp(table, q->table) != 0) {
        char sql[300];
        snprintf(sql, sizeof(sql), SQ_UPSERT, table);
        if (sq_ensure(q, table, e) < 0)
            return -1;
        if (sqlite3_prepare_v2(q->db, sql, -1, &st, NULL) != SQLITE_OK)
            return sq_err(q, e, "prepare");
        own = 1;
    }
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, text, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : sq_err(q, e, "write");
    if (own)
        sqlite3_finalize(st);
    else
        sqlite3_reset(st);
    return rc;
}

static int sq_cas(struct lazy_store *s, const struct lazy_raw *old, const char *text,
                  const struct lazy_child *kids, size_t nkids, struct err *e)
{
    struct sq_store *q = (struct sq_store *)s;
    /* children and parent in one transaction: a savepoint inside a sweep's batch, else
     * BEGIN IMMEDIATE (takes the write lock first: no failing lock upgrade in WAL mode) */
    int own_tx = sqlite3_get_autocommit(q->db);
    if (nkids && sq_exec(q, own_tx ? "BEGIN IMMEDIATE" : "SAVEPOINT lazy_kids", e) < 0)
        return -1;
    for (size_t i = 0; i < nkids; i++)
        if (sq_upsert(q, kids[i].collection, kids[i].id, kids[i].text, e) < 0)
            goto fail;
    sqlite3_stmt *st = q->cas;
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, text, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, old->id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, old->rev);
    if (sqlite3_step(st) != SQLITE_DONE) {
        sq_err(q, e, "write");
        sqlite3_reset(st);
        goto fail;
    }
    sqlite3_reset(st);
    int conflict = sqlite3_changes(q->db) == 0;
    if (nkids) {
        if (own_tx && sq_exec(q, conflict ? "ROLLBACK" : "COMMIT", e) < 0)
            goto fail;
        if (!own_tx && ((conflict && sq_exec(q, "ROLLBACK TO lazy_kids", e) < 0) ||
                        sq_exec(q, "RELEASE lazy_kids", e) < 0))
            goto fail;
    }
    return conflict;
fail:
    if (nkids && own_tx) {
        sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
    } else if (nkids) {
        sqlite3_exec(q->db, "ROLLBACK TO lazy_kids", NULL, NULL, NULL);
        sqlite3_exec(q->db, "RELEASE lazy_kids", NULL, NULL, NULL);
    }
    return -1;
}

static int sq_put(struct lazy_store *s, const char *id, const char *text, struct err *e)
{
    return sq_upsert((struct sq_store *)s, ((struct sq_store *)s)->table, id, text, e);
}

/* Reads the rows (id, doc, rev) of a statement into a batch. */
static int sq_rows(struct sq_store *q, sqlite3_stmt *st, struct lazy_batch *out, struct err *e)
{
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        const char *text = (const char *)sqlite3_column_text(st, 1);
        if (!id)
            continue;
        if (lazy_batch_push(out, id, text ? text : "", sqlite3_column_int64(st, 2), e) < 0) {
            sqlite3_reset(st);
            return -1;
        }
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : sq_err(q, e, "scan");
}

static int sq_scan(struct lazy_store *s, const char *pos, size_t batch, struct lazy_batch *out,
                   struct err *e)
{
    struct sq_store *q = (struct sq_store *)s;
    sqlite3_stmt *st = q->scan;
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, pos, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)batch);
    out->next[0] = 0;
    if (sq_rows(q, st, out, e) < 0)
        return -1;
    if (out->n == batch && out->n > 0)
        snprintf(out->next, sizeof(out->next), "%s", out->items[out->n - 1].id);
    return 0;
}

static int sq_state_load(struct lazy_store *s, int *pass, char *pos, size_t size, struct err *e)
{
    struct sq_store *q = (struct sq_store *)s;
    sqlite3_stmt *st;
    *pass = 0;
    pos[0] = 0;
    if (sqlite3_prepare_v2(q->db, "SELECT pass, position FROM baton_lazy_sweep WHERE collection=?",
                           -1, &st, NULL) != SQLITE_OK)
        return sq_err(q, e, "read sweep position");
    sqlite3_bind_text(st, 1, q->table, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *pass = sqlite3_column_int(st, 0);
        const char *p = (const char *)sqlite3_column_text(st, 1);
        snprintf(pos, size, "%s", p ? p : "");
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return sq_err(q, e, "read sweep position");
    return 0;
}

static int sq_state_save(struct lazy_store *s, int pass, const char *pos, struct err *e)
{
    struct sq_store *q = (struct sq_store *)s;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(q->db,
                           "INSERT INTO baton_lazy_sweep(collection, pass, position) "
                           "VALUES(?1, ?2, ?3) ON CONFLICT(collection) DO UPDATE SET "
                           "pass = excluded.pass, position = excluded.position",
                           -1, &st, NULL) != SQLITE_OK)
        return sq_err(q, e, "save sweep position");
    sqlite3_bind_text(st, 1, q->table, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, pass);
    sqlite3_bind_text(st, 3, pos, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : sq_err(q, e, "save sweep position");
}

static void sq_plan_clear(struct sq_store *q)
{
    for (int i = 0; i < q->nplan; i++)
        sqlite3_finalize(q->plan[i]);
    q->nplan = 0;
}

/* Compiles the chain and prepares its statements, the chain's literals bound once. */
static int sq_plan_build(struct lazy_store *s, const struct lazy_chain *c, struct lazy_plan *pl,
                         struct err *e)
{
    struct sq_store *q = (struct sq_store *)s;
    sq_plan_clear(q);
    if (sqlite3_libversion_number() < 3038000) { /* no `->`: every document one by one */
        memset(pl, 0, sizeof(*pl));
        pl->from = lazy_chain_latest(c);
        return 0;
    }
    if (lazy_plan_build(pl, c, q->table, &lazy_sqlite_dialect, e) < 0)
        return -1;
    for (int i = 0; i < pl->nstmt; i++) {
        const struct lazy_sql *t = &pl->stmt[i];
        if (sqlite3_prepare_v2(q->db, t->text, -1, &q->plan[i], NULL) != SQLITE_OK) {
            sq_err(q, e, "prepare the set-based sweep");
            sq_plan_clear(q);
            return -1;
        }
        q->nplan++;
        for (int j = 0; j < t->nparams; j++)
            sqlite3_bind_text(q->plan[i], 3 + j, t->params[j] + 1, -1, SQLITE_TRANSIENT);
    }
    return 0;
}

static int sq_range(struct lazy_store *s, const char *pos, size_t batch, char *last,
                    size_t last_size, size_t *count, struct err *e)
{
    struct sq_store *q = (struct sq_store *)s;
    sqlite3_stmt *st = q->range;
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, pos, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)batch);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        return sq_err(q, e, "scan");
    }
    const char *max = (const char *)sqlite3_column_text(st, 1);
    *count = (size_t)sqlite3_column_int64(st, 0);
    snprintf(last, last_size, "%s", max ? max : "");
    sqlite3_reset(st);
    return 0;
}

/* The plan's statements over (pos, last]; the last one writes the parents. */
static int sq_plan_run(struct lazy_store *s, const struct lazy_plan *pl, const char *pos,
                       const char *last, size_t *upgraded, struct err *e)
{
    struct sq_store *q = (struct sq_store *)s;
    (void)pl;
    *upgraded = 0;
    for (int i = 0; i < q->nplan; i++) {
        sqlite3_stmt *st = q->plan[i];
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, pos, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, last, -1, SQLITE_TRANSIENT);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return sq_err(q, e, "set-based sweep");
    }
    *upgraded = (size_t)sqlite3_changes(q->db);
    return 0;
}

static int sq_stale(struct lazy_store *s, int latest, const char *pos, const char *last,
                    size_t limit, struct lazy_batch *out, struct err *e)
{
    struct sq_store *q = (struct sq_store *)s;
    if (!q->stale_range || q->stale_latest != latest) {
        sqlite3_finalize(q->stale_range);
        sqlite3_finalize(q->stale_all);
        q->stale_range = q->stale_all = NULL;
        char *ranged = lazy_sql_stale(&lazy_sqlite_dialect, q->table, latest, 1);
        char *all = lazy_sql_stale(&lazy_sqlite_dialect, q->table, latest, 0);
        int ok = ranged && all &&
                 sqlite3_prepare_v2(q->db, ranged, -1, &q->stale_range, NULL) == SQLITE_OK &&
                 sqlite3_prepare_v2(q->db, all, -1, &q->stale_all, NULL) == SQLITE_OK;
        free(ranged);
        free(all);
        if (!ok)
            return sq_err(q, e, "prepare");
        q->stale_latest = latest;
    }
    sqlite3_stmt *st = last ? q->stale_range : q->stale_all;
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, pos, -1, SQLITE_TRANSIENT);
    if (last)
        sqlite3_bind_text(st, 2, last, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_int64(st, 2, (sqlite3_int64)limit);
    return sq_rows(q, st, out, e);
}

static int sq_commit_mark(struct lazy_store *s, int64_t *mark, struct err *e)
{
    struct sq_store *q = (struct sq_store *)s;
    int rc = sqlite3_step(q->version);
    *mark = sqlite3_column_int64(q->version, 0);
    sqlite3_reset(q->version);
    return rc == SQLITE_ROW ? 0 : sq_err(q, e, "read data_version");
}

static void sq_close(struct lazy_store *s)
{
    struct sq_store *q = (struct sq_store *)s;
    sq_plan_clear(q);
    sqlite3_finalize(q->stale_range);
    sqlite3_finalize(q->stale_all);
    sqlite3_finalize(q->get);
    sqlite3_finalize(q->cas);
    sqlite3_finalize(q->put);
    sqlite3_finalize(q->scan);
    sqlite3_finalize(q->range);
    sqlite3_finalize(q->version);
    sqlite3_close(q->db);
    free(q);
}

static int sq_batch(struct lazy_store *s, int what, struct err *e)
{
    static const char *const sql[] = {"BEGIN IMMEDIATE", "COMMIT", "ROLLBACK"};
    return sq_exec((struct sq_store *)s, sql[what], e);
}

static int sq_ensure_coll(struct lazy_store *s, const char *collection, struct err *e)
{
    return sq_ensure((struct sq_store *)s, collection, e);
}

static const struct lazy_store_ops sq_ops = {
    .kind = "sqlite",
    .get = sq_get,
    .cas = sq_cas,
    .put = sq_put,
    .scan = sq_scan,
    .state_load = sq_state_load,
    .state_save = sq_state_save,
    .batch = sq_batch,
    .ensure = sq_ensure_coll,
    .plan_build = sq_plan_build,
    .range = sq_range,
    .plan_run = sq_plan_run,
    .stale = sq_stale,
    .commit_mark = sq_commit_mark,
    .close = sq_close,
};

int lazy_sqlite_open(const char *path, const char *table, struct lazy_store **out, struct err *e)
{
    struct sq_store *q = lazy_store_new(sizeof(*q), &sq_ops, table, e);
    if (!q)
        return -1;
    snprintf(q->table, sizeof(q->table), "%s", table);
    if (sqlite3_open_v2(path, &q->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        err_set(e, "cannot open sqlite database '%s': %s", path,
                q->db ? sqlite3_errmsg(q->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(q->db, SQLITE_BUSY_MS);
    char sql[6][300];
    snprintf(sql[0], sizeof(sql[0]), "SELECT doc, rev FROM \"%s\" WHERE id = ?1", table);
    snprintf(sql[1], sizeof(sql[1]),
             "UPDATE \"%s\" SET doc = ?1, rev = rev + 1 WHERE id = ?2 AND rev = ?3", table);
    snprintf(sql[2], sizeof(sql[2]), SQ_UPSERT, table);
    snprintf(sql[3], sizeof(sql[3]),
             "SELECT id, doc, rev FROM \"%s\" WHERE id > ?1 ORDER BY id LIMIT ?2", table);
    snprintf(sql[4], sizeof(sql[4]),
             "SELECT count(*), max(id) FROM (SELECT id FROM \"%s\" WHERE id > ?1 ORDER BY id "
             "LIMIT ?2)",
             table);
    /* WAL: readers never block the writer; NORMAL sync is crash-safe in WAL mode */
    if (sq_exec(q, "PRAGMA journal_mode=WAL", e) < 0 ||
        sq_exec(q, "PRAGMA synchronous=NORMAL", e) < 0 || sq_ensure(q, table, e) < 0 ||
        sq_exec(q,
                "CREATE TABLE IF NOT EXISTS baton_lazy_sweep (collection TEXT PRIMARY KEY, "
                "pass INTEGER NOT NULL, position TEXT NOT NULL)",
                e) < 0)
        goto fail;
    snprintf(sql[5], sizeof(sql[5]), "PRAGMA data_version");
    sqlite3_stmt **sts[6] = {&q->get, &q->cas, &q->put, &q->scan, &q->range, &q->version};
    for (int i = 0; i < 6; i++)
        if (sqlite3_prepare_v2(q->db, sql[i], -1, sts[i], NULL) != SQLITE_OK) {
            sq_err(q, e, "prepare");
            goto fail;
        }
    *out = &q->base;
    return 0;
fail:
    sq_close(&q->base);
    return -1;
}
