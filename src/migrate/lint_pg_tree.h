/* The PostgreSQL linter's lowest floor: one statement of libpg_query's parse tree (JSON,
 * read with jansson) and the helpers the rules (lint_pg_rules.c, lint_pg_alter.c) read it
 * with (lint_pg_tree.c). Not a public header. */
#ifndef BATON_MIGRATE_LINT_PG_TREE_H
#define BATON_MIGRATE_LINT_PG_TREE_H

#include <jansson.h>

#include "migrate/lint_file.h"

struct pg_stmt {
    struct lint_file *f;
    const char *type; /* the statement's node type, e.g. "AlterTableStmt" */
    json_t *node;     /* its fields */
    const char *sql;  /* the section's text (NULL for an operation's statement) */
    size_t off;       /* where the statement starts in it */
    int line;         /* the statement's line in the migration file */
};

/* A table a rule is about; `note`, once pg_cheap() ran, says what it assumed. */
struct pg_table {
    const char *schema, *name;
    const char *note;
    char buf[256], disp[2 * MFILE_REST_MAX];
};
void pg_table_named(const struct pg_stmt *s, const char *schema, const char *name,
                    struct pg_table *t);
void pg_table_of(const struct pg_stmt *s, json_t *rangevar, struct pg_table *t);
/* Whether locking or rewriting the table blocks no one for long (lint_table_is_cheap). */
int pg_cheap(const struct pg_stmt *s, struct pg_table *t);
/* Whether the section created the table. */
int pg_new(const struct pg_stmt *s, const struct pg_table *t);
int pg_type(const struct pg_stmt *s, const char *type);
/* The subcommands of an ALTER TABLE (not of ALTER INDEX, VIEW...), or NULL; and one. */
json_t *pg_alter_cmds(const struct pg_stmt *s);
json_t *pg_cmd_at(json_t *cmds, size_t i);
/* The inline constraint of kind `contype` of a column definition, or NULL. */
json_t *pg_column_constraint(json_t *coldef, const char *contype);
const char *pg_type_name(json_t *coldef);
int pg_type_is(json_t *coldef, const char *const *names);
/* The integer type modifiers of a column's type: n of them into mods. */
int pg_typmods(json_t *coldef, long *mods, int cap);
const char *pg_con_name(json_t *con);

json_t *pg_get(json_t *o, const char *key);
/* The fields of `wrapper` when it is a node {"type": {...}}, else NULL. */
json_t *pg_as(json_t *wrapper, const char *type);
const char *pg_str(json_t *o, const char *key);
int pg_is(json_t *o, const char *key, const char *value);
int pg_true(json_t *o, const char *key);
/* The line of a node (its "location"), or of the statement when it has none. */
int pg_line(const struct pg_stmt *s, json_t *node);
/* The last name of a list of String nodes (a function's or a type's name), and the one
 * before it (its schema) when `schema` is not NULL. */
const char *pg_last_name(json_t *list, const char **schema);
/* Schema (NULL if none) and name of a RangeVar. */
void pg_rel(json_t *rangevar, const char **schema, const char **name);

#endif
