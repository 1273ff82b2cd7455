/* Unit tests of the migration linter, driven by the case files of tests/unit/lint/: one
 * file per rule (RULE.cases) with its bad examples (the findings expected, rule and line)
 * and its safe ones (no finding at all). Every rule of both dialects must have both. A
 * case may give facts as a database would (tables and their rows, functions, column
 * types, the SQLite schema); without any it is linted as with no --db.
 *
 *   === bad: what it shows          (or "=== safe: ...")
 *   dialect: postgres               (postgres, sqlite or both)
 *   expect: RULE LINE               (one per finding; lines count from the migration text)
 *   message: TEXT                   (the first expected finding's message holds TEXT)
 *   fact: table NAME ROWS | volatile NAME | stable NAME | notnull TABLE COL
 *         | type TABLE COL TYPE
 *   schema: SQL                     (SQLite: a statement of the database's schema)
 *   style: on                       (also the style rules)
 *   ---
 *   the migration file */
#include "unit.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "migrate/lint.h"
#include "migrate/mfile.h"

#define MAX_LINES 32

struct lcase {
    char file[256], title[256];
    int bad;
    char dialect[16];
    char expect[MAX_LINES][128];
    int nexpect;
    char message[256];
    char fact[MAX_LINES][256];
    int nfact;
    char schema[MAX_LINES][512];
    int nschema;
    int style;
    char *text;
};

/* The fake database of a case: answers from its fact and schema lines. */
static int fact_table(void *ctx, const char *schema, const char *table, long limit, long *rows)
{
    const struct lcase *c = ctx;
    char name[256];
    snprintf(name, sizeof(name), "%s%s%s", schema ? schema : "", schema ? "." : "", table);
    for (int i = 0; i < c->nfact; i++) {
        char t[256];
        long n;
        if (sscanf(c->fact[i], "table %255s %ld", t, &n) == 2 && strcmp(t, name) == 0) {
            *rows = n < limit ? n : limit;
            return 1;
        }
    }
    return 0;
}

static int fact_volatile(void *ctx, const char *schema, const char *name)
{
    const struct lcase *c = ctx;
    for (int i = 0; i < c->nfact; i++) {
        char kind[32], f[128];
        if (sscanf(c->fact[i], "%31s %127s", kind, f) == 2 && strcmp(f, name) == 0)
            return strcmp(kind, "volatile") == 0 ? 1 : strcmp(kind, "stable") == 0 ? 0 : -1;
    }
    return -1;
}

static int fact_not_null(void *ctx, const char *schema, const char *table, const char *col)
{
    const struct lcase *c = ctx;
    for (int i = 0; i < c->nfact; i++) {
        char t[128], k[128];
        if (sscanf(c->fact[i], "notnull %127s %127s", t, k) == 2 && !strcmp(t, table) &&
            !strcmp(k, col))
            return 1;
    }
    return 0;
}

static int fact_type(void *ctx, const char *schema, const char *table, const char *col, char *type,
                     size_t cap)
{
    const struct lcase *c = ctx;
    for (int i = 0; i < c->nfact; i++) {
        char t[128], k[128];
        int at = 0;
        if (sscanf(c->fact[i], "type %127s %127s %n", t, k, &at) == 2 && at > 0 &&
            !strcmp(t, table) && !strcmp(k, col)) {
            snprintf(type, cap, "%s", c->fact[i] + at);
            return 1;
        }
    }
    return -1;
}

static int fact_schema(void *ctx, char ***sql, int *n)
{
    const struct lcase *c = ctx;
    *sql = calloc((size_t)c->nschema + 1, sizeof(char *));
    for (int i = 0; i < c->nschema; i++)
        (*sql)[i] = strdup(c->schema[i]);
    *n = c->nschema;
    return 0;
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf)
        buf[n] = 0;
    fclose(f);
    return buf;
}

