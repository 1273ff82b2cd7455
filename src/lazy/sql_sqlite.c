/* SQLite's pieces of a set-based sweep plan (sqlplan.c): JSON paths '$."a"."b"' bound as
 * parameters, and json_insert / json_set / json_remove over the text column. A value is
 * copied with `->`, whose result json_set takes as JSON (numbers and strings as written). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lazy/lazy_int.h"

/* What a document's text must be for SQLite's JSON functions to read it as jansson does:
 * valid JSON (RFC 8259) without a NUL escape, which jansson refuses. In format strings. */
#define SQ_TEXT_OK "doc NOT LIKE '%%\\u0000%%' AND json_valid(doc)"

#define IN LAZY_SQL_IN

/* A quoted label '"seg"' has no escapes in SQLite's paths, and a key that jansson writes
 * with an escape would not match it: printable ASCII only, no quote or backslash. */
static int seg_ok(const char *seg)
{
    for (const char *p = seg; *p; p++)
        if (*p < 0x20 || *p > 0x7e || *p == '"' || *p == '\\')
            return 0;
    return 1;
}

static int path_ok(const struct lazy_path *p)
{
    for (int i = 0; i < p->depth; i++)
        if (!seg_ok(p->seg[i]))
            return 0;
    return 1;
}

static int sq_step_ok(const struct lazy_step *st)
{
    for (int i = 0; i < st->nfields; i++)
        if (!path_ok(&st->fields[i]))
            return 0;
    return path_ok(&st->from) && path_ok(&st->to) && (!st->link || seg_ok(st->link));
}

/* The parameter holding the path of the first `depth` segments of p. */
static int sq_path(struct lazy_sql *q, const struct lazy_path *p, int depth)
{
    struct lazy_sql path = {0};
    lazy_sql_add(&path, "$");
    for (int i = 0; i < depth; i++)
        lazy_sql_add(&path, ".\"%s\"", p->seg[i]);
    int num = path.oom ? (q->oom = 1, -1) : lazy_sql_param(q, 'p', path.text);
    lazy_sql_free(&path);
    return num;
}

/* A path argument: p, or where the gate (or `cond`) is false, '$[0]', which names nothing
 * in an object, so that json_set / json_insert / json_remove leave it as it is. */
static void sq_gated_path(struct lazy_sql *q, const struct lazy_path *p, const char *gate,
                          const char *cond)
{
    int n = sq_path(q, p, p->depth);
    if (!gate && !cond) {
        lazy_sql_add(q, "?%d", n);
        return;
    }
    lazy_sql_add(q, "CASE WHEN %s%s%s THEN ?%d ELSE '$[0]' END", gate ? gate : "",
                 gate && cond ? " AND " : "", cond ? cond : "", n);
}

/* Every proper prefix of p is an object or absent (a step can create the rest). */
static void sq_prefixes_ok(struct lazy_sql *q, const struct lazy_path *p)
{
    for (int i = 1; i < p->depth; i++)
        lazy_sql_add(q, "%scoalesce(json_type(" IN ", ?%d), 'object') = 'object'",
                     i > 1 ? " AND " : "", sq_path(q, p, i));
}

static void sq_current(struct lazy_sql *q, int latest)
{
    lazy_sql_add(q,
                 "coalesce(CASE WHEN " SQ_TEXT_OK " THEN json_type(doc, '$._version') = 'integer' "
                 "AND json_extract(doc, '$._version') = %d END, 0)",
                 latest);
}

static void sq_eligible(struct lazy_sql *q, int from, int latest)
{
    lazy_sql_add(q,
                 "id > ?1 AND id <= ?2 AND CASE WHEN " SQ_TEXT_OK
                 " THEN json_type(doc, '$._version') = 'integer' AND json_extract(doc, "
                 "'$._version') BETWEEN %d AND %d ELSE 0 END",
                 from, latest - 1);
}

/* The group as json_set(json_remove(input, removals...), sets...): two parses of the
 * document for the whole group. A set's path is '$[0]' where it must not happen (its
 * gate, its source absent, the field of an add present), and its value comes through
 * `->`, which json_set takes as JSON (an object stays one, 1.50 stays 1.50). */
