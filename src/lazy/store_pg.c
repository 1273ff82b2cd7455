/* PostgreSQL store: one table (id text PRIMARY KEY, doc jsonb, rev bigint) per
 * collection; compare-and-set is UPDATE ... WHERE id=$1 AND rev=$2 (re-checked by the
 * server after a concurrent update commits), and a write with moved parts is one
 * transaction. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "lazy/lazy_int.h"

struct pg_store {
    struct lazy_store base;
    PGconn *c;
    char table[LAZY_NAME_MAX + 1];
    char *sql_get, *sql_cas, *sql_put, *sql_scan, *sql_range;
    /* the set-based sweep: its statement is prepared as "baton_lazy_plan"; the stale
     * queries are for version stale_latest */
    int plan_prepared;
    char *sql_stale_range, *sql_stale_all;
    int stale_latest;
    char ensured[16][LAZY_NAME_MAX + 1]; /* child tables known to exist */
    int nensured;
    int in_tx; /* inside a sweep batch's transaction */
};

/* A document written into table %1$s, the collection's own or a moved part's. */
#define PG_UPSERT                                                                                  \
    "INSERT INTO \"%1$s\"(id, doc) VALUES($1, $2::jsonb) ON CONFLICT(id) DO UPDATE SET "           \
    "doc = excluded.doc, rev = \"%1$s\".rev + 1"

/* The server's reason for a failed result (or the connection's, without one) on one
 * line, in buf. */
static const char *pg_why(const struct pg_store *p, const PGresult *res, char *buf, size_t cap)
{
    const char *msg = res ? PQresultErrorMessage(res) : p->c ? PQerrorMessage(p->c) : NULL;
    snprintf(buf, cap, "%s", msg && *msg ? msg : p->c ? "unknown error" : "out of memory");
    buf[strcspn(buf, "\n")] = 0;
    return buf;
}

/* Runs a statement; returns the result (caller clears) or NULL with e filled. */
static PGresult *pg_run(struct pg_store *p, const char *sql, int n, const char *const *args,
                        struct err *e, const char *what)
{
    PGresult *res = PQexecParams(p->c, sql, n, NULL, args, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return res;
    char why[300];
    err_set(e, "postgres '%s': %s: %s", p->base.collection, what, pg_why(p, res, why, sizeof(why)));
    PQclear(res);
    return NULL;
}

static int pg_do(struct pg_store *p, const char *sql, int n, const char *const *args, struct err *e,
                 const char *what)
{
    PGresult *res = pg_run(p, sql, n, args, e, what);
    PQclear(res);
    return res ? 0 : -1;
}

/* CREATE TABLE IF NOT EXISTS can fail when two sessions race; the table then exists. */
static int pg_ensure(struct pg_store *p, const char *table, struct err *e)
{
    char sql[300];
    snprintf(sql, sizeof(sql),
             "CREATE TABLE IF NOT EXISTS \"%s\" (id text PRIMARY KEY, doc jsonb NOT NULL, "
             "rev bigint NOT NULL DEFAULT 1)",
             table);
    if (pg_do(p, sql, 0, NULL, e, "create table") == 0)
        return 0;
    const char *args[1] = {table};
    PGresult *res =
        pg_run(p, "SELECT to_regclass(quote_ident($1)) IS NOT NULL", 1, args, e, "create table");
    int ok = res && PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    return ok ? 0 : -1;
}

/* Creates a child table once per session. Inside a transaction a failed CREATE would
 * abort it, so there the table is only looked up (the sweep creates them beforehand). */
static int pg_ensure_cached(struct pg_store *p, const char *table, struct err *e)
{
    for (int i = 0; i < p->nensured; i++)
        if (strcmp(p->ensured[i], table) == 0)
            return 0;
    if (p->in_tx) {
        const char *args[1] = {table};
        PGresult *res = pg_run(p, "SELECT to_regclass(quote_ident($1)) IS NOT NULL", 1, args, e,
                               "look up table");
        if (!res)
            return -1;
        int exists = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
        PQclear(res);
        if (!exists)
            return err_set(e, "postgres table '%s' is missing", table);
    } else if (pg_ensure(p, table, e) < 0) {
        return -1;
    }
    if (p->nensured < 16)
        snprintf(p->ensured[p->nensured++], sizeof(p->ensured[0]), "%s", table);
    return 0;
}

static int pg_get(struct lazy_store *s, const char *id, struct lazy_raw *out, struct err *e)
{
    struct pg_store *p = (struct pg_store *)s;
    const char *args[1] = {id};
    PGresult *res = pg_run(p, p->sql_get, 1, args, e, "read");
    if (!res)
        return -1;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return LAZY_ENOTFOUND;
    }
    out->id = strdup(id);
    out->text = strdup(PQgetvalue(res, 0, 0));
    out->rev = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    PQclear(res);
    if (!out->id || !out->text) {
        lazy_raw_clear(out);
        return err_set(e, "out of memory");
    }
    return 0;
}

