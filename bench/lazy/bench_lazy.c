/* Benchmark driver of libbaton-lazy (built by bench/lazy/run.sh against the static
 * library): the cost of one upgrade step on a 1 KB document, the read path's cost when
 * the document is already current compared with a plain read of the same store, and the
 * time of a sweep and of its eager peers, each measured inside the process around the
 * work alone (connections are opened before the clock starts).
 *   bench_lazy steps              -> "steps NS_PER_STEP NS_PARSE_UPGRADE_SERIALIZE_PER_DOC"
 *   bench_lazy read URL CHAIN N   -> "read NS_PLAIN NS_LAZY" (per read)
 *   bench_lazy sweep URL CHAIN N  -> "sweep SECONDS" (fails unless N were upgraded)
 *   bench_lazy sqlite PATH SQL    -> "sqlite SECONDS": SQL run on a SQLite file
 *   bench_lazy postgres URL SQL   -> "postgres SECONDS": SQL run on PostgreSQL
 *   bench_lazy redis PORT LUA ARG -> "redis SECONDS": EVAL LUA 0 ARG on 127.0.0.1:PORT */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <baton/lazy.h>
#include <hiredis.h>
#include <libpq-fe.h>
#include <sqlite3.h>

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* A version-1 document of about 1 KB: 24 string fields plus the ones the steps use. */
static json_t *doc_1k(void)
{
    json_t *d = json_pack("{s:i, s:s, s:b, s:{s:i, s:i}}", "_version", 1, "name", "Ann Example",
                          "legacy", 1, "tmp", "cache", 7, "keep", 1);
    for (int i = 0; i < 24; i++) {
        char k[16], v[40];
        snprintf(k, sizeof(k), "field_%02d", i);
        snprintf(v, sizeof(v), "value number %02d of the document", i);
        json_object_set_new(d, k, json_string(v));
    }
    return d;
}

/* A chain of `k` versions with one step each, cycling rename / add / copy / remove. */
static struct lazy_chain *chain_of(int k)
{
    size_t cap = 256 + (size_t)k * 160;
    char *t = malloc(cap);
    size_t n = (size_t)snprintf(t, cap, "{\"versions\": [");
    for (int i = 0; i < k; i++) {
        const char *step;
        char buf[128];
        switch (i % 4) {
        case 0:
            snprintf(buf, sizeof(buf),
                     "{\"step\":\"rename\",\"from\":\"field_%02d\",\"to\":\"r_%d\"}", i % 24, i);
            break;
        case 1:
            snprintf(buf, sizeof(buf), "{\"step\":\"add\",\"field\":\"a_%d\",\"default\":0}", i);
            break;
        case 2:
            snprintf(buf, sizeof(buf), "{\"step\":\"copy\",\"from\":\"name\",\"to\":\"c_%d\"}", i);
            break;
        default:
            snprintf(buf, sizeof(buf), "{\"step\":\"remove\",\"field\":\"c_%d\"}", i - 1);
            break;
        }
        step = buf;
        n += (size_t)snprintf(t + n, cap - n, "%s{\"version\":%d,\"steps\":[%s]}", i ? "," : "",
                              i + 2, step);
    }
    snprintf(t + n, cap - n, "]}");
    struct lazy_chain *c = NULL;
    struct lazy_error e;
    if (lazy_chain_parse(t, strlen(t), "bench", NULL, &c, &e) < 0) {
        fprintf(stderr, "bench chain: %s\n", e.msg);
        exit(1);
    }
    free(t);
    return c;
}

/* ns per document: deep copy + upgrade through `c` (+ decref). */
static double time_upgrade(const struct lazy_chain *c, json_t *src, int iters)
{
    struct lazy_error e;
    double best = 1e30;
    for (int round = 0; round < 5; round++) {
        double t0 = now_ns();
        for (int i = 0; i < iters; i++) {
            json_t *d = json_deep_copy(src);
            if (lazy_upgrade(c, "id", d, NULL, &e) < 0) {
                fprintf(stderr, "%s\n", e.msg);
                exit(1);
            }
            json_decref(d);
        }
        double per = (now_ns() - t0) / iters;
        if (per < best)
            best = per;
    }
    return best;
}

static int steps(void)
{
    const int k = 40, iters = 20000;
    json_t *src = doc_1k();
    char *text = json_dumps(src, JSON_COMPACT);
    struct lazy_chain *none = chain_of(0), *many = chain_of(k);
    double base = time_upgrade(none, src, iters);
    double full = time_upgrade(many, src, iters);
    /* the whole job of one read: parse 1 KB, 4 steps, serialize */
    struct lazy_chain *four = chain_of(4);
    struct lazy_error e;
    double t0 = now_ns();
    for (int i = 0; i < iters; i++) {
        json_error_t je;
        json_t *d = json_loads(text, 0, &je);
        lazy_upgrade(four, "id", d, NULL, &e);
        free(json_dumps(d, JSON_COMPACT));
        json_decref(d);
    }
    double whole = (now_ns() - t0) / iters;
    printf("steps %.1f %.1f %zu\n", (full - base) / k, whole, strlen(text));
    free(text);
    json_decref(src);
    lazy_chain_free(none);
    lazy_chain_free(many);
    lazy_chain_free(four);
    return 0;
}

/* Loads the chain at CHAIN_PATH into *C and opens the store at URL into *S; 1 after
 * saying why when either fails (what the bench then exits with), else 0. */
static int open_store(const char *url, const char *chain_path, struct lazy_store **s,
                      struct lazy_chain **c)
{
    struct lazy_error e;
    if (lazy_chain_load(chain_path, NULL, c, &e) < 0 || lazy_store_open(url, s, &e) < 0) {
        fprintf(stderr, "bench: %s\n", e.msg);
        return 1;
    }
    return 0;
}

