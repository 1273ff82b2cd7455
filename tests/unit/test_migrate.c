/* Unit tests of src/migrate: the migration file parser (operations, sections, limits,
 * error messages), the releases manifest, and the steps the planner writes. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrate/mfile.h"
#include "migrate/plan.h"
#include "migrate/releases.h"

static struct mfile *parse_ok(const char *text)
{
    struct mfile *m = NULL;
    struct err e;
    int rc = mfile_parse(text, strlen(text), "0001_t", &m, &e);
    if (rc < 0)
        fprintf(stderr, "unexpected parse error: %s\n", e.msg);
    assert_int_equal(rc, 0);
    return m;
}

static void parse_fails(const char *text, const char *msg)
{
    struct mfile *m = NULL;
    struct err e;
    assert_int_equal(mfile_parse(text, strlen(text), "0001_t", &m, &e), -1);
    assert_null(m);
    if (!strstr(e.msg, msg))
        fprintf(stderr, "message '%s' lacks '%s'\n", e.msg, msg);
    assert_non_null(strstr(e.msg, msg));
}

static void parses_operations_and_sections(void **state)
{
    struct mfile *m = parse_ok("# comment\n"
                               "-- another\n"
                               "rename_column users name full_name\n"
                               "add_column users email TEXT DEFAULT ''\n"
                               "add_index users users_email UNIQUE email\n"
                               "add_constraint users age_ok CHECK (age >= 0)\n"
                               "change_type users age age_big BIGINT\n"
                               "drop_column users legacy\n"
                               "key users uid\n"
                               "\n"
                               "[expand]\n"
                               "CREATE TABLE a (id INTEGER);\n"
                               "[backfill a]\n"
                               "UPDATE a SET x = 1 WHERE id > :lo AND id <= :hi;\n"
                               "[contract]\n"
                               "DROP TABLE b;\n"
                               "[abort]\n"
                               "DROP TABLE a;");
    assert_int_equal(m->nops, 7);
    assert_int_equal(m->ops[0].kind, MFILE_OP_RENAME_COLUMN);
    assert_string_equal(m->ops[0].table, "users");
    assert_string_equal(m->ops[0].name, "name");
    assert_string_equal(m->ops[0].new_column, "full_name");
    assert_string_equal(m->ops[0].rest, "");
    assert_string_equal(m->ops[1].rest, "TEXT DEFAULT ''");
    assert_string_equal(m->ops[2].rest, "UNIQUE email");
    assert_string_equal(m->ops[4].new_column, "age_big");
    assert_string_equal(m->ops[4].rest, "BIGINT");
    assert_int_equal(m->ops[4].line, 7);
    assert_string_equal(mfile_key(m, "users"), "uid");
    assert_string_equal(mfile_key(m, "other"), "id");
    assert_string_equal(m->expand.sql, "CREATE TABLE a (id INTEGER);\n");
    assert_int_equal(m->expand.line, 11);
    assert_string_equal(m->backfill.table, "a");
    assert_string_equal(m->backfill.key, "id");
    assert_string_equal(m->contract.sql, "DROP TABLE b;\n");
    assert_string_equal(m->abort_.sql, "DROP TABLE a;");
    assert_int_equal(strncmp(m->checksum, "fnv1a64:", 8), 0);
    mfile_free(m);
}

static void checksum_follows_content(void **state)
{
    struct mfile *a = parse_ok("[expand]\nCREATE TABLE a (id INTEGER);\n");
    struct mfile *b = parse_ok("[expand]\nCREATE TABLE a (id INTEGER);\n");
    struct mfile *c = parse_ok("[expand]\nCREATE TABLE a (id BIGINT);\n");
    assert_string_equal(a->checksum, b->checksum);
    assert_string_not_equal(a->checksum, c->checksum);
    mfile_free(a);
    mfile_free(b);
    mfile_free(c);
}

static void rejects_bad_files(void **state)
{
    parse_fails("frobnicate users x\n", "0001_t:1: unknown operation 'frobnicate'");
    parse_fails("\nrename_column users name\n", "0001_t:2: 'rename_column' needs 3 names");
    parse_fails("add_column users email\n", "'add_column' needs a type");
    parse_fails("add_index users idx\n", "needs the indexed columns");
    parse_fails("drop_column users x extra\n", "unexpected text after 'drop_column'");
    parse_fails("drop_column users bad-name\n", "invalid name");
    parse_fails("add_constraint users c UNIQUE (x)\n", "CHECK (EXPRESSION) only");
    parse_fails("add_column users x TEXT; DROP TABLE users\n", "';' is not allowed");
    parse_fails("[expand]\na\n[expand]\nb\n", "0001_t:3: section [expand] given twice");
    parse_fails("[backfill]\nUPDATE a SET x = 1;\n", "[backfill TABLE [KEY]] needs the table");
    parse_fails("[backfill a id]\nUPDATE a SET x = 1;\n", "must use :lo and :hi");
    parse_fails("[backfill a id extra]\n", "unexpected text in section header");
    char big[MFILE_REST_MAX + 200];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    memcpy(big, "add_column t c ", 15);
    parse_fails(big, "line too long");
    struct mfile *m;
    struct err e;
    assert_refused(mfile_parse("a\0b", 3, "0001_t", &m, &e), e.msg, "NUL byte");
    char many[MFILE_OPS_MAX * 32 + 64] = "";
    for (int i = 0; i <= MFILE_OPS_MAX; i++)
        strcat(many, "drop_column t c\n");
    parse_fails(many, "more than 64 operations");
}

static void parses_releases_manifest(void **state)
{
    struct releases r;
    struct err e;
    assert_int_equal(releases_parse("[1.0]\nmigrations = 0001_a\n[2.0]\nmigrations = 0002_b, "
                                    "0003_c\ncheckpoint = true\n[3.0]\nmigrations =\n",
                                    "rel", &r, &e),
                     0);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.v[1].checkpoint, 1);
    assert_int_equal(r.v[1].nmigs, 2);
    assert_int_equal(releases_of_migration(&r, "0003_c"), 1);
    assert_int_equal(releases_of_migration(&r, "0009_x"), -1);
    assert_int_equal(releases_index(&r, "3.0"), 2);
    assert_string_equal(releases_last_migration(&r, 2), "0003_c");
    assert_string_equal(releases_last_migration(&r, 0), "0001_a");
    releases_free(&r);
    assert_int_equal(
        releases_parse("[1.0]\nmigrations = a\n[2.0]\nmigrations = a\n", "rel", &r, &e), -1);
    assert_non_null(strstr(e.msg, "migration 'a' is listed by two releases"));
    assert_refused(releases_parse("[1.0]\nfoo = 1\n", "rel", &r, &e), e.msg, "unknown key 'foo'");
    assert_refused(releases_parse("[1.0]\ncheckpoint = maybe\n", "rel", &r, &e), e.msg,
                   "checkpoint must be true or false");
    assert_refused(releases_parse("migrations = a\n", "rel", &r, &e), e.msg,
                   "outside a [RELEASE] section");
    assert_refused(releases_parse("[bad name]\nmigrations = a\n", "rel", &r, &e), e.msg,
                   "invalid release name");
}

static int fake_type(void *ctx, const char *table, const char *column, char *type, size_t cap)
{
    snprintf(type, cap, "TEXT");
    return 0;
}

/* Every table has columns id (the primary key), name and score DEFAULT 0. */
static int fake_columns(void *ctx, const char *table, struct plan_column **cols, int *n)
{
    static const struct {
        const char *name, *dflt;
        int pk;
    } c[] = {{"id", NULL, 1}, {"name", NULL, 0}, {"score", "0", 0}};
    *cols = calloc(3, sizeof(**cols));
    for (int i = 0; i < 3; i++) {
        (*cols)[i].name = strdup(c[i].name);
        (*cols)[i].dflt = c[i].dflt ? strdup(c[i].dflt) : NULL;
        (*cols)[i].pk = c[i].pk;
    }
    *n = 3;
    return 0;
}

