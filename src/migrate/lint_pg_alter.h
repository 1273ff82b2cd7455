/* The PostgreSQL lint rules over the columns and constraints of an ALTER TABLE
 * (lint_pg_alter.c), which the rule table of lint_pg_rules.c names. Not a public header. */
#ifndef BATON_MIGRATE_LINT_PG_ALTER_H
#define BATON_MIGRATE_LINT_PG_ALTER_H

#include "migrate/lint_pg_tree.h"

/* The rules over the columns and constraints of an ALTER TABLE. */
void lint_pg_add_column_not_null(const struct pg_stmt *s, const struct lint_rule *r);
void lint_pg_add_column_volatile_default(const struct pg_stmt *s, const struct lint_rule *r);
void lint_pg_add_column_generated_stored(const struct pg_stmt *s, const struct lint_rule *r);
void lint_pg_add_column_serial(const struct pg_stmt *s, const struct lint_rule *r);
void lint_pg_add_column_json(const struct pg_stmt *s, const struct lint_rule *r);
void lint_pg_alter_column_type(const struct pg_stmt *s, const struct lint_rule *r);
void lint_pg_set_not_null(const struct pg_stmt *s, const struct lint_rule *r);
void lint_pg_add_constraint_not_valid(const struct pg_stmt *s, const struct lint_rule *r);
void lint_pg_add_foreign_key(const struct pg_stmt *s, const struct lint_rule *r);
void lint_pg_add_unique_constraint(const struct pg_stmt *s, const struct lint_rule *r);
void lint_pg_add_primary_key(const struct pg_stmt *s, const struct lint_rule *r);
void lint_pg_add_exclusion_constraint(const struct pg_stmt *s, const struct lint_rule *r);
void lint_pg_validate_in_same_transaction(const struct pg_stmt *s, const struct lint_rule *r);

#endif
