/* SQLite driver of `baton migrate`: WAL mode, a busy timeout so a batch waits briefly
 * for the write lock instead of failing, and BEGIN IMMEDIATE for write transactions. */
#include "migrate/database.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SQLITE_BUSY_TIMEOUT_MS 10000

struct database_sqlite {
    struct database base;
    sqlite3 *db;
    char *path;
};

static int sq_fail(struct database_sqlite *s, int rc, struct err *e, const char *what)
{
    int primary = rc & 0xff;
    s->base.retryable = primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
    return err_set(e, "%s on '%s' failed: %s", what, s->path, sqlite3_errmsg(s->db));
}

static void sq_close(struct database *db)
{
    struct database_sqlite *s = (struct database_sqlite *)db;
    sqlite3_close(s->db);
    free(s->path);
    free(s);
}

static int sq_exec(struct database *db, const char *sql, struct err *e)
{
    struct database_sqlite *s = (struct database_sqlite *)db;
    char *msg = NULL;
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        int primary = rc & 0xff;
        s->base.retryable = primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
        err_set(e, "sql on '%s' failed: %s", s->path, msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static int sq_query(struct database *db, const char *sql, struct database_rows *out, struct err *e)
{
    struct database_sqlite *s = (struct database_sqlite *)db;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return sq_fail(s, rc, e, "query");
    int ncols = sqlite3_column_count(st);
    int cap = 0;
    out->ncols = ncols;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (out->nrows >= DATABASE_ROWS_MAX) {
            sqlite3_finalize(st);
            return err_set(e, "query on '%s' returned more than %d rows", s->path,
                           DATABASE_ROWS_MAX);
        }
        if (out->nrows == cap) {
            cap = cap ? cap * 2 : 16;
            char **c = realloc(out->cells, (size_t)cap * (size_t)(ncols ? ncols : 1) * sizeof(*c));
            if (!c) {
                sqlite3_finalize(st);
                return err_set(e, "out of memory");
            }
            out->cells = c;
        }
        for (int i = 0; i < ncols; i++) {
            const unsigned char *v = sqlite3_column_text(st, i);
            char *copy = v ? strdup((const char *)v) : NULL;
            out->cells[out->nrows * ncols + i] = copy;
        }
        out->nrows++;
    }
    if (rc != SQLITE_DONE) {
        int r = sq_fail(s, rc, e, "query");
        sqlite3_finalize(st);
        return r;
    }
    sqlite3_finalize(st);
    return 0;
}

static int sq_begin(struct database *db, struct err *e)
{
    return sq_exec(db, "BEGIN IMMEDIATE", e);
}

static int sq_try_session_lock(struct database *db, int *got, struct err *e)
{
    *got = 1;
    return 0;
}

static void sq_release_session_lock(struct database *db)
{
    (void)db;
}

static int sq_set_lock_timeout(struct database *db, int ms, int local, struct err *e)
{
    return 0; /* the busy timeout set at open covers SQLite's one lock */
}

static int sq_table_exists(struct database *db, const char *table, int *yes, struct err *e)
{
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '%s'", table);
    int64_t n;
    int isnull;
    if (database_query_i64(db, sql, &n, &isnull, e) < 0)
        return -1;
    *yes = n > 0;
    return 0;
}

static int sq_column_type(struct database *db, const char *table, const char *column, char *type,
                          size_t cap)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT type FROM pragma_table_info('%s') WHERE name = '%s'", table,
             column);
    struct database_rows r;
    struct err e;
    if (database_query(db, sql, &r, &e) < 0)
        return -1;
    const char *v = database_cell(&r, 0, 0);
    int rc = v ? 0 : -1;
    if (v)
        snprintf(type, cap, "%s", v[0] ? v : "TEXT");
    database_rows_free(&r);
    return rc;
}

static int sq_open(const char *path, struct database **out, struct err *e)
{
    struct database_sqlite *s = calloc(1, sizeof(*s));
    if (!s)
        return err_set(e, "out of memory");
    s->base.drv = &database_sqlite_driver;
    s->path = strdup(path);
    int rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        err_set(e, "cannot open sqlite database '%s': %s", path,
                s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        sq_close(&s->base);
        return -1;
    }
    sqlite3_busy_timeout(s->db, SQLITE_BUSY_TIMEOUT_MS);
    if (sq_exec(&s->base, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL", e) < 0) {
        sq_close(&s->base);
        return -1;
    }
    *out = &s->base;
    return 0;
}

const struct migrate_driver database_sqlite_driver = {
    .name = "sqlite",
    .kind = DATABASE_SQLITE,
    .open = sq_open,
    .close = sq_close,
    .exec = sq_exec,
    .query = sq_query,
    .begin = sq_begin,
    .try_session_lock = sq_try_session_lock,
    .release_session_lock = sq_release_session_lock,
    .session_lock_fences = 0,
    .set_lock_timeout = sq_set_lock_timeout,
    .table_exists = sq_table_exists,
    .column_type = sq_column_type,
};
