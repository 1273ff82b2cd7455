/* PostgreSQL's pieces of a set-based sweep plan (sqlplan.c): jsonb operators over paths
 * bound as text[] parameters. `#>` walks into arrays by index and `#-` / jsonb_set fail on
 * them, while a chain's paths name object keys only: every walk below a top-level key is
 * guarded by checks that the parents are objects. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lazy/lazy_int.h"

#define IN LAZY_SQL_IN

/* Parameters carry any text. A move's part is built from its top-level fields; nested
 * ones would need a deep merge that jsonb lacks (such chains go one by one). */
static int pg_step_ok(const struct lazy_step *st)
{
    for (int i = 0; st->op == LAZY_OP_MOVE && i < st->nfields; i++)
        if (st->fields[i].depth > 1)
            return 0;
    return 1;
}

/* The parameter holding the first `depth` segments of p as a text[] literal. */
static int pg_path(struct lazy_sql *q, const struct lazy_path *p, int depth)
{
    struct lazy_sql a = {0};
    lazy_sql_add(&a, "{");
    for (int i = 0; i < depth; i++) {
        lazy_sql_add(&a, "%s\"", i ? "," : "");
        for (const char *s = p->seg[i]; *s; s++)
            lazy_sql_add(&a, "%s%c", *s == '"' || *s == '\\' ? "\\" : "", *s);
        lazy_sql_add(&a, "\"");
    }
    lazy_sql_add(&a, "}");
    int num = a.oom ? (q->oom = 1, -1) : lazy_sql_param(q, 'a', a.text);
    lazy_sql_free(&a);
    return num;
}

static int pg_key(struct lazy_sql *q, const struct lazy_path *p, int i)
{
    return lazy_sql_param(q, 't', p->seg[i]);
}

/* Every proper prefix of p is an object (strict) or, else, an object or absent. */
static void pg_prefixes(struct lazy_sql *q, const struct lazy_path *p, int strict)
{
    for (int i = 1; i < p->depth; i++) {
        int a = pg_path(q, p, i);
        lazy_sql_add(q, i > 1 ? " AND " : "");
        if (strict)
            lazy_sql_add(q, "jsonb_typeof(" IN " #> $%d::text[]) = 'object'", a);
        else
            lazy_sql_add(q, "coalesce(jsonb_typeof(" IN " #> $%d::text[]), 'object') = 'object'",
                         a);
    }
}

static void pg_present(struct lazy_sql *q, const struct lazy_path *p)
{
    int k = pg_key(q, p, p->depth - 1);
    if (p->depth == 1) {
        lazy_sql_add(q, "(" IN " ? $%d::text)", k);
        return;
    }
    lazy_sql_add(q, "coalesce(");
    pg_prefixes(q, p, 1); /* NULL where a parent is absent */
    lazy_sql_add(q, " AND (" IN " #> $%d::text[]) ? $%d::text, false)", pg_path(q, p, p->depth - 1),
                 k);
}

/* The tail of "(x #- ...)" that removes path p: a no-op outside the gate or where a
 * parent is not an object (#- fails on those). The caller writes "(" and x. */
static void pg_del(struct lazy_sql *q, const struct lazy_path *p, const char *gate)
{
    if (p->depth == 1 && !gate) {
        lazy_sql_add(q, " - $%d::text)", pg_key(q, p, 0));
        return;
    }
    lazy_sql_add(q, " #- CASE WHEN %s%s", gate ? gate : "", gate && p->depth > 1 ? " AND " : "");
    pg_prefixes(q, p, 1);
    lazy_sql_add(q, " THEN $%d::text[] ELSE '{}'::text[] END)", pg_path(q, p, p->depth));
}

/* When a set of the group happens: its gate, its source there (rename, copy) or its
 * field not there (add), the target's parents objects or absent. */
static void pg_set_cond(struct lazy_sql *q, const struct lazy_step *st, const char *gate)
{
    const struct lazy_path *t = st->op == LAZY_OP_ADD ? &st->from : &st->to;
    lazy_sql_add(q, "%s%s%s", gate ? gate : "", gate ? " AND " : "",
                 st->op == LAZY_OP_ADD ? "NOT " : "");
    pg_present(q, &st->from);
    if (t->depth > 1) {
        lazy_sql_add(q, " AND ");
        pg_prefixes(q, t, 0);
    }
}

