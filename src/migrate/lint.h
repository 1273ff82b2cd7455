/* The migration linter: refuses statements and operations that would lock a busy table,
 * rewrite or scan it under a lock, or break the app version still running, each finding
 * with the hazard and the safe recipe in baton's own operations. PostgreSQL is read with
 * PostgreSQL's own parser (libpg_query), SQLite with SQLite itself (statements prepared
 * and run against an in-memory copy of the schema). The report, the rules and the options
 * are declared in lint_file.h. */
#ifndef BATON_MIGRATE_LINT_H
#define BATON_MIGRATE_LINT_H

#include <stdio.h>

#include "core/err.h"
#include "migrate/lint_file.h"
#include "migrate/database.h"
#include "migrate/mfile.h"

/* Appends the findings of `m` for database `kind` to `r`; returns how many it added.
 * A statement the parser rejects is a finding (rule "syntax-error") with its line and
 * the parser's message; nothing is skipped silently. `o` may be NULL (defaults). */
int lint_mfile(const struct mfile *m, enum database_kind kind, const struct lint_opts *o,
               struct lint_report *r);
void lint_print(const struct lint_report *r, FILE *out);
void lint_report_free(struct lint_report *r);

/* Facts read from an open database (lint_facts.c); `db` must outlive the result. */
struct lint_facts lint_facts_db(struct database *db);

/* The rules of a dialect: how many, and each (NULL past the end). */
int lint_rule_count(enum database_kind kind);
const struct lint_rule *lint_rule_at(enum database_kind kind, int i);

#endif