static const struct plan_lookup fake = {fake_type, fake_columns, NULL};

/* After rename_table's expand: "users" is the view (no primary key), "people" the table. */
static int renamed_columns(void *ctx, const char *table, struct plan_column **cols, int *n)
{
    if (fake_columns(ctx, table, cols, n) == 0 && strcmp(table, "users") == 0)
        (*cols)[0].pk = 0;
    return 0;
}

/* The plan of migration TEXT (file 0001_t) for KIND with the lookups LOOK, which must
 * build. Caller frees with plan_free. */
static struct plan plan_of(const char *text, enum database_kind kind,
                           const struct plan_lookup *look)
{
    struct mfile *m = parse_ok(text);
    struct plan p;
    struct err e;
    assert_int_equal(plan_build(m, kind, look, &p, &e), 0);
    mfile_free(m);
    return p;
}

/* Planning migration TEXT for KIND fails with a message that holds MSG. */
static void plan_fails(const char *text, enum database_kind kind, const char *msg)
{
    struct mfile *m = parse_ok(text);
    struct plan p;
    struct err e;
    assert_refused(plan_build(m, kind, &fake, &p, &e), e.msg, msg);
    mfile_free(m);
}

static int has_sql(const struct plan *p, enum plan_phase ph, const char *needle)
{
    for (int i = 0; i < p->n[ph]; i++)
        if (strstr(p->steps[ph][i].sql, needle))
            return 1;
    return 0;
}