/* The value a set writes: the default (add) or the source's value (rename, copy). */
static void pg_value(struct lazy_sql *q, const struct lazy_step *st)
{
    if (st->op == LAZY_OP_ADD) {
        char *json = json_dumps(st->value, JSON_COMPACT | JSON_ENCODE_ANY);
        lazy_sql_add(q, "$%d::jsonb", json ? lazy_sql_param(q, 'j', json) : (q->oom = 1, -1));
        free(json);
    } else if (st->from.depth == 1) {
        lazy_sql_add(q, IN " -> $%d::text", pg_key(q, &st->from, 0));
    } else {
        lazy_sql_add(q, IN " #> $%d::text[]", pg_path(q, &st->from, st->from.depth));
    }
}

/* The tail of a set wrapped around x (whose opening pg_set_open wrote): a top-level
 * field as x || {field: value} (the right side wins), a nested one by jsonb_set with its
 * missing parents created as objects, each path '{}' (nothing) where it must not happen. */
static void pg_set_tail(struct lazy_sql *q, const struct lazy_step *st, const char *gate)
{
    const struct lazy_path *t = st->op == LAZY_OP_ADD ? &st->from : &st->to;
    if (t->depth == 1) {
        lazy_sql_add(q, " || CASE WHEN ");
        pg_set_cond(q, st, gate);
        lazy_sql_add(q, " THEN jsonb_build_object($%d::text, ", pg_key(q, t, 0));
        pg_value(q, st);
        lazy_sql_add(q, ") ELSE '{}'::jsonb END)");
        return;
    }
    for (int i = 1; i <= t->depth; i++) {
        int a = pg_path(q, t, i);
        lazy_sql_add(q, ", CASE WHEN ");
        pg_set_cond(q, st, gate);
        lazy_sql_add(q, " THEN $%d::text[] ELSE '{}'::text[] END, ", a);
        if (i < t->depth) {
            lazy_sql_add(q, "coalesce(" IN " #> $%d::text[], '{}'::jsonb))", a);
        } else { /* jsonb_set is strict: a value that is not there must not be NULL */
            lazy_sql_add(q, "coalesce(");
            pg_value(q, st);
            lazy_sql_add(q, ", 'null'::jsonb))");
        }
    }
}

static int pg_is_set(const struct lazy_step *st)
{
    return st->op == LAZY_OP_ADD || st->op == LAZY_OP_RENAME || st->op == LAZY_OP_COPY;
}

/* The group: its removals around the input, then its sets around those, in order; the
 * openings of all are written first, outermost (the last) first. */
static void pg_group(struct lazy_sql *q, const struct lazy_step *const *g, char *const *gate, int n,
                     int version)
{
    lazy_sql_add(q, version ? "(" : "");
    for (int i = n - 1; i >= 0; i--) {
        const struct lazy_path *t = g[i]->op == LAZY_OP_ADD ? &g[i]->from : &g[i]->to;
        for (int k = 0; pg_is_set(g[i]) && k < t->depth; k++)
            lazy_sql_add(q, t->depth == 1 ? "(" : "jsonb_set(");
    }
    for (int i = 0; i < n; i++) {
        int removes = g[i]->op == LAZY_OP_RENAME ? 1 : pg_is_set(g[i]) ? 0 : g[i]->nfields;
        for (int k = 0; k < removes; k++)
            lazy_sql_add(q, "(");
    }
    lazy_sql_add(q, IN);
    for (int i = 0; i < n; i++) {
        if (g[i]->op == LAZY_OP_RENAME)
            pg_del(q, &g[i]->from, gate[i]);
        for (int k = 0; !pg_is_set(g[i]) && k < g[i]->nfields; k++)
            pg_del(q, &g[i]->fields[k], gate[i]);
    }
    for (int i = 0; i < n; i++)
        if (pg_is_set(g[i]))
            pg_set_tail(q, g[i], gate[i]);
    if (version)
        lazy_sql_add(q, " || jsonb_build_object('_version', %d))", version);
}

static void pg_current(struct lazy_sql *q, int latest)
{
    lazy_sql_add(q,
                 "coalesce(jsonb_typeof(doc->'_version') = 'number' AND doc->>'_version' = '%d', "
                 "false)",
                 latest);
}

static void pg_eligible(struct lazy_sql *q, int from, int latest)
{
    struct lazy_sql vs = {0};
    for (int v = from; v < latest; v++)
        lazy_sql_add(&vs, "%s%d", v > from ? "," : "{", v);
    lazy_sql_add(&vs, "}");
    int p = vs.oom ? (q->oom = 1, -1) : lazy_sql_param(q, 'a', vs.text);
    lazy_sql_free(&vs);
    lazy_sql_add(q,
                 "id > $1 AND id <= $2 AND jsonb_typeof(doc->'_version') = 'number' AND "
                 "doc->>'_version' = ANY ($%d::text[])",
                 p);
}