static int pg_upsert(struct pg_store *p, const char *table, const char *id, const char *text,
                     struct err *e)
{
    const char *args[2] = {id, text};
    if (strcmp(table, p->table) == 0)
        return pg_do(p, p->sql_put, 2, args, e, "write");
    char sql[300];
    snprintf(sql, sizeof(sql), PG_UPSERT, table);
    return pg_do(p, sql, 2, args, e, "write");
}

static int pg_cas(struct lazy_store *s, const struct lazy_raw *old, const char *text,
                  const struct lazy_child *kids, size_t nkids, struct err *e)
{
    struct pg_store *p = (struct pg_store *)s;
    for (size_t i = 0; i < nkids; i++)
        if (strcmp(kids[i].collection, p->table) && pg_ensure_cached(p, kids[i].collection, e) < 0)
            return -1;
    /* one transaction for the children and the parent; a savepoint in a sweep's batch */
    if (nkids && pg_do(p, p->in_tx ? "SAVEPOINT lazy_kids" : "BEGIN", 0, NULL, e, "begin") < 0)
        return -1;
    for (size_t i = 0; i < nkids; i++)
        if (pg_upsert(p, kids[i].collection, kids[i].id, kids[i].text, e) < 0)
            goto fail;
    char rev[24];
    snprintf(rev, sizeof(rev), "%" PRId64, old->rev);
    const char *args[3] = {text, old->id, rev};
    PGresult *res = pg_run(p, p->sql_cas, 3, args, e, "write");
    if (!res)
        goto fail;
    int conflict = strcmp(PQcmdTuples(res), "0") == 0;
    PQclear(res);
    if (nkids && p->in_tx) {
        if (conflict && pg_do(p, "ROLLBACK TO SAVEPOINT lazy_kids", 0, NULL, e, "rollback") < 0)
            goto fail;
        if (pg_do(p, "RELEASE SAVEPOINT lazy_kids", 0, NULL, e, "release") < 0)
            goto fail;
    } else if (nkids && pg_do(p, conflict ? "ROLLBACK" : "COMMIT", 0, NULL, e, "commit") < 0) {
        goto fail;
    }
    return conflict;
fail:
    /* in a batch the caller rolls the whole transaction back */
    if (nkids && !p->in_tx)
        PQclear(PQexec(p->c, "ROLLBACK"));
    return -1;
}

static int pg_put(struct lazy_store *s, const char *id, const char *text, struct err *e)
{
    struct pg_store *p = (struct pg_store *)s;
    return pg_upsert(p, p->table, id, text, e);
}

/* Reads the rows (id, doc, rev) of a result into a batch. */
static int pg_rows(PGresult *res, struct lazy_batch *out, struct err *e)
{
    int n = PQntuples(res);
    for (int i = 0; i < n; i++)
        if (lazy_batch_push(out, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
                            strtoll(PQgetvalue(res, i, 2), NULL, 10), e) < 0) {
            PQclear(res);
            return -1;
        }
    PQclear(res);
    return 0;
}

static int pg_scan(struct lazy_store *s, const char *pos, size_t batch, struct lazy_batch *out,
                   struct err *e)
{
    struct pg_store *p = (struct pg_store *)s;
    char lim[24];
    snprintf(lim, sizeof(lim), "%zu", batch);
    const char *args[2] = {pos, lim};
    PGresult *res = pg_run(p, p->sql_scan, 2, args, e, "scan");
    out->next[0] = 0;
    if (!res || pg_rows(res, out, e) < 0)
        return -1;
    if (out->n == batch && out->n > 0)
        snprintf(out->next, sizeof(out->next), "%s", out->items[out->n - 1].id);
    return 0;
}