static void plan_writes_recipes(void **state)
{
    static const char recipes[] = "rename_column users name full_name\n"
                                  "add_index users users_mail email\n"
                                  "add_constraint users age_ok CHECK (age >= 0)\n"
                                  "[abort]\nSELECT 1;\n";
    struct plan p = plan_of(recipes, DATABASE_POSTGRES, &fake);
    assert_true(has_sql(&p, PLAN_EXPAND, "ADD COLUMN IF NOT EXISTS full_name TEXT"));
    assert_true(has_sql(
        &p, PLAN_EXPAND,
        "BEFORE UPDATE ON users FOR EACH ROW\n  WHEN (NEW.name IS DISTINCT FROM NEW.full_name)"));
    assert_true(has_sql(&p, PLAN_EXPAND, "CREATE INDEX CONCURRENTLY IF NOT EXISTS users_mail"));
    assert_true(has_sql(&p, PLAN_EXPAND, "CHECK (age >= 0) NOT VALID"));
    assert_true(has_sql(&p, PLAN_BACKFILL, "VALIDATE CONSTRAINT age_ok"));
    assert_true(has_sql(&p, PLAN_BACKFILL, "WHERE id > :lo AND id <= :hi"));
    assert_int_equal(p.steps[PLAN_EXPAND][2].kind, STEP_SQL_NO_TX);
    assert_non_null(p.steps[PLAN_EXPAND][2].guard);
    assert_true(has_sql(&p, PLAN_CONTRACT, "DROP COLUMN IF EXISTS name"));
    /* abort: raw [abort] first, then the operations undone in reverse order */
    assert_string_equal(p.steps[PLAN_ABORT][0].sql, "SELECT 1;\n");
    assert_non_null(strstr(p.steps[PLAN_ABORT][1].sql, "DROP CONSTRAINT IF EXISTS age_ok"));
    assert_non_null(strstr(p.steps[PLAN_ABORT][2].sql, "DROP INDEX CONCURRENTLY"));
    assert_int_equal(p.n[PLAN_ABORT], 5);
    /* bug: reversing every step dropped the new column before its triggers, which SQLite
       refuses; each operation's undo keeps its own order */
    assert_non_null(strstr(p.steps[PLAN_ABORT][3].sql, "DROP TRIGGER IF EXISTS"));
    assert_non_null(strstr(p.steps[PLAN_ABORT][4].sql, "DROP COLUMN IF EXISTS full_name"));
    plan_free(&p);
    p = plan_of(recipes, DATABASE_SQLITE, &fake);
    assert_true(has_sql(&p, PLAN_EXPAND, "AFTER UPDATE OF name ON users"));
    assert_true(has_sql(&p, PLAN_EXPAND, "CREATE INDEX IF NOT EXISTS users_mail"));
    assert_true(has_sql(&p, PLAN_EXPAND, "RAISE(ABORT"));
    assert_int_equal(p.steps[PLAN_BACKFILL][1].kind, STEP_ASSERT_ZERO);
    assert_int_equal(p.steps[PLAN_CONTRACT][1].kind, STEP_DROP_COLUMN);
    plan_free(&p);
}

