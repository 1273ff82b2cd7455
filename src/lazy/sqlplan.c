/* The set-based sweep's plan: the declarative tail of a chain (the versions from which
 * every step is add, rename, remove, copy or move) written as SQL that upgrades a whole
 * batch of documents in one statement:
 *
 *   s0 (id, rev, sv, d, ok, k1..)   the batch's documents at a version the plan covers
 *   steps as one expression over d  (each only where sv <= its version: its gate)
 *   sK AS MATERIALIZED (...)        a stage, before a step that reads its input more than
 *                                   once (a rename, a move, a nested path) while the
 *                                   input is still an expression, so that no expression
 *                                   is ever copied into another twice
 *   UPDATE ... SET doc = <expression> FROM sN
 *       WHERE id = sN.id AND rev = sN.rev AND <ok>           (+ the moved parts)
 *
 * ok turns false where a step cannot apply (the sweep then reports the document). The
 * rev check makes the write a compare-and-set: a document changed after the statement
 * read it is left alone, and the sweep takes it one by one. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lazy/lazy_int.h"

void lazy_sql_add(struct lazy_sql *q, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        if (q->oom)
            return;
        va_start(ap, fmt);
        int n =
            vsnprintf(q->text ? q->text + q->len : NULL, q->text ? q->cap - q->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            q->oom = 1;
            return;
        }
        if (q->text && q->len + (size_t)n < q->cap) {
            q->len += (size_t)n;
            return;
        }
        size_t cap = q->cap ? q->cap : 1024;
        while (cap <= q->len + (size_t)n)
            cap *= 2;
        char *t = realloc(q->text, cap);
        if (!t) {
            q->oom = 1;
            return;
        }
        q->text = t;
        q->cap = cap;
        q->text[q->len] = 0;
    }
}

int lazy_sql_param(struct lazy_sql *q, char kind, const char *value)
{
    for (int i = 0; i < q->nparams; i++)
        if (q->params[i][0] == kind && strcmp(q->params[i] + 1, value) == 0)
            return 3 + i;
    if (q->nparams == q->cap_params) {
        int cap = q->cap_params ? q->cap_params * 2 : 16;
        char **p = realloc(q->params, (size_t)cap * sizeof(*p));
        if (!p) {
            q->oom = 1;
            return -1;
        }
        q->params = p;
        q->cap_params = cap;
    }
    char *v = malloc(strlen(value) + 2);
    if (!v) {
        q->oom = 1;
        return -1;
    }
    v[0] = kind;
    strcpy(v + 1, value);
    q->params[q->nparams++] = v;
    return 3 + q->nparams - 1;
}

int lazy_sql_copy(struct lazy_sql *to, const struct lazy_sql *from)
{
    memset(to, 0, sizeof(*to));
    lazy_sql_add(to, "%s", from->text ? from->text : "");
    for (int i = 0; i < from->nparams && !to->oom; i++)
        lazy_sql_param(to, from->params[i][0], from->params[i] + 1);
    return to->oom ? -1 : 0;
}

void lazy_sql_free(struct lazy_sql *q)
{
    for (int i = 0; i < q->nparams; i++) /* core/str.c is not part of libbaton-lazy */
        free(q->params[i]);
    free(q->params);
    free(q->text);
    memset(q, 0, sizeof(*q));
}

void lazy_plan_free(struct lazy_plan *pl)
{
    for (int i = 0; i < pl->nstmt; i++)
        lazy_sql_free(&pl->stmt[i]);
    pl->nstmt = 0;
}

/* 1 when path a is b or lies inside it (a.b.c inside a.b). */
static int path_within(const struct lazy_path *a, const struct lazy_path *b)
{
    if (a->depth < b->depth)
        return 0;
    for (int i = 0; i < b->depth; i++)
        if (strcmp(a->seg[i], b->seg[i]) != 0)
            return 0;
    return 1;
}

/* 1 when a step can be part of a plan: not a custom step, not a rename into or out of its
 * own source (the order of the delete and the set would matter), not a move of fields
 * inside one another or into the store's own table, and writable by the dialect. */