static int reads(struct lazy_store *s, struct lazy_chain *c, int n)
{
    struct lazy_error e;
    json_t *d = doc_1k();
    json_object_set_new(d, "_version", json_integer(lazy_chain_latest(c)));
    const int ndocs = 100;
    for (int i = 0; i < ndocs; i++) {
        char id[16];
        snprintf(id, sizeof(id), "r%03d", i);
        if (lazy_put(s, id, d, &e) < 0) {
            fprintf(stderr, "bench: %s\n", e.msg);
            return 1;
        }
    }
    double plain = 1e30, lazy = 1e30;
    for (int round = 0; round < 3; round++) {
        double t0 = now_ns();
        for (int i = 0; i < n; i++) {
            char id[16], *text;
            snprintf(id, sizeof(id), "r%03d", i % ndocs);
            json_error_t je;
            lazy_get_text(s, id, &text, &e);
            json_decref(json_loads(text, 0, &je));
            free(text);
        }
        double p = (now_ns() - t0) / n;
        t0 = now_ns();
        for (int i = 0; i < n; i++) {
            char id[16];
            json_t *out;
            snprintf(id, sizeof(id), "r%03d", i % ndocs);
            if (lazy_get(s, c, id, &out, &e) < 0) {
                fprintf(stderr, "bench: %s\n", e.msg);
                return 1;
            }
            json_decref(out);
        }
        double l = (now_ns() - t0) / n;
        plain = p < plain ? p : plain;
        lazy = l < lazy ? l : lazy;
    }
    printf("read %.0f %.0f\n", plain, lazy);
    json_decref(d);
    return 0;
}

static int sweep(struct lazy_store *s, struct lazy_chain *c, size_t n)
{
    struct lazy_error e;
    struct lazy_sweep_report r;
    struct lazy_sweep_opts o = {.batch = 500};
    double t0 = now_ns();
    int rc = lazy_sweep(s, c, &o, &r, &e);
    double t = (now_ns() - t0) / 1e9;
    if (rc < 0 || r.upgraded != n)
        fprintf(stderr, "bench: sweep: %s (%zu upgraded)\n", rc < 0 ? e.msg : "short", r.upgraded);
    else
        printf("sweep %.6f\n", t);
    return rc < 0 || r.upgraded != n;
}

static int sqlite_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    char *msg = NULL;
    int rc = sqlite3_open(path, &db) == SQLITE_OK;
    sqlite3_busy_timeout(db, 30000);
    double t0 = now_ns();
    rc = rc && sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK;
    double t = (now_ns() - t0) / 1e9;
    if (!rc)
        fprintf(stderr, "bench: sqlite '%s': %s\n", path, msg ? msg : sqlite3_errmsg(db));
    else
        printf("sqlite %.6f\n", t);
    sqlite3_free(msg);
    sqlite3_close(db);
    return rc ? 0 : 1;
}

static int pg_exec(const char *url, const char *sql)
{
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "bench: postgres: %s", PQerrorMessage(c));
        PQfinish(c);
        return 1;
    }
    double t0 = now_ns();
    PGresult *res = PQexec(c, sql);
    double t = (now_ns() - t0) / 1e9;
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;
    if (!ok)
        fprintf(stderr, "bench: postgres: %s", PQresultErrorMessage(res));
    else
        printf("postgres %.6f\n", t);
    PQclear(res);
    PQfinish(c);
    return !ok;
}

static int redis_eval(int port, const char *lua, const char *arg)
{
    redisContext *c = redisConnect("127.0.0.1", port);
    if (!c || c->err) {
        fprintf(stderr, "bench: redis: %s\n", c ? c->errstr : "out of memory");
        redisFree(c);
        return 1;
    }
    double t0 = now_ns();
    redisReply *rep = redisCommand(c, "EVAL %s 0 %s", lua, arg);
    double t = (now_ns() - t0) / 1e9;
    int ok = rep && rep->type == REDIS_REPLY_INTEGER;
    if (!ok)
        fprintf(stderr, "bench: redis: %s\n", rep && rep->str ? rep->str : c->errstr);
    else
        printf("redis %.6f %lld\n", t, rep->integer);
    freeReplyObject(rep);
    redisFree(c);
    return !ok;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "steps") == 0)
        return steps();
    if (argc == 5 && (strcmp(argv[1], "read") == 0 || strcmp(argv[1], "sweep") == 0)) {
        struct lazy_store *s = NULL;
        struct lazy_chain *c = NULL;
        if (open_store(argv[2], argv[3], &s, &c))
            return 1;
        int rc = strcmp(argv[1], "read") == 0 ? reads(s, c, atoi(argv[4]))
                                              : sweep(s, c, (size_t)atol(argv[4]));
        lazy_store_close(s);
        lazy_chain_free(c);
        return rc;
    }
    if (argc == 4 && strcmp(argv[1], "sqlite") == 0)
        return sqlite_exec(argv[2], argv[3]);
    if (argc == 4 && strcmp(argv[1], "postgres") == 0)
        return pg_exec(argv[2], argv[3]);
    if (argc == 5 && strcmp(argv[1], "redis") == 0)
        return redis_eval(atoi(argv[2]), argv[3], argv[4]);
    fprintf(stderr, "usage: bench_lazy steps | read URL CHAIN N | sweep URL CHAIN N | sqlite PATH "
                    "SQL | postgres URL SQL | redis PORT LUA ARG\n");
    return 2;
}
