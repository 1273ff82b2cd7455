/* The deploy lease rows, in SQL SQLite and PostgreSQL both accept, each operation one
 * write transaction (SQLite: BEGIN IMMEDIATE), so two deploys never both take it. */
#include "migrate/deploylease.h"

#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/opt.h"

/* Service and holder: names baton deploy makes (letters, digits, @ . _ : -). */
static int word_ok(const char *s)
{
    if (!*s || strlen(s) >= LEASEROW_TEXT_MAX)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("@._:-", *s))
            return 0;
    return 1;
}

/* Progress text as an SQL literal's content: printable ASCII, quotes doubled. */
static void progress_lit(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    for (; *in && n + 3 < cap && n < LEASEROW_TEXT_MAX; in++) {
        char c = (*in >= ' ' && *in < 0x7f) ? *in : '_';
        if (c == '\'')
            out[n++] = '\'';
        out[n++] = c;
    }
    out[n] = 0;
}

static int ensure(struct database *db, struct err *e)
{
    const char *sql = "CREATE TABLE IF NOT EXISTS baton_deploy_lease ("
                      " service TEXT PRIMARY KEY, holder TEXT NOT NULL, token BIGINT NOT NULL,"
                      " since_ms BIGINT NOT NULL, expires_ms BIGINT NOT NULL,"
                      " progress TEXT NOT NULL)";
    return database_exec_tx(db, sql, e) < 0 ? err_wrap(e, "cannot create table baton_deploy_lease")
                                            : 0;
}

static void row_into(const struct database_rows *r, const char *service, struct leaserow *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->service, sizeof(out->service), "%s", service);
    if (r->nrows == 0)
        return;
    const char *c;
    snprintf(out->holder, sizeof(out->holder), "%s", (c = database_cell(r, 0, 0)) ? c : "");
    out->token = (c = database_cell(r, 0, 1)) ? strtoll(c, NULL, 10) : 0;
    out->since_unix_ms = (c = database_cell(r, 0, 2)) ? strtoll(c, NULL, 10) : 0;
    out->expires_unix_ms = (c = database_cell(r, 0, 3)) ? strtoll(c, NULL, 10) : 0;
    snprintf(out->progress, sizeof(out->progress), "%s", (c = database_cell(r, 0, 4)) ? c : "");
}

/* Reads the row inside the current transaction. */
static int read_row(struct database *db, const char *service, struct leaserow *out, struct err *e)
{
    char sql[256];
    struct database_rows r;
    snprintf(sql, sizeof(sql),
             "SELECT holder, token, since_ms, expires_ms, progress FROM baton_deploy_lease"
             " WHERE service = '%s'",
             service);
    if (database_query(db, sql, &r, e) < 0)
        return -1;
    row_into(&r, service, out);
    database_rows_free(&r);
    return 0;
}

int leaserow_show(struct database *db, const char *service, struct leaserow *out, struct err *e)
{
    if (!word_ok(service))
        return err_set(e, "bad service name '%.60s'", service);
    if (ensure(db, e) < 0)
        return -1;
    return read_row(db, service, out, e);
}

/* Runs one statement with RETURNING; 1 when it hit the row, 0 when not. */
static int hit(struct database *db, const char *sql, struct err *e)
{
    struct database_rows r;
    if (database_query(db, sql, &r, e) < 0)
        return -1;
    int n = r.nrows;
    database_rows_free(&r);
    return n > 0;
}

int leaserow_take(struct database *db, const char *service, const char *holder, int64_t ttl_ms,
                  int64_t expect, struct leaserow *out, struct err *e)
{
    if (!word_ok(service) || !word_ok(holder))
        return err_set(e, "bad service or holder name");
    if (ensure(db, e) < 0)
        return -1;
    /* one statement: the conditional upsert is atomic in both databases */
    int64_t now = clock_wall_ms();
    char sql[1536];
    snprintf(sql, sizeof(sql),
             "INSERT INTO baton_deploy_lease (service, holder, token, since_ms, expires_ms,"
             " progress) VALUES ('%s', '%s', 1, %lld, %lld, '')"
             " ON CONFLICT (service) DO UPDATE SET holder = excluded.holder,"
             " token = baton_deploy_lease.token + 1, since_ms = excluded.since_ms,"
             " expires_ms = excluded.expires_ms, progress = ''"
             " WHERE baton_deploy_lease.holder = '' OR baton_deploy_lease.expires_ms < %lld"
             " OR baton_deploy_lease.token = %lld RETURNING token",
             service, holder, (long long)now, (long long)(now + ttl_ms), (long long)now,
             (long long)expect);
    int taken = hit(db, sql, e);
    if (taken < 0 || read_row(db, service, out, e) < 0)
        return err_wrap(e, "cannot take the deploy lease of '%s'", service);
    return taken ? LEASEROW_TAKEN : LEASEROW_HELD;
}