static void sq_group(struct lazy_sql *q, const struct lazy_step *const *g, char *const *gate, int n,
                     int version)
{
    int removes = 0, sets = version > 0;
    for (int i = 0; i < n; i++) {
        removes += g[i]->op == LAZY_OP_RENAME ? 1 : g[i]->op == LAZY_OP_ADD ? 0 : g[i]->nfields;
        sets += g[i]->op == LAZY_OP_ADD || g[i]->op == LAZY_OP_RENAME || g[i]->op == LAZY_OP_COPY;
    }
    lazy_sql_add(q, "%s%s" IN, sets ? "json_set(" : "", removes ? "json_remove(" : "");
    for (int i = 0; i < n; i++) {
        if (g[i]->op == LAZY_OP_RENAME) {
            lazy_sql_add(q, ", ");
            sq_gated_path(q, &g[i]->from, gate[i], NULL);
        }
        for (int k = 0;
             (g[i]->op == LAZY_OP_REMOVE || g[i]->op == LAZY_OP_MOVE) && k < g[i]->nfields; k++) {
            lazy_sql_add(q, ", ");
            sq_gated_path(q, &g[i]->fields[k], gate[i], NULL);
        }
    }
    lazy_sql_add(q, removes ? ")" : "");
    for (int i = 0; i < n; i++) {
        char cond[48];
        const struct lazy_step *st = g[i];
        if (st->op == LAZY_OP_ADD) {
            char *json = json_dumps(st->value, JSON_COMPACT | JSON_ENCODE_ANY);
            int v = json ? lazy_sql_param(q, 'j', json) : (q->oom = 1, -1);
            free(json);
            snprintf(cond, sizeof(cond), IN " -> ?%d IS NULL",
                     sq_path(q, &st->from, st->from.depth));
            lazy_sql_add(q, ", ");
            sq_gated_path(q, &st->from, gate[i], cond);
            lazy_sql_add(q, ", json(?%d)", v);
        } else if (st->op == LAZY_OP_RENAME || st->op == LAZY_OP_COPY) {
            int f = sq_path(q, &st->from, st->from.depth);
            snprintf(cond, sizeof(cond), IN " -> ?%d IS NOT NULL", f);
            lazy_sql_add(q, ", ");
            sq_gated_path(q, &st->to, gate[i], cond);
            lazy_sql_add(q, ", " IN " -> ?%d", f);
        }
    }
    if (version)
        lazy_sql_add(q, ", '$._version', %d", version);
    lazy_sql_add(q, sets ? ")" : "");
}

static int sq_fails(struct lazy_sql *q, const struct lazy_step *st)
{
    if (st->op == LAZY_OP_ADD && st->from.depth > 1) {
        lazy_sql_add(q, "NOT (");
        sq_prefixes_ok(q, &st->from);
        lazy_sql_add(q, ")");
        return 1;
    }
    if ((st->op == LAZY_OP_RENAME || st->op == LAZY_OP_COPY) && st->to.depth > 1) {
        lazy_sql_add(q, IN " -> ?%d IS NOT NULL AND NOT (", sq_path(q, &st->from, st->from.depth));
        sq_prefixes_ok(q, &st->to);
        lazy_sql_add(q, ")");
        return 1;
    }
    return 0;
}

/* The part: the fields that are there, in their order, set into an empty object. */
static void sq_kid(struct lazy_sql *q, const struct lazy_step *st, const char *gate)
{
    lazy_sql_add(q, "CASE WHEN %s%s(", gate ? gate : "", gate ? " AND " : "");
    for (int i = 0; i < st->nfields; i++)
        lazy_sql_add(q, "%s" IN " -> ?%d IS NOT NULL", i ? " OR " : "",
                     sq_path(q, &st->fields[i], st->fields[i].depth));
    lazy_sql_add(q, ") THEN json_set('{}'");
    for (int i = 0; i < st->nfields; i++) {
        char cond[48];
        int f = sq_path(q, &st->fields[i], st->fields[i].depth);
        snprintf(cond, sizeof(cond), IN " -> ?%d IS NOT NULL", f);
        lazy_sql_add(q, ", ");
        sq_gated_path(q, &st->fields[i], NULL, cond);
        lazy_sql_add(q, ", " IN " -> ?%d", f);
    }
    lazy_sql_add(q, ") END");
}

