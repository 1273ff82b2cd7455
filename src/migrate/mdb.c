/* Driver dispatch and helpers shared by both database drivers of `baton migrate`. */
#include "migrate/mdb.h"

#include <stdlib.h>
#include <string.h>

const char *mdb_cell(const struct mdb_rows *r, int row, int col)
{
    if (row < 0 || row >= r->nrows || col < 0 || col >= r->ncols)
        return NULL;
    return r->cells[row * r->ncols + col];
}

void mdb_rows_free(struct mdb_rows *r)
{
    if (!r->cells)
        return;
    for (int i = 0; i < r->nrows * r->ncols; i++)
        free(r->cells[i]);
    free(r->cells);
    r->cells = NULL;
    r->nrows = r->ncols = 0;
}

enum mdb_kind mdb_url_kind(const char *url)
{
    size_t n = strlen(url);
    if (strncmp(url, "sqlite:", 7) == 0 || (n > 3 && strcmp(url + n - 3, ".db") == 0) ||
        (n > 7 && strcmp(url + n - 7, ".sqlite") == 0))
        return MDB_SQLITE;
    return MDB_POSTGRES;
}

int mdb_open(const char *url, struct mdb **out, struct err *e)
{
    *out = NULL;
    if (!url || !*url)
        return err_set(e, "no database given: use --db URL or BATON_DB");
    if (mdb_url_kind(url) == MDB_POSTGRES)
        return mdb_postgres_driver.open(url, out, e);
    return mdb_sqlite_driver.open(strncmp(url, "sqlite:", 7) == 0 ? url + 7 : url, out, e);
}

void mdb_close(struct mdb *db)
{
    if (db)
        db->drv->close(db);
}

int mdb_exec(struct mdb *db, const char *sql, struct err *e)
{
    db->retryable = 0;
    return db->drv->exec(db, sql, e);
}

int mdb_query(struct mdb *db, const char *sql, struct mdb_rows *out, struct err *e)
{
    db->retryable = 0;
    memset(out, 0, sizeof(*out));
    return db->drv->query(db, sql, out, e);
}

int mdb_begin(struct mdb *db, struct err *e)
{
    db->retryable = 0;
    return db->drv->begin(db, e);
}

int mdb_commit(struct mdb *db, struct err *e)
{
    return mdb_exec(db, "COMMIT", e);
}

void mdb_rollback(struct mdb *db)
{
    struct err ignored;
    int keep = db->retryable;
    db->drv->exec(db, "ROLLBACK", &ignored);
    db->retryable = keep;
}

int mdb_exec_tx(struct mdb *db, const char *sql, struct err *e)
{
    if (mdb_begin(db, e) < 0)
        return -1;
    if (mdb_exec(db, sql, e) < 0 || mdb_commit(db, e) < 0) {
        mdb_rollback(db);
        return -1;
    }
    return 0;
}

int mdb_query_i64(struct mdb *db, const char *sql, int64_t *out, int *is_null, struct err *e)
{
    struct mdb_rows r;
    if (mdb_query(db, sql, &r, e) < 0)
        return -1;
    const char *v = mdb_cell(&r, 0, 0);
    *is_null = v == NULL;
    *out = v ? strtoll(v, NULL, 10) : 0;
    mdb_rows_free(&r);
    return 0;
}
