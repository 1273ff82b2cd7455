/* Test helper: an "app version" that writes one column of `users` (INSERTs of new rows
 * and UPDATEs of existing ones) on SQLite or PostgreSQL for a bounded time and count,
 * then prints its operations, errors and write latency. Built by the migrate tests.
 * usage: writer URL COLUMN SECONDS ID_BASE EXISTING_ROWS PAUSE_US [MAX_OPS]
 * env WRITER_TABLE: the table (default users); WRITER_READS=1: also reads back the row it
 * inserted, every loop. */
#include <libpq-fe.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "load_app.h"

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Loop i's statement of `kind`: insert row base+i, update row `existing`, read row base+i. */
static void one_statement(char *sql, size_t cap, int kind, const char *table, const char *col,
                          long base, long i, long existing)
{
    if (kind == 0)
        snprintf(sql, cap, "INSERT INTO %s (id, %s) VALUES (%ld, 'w%ld')", table, col, base + i,
                 base + i);
    else if (kind == 1)
        snprintf(sql, cap, "UPDATE %s SET %s = 'u%ld-%ld' WHERE id = %ld", table, col, base, i,
                 existing);
    else
        snprintf(sql, cap, "SELECT %s FROM %s WHERE id = %ld", col, table, base + i);
}

int main(int argc, char **argv)
{
    if (argc < 7) {
        fprintf(stderr,
                "usage: writer URL COLUMN SECONDS ID_BASE EXISTING_ROWS PAUSE_US [MAX_OPS]\n");
        return 2;
    }
    const char *url = argv[1], *col = argv[2];
    double secs = atof(argv[3]);
    long base = atol(argv[4]), rows = atol(argv[5]), pause_us = atol(argv[6]);
    long max_ops = argc > 7 ? atol(argv[7]) : 1000000;
    const char *table = getenv("WRITER_TABLE") ? getenv("WRITER_TABLE") : "users";
    int kinds = getenv("WRITER_READS") && atoi(getenv("WRITER_READS")) ? 3 : 2;
    stop_on_signals();
    sqlite3 *lite = NULL;
    PGconn *pg = NULL;
    if (strncmp(url, "sqlite:", 7) == 0) {
        if (sqlite3_open(url + 7, &lite) != SQLITE_OK)
            return fprintf(stderr, "writer: cannot open %s\n", url), 1;
        sqlite3_busy_timeout(lite, 5000);
        sqlite3_exec(lite, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
    } else {
        pg = PQconnectdb(url);
        if (PQstatus(pg) != CONNECTION_OK)
            return fprintf(stderr, "writer: %s", PQerrorMessage(pg)), 1;
    }
    double *lat = calloc((size_t)max_ops * 3 + 3, sizeof(double));
    long ops = 0, errors = 0, busy = 0, n = 0;
    unsigned seed = (unsigned)getpid();
    double end = now_ms() + secs * 1000;
    char sql[256];
    while (!stop && now_ms() < end && ops < max_ops * 2) {
        long i = n++;
        for (int kind = 0; kind < kinds; kind++) {
            one_statement(sql, sizeof(sql), kind, table, col, base, i,
                          rows > 0 ? 1 + (long)(rand_r(&seed) % (unsigned long)rows) : base + i);
            double t0 = now_ms();
            int failed = 0;
            if (lite) {
                char *msg = NULL;
                int rc = sqlite3_exec(lite, sql, NULL, NULL, &msg);
                if (rc != SQLITE_OK) {
                    failed = 1;
                    busy += (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
                    if (errors < 5)
                        fprintf(stderr, "writer %s: %s: %s\n", col, sql, msg ? msg : "?");
                    sqlite3_free(msg);
                }
            } else {
                PGresult *res = PQexec(pg, sql);
                if (PQresultStatus(res) != PGRES_COMMAND_OK &&
                    PQresultStatus(res) != PGRES_TUPLES_OK) {
                    failed = 1;
                    if (errors < 5)
                        fprintf(stderr, "writer %s: %s: %s", col, sql, PQerrorMessage(pg));
                }
                PQclear(res);
            }
            lat[ops++] = now_ms() - t0;
            errors += failed;
        }
        if (pause_us > 0)
            usleep((useconds_t)pause_us);
    }
    qsort(lat, (size_t)ops, sizeof(double), cmp);
    double p50 = ops ? lat[ops / 2] : 0, p99 = ops ? lat[(long)((double)ops * 0.99)] : 0,
           mx = ops ? lat[ops - 1] : 0;
    printf("writer column=%s inserts=%ld ops=%ld errors=%ld busy=%ld p50_ms=%.2f p99_ms=%.2f "
           "max_ms=%.2f\n",
           col, n, ops, errors, busy, p50, p99, mx);
    free(lat);
    if (lite)
        sqlite3_close(lite);
    if (pg)
        PQfinish(pg);
    return 0;
}