int leaserow_renew(struct database *db, const char *service, int64_t token, int64_t ttl_ms,
                   const char *progress, struct leaserow *out, struct err *e)
{
    if (!word_ok(service))
        return err_set(e, "bad service name '%.60s'", service);
    char prog[2 * LEASEROW_TEXT_MAX + 4], sql[2048];
    progress_lit(progress, prog, sizeof(prog));
    if (ensure(db, e) < 0)
        return -1;
    snprintf(sql, sizeof(sql),
             "UPDATE baton_deploy_lease SET expires_ms = %lld, progress = '%s'"
             " WHERE service = '%s' AND token = %lld AND holder <> '' RETURNING token",
             (long long)(clock_wall_ms() + ttl_ms), prog, service, (long long)token);
    int held = hit(db, sql, e);
    if (held < 0 || read_row(db, service, out, e) < 0)
        return err_wrap(e, "cannot renew the deploy lease of '%s'", service);
    return held ? 0 : LEASEROW_HELD;
}

int leaserow_release(struct database *db, const char *service, int64_t token, struct err *e)
{
    if (!word_ok(service))
        return err_set(e, "bad service name '%.60s'", service);
    char sql[512];
    snprintf(sql, sizeof(sql),
             "UPDATE baton_deploy_lease SET holder = '', expires_ms = 0"
             " WHERE service = '%s' AND token = %lld",
             service, (long long)token);
    if (ensure(db, e) < 0 || database_exec(db, sql, e) < 0)
        return err_wrap(e, "cannot release the deploy lease of '%s'", service);
    return 0;
}

/* --- baton migrate lease ... ------------------------------------------------------ */

static void print_row(FILE *out, const struct leaserow *l, int taken)
{
    json_t *o = json_pack("{s:s,s:s,s:I,s:I,s:I,s:s,s:b}", "service", l->service, "holder",
                          l->holder, "token", (json_int_t)l->token, "since_unix_ms",
                          (json_int_t)l->since_unix_ms, "expires_unix_ms",
                          (json_int_t)l->expires_unix_ms, "progress", l->progress, "ok", taken);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (text)
        fprintf(out, "%s\n", text);
    free(text);
    json_decref(o);
}

static int number_arg(const char *s, int64_t *out)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (!isdigit((unsigned char)*s) || *end)
        return -1;
    *out = v;
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: baton migrate --db URL lease take SERVICE HOLDER TTL [TOKEN]\n"
                    "       baton migrate --db URL lease renew SERVICE TOKEN TTL PROGRESS\n"
                    "       baton migrate --db URL lease release SERVICE TOKEN\n"
                    "       baton migrate --db URL lease show SERVICE\n");
    return 2;
}

/* Parses the arguments of one sub-verb; -1 on a usage error. */
static int cli_args(int argc, char **argv, int64_t *ttl, int64_t *token)
{
    const char *v = argv[0];
    struct err e;
    uint64_t ms = 0;
    *token = -1;
    if (strcmp(v, "take") == 0 && (argc == 4 || argc == 5))
        return opt_parse_duration(argv[3], "ms", &ms, &e) < 0 ||
                       (argc == 5 && number_arg(argv[4], token) < 0)
                   ? -1
                   : (*ttl = (int64_t)ms, 0);
    if (strcmp(v, "renew") == 0 && argc == 5)
        return number_arg(argv[2], token) < 0 || opt_parse_duration(argv[3], "ms", &ms, &e) < 0
                   ? -1
                   : (*ttl = (int64_t)ms, 0);
    if (strcmp(v, "release") == 0 && argc == 3)
        return number_arg(argv[2], token);
    if (strcmp(v, "show") == 0 && argc == 2)
        return 0;
    return -1;
}

int leaserow_cli(const struct migrate_opts *o, int argc, char **argv, FILE *out)
{
    int64_t ttl = 0, token = -1;
    if (argc < 1 || cli_args(argc, argv, &ttl, &token) < 0)
        return usage();
    if (!o->db_url) {
        fprintf(stderr, "baton migrate lease: --db URL is needed\n");
        return 2;
    }
    struct err e = {{0}};
    struct database *db = NULL;
    struct leaserow l;
    int rc = -1;
    if (database_open(o->db_url, &db, &e) == 0) {
        if (strcmp(argv[0], "take") == 0)
            rc = leaserow_take(db, argv[1], argv[2], ttl, token, &l, &e);
        else if (strcmp(argv[0], "renew") == 0)
            rc = leaserow_renew(db, argv[1], token, ttl, argv[4], &l, &e);
        else if (strcmp(argv[0], "release") == 0)
            rc = leaserow_release(db, argv[1], token, &e) < 0 ? -1
                                                              : leaserow_show(db, argv[1], &l, &e);
        else
            rc = leaserow_show(db, argv[1], &l, &e);
        database_close(db);
    }
    if (rc < 0) {
        fprintf(stderr, "baton migrate lease %s: %s\n", argv[0], e.msg);
        return 1;
    }
    print_row(out, &l, rc == 0);
    return rc == LEASEROW_HELD ? 3 : 0;
}