static int step_plannable(const struct lazy_sql_dialect *d, const struct lazy_step *st,
                          const char *table)
{
    switch (st->op) {
    case LAZY_OP_CUSTOM:
        return 0;
    case LAZY_OP_RENAME:
        if (st->from.depth != st->to.depth &&
            (path_within(&st->from, &st->to) || path_within(&st->to, &st->from)))
            return 0;
        break;
    case LAZY_OP_MOVE:
        if (strcmp(st->collection, table) == 0)
            return 0;
        for (int i = 0; i < st->nfields; i++)
            for (int j = 0; j < st->nfields; j++)
                if (i != j && path_within(&st->fields[j], &st->fields[i]))
                    return 0;
        break;
    default:
        break;
    }
    return d->step_ok(st);
}

/* The index of the oldest version entry from which every step can be planned (at most
 * LAZY_PLAN_MAX_STAGES steps). */
static int tail_start(const struct lazy_chain *c, const char *table,
                      const struct lazy_sql_dialect *d)
{
    int steps = 0;
    for (int i = c->nversions - 1; i >= 0; i--)
        for (int j = 0; j < c->versions[i].nsteps; j++)
            if (!step_plannable(d, &c->versions[i].steps[j], table) ||
                ++steps > LAZY_PLAN_MAX_STAGES)
                return i + 1;
    return 0;
}

/* The expressions being built over the columns of stage `stage`, or of the table's row
 * when `direct` (no stage can be needed then: the plan was built once with stages and
 * closed none). */
struct fused {
    char *doc, *ok;
    char **kids;
    int nkids, stage, direct;
    const struct lazy_sql_dialect *d;
};

static void set_text(struct lazy_sql *q, char **slot, char *text)
{
    if (!text)
        q->oom = 1;
    free(*slot);
    *slot = text;
}

/* The text written into q since `at`, taken out of q. */
static char *cut(struct lazy_sql *q, size_t at)
{
    if (q->oom)
        return NULL;
    char *t = strdup(q->text + at);
    q->len = at;
    q->text[at] = 0;
    if (!t)
        q->oom = 1;
    return t;
}

static int count_in(const char *t)
{
    int n = 0;
    for (; t && (t = strstr(t, LAZY_SQL_IN)); t++)
        n++;
    return n;
}

/* The template with its input replaced by the expression `in`. */
static char *subst(const char *t, const char *in)
{
    if (!t || !in)
        return NULL;
    size_t n = strlen(t) + (size_t)count_in(t) * (strlen(in) + 2) + 1;
    char *out = malloc(n), *w = out;
    for (const char *p = t; out && *p; p++) {
        if (*p != LAZY_SQL_IN[0]) {
            *w++ = *p;
            continue;
        }
        w += sprintf(w, strcmp(in, "d") && strcmp(in, "doc") ? "(%s)" : "%s", in);
    }
    if (out)
        *w = 0;
    return out;
}

static void fused_columns(struct lazy_sql *q, struct fused *f)
{
    set_text(q, &f->doc, strdup(f->direct ? "doc" : "d"));
    set_text(q, &f->ok, strdup(f->direct ? f->d->yes : "ok"));
    for (int j = 0; j < f->nkids; j++) {
        char col[16];
        snprintf(col, sizeof(col), "k%d", j + 1);
        set_text(q, &f->kids[j], strdup(f->direct ? f->d->no_doc : col));
    }
}

/* 1 while the document is still a column, not an expression. */
static int is_column(const struct fused *f)
{
    return f->doc && strcmp(f->doc, f->direct ? "doc" : "d") == 0;
}

/* Materializes the expressions as the next stage, whose columns they become. */
static void close_stage(struct lazy_sql *q, struct fused *f)
{
    lazy_sql_add(q, ",\ns%d AS MATERIALIZED (SELECT id, rev, sv, %s AS d, %s AS ok", f->stage + 1,
                 f->doc, f->ok);
    for (int j = 0; j < f->nkids; j++)
        lazy_sql_add(q, ", %s AS k%d", f->kids[j], j + 1);
    lazy_sql_add(q, " FROM s%d)", f->stage++);
    fused_columns(q, f);
}

/* The paths a step reads from its input (what decides whether and what it writes, and
 * where it creates parents), removes, and sets: the i-th of a role, NULL past the end. */
enum role { READS, REMOVES, SETS };

