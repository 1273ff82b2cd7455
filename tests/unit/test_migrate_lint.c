/* Unit tests of the migration linter: every rule has a failing example (the rule fires,
 * with its safe recipe in the message) and a passing one (the safe way, no finding). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "migrate/lint.h"
#include "migrate/mfile.h"

struct lint_case {
    const char *rule;
    enum mdb_kind kind;
    const char *failing;
    const char *passing;
    const char *recipe; /* text the message must hold */
};

static const struct lint_case cases[] = {
    {"drop-column-in-expand", MDB_SQLITE, "[expand]\nALTER TABLE users DROP COLUMN legacy;\n",
     "[contract]\nALTER TABLE users DROP COLUMN legacy;\n", "put it in [contract]"},
    {"drop-column-in-expand", MDB_POSTGRES, "[expand]\nALTER TABLE users DROP legacy;\n",
     "drop_column users legacy\n", "drop_column TABLE COLUMN"},
    {"drop-table-in-expand", MDB_POSTGRES, "[expand]\nDROP TABLE old_things;\n",
     "[contract]\nDROP TABLE old_things;\n", "put it in [contract]"},
    {"rename", MDB_SQLITE, "[expand]\nALTER TABLE users RENAME COLUMN name TO full_name;\n",
     "rename_column users name full_name\n", "rename_column TABLE OLD NEW"},
    {"rename", MDB_POSTGRES, "[contract]\nALTER TABLE users RENAME name TO full_name;\n",
     "rename_column users name full_name\n", "rename_column TABLE OLD NEW"},
    {"add-column-not-null", MDB_POSTGRES,
     "[expand]\nALTER TABLE users ADD COLUMN score INTEGER NOT NULL;\n",
     "[expand]\nALTER TABLE users ADD COLUMN score INTEGER NOT NULL DEFAULT 0;\n",
     "add_constraint TABLE NAME CHECK (COL IS NOT NULL)"},
    {"add-column-not-null", MDB_SQLITE, "add_column users score INTEGER NOT NULL\n",
     "add_column users score INTEGER DEFAULT 0 NOT NULL\n", "give it a DEFAULT"},
    {"create-index-concurrently", MDB_POSTGRES,
     "[expand]\nCREATE INDEX users_age ON users (age);\n", "add_index users users_age age\n",
     "add_index TABLE NAME COLUMNS"},
    {"create-index-concurrently", MDB_POSTGRES,
     "[expand]\nCREATE UNIQUE INDEX CONCURRENTLY users_mail ON users (email);\n",
     "[expand]\nCREATE TABLE audit (id INTEGER PRIMARY KEY, at TEXT);\n"
     "CREATE INDEX audit_at ON audit (at);\n",
     "cannot run inside a section's transaction"},
    {"alter-column-type", MDB_POSTGRES,
     "[expand]\nALTER TABLE users ALTER COLUMN age TYPE BIGINT;\n",
     "change_type users age age_big BIGINT\n", "change_type TABLE COL NEWCOL TYPE"},
    {"alter-column-type", MDB_POSTGRES,
     "[contract]\nALTER TABLE users ALTER age SET DATA TYPE BIGINT;\n",
     "[contract]\nALTER TABLE users ALTER COLUMN age SET DEFAULT 0;\n", "change_type"},
    {"set-not-null", MDB_POSTGRES,
     "[contract]\nALTER TABLE users ALTER COLUMN email SET NOT NULL;\n",
     "add_constraint users users_email_nn CHECK (email IS NOT NULL)\n"
     "[contract]\nALTER TABLE users ALTER COLUMN email SET NOT NULL;\n",
     "CHECK (EMAIL IS NOT NULL)"},
    {"unbatched-update", MDB_SQLITE, "[expand]\nUPDATE users SET email = lower(email);\n",
     "[backfill users id]\nUPDATE users SET email = lower(email) WHERE id > :lo AND id <= :hi;\n",
     "[backfill TABLE KEY]"},
    {"unbatched-update", MDB_POSTGRES, "[contract]\nINSERT INTO archive SELECT * FROM users;\n",
     "[backfill users]\nINSERT INTO archive SELECT * FROM users WHERE id > :lo AND id <= :hi;\n",
     "WHERE KEY > :lo AND KEY <= :hi"},
    {"add-constraint-not-valid", MDB_POSTGRES,
     "[expand]\nALTER TABLE users ADD CONSTRAINT age_ok CHECK (age >= 0);\n",
     "[expand]\nALTER TABLE users ADD CONSTRAINT age_ok CHECK (age >= 0) NOT VALID;\n",
     "add_constraint TABLE NAME CHECK (EXPR)"},
    {"sqlite-unsupported-alter", MDB_SQLITE,
     "[expand]\nALTER TABLE users ALTER COLUMN age TYPE BIGINT;\n",
     "change_type users age age_big BIGINT\n", "change_type TABLE COL NEWCOL TYPE"},
    {"sqlite-unsupported-alter", MDB_SQLITE,
     "[expand]\nALTER TABLE users ADD CONSTRAINT age_ok CHECK (age >= 0);\n",
     "add_constraint users age_ok CHECK (age >= 0)\n", "add_constraint TABLE NAME CHECK (EXPR)"},
    {"sqlite-table-rebuild", MDB_SQLITE,
     "[contract]\nCREATE TABLE users_new (id INTEGER PRIMARY KEY, name TEXT);\n"
     "DROP TABLE users;\nALTER TABLE users_new RENAME TO users;\n",
     "[contract]\nDROP TABLE users_old;\n", "create-copy-drop-rename rebuild"},
};

