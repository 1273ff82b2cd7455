/* One migration file being linted: findings with their hazard and recipe, what a section
 * created or locked, and the facts about tables (from the migration itself or, with a
 * database, from it). Both dialects record what they find through these. */
#include "migrate/lint_file.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/str.h"

static void add_finding(struct lint_file *f, const struct lint_rule *rule, int line,
                        const char *msg)
{
    struct lint_finding *v = realloc(f->r->v, (size_t)(f->r->n + 1) * sizeof(*v));
    if (!v)
        return;
    f->r->v = v;
    struct lint_finding *x = &v[f->r->n++];
    memset(x, 0, sizeof(*x));
    snprintf(x->file, sizeof(x->file), "%s", f->m->id);
    x->line = line;
    x->rule = rule->name;
    x->dialect = f->kind == DATABASE_POSTGRES ? "postgres" : "sqlite";
    snprintf(x->msg, sizeof(x->msg), "%s", msg);
    f->added++;
}

static void hit_v(struct lint_file *f, const struct lint_rule *rule, int line, const char *note,
                  const char *what, va_list ap) __attribute__((format(printf, 5, 0)));
static void hit_v(struct lint_file *f, const struct lint_rule *rule, int line, const char *note,
                  const char *what, va_list ap)
{
    if (rule->style && !f->o->style)
        return;
    char subject[ERR_MSG_MAX], msg[2 * ERR_MSG_MAX];
    vsnprintf(subject, sizeof(subject), what, ap);
    snprintf(msg, sizeof(msg), "%s%s%s%s%s%s%s%s", subject, rule->hazard ? ": " : "",
             rule->hazard ? rule->hazard : "", rule->recipe ? "; " : "",
             rule->recipe ? rule->recipe : "", note ? " (" : "", note ? note : "", note ? ")" : "");
    add_finding(f, rule, line, msg);
}

void lint_hit(struct lint_file *f, const struct lint_rule *rule, int line, const char *note,
              const char *what, ...)
{
    va_list ap;
    va_start(ap, what);
    hit_v(f, rule, line, note, what, ap);
    va_end(ap);
}

void lint_hit_named(struct lint_file *f, const char *name, int line, const char *what, ...)
{
    const struct lint_rule *rule;
    for (int i = 0; (rule = f->rule_at(i)) != NULL; i++) {
        if (strcmp(rule->name, name) != 0)
            continue;
        va_list ap;
        va_start(ap, what);
        hit_v(f, rule, line, NULL, what, ap);
        va_end(ap);
        return;
    }
}

int lint_in_expand(const struct lint_file *f)
{
    return f->sec == SEC_OPS || f->sec == SEC_EXPAND || f->sec == SEC_BACKFILL;
}

static char *table_key(const char *schema, const char *table)
{
    char *k = NULL;
    if (asprintf(&k, "%s.%s", schema ? schema : "", table) < 0)
        return NULL;
    return k;
}

void lint_names_add(struct lint_names *s, const char *schema, const char *table)
{
    char *k = table ? table_key(schema, table) : NULL;
    char **v = k ? realloc(s->v, (size_t)(s->n + 1) * sizeof(*v)) : NULL;
    if (!v) {
        free(k);
        return;
    }
    s->v = v;
    s->v[s->n++] = k;
}

int lint_names_has(const struct lint_names *s, const char *schema, const char *table)
{
    char *k = table ? table_key(schema, table) : NULL;
    int yes = 0;
    for (int i = 0; k && i < s->n && !yes; i++)
        yes = strcmp(s->v[i], k) == 0;
    free(k);
    return yes;
}

void lint_names_free(struct lint_names *s)
{
    str_list_free(s->v, s->n);
    s->v = NULL;
    s->n = 0;
}

void lint_file_free(struct lint_file *f)
{
    lint_names_free(&f->created);
    lint_names_free(&f->locked);
}

void lint_section_start(struct lint_file *f, enum lint_sec sec, int no_tx, int line0)
{
    f->sec = sec;
    f->no_tx = no_tx;
    f->line0 = line0;
    lint_file_free(f);
}

int lint_table_is_new(const struct lint_file *f, const char *schema, const char *table)
{
    return lint_names_has(&f->created, schema, table);
}

int lint_table_is_cheap(struct lint_file *f, const char *schema, const char *table,
                        const char **note, char *buf, size_t cap)
{
    *note = NULL;
    if (!table)
        return 0;
    if (lint_table_is_new(f, schema, table))
        return 1;
    const char *dot = schema ? "." : "";
    if (!schema)
        schema = "";
    const struct lint_facts *facts = f->o->facts;
    if (!facts || !facts->table) {
        snprintf(buf, cap, "no database: assuming '%s%s%s' is large and in use", schema, dot,
                 table);
        *note = buf;
        return 0;
    }
    long rows = 0;
    int exists = facts->table(facts->ctx, *schema ? schema : NULL, table, f->o->small_rows, &rows);
    if (exists == 1)
        return rows < f->o->small_rows;
    if (exists == 0)
        snprintf(buf, cap,
                 "'%s%s%s' is not in the database: assuming an earlier migration "
                 "creates it and it is large and in use by then",
                 schema, dot, table);
    else
        snprintf(buf, cap, "could not count the rows of '%s%s%s': assuming it is large", schema,
                 dot, table);
    *note = buf;
    return 0;
}
