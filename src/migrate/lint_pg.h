/* The PostgreSQL linter (lint_pg.c): each statement of a migration file parsed alone by
 * PostgreSQL's own parser, then checked by the rules. Not a public header. */
#ifndef BATON_MIGRATE_LINT_PG_H
#define BATON_MIGRATE_LINT_PG_H

#include "migrate/lint_file.h"

/* Lints the declarative operations it has SQL for, then the raw sections in order; a
 * statement it cannot read is a "syntax-error" finding. */
int lint_pg_file(struct lint_file *f);

#endif
