/* The PostgreSQL lint rules (lint_pg_rules.c): the table that names each, and the check
 * of one statement against all of them. Not a public header. */
#ifndef BATON_MIGRATE_LINT_PG_RULES_H
#define BATON_MIGRATE_LINT_PG_RULES_H

#include "migrate/lint_pg_tree.h"

/* Runs every rule of the table over one statement. */
void lint_pg_check(const struct pg_stmt *s);

/* The rule table: how many, and each (NULL past the end). */
int lint_pg_rule_count(void);
const struct lint_rule *lint_pg_rule_at(int i);

#endif