/* Where the statements read: the last stage, or the table's rows themselves. */
static void sq_from(struct lazy_sql *q, const struct lazy_plan *pl, const struct lazy_plan_tail *t,
                    const char *table, const struct lazy_chain *c)
{
    if (t->stage >= 0) {
        lazy_sql_add(q, " FROM s%d WHERE (%s)", t->stage, t->ok);
        return;
    }
    lazy_sql_add(q, " FROM \"%s\" WHERE ", table);
    sq_eligible(q, pl->from, lazy_chain_latest(c));
    lazy_sql_add(q, " AND (%s)", t->ok);
}

/* One INSERT per move target (its parts, where the parent will be written), then the
 * UPDATE of the parents: all in the sweep's batch transaction, which holds the write
 * lock, so that they read the same documents. */
static int sq_finish(struct lazy_plan *pl, const struct lazy_sql *cte,
                     const struct lazy_plan_tail *t, const char *table, const struct lazy_chain *c)
{
    int kid = 0, n = t->stage;
    for (int i = pl->from - c->base; i < c->nversions; i++)
        for (int j = 0; j < c->versions[i].nsteps; j++) {
            const struct lazy_step *st = &c->versions[i].steps[j];
            if (st->op != LAZY_OP_MOVE)
                continue;
            struct lazy_sql *q = &pl->stmt[pl->nstmt++];
            struct lazy_path link = {1, {st->link}};
            const char *k = t->kids[kid++];
            if (lazy_sql_copy(q, cte) < 0)
                return -1;
            lazy_sql_add(q,
                         "\nINSERT INTO \"%s\"(id, doc) SELECT id, json_set(%s, ?%d, CAST(id AS "
                         "TEXT), '$._version', %d)",
                         st->collection, k, sq_path(q, &link, 1), st->child_version);
            sq_from(q, pl, t, table, c);
            lazy_sql_add(q,
                         " AND (%s) IS NOT NULL ON CONFLICT(id) DO UPDATE SET doc = "
                         "excluded.doc, rev = rev + 1",
                         k);
        }
    struct lazy_sql *q = &pl->stmt[pl->nstmt++];
    if (lazy_sql_copy(q, cte) < 0)
        return -1;
    if (n >= 0) /* the stages read a snapshot: the write is a compare-and-set on rev */
        lazy_sql_add(q,
                     "\nUPDATE \"%s\" SET doc = %s, rev = \"%s\".rev + 1 FROM s%d WHERE "
                     "\"%s\".id = s%d.id AND \"%s\".rev = s%d.rev AND (%s)",
                     table, t->doc, table, n, table, n, table, n, t->ok);
    else { /* computed from the row it writes, under the write lock */
        lazy_sql_add(q, "UPDATE \"%s\" SET doc = %s, rev = rev + 1 WHERE ", table, t->doc);
        sq_eligible(q, pl->from, lazy_chain_latest(c));
        lazy_sql_add(q, " AND (%s)", t->ok);
    }
    for (int i = 0; i < pl->nstmt; i++)
        if (pl->stmt[i].oom)
            return -1;
    return 0;
}

const struct lazy_sql_dialect lazy_sqlite_dialect = {
    .param = '?',
    .doc_text = "doc",
    .version = "json_extract(doc, '$._version')",
    .yes = "1",
    .no_doc = "NULL",
    .direct_kids = 1,
    .step_ok = sq_step_ok,
    .eligible = sq_eligible,
    .current = sq_current,
    .group = sq_group,
    .fails = sq_fails,
    .kid = sq_kid,
    .finish = sq_finish,
};
