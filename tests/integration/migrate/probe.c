/* Test helper: a probe transaction on a PostgreSQL table, run in a loop while a migration
 * runs. Each transaction updates and reads a few rows under `SET LOCAL lock_timeout`, so a
 * transaction the migration blocks longer than that fails with lock_not_available (55P03)
 * and is counted. Bounded in time and count; prints "probe started" after its first
 * transaction, and at the end its transactions, lock timeouts, other errors and its
 * longest transaction.
 * usage: probe URL TABLE FIRST_ID SECONDS LOCK_TIMEOUT_MS [PAUSE_US] */
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "load_app.h"

/* Runs one statement; 0, 1 on a lock timeout, 2 on another error (printed, first few). */
static int run(PGconn *pg, const char *sql, long *shown)
{
    PGresult *res = PQexec(pg, sql);
    ExecStatusType st = PQresultStatus(res);
    int rc = 0;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        rc = state && strcmp(state, "55P03") == 0 ? 1 : 2;
        if ((*shown)++ < 5)
            fprintf(stderr, "probe: %s: %s", sql, PQerrorMessage(pg));
    }
    PQclear(res);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: probe URL TABLE FIRST_ID SECONDS LOCK_TIMEOUT_MS [PAUSE_US]\n");
        return 2;
    }
    const char *table = argv[2];
    long first = atol(argv[3]), pause_us = argc > 6 ? atol(argv[6]) : 20000;
    double end = now_ms() + atof(argv[4]) * 1000;
    int timeout_ms = atoi(argv[5]);
    stop_on_signals();
    PGconn *pg = PQconnectdb(argv[1]);
    if (PQstatus(pg) != CONNECTION_OK)
        return fprintf(stderr, "probe: %s", PQerrorMessage(pg)), 1;
    long txs = 0, timeouts = 0, errors = 0, shown = 0;
    double longest = 0;
    char sql[3][256];
    snprintf(sql[0], sizeof(sql[0]), "BEGIN; SET LOCAL lock_timeout = %d", timeout_ms);
    while (!stop && now_ms() < end && txs < 1000000) {
        long id = first + txs % 10;
        snprintf(sql[1], sizeof(sql[1]), "UPDATE %s SET name = name WHERE id = %ld", table, id);
        snprintf(sql[2], sizeof(sql[2]), "SELECT count(*) FROM %s WHERE id BETWEEN %ld AND %ld",
                 table, first, first + 9);
        double t0 = now_ms();
        int rc = run(pg, sql[0], &shown);
        for (int i = 1; i < 3 && rc == 0; i++)
            rc = run(pg, sql[i], &shown);
        rc = rc ? (run(pg, "ROLLBACK", &shown), rc) : run(pg, "COMMIT", &shown);
        double took = now_ms() - t0;
        longest = took > longest ? took : longest;
        if (txs++ == 0) {
            printf("probe started\n"); /* the test starts the migration after this line */
            fflush(stdout);
        }
        timeouts += rc == 1;
        errors += rc == 2;
        if (pause_us > 0)
            usleep((useconds_t)pause_us);
    }
    printf("probe table=%s txs=%ld lock_timeouts=%ld errors=%ld longest_ms=%.1f\n", table, txs,
           timeouts, errors, longest);
    PQfinish(pg);
    return 0;
}