static void parses_new_operations(void **state)
{
    struct mfile *m = parse_ok("drop_index users users_age\n"
                               "add_unique users users_email_key email, tenant\n"
                               "add_primary_key events events_pkey id\n"
                               "add_foreign_key orders orders_user_fk (user_id) REFERENCES users "
                               "(id) ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED\n"
                               "reindex users users_age\n"
                               "set_not_null users email\n"
                               "rename_table accounts people\n"
                               "[expand no-transaction]\n"
                               "CREATE INDEX CONCURRENTLY IF NOT EXISTS a ON b (c);\n"
                               "[contract no-transaction]\n"
                               "DROP INDEX CONCURRENTLY IF EXISTS a;\n");
    assert_int_equal(m->nops, 7);
    assert_int_equal(m->ops[0].kind, MFILE_OP_DROP_INDEX);
    assert_string_equal(m->ops[1].rest, "email, tenant");
    assert_int_equal(m->ops[3].kind, MFILE_OP_ADD_FOREIGN_KEY);
    assert_int_equal(m->ops[6].kind, MFILE_OP_RENAME_TABLE);
    assert_string_equal(m->ops[6].table, "accounts");
    assert_string_equal(m->ops[6].name, "people");
    assert_int_equal(m->expand.no_tx, 1);
    assert_int_equal(m->contract.no_tx, 1);
    assert_int_equal(m->abort_.no_tx, 0);
    mfile_free(m);
    parse_fails("add_unique users k email,,name\n", "names separated by commas");
    parse_fails("add_primary_key users k lower(email)\n", "names separated by commas");
    parse_fails("add_foreign_key orders fk user_id REFERENCES users\n", "add_foreign_key needs");
    parse_fails("add_foreign_key orders fk (user_id) REFERENCES users (id) ON DELETE EXPLODE\n",
                "add_foreign_key needs");
    parse_fails("add_foreign_key orders fk (user_id) REFERENCES\n", "add_foreign_key needs");
    parse_fails("rename_table users\n", "'rename_table' needs 2 names");
    parse_fails("set_not_null users email extra\n", "unexpected text after 'set_not_null'");
    parse_fails("[expand notx]\nSELECT 1;\n", "only 'no-transaction' may follow");
    parse_fails("bogus_op t x\n", "known: add_column, drop_column");
    parse_fails("set_not_null users email\nrename_table users people\n",
                "0001_t:1: 'set_not_null' on table 'users' in the migration that renames it");
}

/* The index of the first step of phase `ph` whose SQL holds `needle`, or -1. */
static int step_with(const struct plan *p, enum plan_phase ph, const char *needle)
{
    for (int i = 0; i < p->n[ph]; i++)
        if (strstr(p->steps[ph][i].sql, needle))
            return i;
    return -1;
}

