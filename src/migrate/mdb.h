/* The database driver interface of `baton migrate`: the phases engine speaks to SQLite
 * and PostgreSQL only through these functions, so it stays database-agnostic. */
#ifndef BATON_MIGRATE_MDB_H
#define BATON_MIGRATE_MDB_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

enum mdb_kind { MDB_SQLITE, MDB_POSTGRES };

/* A small result set: every cell as text (NULL for SQL NULL), row-major. Capped at
 * MDB_ROWS_MAX rows so a runaway query cannot exhaust memory. */
#define MDB_ROWS_MAX 100000
struct mdb_rows {
    int nrows, ncols;
    char **cells; /* nrows * ncols, owned */
};
const char *mdb_cell(const struct mdb_rows *r, int row, int col);
void mdb_rows_free(struct mdb_rows *r);

struct mdb;

struct migrate_driver {
    const char *name;
    enum mdb_kind kind;
    int (*open)(const char *target, struct mdb **out, struct err *e);
    void (*close)(struct mdb *db);
    /* Runs one or more statements (no result rows). */
    int (*exec)(struct mdb *db, const char *sql, struct err *e);
    /* Runs one statement and returns its rows. */
    int (*query)(struct mdb *db, const char *sql, struct mdb_rows *out, struct err *e);
    /* Starts a write transaction: SQLite takes the write lock now (BEGIN IMMEDIATE). */
    int (*begin)(struct mdb *db, struct err *e);
    /* Tries the session-wide runner lock (PostgreSQL advisory lock; SQLite: always got,
     * the lease row does the work). */
    int (*try_session_lock)(struct mdb *db, int *got, struct err *e);
    void (*release_session_lock)(struct mdb *db);
    /* Whether holding the session lock proves the previous lease holder gone (its
     * session ended); else a lease is taken over only when expired or its pid is dead. */
    int session_lock_fences;
    /* How long a statement waits for a lock: for the current transaction only (`local`)
     * or the session; 0 restores the default. SQLite: nothing (its busy timeout). */
    int (*set_lock_timeout)(struct mdb *db, int ms, int local, struct err *e);
    int (*table_exists)(struct mdb *db, const char *table, int *yes, struct err *e);
    /* The declared type of table.column; -1 if there is no such column. */
    int (*column_type)(struct mdb *db, const char *table, const char *column, char *type,
                       size_t cap);
};

/* Every driver's handle starts with this. `retryable` is set by a failed call whose
 * cause is transient: lock timeout, busy, deadlock, serialization failure. */
struct mdb {
    const struct migrate_driver *drv;
    int retryable;
};

extern const struct migrate_driver mdb_sqlite_driver;
extern const struct migrate_driver mdb_postgres_driver;

/* Opens `url`: "sqlite:PATH" (or a path ending in .db/.sqlite), else a libpq connection
 * string or postgres:// URL. */
int mdb_open(const char *url, struct mdb **out, struct err *e);
/* The kind of database a URL names, as mdb_open reads it. */
enum mdb_kind mdb_url_kind(const char *url);
void mdb_close(struct mdb *db);

static inline enum mdb_kind mdb_kind(const struct mdb *db)
{
    return db->drv->kind;
}
int mdb_exec(struct mdb *db, const char *sql, struct err *e);
int mdb_query(struct mdb *db, const char *sql, struct mdb_rows *out, struct err *e);
int mdb_begin(struct mdb *db, struct err *e);
int mdb_commit(struct mdb *db, struct err *e);
/* Rolls back if a transaction is open; never fails loudly (used on error paths). */
void mdb_rollback(struct mdb *db);
/* Runs `sql` in a transaction of its own (rolled back on failure). */
int mdb_exec_tx(struct mdb *db, const char *sql, struct err *e);
/* First cell of the first row as an integer; *is_null set when there is none. */
int mdb_query_i64(struct mdb *db, const char *sql, int64_t *out, int *is_null, struct err *e);

#endif
