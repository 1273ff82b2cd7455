/* The migration linter: refuses operations that would lock a busy table or break the
 * app version still running, each finding with the safe recipe in its message. */
#ifndef BATON_MIGRATE_LINT_H
#define BATON_MIGRATE_LINT_H

#include <stdio.h>

#include "core/err.h"
#include "migrate/mdb.h"
#include "migrate/mfile.h"

struct lint_finding {
    char file[MFILE_ID_MAX];
    int line;
    const char *rule;    /* e.g. "create-index-concurrently" */
    const char *dialect; /* "sqlite", "postgres" */
    char msg[ERR_MSG_MAX];
};

struct lint_report {
    struct lint_finding *v;
    int n;
};

/* Appends the findings of `m` for database `kind` to `r`; returns how many it added. */
int lint_mfile(const struct mfile *m, enum mdb_kind kind, struct lint_report *r);
void lint_print(const struct lint_report *r, FILE *out);
void lint_report_free(struct lint_report *r);

/* The rule names, NULL-terminated (docs and tests check each has examples). */
extern const char *const lint_rules[];

#endif