/* Findings of `rule` for `text` parsed as a migration. */
static int count_rule(const char *text, enum mdb_kind kind, const char *rule, char *msg, size_t cap)
{
    struct mfile *m;
    struct err e;
    if (mfile_parse(text, strlen(text), "0001_case", &m, &e) < 0) {
        fprintf(stderr, "parse error: %s\n", e.msg);
        return -1;
    }
    struct lint_report r = {0};
    lint_mfile(m, kind, &r);
    int n = 0;
    for (int i = 0; i < r.n; i++)
        if (strcmp(r.v[i].rule, rule) == 0) {
            n++;
            snprintf(msg, cap, "%s", r.v[i].msg);
        } else {
            fprintf(stderr, "other finding: [%s] %s\n", r.v[i].rule, r.v[i].msg);
        }
    lint_report_free(&r);
    mfile_free(m);
    return n;
}

static void every_rule_fails_and_passes(void **state)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct lint_case *c = &cases[i];
        char msg[ERR_MSG_MAX] = "";
        int bad = count_rule(c->failing, c->kind, c->rule, msg, sizeof(msg));
        if (bad != 1)
            fprintf(stderr, "case %zu (%s): failing example gave %d findings\n", i, c->rule, bad);
        assert_int_equal(bad, 1);
        if (!strstr(msg, c->recipe))
            fprintf(stderr, "case %zu (%s): message lacks '%s': %s\n", i, c->rule, c->recipe, msg);
        assert_non_null(strstr(msg, c->recipe));
        int good = count_rule(c->passing, c->kind, c->rule, msg, sizeof(msg));
        if (good != 0)
            fprintf(stderr, "case %zu (%s): passing example gave %d findings\n", i, c->rule, good);
        assert_int_equal(good, 0);
    }
}

static void every_rule_has_cases(void **state)
{
    for (const char *const *r = lint_rules; *r; r++) {
        int found = 0;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
            found += strcmp(cases[i].rule, *r) == 0;
        if (!found)
            fprintf(stderr, "rule '%s' has no example\n", *r);
        assert_true(found > 0);
    }
}

/* Comments, strings and trigger bodies never trigger rules. */
static void lint_ignores_strings_comments_and_triggers(void **state)
{
    const char *text =
        "[expand]\n"
        "-- UPDATE users SET x = 1;\n"
        "/* DROP TABLE users; */\n"
        "INSERT INTO notes (body) VALUES ('DROP TABLE users; UPDATE users SET a = 1');\n"
        "CREATE TRIGGER t AFTER INSERT ON users BEGIN UPDATE users SET a = 1 WHERE id = NEW.id; "
        "END;\n"
        "CREATE FUNCTION f() RETURNS trigger AS $$ BEGIN UPDATE users SET a = 1; END $$ "
        "LANGUAGE plpgsql;\n";
    struct mfile *m;
    struct err e;
    assert_int_equal(mfile_parse(text, strlen(text), "0001_x", &m, &e), 0);
    struct lint_report r = {0};
    assert_int_equal(lint_mfile(m, MDB_SQLITE, &r), 0);
    assert_int_equal(lint_mfile(m, MDB_POSTGRES, &r), 0);
    lint_report_free(&r);
    mfile_free(m);
}

static void finding_names_file_and_line(void **state)
{
    const char *text = "# header\n\n[expand]\nCREATE TABLE a (id INTEGER);\n\nDROP TABLE b;\n";
    struct mfile *m;
    struct err e;
    assert_int_equal(mfile_parse(text, strlen(text), "0007_x", &m, &e), 0);
    struct lint_report r = {0};
    assert_int_equal(lint_mfile(m, MDB_SQLITE, &r), 1);
    assert_string_equal(r.v[0].file, "0007_x");
    assert_int_equal(r.v[0].line, 6);
    lint_report_free(&r);
    mfile_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_rule_fails_and_passes),
        cmocka_unit_test(every_rule_has_cases),
        cmocka_unit_test(lint_ignores_strings_comments_and_triggers),
        cmocka_unit_test(finding_names_file_and_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
