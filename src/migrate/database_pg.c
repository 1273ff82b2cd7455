/* PostgreSQL driver of `baton migrate` (libpq): one session per runner, an advisory
 * lock as the runner lock, and SQLSTATEs mapped to "retry later" for lock timeouts. */
#include "migrate/database.h"

#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

/* Advisory lock key of the runner lock: "baton" in ASCII. */
#define PG_RUNNER_LOCK_KEY 0x6261746f6eLL

struct database_pg {
    struct database base;
    PGconn *conn;
};

static void pg_notice(void *arg, const char *msg)
{
    (void)arg;
    (void)msg; /* NOTICEs ("already exists, skipping") are expected noise */
}

/* libpq's message without the newline (and spaces) it ends with, to go into an error. */
static void pg_trimmed_message(const char *msg, char *out, size_t cap)
{
    snprintf(out, cap, "%s", msg);
    size_t n = strlen(out);
    while (n && (out[n - 1] == '\n' || out[n - 1] == ' '))
        out[--n] = 0;
}

static int pg_fail(struct database_pg *p, PGresult *res, struct err *e)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    /* 55P03 lock_not_available, 40001 serialization_failure, 40P01 deadlock_detected */
    p->base.retryable = state && (strcmp(state, "55P03") == 0 || strcmp(state, "40001") == 0 ||
                                  strcmp(state, "40P01") == 0);
    const char *msg = PQerrorMessage(p->conn);
    char clean[ERR_MSG_MAX];
    pg_trimmed_message(msg && *msg ? msg : "unknown error", clean, sizeof(clean));
    err_set(e, "postgresql: %s", clean);
    PQclear(res);
    return -1;
}

static void pg_close(struct database *db)
{
    struct database_pg *p = (struct database_pg *)db;
    PQfinish(p->conn);
    free(p);
}

static int pg_exec(struct database *db, const char *sql, struct err *e)
{
    struct database_pg *p = (struct database_pg *)db;
    PGresult *res = PQexec(p->conn, sql);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY)
        return pg_fail(p, res, e);
    PQclear(res);
    return 0;
}

static int pg_query(struct database *db, const char *sql, struct database_rows *out, struct err *e)
{
    struct database_pg *p = (struct database_pg *)db;
    PGresult *res = PQexec(p->conn, sql);
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK)
        return pg_fail(p, res, e);
    int nrows = PQntuples(res), ncols = PQnfields(res);
    if (nrows > DATABASE_ROWS_MAX) {
        PQclear(res);
        return err_set(e, "query returned more than %d rows", DATABASE_ROWS_MAX);
    }
    out->cells = calloc((size_t)(nrows ? nrows : 1) * (size_t)(ncols ? ncols : 1), sizeof(char *));
    if (!out->cells) {
        PQclear(res);
        return err_set(e, "out of memory");
    }
    out->nrows = nrows;
    out->ncols = ncols;
    for (int r = 0; r < nrows; r++)
        for (int c = 0; c < ncols; c++)
            out->cells[r * ncols + c] =
                PQgetisnull(res, r, c) ? NULL : strdup(PQgetvalue(res, r, c));
    PQclear(res);
    return 0;
}

static int pg_begin(struct database *db, struct err *e)
{
    return pg_exec(db, "BEGIN", e);
}

/* A query whose first cell is a boolean: *yes set when it is true. */
static int pg_query_bool(struct database *db, const char *sql, int *yes, struct err *e)
{
    struct database_rows r;
    memset(&r, 0, sizeof(r));
    if (pg_query(db, sql, &r, e) < 0)
        return -1;
    const char *v = database_cell(&r, 0, 0);
    *yes = v && v[0] == 't';
    database_rows_free(&r);
    return 0;
}

static int pg_try_session_lock(struct database *db, int *got, struct err *e)
{
    char sql[96];
    snprintf(sql, sizeof(sql), "SELECT pg_try_advisory_lock(%lld)", PG_RUNNER_LOCK_KEY);
    return pg_query_bool(db, sql, got, e);
}

static void pg_release_session_lock(struct database *db)
{
    struct err e;
    pg_exec(db, "SELECT pg_advisory_unlock_all()", &e);
}

static int pg_set_lock_timeout(struct database *db, int ms, int local, struct err *e)
{
    char sql[64];
    if (ms > 0)
        snprintf(sql, sizeof(sql), "SET %slock_timeout = %d", local ? "LOCAL " : "", ms);
    else
        snprintf(sql, sizeof(sql), "RESET lock_timeout");
    return pg_exec(db, sql, e);
}

static int pg_table_exists(struct database *db, const char *table, int *yes, struct err *e)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT to_regclass('%s') IS NOT NULL", table);
    return pg_query_bool(db, sql, yes, e);
}

static int pg_column_type(struct database *db, const char *table, const char *column, char *type,
                          size_t cap)
{
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = "
             "to_regclass('%s') AND attname = '%s' AND NOT attisdropped",
             table, column);
    struct database_rows r;
    struct err e;
    memset(&r, 0, sizeof(r));
    if (pg_query(db, sql, &r, &e) < 0)
        return -1;
    const char *v = database_cell(&r, 0, 0);
    int rc = v ? 0 : -1;
    if (v)
        snprintf(type, cap, "%s", v);
    database_rows_free(&r);
    return rc;
}

static int pg_open(const char *conninfo, struct database **out, struct err *e)
{
    struct database_pg *p = calloc(1, sizeof(*p));
    if (!p)
        return err_set(e, "out of memory");
    p->base.drv = &database_postgres_driver;
    p->conn = PQconnectdb(conninfo);
    if (!p->conn || PQstatus(p->conn) != CONNECTION_OK) {
        char clean[ERR_MSG_MAX];
        pg_trimmed_message(p->conn ? PQerrorMessage(p->conn) : "out of memory", clean,
                           sizeof(clean));
        err_set(e, "cannot connect to postgresql: %s", clean);
        pg_close(&p->base);
        return -1;
    }
    PQsetNoticeProcessor(p->conn, pg_notice, NULL);
    *out = &p->base;
    return pg_exec(&p->base, "SET client_min_messages = warning", e) < 0
               ? (pg_close(&p->base), *out = NULL, -1)
               : 0;
}

const struct migrate_driver database_postgres_driver = {
    .name = "postgres",
    .kind = DATABASE_POSTGRES,
    .open = pg_open,
    .close = pg_close,
    .exec = pg_exec,
    .query = pg_query,
    .begin = pg_begin,
    .try_session_lock = pg_try_session_lock,
    .release_session_lock = pg_release_session_lock,
    .session_lock_fences = 1,
    .set_lock_timeout = pg_set_lock_timeout,
    .table_exists = pg_table_exists,
    .column_type = pg_column_type,
};
