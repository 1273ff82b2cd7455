/* Driver dispatch and helpers shared by both database drivers of `baton migrate`. */
#include "migrate/database.h"

#include <stdlib.h>
#include <string.h>

const char *database_cell(const struct database_rows *r, int row, int col)
{
    if (row < 0 || row >= r->nrows || col < 0 || col >= r->ncols)
        return NULL;
    return r->cells[row * r->ncols + col];
}

void database_rows_free(struct database_rows *r)
{
    if (!r->cells)
        return;
    for (int i = 0; i < r->nrows * r->ncols; i++)
        free(r->cells[i]);
    free(r->cells);
    r->cells = NULL;
    r->nrows = r->ncols = 0;
}

enum database_kind database_url_kind(const char *url)
{
    size_t n = strlen(url);
    if (strncmp(url, "sqlite:", 7) == 0 || (n > 3 && strcmp(url + n - 3, ".db") == 0) ||
        (n > 7 && strcmp(url + n - 7, ".sqlite") == 0))
        return DATABASE_SQLITE;
    return DATABASE_POSTGRES;
}

int database_open(const char *url, struct database **out, struct err *e)
{
    *out = NULL;
    if (!url || !*url)
        return err_set(e, "no database given: use --db URL or BATON_DB");
    if (database_url_kind(url) == DATABASE_POSTGRES)
        return database_postgres_driver.open(url, out, e);
    return database_sqlite_driver.open(strncmp(url, "sqlite:", 7) == 0 ? url + 7 : url, out, e);
}

void database_close(struct database *db)
{
    if (db)
        db->drv->close(db);
}

int database_exec(struct database *db, const char *sql, struct err *e)
{
    db->retryable = 0;
    return db->drv->exec(db, sql, e);
}

int database_query(struct database *db, const char *sql, struct database_rows *out, struct err *e)
{
    db->retryable = 0;
    memset(out, 0, sizeof(*out));
    return db->drv->query(db, sql, out, e);
}

int database_begin(struct database *db, struct err *e)
{
    db->retryable = 0;
    return db->drv->begin(db, e);
}

int database_commit(struct database *db, struct err *e)
{
    return database_exec(db, "COMMIT", e);
}

void database_rollback(struct database *db)
{
    struct err ignored;
    int keep = db->retryable;
    db->drv->exec(db, "ROLLBACK", &ignored);
    db->retryable = keep;
}

int database_exec_tx(struct database *db, const char *sql, struct err *e)
{
    if (database_begin(db, e) < 0)
        return -1;
    if (database_exec(db, sql, e) < 0 || database_commit(db, e) < 0) {
        database_rollback(db);
        return -1;
    }
    return 0;
}

int database_query_i64(struct database *db, const char *sql, int64_t *out, int *is_null,
                       struct err *e)
{
    struct database_rows r;
    if (database_query(db, sql, &r, e) < 0)
        return -1;
    const char *v = database_cell(&r, 0, 0);
    *is_null = v == NULL;
    *out = v ? strtoll(v, NULL, 10) : 0;
    database_rows_free(&r);
    return 0;
}
