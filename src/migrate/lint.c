/* The linter's entry: each migration file to its dialect (lint_pg.c, lint_sqlite.c, which
 * read the statements), the report printed and freed, and the rules of both dialects. */
#include "migrate/lint.h"

#include <stdlib.h>

#include "migrate/lint_pg.h"
#include "migrate/lint_pg_rules.h"
#include "migrate/lint_sqlite.h"
#include "migrate/lint_sqlite_rules.h"

#define LINT_SMALL_ROWS_DEFAULT 1000

int lint_rule_count(enum database_kind kind)
{
    return kind == DATABASE_POSTGRES ? lint_pg_rule_count() : lint_sqlite_rule_count();
}

const struct lint_rule *lint_rule_at(enum database_kind kind, int i)
{
    return kind == DATABASE_POSTGRES ? lint_pg_rule_at(i) : lint_sqlite_rule_at(i);
}

int lint_mfile(const struct mfile *m, enum database_kind kind, const struct lint_opts *o,
               struct lint_report *r)
{
    static const struct lint_opts defaults = {.small_rows = LINT_SMALL_ROWS_DEFAULT};
    struct lint_file f = {.m = m, .kind = kind, .o = o ? o : &defaults, .r = r};
    if (kind == DATABASE_POSTGRES) {
        f.rule_at = lint_pg_rule_at;
        lint_pg_file(&f);
    } else {
        f.rule_at = lint_sqlite_rule_at;
        lint_sqlite_file(&f);
    }
    lint_file_free(&f);
    return f.added;
}

void lint_print(const struct lint_report *r, FILE *out)
{
    for (int i = 0; i < r->n; i++)
        fprintf(out, "%s.migration:%d: %s [%s]: %s\n", r->v[i].file, r->v[i].line, r->v[i].dialect,
                r->v[i].rule, r->v[i].msg);
}

void lint_report_free(struct lint_report *r)
{
    free(r->v);
    r->v = NULL;
    r->n = 0;
}