static const struct lazy_path *step_path(const struct lazy_step *st, enum role r, int i)
{
    switch (st->op) {
    case LAZY_OP_ADD:
        return r != REMOVES && i == 0 ? &st->from : NULL;
    case LAZY_OP_RENAME:
    case LAZY_OP_COPY:
        if (r == READS)
            return i == 0 ? &st->from : i == 1 ? &st->to : NULL;
        if (r == REMOVES)
            return st->op == LAZY_OP_RENAME && i == 0 ? &st->from : NULL;
        return i == 0 ? &st->to : NULL;
    case LAZY_OP_REMOVE:
    case LAZY_OP_MOVE:
        if (r == SETS || (r == READS && st->op == LAZY_OP_REMOVE))
            return NULL;
        return i < st->nfields ? &st->fields[i] : NULL;
    case LAZY_OP_CUSTOM:
        break;
    }
    return NULL;
}

static int overlap(const struct lazy_path *a, const struct lazy_path *b)
{
    return path_within(a, b) || path_within(b, a);
}

/* 1 when a path of `st` in role r overlaps one that the group's steps remove or set. */
static int touches(const struct lazy_step *st, enum role r, const struct lazy_step *const *g, int n,
                   int removes_too)
{
    const struct lazy_path *p, *w;
    for (int i = 0; (p = step_path(st, r, i)); i++)
        for (int k = 0; k < n; k++)
            for (int wr = removes_too ? REMOVES : SETS; wr <= SETS; wr++)
                for (int j = 0; (w = step_path(g[k], (enum role)wr, j)); j++)
                    if (overlap(p, w))
                        return 1;
    return 0;
}

/* A step joins a group when what it reads is not written in the group, and what it
 * removes is not set there (the group removes before it sets). */
static int joins(const struct lazy_step *st, const struct lazy_step *const *g, int n)
{
    return !touches(st, READS, g, n, 1) && !touches(st, REMOVES, g, n, 0);
}

/* The group of steps g[0..n) as one expression over its input, stage first if the
 * input is an expression read more than once. kid[i]: the move's part column (0: none). */
static void flush(struct lazy_sql *q, const struct lazy_sql_dialect *d, struct fused *f,
                  const struct lazy_step *const *g, char *const *gate, const int *kid, int n,
                  int version)
{
    char *fails_t[LAZY_PLAN_MAX_STAGES + 1] = {0}, *kid_t[LAZY_PLAN_MAX_STAGES + 1] = {0};
    size_t at = q->len;
    d->group(q, g, gate, n, version);
    char *doc_t = cut(q, at);
    int refs = count_in(doc_t);
    for (int i = 0; i < n; i++) {
        if (d->fails(q, g[i]))
            refs += count_in(fails_t[i] = cut(q, at));
        if (kid[i]) {
            d->kid(q, g[i], gate[i]);
            refs += count_in(kid_t[i] = cut(q, at));
        }
    }
    if (refs > 1 && !is_column(f))
        close_stage(q, f);
    for (int i = 0; i < n; i++) {
        if (fails_t[i]) {
            char *cond = subst(fails_t[i], f->doc), *ok = NULL;
            if (cond && asprintf(&ok, "%s AND NOT (%s%s(%s))", f->ok, gate[i] ? gate[i] : "",
                                 gate[i] ? " AND " : "", cond) < 0)
                ok = NULL;
            set_text(q, &f->ok, ok);
            free(cond);
        }
        if (kid[i])
            set_text(q, &f->kids[kid[i] - 1], subst(kid_t[i], f->doc));
        free(fails_t[i]);
        free(kid_t[i]);
    }
    set_text(q, &f->doc, subst(doc_t, f->doc));
    free(doc_t);
}

/* Writes the stages of the steps from version entry `first` on into q, the steps in
 * groups, and returns what they end with in f. */