static void plan_writes_new_operations_pg(void **state)
{
    struct plan p = plan_of("add_unique users users_email_key email\n"
                            "add_primary_key events events_pkey id, day\n"
                            "add_foreign_key orders orders_user_fk (user_id) REFERENCES users "
                            "(id)\n"
                            "set_not_null users email\n"
                            "reindex users users_age\n"
                            "drop_index users users_old\n"
                            "rename_table accounts people\n"
                            "[backfill users]\nUPDATE users SET email = '' WHERE email IS NULL "
                            "AND id > :lo AND id <= :hi;\n",
                            DATABASE_POSTGRES, &fake);
    int i = step_with(&p, PLAN_EXPAND,
                      "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS users_email_key");
    assert_true(i >= 0);
    assert_int_equal(p.steps[PLAN_EXPAND][i].kind, STEP_SQL_NO_TX);
    assert_non_null(strstr(p.steps[PLAN_EXPAND][i].guard, "NOT indisvalid"));
    assert_int_equal(
        step_with(&p, PLAN_EXPAND, "ADD CONSTRAINT users_email_key UNIQUE USING INDEX"), i + 1);
    /* the primary key: NOT NULL proved by validated checks before SET NOT NULL */
    int chk = step_with(&p, PLAN_EXPAND, "CHECK (day IS NOT NULL) NOT VALID");
    int val = step_with(&p, PLAN_EXPAND, "VALIDATE CONSTRAINT");
    int pk = step_with(&p, PLAN_EXPAND, "PRIMARY KEY USING INDEX events_pkey");
    assert_true(chk >= 0 && val == chk + 1 && pk == val + 1);
    assert_non_null(strstr(p.steps[PLAN_EXPAND][pk].sql, "ALTER COLUMN id SET NOT NULL, ALTER "
                                                         "COLUMN day SET NOT NULL;"));
    assert_true(
        step_with(&p, PLAN_EXPAND, "FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID") >= 0);
    /* validations run after the raw [backfill], which may fix the rows they check */
    int raw = step_with(&p, PLAN_BACKFILL, "email IS NULL AND id > :lo");
    int fk = step_with(&p, PLAN_BACKFILL, "VALIDATE CONSTRAINT orders_user_fk");
    assert_true(raw >= 0 && fk > raw);
    assert_int_equal(p.steps[PLAN_BACKFILL][raw].kind, STEP_BATCH);
    assert_true(step_with(&p, PLAN_CONTRACT,
                          "ALTER COLUMN email SET NOT NULL; ALTER TABLE users DROP CONSTRAINT") >=
                0);
    i = step_with(&p, PLAN_EXPAND, "REINDEX INDEX CONCURRENTLY users_age");
    assert_non_null(strstr(p.steps[PLAN_EXPAND][i].guard, "_cc(new|old)"));
    assert_int_equal(
        p.steps[PLAN_CONTRACT]
               [step_with(&p, PLAN_CONTRACT, "DROP INDEX CONCURRENTLY IF EXISTS users_old")]
                   .kind,
        STEP_SQL_NO_TX);
    i = step_with(
        &p, PLAN_EXPAND,
        "ALTER TABLE accounts RENAME TO people;\nCREATE VIEW accounts AS SELECT * FROM people");
    assert_true(i >= 0);
    assert_true(step_with(&p, PLAN_CONTRACT, "DROP VIEW IF EXISTS accounts") >= 0);
    i = step_with(&p, PLAN_ABORT, "DROP VIEW accounts; ALTER TABLE people RENAME TO accounts");
    assert_non_null(strstr(p.steps[PLAN_ABORT][i].only_if, "relkind = 'v'"));
    plan_free(&p);
}

