/* Reading libpg_query's parse tree (JSON, with jansson) for the PostgreSQL lint rules:
 * fields and nodes, names and lines, the subcommands of an ALTER TABLE, and the table a
 * rule is about with whether locking it is cheap. */
#include "migrate/lint_pg_tree.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrate/sqlsplit.h"

json_t *pg_get(json_t *o, const char *key)
{
    return json_is_object(o) ? json_object_get(o, key) : NULL;
}

json_t *pg_as(json_t *wrapper, const char *type)
{
    json_t *v = pg_get(wrapper, type);
    return json_is_object(v) ? v : NULL;
}

const char *pg_str(json_t *o, const char *key)
{
    return json_string_value(pg_get(o, key));
}

int pg_is(json_t *o, const char *key, const char *value)
{
    const char *v = pg_str(o, key);
    return v && strcmp(v, value) == 0;
}

int pg_true(json_t *o, const char *key)
{
    return json_is_true(pg_get(o, key));
}

int pg_line(const struct pg_stmt *s, json_t *node)
{
    json_t *loc = pg_get(node, "location");
    if (!s->sql || !json_is_integer(loc) || json_integer_value(loc) < 0)
        return s->line;
    size_t at = s->off + (size_t)json_integer_value(loc);
    if (at > strlen(s->sql))
        return s->line;
    return s->f->line0 + sqlsplit_line(s->sql, at);
}

const char *pg_last_name(json_t *list, const char **schema)
{
    size_t n = json_array_size(list);
    if (schema)
        *schema = n >= 2 ? pg_str(pg_as(json_array_get(list, n - 2), "String"), "sval") : NULL;
    return n ? pg_str(pg_as(json_array_get(list, n - 1), "String"), "sval") : NULL;
}

void pg_rel(json_t *rangevar, const char **schema, const char **name)
{
    *schema = pg_str(rangevar, "schemaname");
    *name = pg_str(rangevar, "relname");
}

void pg_table_named(const struct pg_stmt *s, const char *schema, const char *name,
                    struct pg_table *t)
{
    t->schema = schema;
    t->name = name ? name : "?";
    t->note = NULL;
    snprintf(t->disp, sizeof(t->disp), "%s%s%s", schema ? schema : "", schema ? "." : "", t->name);
}

int pg_cheap(const struct pg_stmt *s, struct pg_table *t)
{
    return lint_table_is_cheap(s->f, t->schema, t->name, &t->note, t->buf, sizeof(t->buf));
}

int pg_new(const struct pg_stmt *s, const struct pg_table *t)
{
    return lint_table_is_new(s->f, t->schema, t->name);
}

void pg_table_of(const struct pg_stmt *s, json_t *rangevar, struct pg_table *t)
{
    const char *schema, *name;
    pg_rel(rangevar, &schema, &name);
    pg_table_named(s, schema, name, t);
}

int pg_type(const struct pg_stmt *s, const char *type)
{
    return strcmp(s->type, type) == 0;
}

/* The subcommands of an ALTER TABLE (not of ALTER INDEX, VIEW...), or NULL. */
json_t *pg_alter_cmds(const struct pg_stmt *s)
{
    if (!pg_type(s, "AlterTableStmt") || !pg_is(s->node, "objtype", "OBJECT_TABLE"))
        return NULL;
    return pg_get(s->node, "cmds");
}

json_t *pg_cmd_at(json_t *cmds, size_t i)
{
    return pg_as(json_array_get(cmds, i), "AlterTableCmd");
}

/* The constraints of a column definition of kind `contype`, or NULL. */
json_t *pg_column_constraint(json_t *coldef, const char *contype)
{
    size_t i;
    json_t *c;
    json_array_foreach(pg_get(coldef, "constraints"), i, c)
    {
        json_t *con = pg_as(c, "Constraint");
        if (pg_is(con, "contype", contype))
            return con;
    }
    return NULL;
}

const char *pg_type_name(json_t *coldef)
{
    return pg_last_name(pg_get(pg_get(coldef, "typeName"), "names"), NULL);
}

int pg_type_is(json_t *coldef, const char *const *names)
{
    const char *t = pg_type_name(coldef);
    for (; t && *names; names++)
        if (strcmp(t, *names) == 0)
            return 1;
    return 0;
}

/* The integer type modifiers of a type name: n of them into mods. */
int pg_typmods(json_t *coldef, long *mods, int cap)
{
    json_t *list = pg_get(pg_get(coldef, "typeName"), "typmods");
    int n = 0;
    for (size_t i = 0; i < json_array_size(list) && n < cap; i++) {
        json_t *c = pg_as(json_array_get(list, i), "A_Const");
        json_t *iv = pg_get(pg_get(c, "ival"), "ival");
        mods[n++] = json_is_integer(iv) ? (long)json_integer_value(iv) : 0;
    }
    return n;
}

const char *pg_con_name(json_t *con)
{
    return pg_str(con, "conname") ? pg_str(con, "conname") : "(unnamed)";
}