static void plan_stages(struct lazy_sql *q, const struct lazy_sql_dialect *d,
                        const struct lazy_chain *c, int first, struct fused *f)
{
    const struct lazy_step *g[LAZY_PLAN_MAX_STAGES];
    char gates[LAZY_PLAN_MAX_STAGES][64], *gate[LAZY_PLAN_MAX_STAGES];
    int kid[LAZY_PLAN_MAX_STAGES], n = 0, kids = 0, latest = lazy_chain_latest(c);
    fused_columns(q, f);
    for (int i = first; i < c->nversions; i++)
        for (int j = 0; j < c->versions[i].nsteps; j++) {
            const struct lazy_step *st = &c->versions[i].steps[j];
            if (n > 0 && !joins(st, g, n)) {
                flush(q, d, f, g, gate, kid, n, 0);
                n = 0;
            }
            /* version base + i: documents at a later version skip its steps */
            snprintf(gates[n], sizeof(gates[n]), "%s <= %d", f->direct ? d->version : "sv",
                     c->base + i);
            gate[n] = c->base + i < latest - 1 ? gates[n] : NULL;
            kid[n] = st->op == LAZY_OP_MOVE ? ++kids : 0;
            g[n++] = st;
        }
    flush(q, d, f, g, gate, kid, n, latest);
}

/* The plan's text into q and what it ends with into f: with stages (s0 the range's
 * eligible rows), or directly over the table's rows. */
static void plan_text(struct lazy_sql *q, const struct lazy_sql_dialect *d,
                      const struct lazy_chain *c, const char *table, int first, struct fused *f)
{
    int from = c->base + first, latest = lazy_chain_latest(c);
    if (!f->direct) {
        lazy_sql_add(q, "WITH s0 AS (SELECT id, rev, %s AS sv, doc AS d, %s AS ok", d->version,
                     d->yes);
        for (int j = 1; j <= f->nkids; j++)
            lazy_sql_add(q, ", %s AS k%d", d->no_doc, j);
        lazy_sql_add(q, " FROM \"%s\" WHERE ", table);
        d->eligible(q, from, latest);
        lazy_sql_add(q, ")");
    }
    plan_stages(q, d, c, first, f);
}

static void fused_free(struct fused *f)
{
    for (int j = 0; f->kids && j < f->nkids; j++)
        free(f->kids[j]);
    free(f->kids);
    free(f->doc);
    free(f->ok);
    f->kids = NULL;
    f->doc = f->ok = NULL;
}

int lazy_plan_build(struct lazy_plan *pl, const struct lazy_chain *c, const char *table,
                    const struct lazy_sql_dialect *d, struct err *e)
{
    memset(pl, 0, sizeof(*pl));
    int first = tail_start(c, table, d), nkids = 0, rc = -1;
    pl->from = c->base + first;
    if (pl->from == lazy_chain_latest(c))
        return 0;
    for (int i = first; i < c->nversions; i++)
        for (int j = 0; j < c->versions[i].nsteps; j++)
            nkids += c->versions[i].steps[j].op == LAZY_OP_MOVE;
    struct lazy_sql q = {0};
    struct fused f = {.nkids = nkids, .d = d};
    for (int direct = 0; direct < 2; direct++) {
        lazy_sql_free(&q);
        fused_free(&f);
        f = (struct fused){.nkids = nkids, .d = d, .direct = direct};
        if (!(f.kids = calloc((size_t)nkids + 1, sizeof(*f.kids))))
            break;
        plan_text(&q, d, c, table, first, &f);
        /* without a stage, one UPDATE over the table's rows does (no join) */
        if (q.oom || f.stage > 0 || (nkids && !d->direct_kids) || direct)
            break;
    }
    struct lazy_plan_tail t = {f.direct ? -1 : f.stage, f.doc, f.ok, f.kids, f.nkids};
    if (!q.oom && f.kids)
        rc = d->finish(pl, &q, &t, table, c);
    lazy_sql_free(&q);
    fused_free(&f);
    if (rc < 0) {
        lazy_plan_free(pl);
        return err_set(e, "cannot compile the chain '%s' to SQL: out of memory", c->name);
    }
    return 0;
}

char *lazy_sql_stale(const struct lazy_sql_dialect *d, const char *table, int latest, int ranged)
{
    struct lazy_sql q = {0};
    lazy_sql_add(&q, "SELECT id, %s, rev FROM \"%s\" WHERE id > %c1 AND ", d->doc_text, table,
                 d->param);
    if (ranged)
        lazy_sql_add(&q, "id <= %c2 AND ", d->param);
    lazy_sql_add(&q, "NOT ");
    d->current(&q, latest);
    lazy_sql_add(&q, " ORDER BY id");
    if (!ranged)
        lazy_sql_add(&q, " LIMIT %c2", d->param);
    if (q.oom)
        lazy_sql_free(&q);
    return q.text;
}