/* One header line of a case; returns -1 on a line it does not know. */
static int header(struct lcase *c, const char *line)
{
    if (sscanf(line, "dialect: %15s", c->dialect) == 1)
        return 0;
    if (strncmp(line, "expect: ", 8) == 0 && c->nexpect < MAX_LINES) {
        snprintf(c->expect[c->nexpect++], sizeof(c->expect[0]), "%s", line + 8);
        return 0;
    }
    if (strncmp(line, "message: ", 9) == 0) {
        snprintf(c->message, sizeof(c->message), "%s", line + 9);
        return 0;
    }
    if (strncmp(line, "fact: ", 6) == 0 && c->nfact < MAX_LINES) {
        snprintf(c->fact[c->nfact++], sizeof(c->fact[0]), "%s", line + 6);
        return 0;
    }
    if (strncmp(line, "schema: ", 8) == 0 && c->nschema < MAX_LINES) {
        snprintf(c->schema[c->nschema++], sizeof(c->schema[0]), "%s", line + 8);
        return 0;
    }
    if (strcmp(line, "style: on") == 0) {
        c->style = 1;
        return 0;
    }
    return -1;
}

/* Parses a .cases file into *out (caller frees each text and the array). */
static int parse_cases(const char *path, const char *name, struct lcase **out, int *n)
{
    char *all = read_all(path);
    assert_non_null(all);
    *out = NULL;
    *n = 0;
    char *p = strstr(all, "=== ");
    while (p) {
        struct lcase *v = realloc(*out, (size_t)(*n + 1) * sizeof(*v));
        assert_non_null(v);
        *out = v;
        struct lcase *c = &v[(*n)++];
        memset(c, 0, sizeof(*c));
        snprintf(c->file, sizeof(c->file), "%s", name);
        c->bad = strncmp(p, "=== bad: ", 9) == 0;
        if (!c->bad && strncmp(p, "=== safe: ", 10) != 0)
            fail_msg("%s: a case starts with '=== bad: ' or '=== safe: '", name);
        char *eol = strchr(p, '\n');
        assert_non_null(eol);
        snprintf(c->title, sizeof(c->title), "%.*s", (int)(eol - p), p);
        p = eol + 1;
        while (strncmp(p, "---\n", 4) != 0) {
            eol = strchr(p, '\n');
            assert_non_null(eol);
            *eol = 0;
            if (header(c, p) < 0)
                fail_msg("%s: %s: unknown header line '%s'", name, c->title, p);
            p = eol + 1;
        }
        p += 4;
        char *next = strstr(p, "\n=== ");
        c->text = next ? strndup(p, (size_t)(next - p + 1)) : strdup(p);
        p = next ? next + 1 : NULL;
    }
    free(all);
    return 0;
}

/* Lints one case for one dialect; 0 when the findings are exactly those expected. */
static int run_case(const struct lcase *c, enum database_kind kind, int *findings)
{
    struct mfile *m;
    struct err e;
    if (mfile_parse(c->text, strlen(c->text), "0001_case", &m, &e) < 0) {
        fprintf(stderr, "%s: %s: the migration does not parse: %s\n", c->file, c->title, e.msg);
        return -1;
    }
    struct lint_facts facts = {fact_table, fact_volatile, fact_not_null,
                               fact_type,  fact_schema,   (void *)c};
    struct lint_opts o = {c->nfact || c->nschema ? &facts : NULL, 1000, c->style};
    struct lint_report r = {0};
    lint_mfile(m, kind, &o, &r);
    int used[MAX_LINES] = {0}, rc = 0;
    for (int i = 0; i < r.n; i++) {
        char got[128];
        snprintf(got, sizeof(got), "%s %d", r.v[i].rule, r.v[i].line);
        int k = 0;
        while (k < c->nexpect && (used[k] || strcmp(c->expect[k], got) != 0))
            k++;
        if (k < c->nexpect) {
            used[k] = 1;
            if (k == 0 && c->message[0] && !strstr(r.v[i].msg, c->message)) {
                fprintf(stderr, "%s: %s (%s): message lacks '%s': %s\n", c->file, c->title,
                        r.v[i].dialect, c->message, r.v[i].msg);
                rc = -1;
            }
            continue;
        }
        fprintf(stderr, "%s: %s (%s): unexpected finding %s: %s\n", c->file, c->title,
                r.v[i].dialect, got, r.v[i].msg);
        rc = -1;
    }
    for (int k = 0; k < c->nexpect; k++)
        if (!used[k]) {
            fprintf(stderr, "%s: %s (%s): missing finding %s\n", c->file, c->title,
                    kind == DATABASE_POSTGRES ? "postgres" : "sqlite", c->expect[k]);
            rc = -1;
        }
    *findings = r.n;
    lint_report_free(&r);
    mfile_free(m);
    return rc;
}

static const char *cases_dir(void)
{
    const char *d = getenv("LINT_CASES");
    return d ? d : "tests/unit/lint";
}

