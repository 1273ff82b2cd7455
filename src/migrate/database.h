/* The database driver interface of `baton migrate`: the phases engine speaks to SQLite
 * and PostgreSQL only through these functions, so it stays database-agnostic. */
#ifndef BATON_MIGRATE_DATABASE_H
#define BATON_MIGRATE_DATABASE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

enum database_kind { DATABASE_SQLITE, DATABASE_POSTGRES };

/* A small result set: every cell as text (NULL for SQL NULL), row-major. Capped at
 * DATABASE_ROWS_MAX rows so a runaway query cannot exhaust memory. */
#define DATABASE_ROWS_MAX 100000
struct database_rows {
    int nrows, ncols;
    char **cells; /* nrows * ncols, owned */
};
const char *database_cell(const struct database_rows *r, int row, int col);
void database_rows_free(struct database_rows *r);

struct database;

struct migrate_driver {
    const char *name;
    enum database_kind kind;
    int (*open)(const char *target, struct database **out, struct err *e);
    void (*close)(struct database *db);
    /* Runs one or more statements (no result rows). */
    int (*exec)(struct database *db, const char *sql, struct err *e);
    /* Runs one statement and returns its rows. */
    int (*query)(struct database *db, const char *sql, struct database_rows *out, struct err *e);
    /* Starts a write transaction: SQLite takes the write lock now (BEGIN IMMEDIATE). */
    int (*begin)(struct database *db, struct err *e);
    /* Tries the session-wide runner lock (PostgreSQL advisory lock; SQLite: always got,
     * the lease row does the work). */
    int (*try_session_lock)(struct database *db, int *got, struct err *e);
    void (*release_session_lock)(struct database *db);
    /* Whether holding the session lock proves the previous lease holder gone (its
     * session ended); else a lease is taken over only when expired or its pid is dead. */
    int session_lock_fences;
    /* How long a statement waits for a lock: for the current transaction only (`local`)
     * or the session; 0 restores the default. SQLite: nothing (its busy timeout). */
    int (*set_lock_timeout)(struct database *db, int ms, int local, struct err *e);
    int (*table_exists)(struct database *db, const char *table, int *yes, struct err *e);
    /* The declared type of table.column; -1 if there is no such column. */
    int (*column_type)(struct database *db, const char *table, const char *column, char *type,
                       size_t cap);
};

/* Every driver's handle starts with this. `retryable` is set by a failed call whose
 * cause is transient: lock timeout, busy, deadlock, serialization failure. */
struct database {
    const struct migrate_driver *drv;
    int retryable;
};

extern const struct migrate_driver database_sqlite_driver;
extern const struct migrate_driver database_postgres_driver;

/* Opens `url`: "sqlite:PATH" (or a path ending in .db/.sqlite), else a libpq connection
 * string or postgres:// URL. */
int database_open(const char *url, struct database **out, struct err *e);
/* The kind of database a URL names, as database_open reads it. */
enum database_kind database_url_kind(const char *url);
void database_close(struct database *db);

static inline enum database_kind database_kind(const struct database *db)
{
    return db->drv->kind;
}
int database_exec(struct database *db, const char *sql, struct err *e);
int database_query(struct database *db, const char *sql, struct database_rows *out, struct err *e);
int database_begin(struct database *db, struct err *e);
int database_commit(struct database *db, struct err *e);
/* Rolls back if a transaction is open; never fails loudly (used on error paths). */
void database_rollback(struct database *db);
/* Runs `sql` in a transaction of its own (rolled back on failure). */
int database_exec_tx(struct database *db, const char *sql, struct err *e);
/* First cell of the first row as an integer; *is_null set when there is none. */
int database_query_i64(struct database *db, const char *sql, int64_t *out, int *is_null,
                       struct err *e);

#endif