static int pg_range(struct lazy_store *s, const char *pos, size_t batch, char *last,
                    size_t last_size, size_t *count, struct err *e)
{
    struct pg_store *p = (struct pg_store *)s;
    char lim[24];
    snprintf(lim, sizeof(lim), "%zu", batch);
    const char *args[2] = {pos, lim};
    PGresult *res = pg_run(p, p->sql_range, 2, args, e, "scan");
    if (!res)
        return -1;
    *count = (size_t)strtoull(PQgetvalue(res, 0, 0), NULL, 10);
    snprintf(last, last_size, "%s", PQgetvalue(res, 0, 1));
    PQclear(res);
    return 0;
}

/* Compiles the chain and prepares its statement once for the session. */
static int pg_plan_build(struct lazy_store *s, const struct lazy_chain *c, struct lazy_plan *pl,
                         struct err *e)
{
    struct pg_store *p = (struct pg_store *)s;
    if (p->plan_prepared && pg_do(p, "DEALLOCATE baton_lazy_plan", 0, NULL, e, "deallocate") < 0)
        return -1;
    p->plan_prepared = 0;
    if (lazy_plan_build(pl, c, p->table, &lazy_pg_dialect, e) < 0)
        return -1;
    if (pl->nstmt == 0)
        return 0;
    PGresult *res = PQprepare(p->c, "baton_lazy_plan", pl->stmt[0].text, 0, NULL);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    char why[300];
    if (!ok)
        err_set(e, "postgres '%s': prepare the set-based sweep: %s", p->base.collection,
                pg_why(p, res, why, sizeof(why)));
    PQclear(res);
    p->plan_prepared = ok;
    return ok ? 0 : -1;
}

static int pg_plan_run(struct lazy_store *s, const struct lazy_plan *pl, const char *pos,
                       const char *last, size_t *upgraded, struct err *e)
{
    struct pg_store *p = (struct pg_store *)s;
    const struct lazy_sql *t = &pl->stmt[0];
    const char **args = calloc((size_t)t->nparams + 2, sizeof(*args));
    if (!args)
        return err_set(e, "out of memory");
    args[0] = pos;
    args[1] = last;
    for (int i = 0; i < t->nparams; i++)
        args[2 + i] = t->params[i] + 1;
    PGresult *res = PQexecPrepared(p->c, "baton_lazy_plan", t->nparams + 2, args, NULL, NULL, 0);
    free(args);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        char why[300];
        err_set(e, "postgres '%s': set-based sweep: %s", p->base.collection,
                pg_why(p, res, why, sizeof(why)));
        PQclear(res);
        return -1;
    }
    *upgraded = (size_t)strtoull(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return 0;
}

static int pg_stale(struct lazy_store *s, int latest, const char *pos, const char *last,
                    size_t limit, struct lazy_batch *out, struct err *e)
{
    struct pg_store *p = (struct pg_store *)s;
    if (!p->sql_stale_range || p->stale_latest != latest) {
        free(p->sql_stale_range);
        free(p->sql_stale_all);
        p->sql_stale_range = lazy_sql_stale(&lazy_pg_dialect, p->table, latest, 1);
        p->sql_stale_all = lazy_sql_stale(&lazy_pg_dialect, p->table, latest, 0);
        if (!p->sql_stale_range || !p->sql_stale_all)
            return err_set(e, "out of memory");
        p->stale_latest = latest;
    }
    char lim[24];
    snprintf(lim, sizeof(lim), "%zu", limit);
    const char *args[2] = {pos, last ? last : lim};
    PGresult *res = pg_run(p, last ? p->sql_stale_range : p->sql_stale_all, 2, args, e, "scan");
    return res ? pg_rows(res, out, e) : -1;
}

static int pg_state_load(struct lazy_store *s, int *pass, char *pos, size_t size, struct err *e)
{
    struct pg_store *p = (struct pg_store *)s;
    const char *args[1] = {p->table};
    *pass = 0;
    pos[0] = 0;
    PGresult *res = pg_run(p, "SELECT pass, position FROM baton_lazy_sweep WHERE collection=$1", 1,
                           args, e, "read sweep position");
    if (!res)
        return -1;
    if (PQntuples(res) == 1) {
        *pass = atoi(PQgetvalue(res, 0, 0));
        snprintf(pos, size, "%s", PQgetvalue(res, 0, 1));
    }
    PQclear(res);
    return 0;
}