static int pg_fails(struct lazy_sql *q, const struct lazy_step *st)
{
    if (st->op == LAZY_OP_ADD && st->from.depth > 1) {
        lazy_sql_add(q, "NOT (");
        pg_prefixes(q, &st->from, 0);
        lazy_sql_add(q, ")");
        return 1;
    }
    if ((st->op == LAZY_OP_RENAME || st->op == LAZY_OP_COPY) && st->to.depth > 1) {
        pg_present(q, &st->from);
        lazy_sql_add(q, " AND NOT (");
        pg_prefixes(q, &st->to, 0);
        lazy_sql_add(q, ")");
        return 1;
    }
    return 0;
}

/* The part: one single-key object per field that is there, merged (top-level fields). */
static void pg_kid(struct lazy_sql *q, const struct lazy_step *st, const char *gate)
{
    lazy_sql_add(q, "CASE WHEN %s%s(", gate ? gate : "", gate ? " AND " : "");
    for (int i = 0; i < st->nfields; i++) {
        lazy_sql_add(q, i ? " OR " : "");
        pg_present(q, &st->fields[i]);
    }
    lazy_sql_add(q, ") THEN ");
    for (int i = 0; i < st->nfields; i++) {
        int k = pg_key(q, &st->fields[i], 0);
        lazy_sql_add(q,
                     "%sCASE WHEN " IN " ? $%d::text THEN jsonb_build_object($%d::text, " IN
                     " -> $%d::text) ELSE '{}'::jsonb END",
                     i ? " || " : "", k, k, k);
    }
    lazy_sql_add(q, " END");
}

/* One statement. With stages (which read a snapshot), the UPDATE of the parents is a
 * compare-and-set on rev, in a CTE whose RETURNING feeds the INSERT of each move
 * target's parts, so that a part is written exactly when its parent is. Without, the
 * UPDATE computes each document from the row it writes; if a concurrent write commits
 * first, PostgreSQL checks the row's version again and computes from the new one. */
static int pg_finish(struct lazy_plan *pl, const struct lazy_sql *cte,
                     const struct lazy_plan_tail *t, const char *table, const struct lazy_chain *c)
{
    struct lazy_sql *q = &pl->stmt[pl->nstmt++];
    int n = t->stage;
    if (lazy_sql_copy(q, cte) < 0)
        return -1;
    if (n < 0) {
        lazy_sql_add(q, "WITH up AS (UPDATE \"%s\" SET doc = %s, rev = rev + 1 WHERE ", table,
                     t->doc);
        pg_eligible(q, pl->from, lazy_chain_latest(c));
        lazy_sql_add(q, " AND (%s) RETURNING 1)\nSELECT count(*) FROM up", t->ok);
        return q->oom ? -1 : 0;
    }
    lazy_sql_add(q,
                 ",\nup AS (UPDATE \"%s\" SET doc = %s, rev = \"%s\".rev + 1 FROM s%d WHERE "
                 "\"%s\".id = s%d.id AND \"%s\".rev = s%d.rev AND (%s) RETURNING \"%s\".id",
                 table, t->doc, table, n, table, n, table, n, t->ok, table);
    for (int k = 0; k < t->nkids; k++)
        lazy_sql_add(q, ", %s AS k%d", t->kids[k], k + 1);
    lazy_sql_add(q, ")");
    int kid = 0;
    for (int i = pl->from - c->base; i < c->nversions; i++)
        for (int j = 0; j < c->versions[i].nsteps; j++) {
            const struct lazy_step *st = &c->versions[i].steps[j];
            if (st->op != LAZY_OP_MOVE)
                continue;
            kid++;
            lazy_sql_add(q,
                         ",\nm%d AS (INSERT INTO \"%s\"(id, doc) SELECT id, k%d || "
                         "jsonb_build_object($%d::text, id, '_version', %d) FROM up WHERE k%d IS "
                         "NOT NULL ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, rev = "
                         "\"%s\".rev + 1)",
                         kid, st->collection, kid, lazy_sql_param(q, 't', st->link),
                         st->child_version, kid, st->collection);
        }
    lazy_sql_add(q, "\nSELECT count(*) FROM up");
    return q->oom ? -1 : 0;
}

const struct lazy_sql_dialect lazy_pg_dialect = {
    .param = '$',
    .doc_text = "doc::text",
    .version = "(doc->>'_version')::int",
    .yes = "true",
    .no_doc = "NULL::jsonb",
    .direct_kids = 0, /* RETURNING sees the new row, from which the parts are gone */
    .step_ok = pg_step_ok,
    .eligible = pg_eligible,
    .current = pg_current,
    .group = pg_group,
    .fails = pg_fails,
    .kid = pg_kid,
    .finish = pg_finish,
};
