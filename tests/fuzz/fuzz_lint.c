/* libFuzzer target: random SQL as the [expand] section of a migration, linted for
 * PostgreSQL and SQLite. Besides no crash and no hang, it checks that nothing is skipped
 * silently: when PostgreSQL's parser rejects the section, or SQLite's rejects one of its
 * statements with a syntax error, the linter reported a finding for it. */
#include <pg_query.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrate/lint.h"
#include "migrate/mfile.h"
#include "migrate/sqlsplit.h"

static int reported(const struct lint_report *r, const char *dialect)
{
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->v[i].dialect, dialect) == 0 &&
            (!strcmp(r->v[i].rule, "syntax-error") || !strcmp(r->v[i].rule, "unchecked") ||
             !strcmp(r->v[i].rule, "sqlite-unsupported-alter") ||
             !strcmp(r->v[i].rule, "statement-fails")))
            return 1;
    return 0;
}

/* Whether SQLite's parser rejects one of the statements of `sql` as a syntax error. */
static int sqlite_rejects(const char *sql)
{
    struct sql_stmt *v;
    int n, bad = 0;
    size_t at;
    struct err e;
    sqlite3 *db = NULL;
    if (sqlsplit(DATABASE_SQLITE, sql, &v, &n, &at, &e) < 0 || sqlite3_open(":memory:", &db) != 0) {
        sqlite3_close(db);
        return 0;
    }
    for (int i = 0; i < n && !bad; i++) {
        char *one = strndup(sql + v[i].off, v[i].len);
        sqlite3_stmt *st = NULL;
        if (one && sqlite3_prepare_v2(db, one, -1, &st, NULL) != SQLITE_OK)
            bad = strstr(sqlite3_errmsg(db), "syntax error") != NULL;
        sqlite3_finalize(st);
        free(one);
    }
    free(v);
    sqlite3_close(db);
    return bad;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 64 * 1024 || memchr(data, 0, size))
        return 0;
    char *text = malloc(size + 16);
    if (!text)
        return 0;
    memcpy(text, "[expand]\n", 9);
    memcpy(text + 9, data, size);
    text[size + 9] = 0;
    struct mfile *m;
    struct err e;
    if (mfile_parse(text, size + 9, "0001_fuzz", &m, &e) == 0) {
        struct lint_report r = {0};
        lint_mfile(m, DATABASE_POSTGRES, NULL, &r);
        lint_mfile(m, DATABASE_SQLITE, NULL, &r);
        /* only when the input stayed one [expand] section can it be compared whole */
        if (m->nops == 0 && !m->backfill.sql && !m->contract.sql && !m->abort_.sql &&
            m->expand.sql && !m->expand.no_tx) {
            PgQueryParseResult pr = pg_query_parse(m->expand.sql);
            if (pr.error && !reported(&r, "postgres")) {
                fprintf(stderr, "PostgreSQL rejects the input (%s) and lint said nothing\n",
                        pr.error->message);
                abort();
            }
            pg_query_free_parse_result(pr);
            if (sqlite_rejects(m->expand.sql) && !reported(&r, "sqlite")) {
                fprintf(stderr, "SQLite rejects a statement and lint said nothing\n");
                abort();
            }
        }
        lint_report_free(&r);
        mfile_free(m);
    }
    free(text);
    return 0;
}
