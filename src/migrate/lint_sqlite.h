/* The SQLite linter (lint_sqlite.c): every statement prepared by SQLite itself against an
 * in-memory copy of the schema, then checked by the rules. Not a public header. */
#ifndef BATON_MIGRATE_LINT_SQLITE_H
#define BATON_MIGRATE_LINT_SQLITE_H

#include "migrate/lint_file.h"

/* Lints the declarative operations it has SQL for, then the raw sections in order; a
 * statement SQLite cannot prepare is a "syntax-error" finding. */
int lint_sqlite_file(struct lint_file *f);

#endif
