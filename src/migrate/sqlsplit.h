/* Splitting a section of SQL into its statements the way the database itself does:
 * PostgreSQL's own grammar and scanner (libpg_query), and SQLite's own notion of a
 * complete statement (sqlite3_complete, which knows trigger bodies). */
#ifndef BATON_MIGRATE_SQLSPLIT_H
#define BATON_MIGRATE_SQLSPLIT_H

#include <stddef.h>

#include "core/err.h"
#include "migrate/database.h"

struct sql_stmt {
    size_t off, len; /* bytes of the section: from the statement's first token to its end,
                        without the ';' */
    int line;        /* line of the first token, 0 for the section's first line */
};

/* Splits `sql` into statements (comments and empty statements left out). *out: caller
 * frees. On text the scanner cannot read (an unterminated string or comment) returns
 * -1 with the scanner's message and *err_off set to the byte where it failed. */
int sqlsplit(enum database_kind kind, const char *sql, struct sql_stmt **out, int *n,
             size_t *err_off, struct err *e);

/* Skips whitespace and comments (nested for PostgreSQL) from `p`. */
const char *sqlsplit_skip_space(enum database_kind kind, const char *p);

/* The line of byte `off` of `sql` (0 for the first). */
int sqlsplit_line(const char *sql, size_t off);

/* For a PostgreSQL statement that builds an index CONCURRENTLY (CREATE INDEX, REINDEX),
 * a query returning the DROP INDEX CONCURRENTLY statements of the invalid indexes a
 * killed run of it leaves behind; NULL for any other statement. Caller frees. */
char *sqlsplit_pg_leftover_guard(const char *stmt);

#endif