struct tally {
    int bad, safe, failed, false_positives;
};

static void every_case_gives_its_findings(void **state)
{
    DIR *d = opendir(cases_dir());
    assert_non_null(d);
    struct dirent *de;
    struct tally t = {0};
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l < 7 || strcmp(de->d_name + l - 6, ".cases") != 0)
            continue;
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", cases_dir(), de->d_name);
        struct lcase *v;
        int n;
        parse_cases(path, de->d_name, &v, &n);
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < 2; k++) {
                enum database_kind kind = k ? DATABASE_POSTGRES : DATABASE_SQLITE;
                const char *dn = k ? "postgres" : "sqlite";
                if (strcmp(v[i].dialect, "both") != 0 && strcmp(v[i].dialect, dn) != 0)
                    continue;
                int found = 0;
                int rc = run_case(&v[i], kind, &found);
                t.failed += rc < 0;
                if (v[i].bad)
                    t.bad++;
                else {
                    t.safe++;
                    t.false_positives += found > 0;
                }
            }
            free(v[i].text);
        }
        free(v);
    }
    closedir(d);
    printf("lint cases: %d bad, %d safe, %d failed, %d false positives on the safe ones\n", t.bad,
           t.safe, t.failed, t.false_positives);
    assert_int_equal(t.failed, 0);
    assert_int_equal(t.false_positives, 0);
}

/* Whether RULE.cases has a bad case expecting `rule` and a safe case, for `dialect`. */
static void rule_file_covers(const char *rule, const char *dialect, int *bad, int *safe)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s.cases", cases_dir(), rule);
    *bad = *safe = 0;
    if (access(path, R_OK) != 0)
        return;
    struct lcase *v;
    int n;
    parse_cases(path, rule, &v, &n);
    for (int i = 0; i < n; i++) {
        int applies = !strcmp(v[i].dialect, "both") || !strcmp(v[i].dialect, dialect);
        for (int k = 0; applies && v[i].bad && k < v[i].nexpect; k++)
            *bad += strncmp(v[i].expect[k], rule, strlen(rule)) == 0 &&
                    v[i].expect[k][strlen(rule)] == ' ';
        *safe += applies && !v[i].bad;
        free(v[i].text);
    }
    free(v);
}

static void every_rule_has_bad_and_safe_cases(void **state)
{
    int missing = 0;
    for (int k = 0; k < 2; k++) {
        enum database_kind kind = k ? DATABASE_POSTGRES : DATABASE_SQLITE;
        for (int i = 0; i < lint_rule_count(kind); i++) {
            const struct lint_rule *r = lint_rule_at(kind, i);
            int bad, safe;
            rule_file_covers(r->name, k ? "postgres" : "sqlite", &bad, &safe);
            if (!bad || !safe) {
                fprintf(stderr, "rule '%s' (%s) lacks %s in %s/%s.cases\n", r->name,
                        k ? "postgres" : "sqlite", !bad ? "a bad case" : "a safe case", cases_dir(),
                        r->name);
                missing++;
            }
            assert_non_null(r->recipe);
        }
    }
    assert_int_equal(missing, 0);
}

/* The report line a user reads: FILE.migration:LINE: DIALECT [RULE]: message. */
static void print_names_file_line_dialect_and_rule(void **state)
{
    const char *text = "# header\n\n[expand]\nCREATE TABLE a (id INTEGER);\n\nDROP TABLE b;\n";
    struct mfile *m;
    struct err e;
    assert_int_equal(mfile_parse(text, strlen(text), "0007_x", &m, &e), 0);
    struct lint_report r = {0};
    assert_int_equal(lint_mfile(m, DATABASE_POSTGRES, NULL, &r), 1);
    char buf[4096] = "";
    FILE *f = fmemopen(buf, sizeof(buf), "w");
    lint_print(&r, f);
    fclose(f);
    assert_non_null(strstr(buf, "0007_x.migration:6: postgres [drop-table-in-expand]: DROP TABLE "
                                "b: the app version still running uses the table"));
    lint_report_free(&r);
    mfile_free(m);
}

UNIT_MAIN("lint", NULL, NULL, cmocka_unit_test(every_case_gives_its_findings),
          cmocka_unit_test(every_rule_has_bad_and_safe_cases),
          cmocka_unit_test(print_names_file_line_dialect_and_rule))