static int pg_state_save(struct lazy_store *s, int pass, const char *pos, struct err *e)
{
    struct pg_store *p = (struct pg_store *)s;
    char num[16];
    snprintf(num, sizeof(num), "%d", pass);
    const char *args[3] = {p->table, num, pos};
    return pg_do(p,
                 "INSERT INTO baton_lazy_sweep(collection, pass, position) VALUES($1, $2, $3) "
                 "ON CONFLICT(collection) DO UPDATE SET pass = excluded.pass, "
                 "position = excluded.position",
                 3, args, e, "save sweep position");
}

static void pg_close(struct lazy_store *s)
{
    struct pg_store *p = (struct pg_store *)s;
    if (p->c)
        PQfinish(p->c);
    free(p->sql_get);
    free(p->sql_cas);
    free(p->sql_put);
    free(p->sql_scan);
    free(p->sql_range);
    free(p->sql_stale_range);
    free(p->sql_stale_all);
    free(p);
}

static int pg_batch(struct lazy_store *s, int what, struct err *e)
{
    static const char *const sql[] = {"BEGIN", "COMMIT", "ROLLBACK"};
    struct pg_store *p = (struct pg_store *)s;
    int rc = pg_do(p, sql[what], 0, NULL, e, "transaction");
    p->in_tx = what == LAZY_BATCH_BEGIN && rc == 0;
    return rc;
}

static int pg_ensure_coll(struct lazy_store *s, const char *collection, struct err *e)
{
    return pg_ensure_cached((struct pg_store *)s, collection, e);
}

static const struct lazy_store_ops pg_ops = {
    .kind = "postgres",
    .get = pg_get,
    .cas = pg_cas,
    .put = pg_put,
    .scan = pg_scan,
    .state_load = pg_state_load,
    .state_save = pg_state_save,
    .batch = pg_batch,
    .ensure = pg_ensure_coll,
    .plan_build = pg_plan_build,
    .range = pg_range,
    .plan_run = pg_plan_run,
    .stale = pg_stale,
    .close = pg_close,
};

int lazy_pg_open(const char *conninfo, const char *table, struct lazy_store **out, struct err *e)
{
    struct pg_store *p = lazy_store_new(sizeof(*p), &pg_ops, table, e);
    if (!p)
        return -1;
    snprintf(p->table, sizeof(p->table), "%s", table);
    p->c = PQconnectdb(conninfo);
    if (!p->c || PQstatus(p->c) != CONNECTION_OK) {
        char why[300];
        err_set(e, "cannot connect to postgres for table '%s': %s", table,
                pg_why(p, NULL, why, sizeof(why)));
        goto fail;
    }
    PQclear(PQexec(p->c, "SET client_min_messages = warning"));
    if (asprintf(&p->sql_get, "SELECT doc::text, rev FROM \"%s\" WHERE id = $1", table) < 0 ||
        asprintf(&p->sql_cas,
                 "UPDATE \"%s\" SET doc = $1::jsonb, rev = rev + 1 WHERE id = $2 AND rev = $3",
                 table) < 0 ||
        asprintf(&p->sql_put, PG_UPSERT, table) < 0 ||
        asprintf(&p->sql_scan,
                 "SELECT id, doc::text, rev FROM \"%s\" WHERE id > $1 ORDER BY id LIMIT $2",
                 table) < 0 ||
        asprintf(&p->sql_range,
                 "SELECT count(*), coalesce(max(id), '') FROM (SELECT id FROM \"%s\" WHERE id > $1 "
                 "ORDER BY id LIMIT $2) s",
                 table) < 0) {
        err_set(e, "out of memory");
        goto fail;
    }
    if (pg_ensure(p, table, e) < 0)
        goto fail;
    if (pg_do(p,
              "CREATE TABLE IF NOT EXISTS baton_lazy_sweep (collection text PRIMARY KEY, "
              "pass integer NOT NULL, position text NOT NULL)",
              0, NULL, e, "create table") < 0) {
        /* a concurrent session may have created the sweep table: check once more */
        const char *args[1] = {"baton_lazy_sweep"};
        PGresult *res = pg_run(p, "SELECT to_regclass($1) IS NOT NULL", 1, args, e, "check");
        int ok = res && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
        PQclear(res);
        if (!ok)
            goto fail;
    }
    *out = &p->base;
    return 0;
fail:
    pg_close(&p->base);
    return -1;
}