static void plan_writes_new_operations_sqlite(void **state)
{
    struct plan p = plan_of("add_unique users users_email_key email\n"
                            "set_not_null users email\n"
                            "reindex users users_age\n"
                            "drop_index users users_old\n"
                            "rename_table accounts people\n",
                            DATABASE_SQLITE, &fake);
    assert_true(step_with(&p, PLAN_EXPAND,
                          "CREATE UNIQUE INDEX IF NOT EXISTS users_email_key ON users (email)") >=
                0);
    assert_true(step_with(&p, PLAN_EXPAND, "CHECK constraint failed") >= 0);
    assert_true(step_with(&p, PLAN_BACKFILL, "WHERE NOT (email IS NOT NULL)") >= 0);
    assert_true(step_with(&p, PLAN_EXPAND, "REINDEX users_age") >= 0);
    assert_true(step_with(&p, PLAN_CONTRACT, "DROP INDEX IF EXISTS users_old") >= 0);
    /* the old name stays writable: INSTEAD OF triggers by the primary key, defaults kept */
    int i = step_with(&p, PLAN_EXPAND, "CREATE VIEW accounts AS SELECT * FROM people");
    assert_true(i >= 0);
    const char *sql = p.steps[PLAN_EXPAND][i].sql;
    assert_non_null(strstr(sql, "INSTEAD OF INSERT ON accounts BEGIN INSERT INTO people (\"id\", "
                                "\"name\", \"score\") VALUES (NEW.\"id\", NEW.\"name\", "
                                "coalesce(NEW.\"score\", 0));"));
    assert_non_null(strstr(sql, "WHERE \"id\" = OLD.\"id\"; END;"));
    plan_free(&p);
    /* bug: once expand had renamed the table, the plan of the next phases read the view's
       columns, found no primary key and refused the migration halfway */
    const struct plan_lookup after = {fake_type, renamed_columns, NULL};
    p = plan_of("rename_table users people\n", DATABASE_SQLITE, &after);
    assert_int_equal(p.unresolved, 0);
    plan_free(&p);
    plan_fails("add_primary_key events events_pkey id\n", DATABASE_SQLITE,
               "0001_t:1: add_primary_key: SQLite cannot add a primary key");
    plan_fails("add_foreign_key orders fk (user_id) REFERENCES users (id)\n", DATABASE_SQLITE,
               "SQLite cannot add a foreign key");
}

/* A no-transaction section: one step per statement, each outside a transaction, with
 * the guard that drops an invalid index a killed CREATE INDEX CONCURRENTLY left. */
static void plan_splits_no_transaction_sections(void **state)
{
    struct plan p =
        plan_of("[expand no-transaction]\n"
                "-- two statements, the second over two lines\n"
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS \"Users_a\" ON app.users (a);\n"
                "ALTER TABLE app.users\n  VALIDATE CONSTRAINT c; -- trailing\n",
                DATABASE_POSTGRES, &fake);
    assert_int_equal(p.n[PLAN_EXPAND], 2);
    assert_int_equal(p.steps[PLAN_EXPAND][0].kind, STEP_SQL_NO_TX);
    assert_string_equal(p.steps[PLAN_EXPAND][0].sql,
                        "CREATE INDEX CONCURRENTLY IF NOT EXISTS \"Users_a\" ON app.users (a)");
    assert_non_null(strstr(p.steps[PLAN_EXPAND][0].guard,
                           "quote_ident('app') || '.' || quote_ident('Users_a')"));
    assert_string_equal(p.steps[PLAN_EXPAND][1].sql,
                        "ALTER TABLE app.users\n  VALIDATE CONSTRAINT c");
    assert_null(p.steps[PLAN_EXPAND][1].guard);
    assert_non_null(strstr(p.steps[PLAN_EXPAND][1].desc, "statement 2 (line 4)"));
    plan_free(&p);
    p = plan_of("[contract no-transaction]\nVACUUM;\nCREATE TRIGGER t AFTER INSERT ON a BEGIN "
                "SELECT 1; END;\n",
                DATABASE_SQLITE, &fake);
    assert_int_equal(p.n[PLAN_CONTRACT], 2);
    assert_string_equal(p.steps[PLAN_CONTRACT][1].sql,
                        "CREATE TRIGGER t AFTER INSERT ON a BEGIN SELECT 1; END");
    plan_free(&p);
    plan_fails("[expand no-transaction]\nSELECT 'unterminated;\n", DATABASE_POSTGRES,
               "0001_t:2: unterminated quoted string");
}

UNIT_MAIN("migrate", NULL, NULL, cmocka_unit_test(parses_operations_and_sections),
          cmocka_unit_test(checksum_follows_content), cmocka_unit_test(rejects_bad_files),
          cmocka_unit_test(parses_releases_manifest), cmocka_unit_test(plan_writes_recipes),
          cmocka_unit_test(parses_new_operations), cmocka_unit_test(plan_writes_new_operations_pg),
          cmocka_unit_test(plan_writes_new_operations_sqlite),
          cmocka_unit_test(plan_splits_no_transaction_sections))
