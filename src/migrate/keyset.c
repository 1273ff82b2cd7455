/* Keyset pagination of backfills over text, UUID and composite keys: the SQL of each
 * walk step, the substitution of position literals into batch statements, a strict
 * check of the stored literals, and their table `baton_backfill_pos`. */
#include "migrate/keyset.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/str.h"

int keyset_parse(const char *spec, struct keyset *ks, struct err *e)
{
    memset(ks, 0, sizeof(*ks));
    const char *p = spec;
    for (;;) {
        const char *c = strchr(p, ',');
        size_t n = c ? (size_t)(c - p) : strlen(p);
        if (ks->n == KEYSET_COLS_MAX)
            return err_set(e, "key '%s': more than %d columns", spec, KEYSET_COLS_MAX);
        if (n == 0 || n >= MFILE_IDENT_MAX)
            return err_set(e, "key '%s': a column name is empty or too long", spec);
        memcpy(ks->col[ks->n], p, n);
        ks->col[ks->n][n] = 0;
        if (!mfile_ident_ok(ks->col[ks->n]))
            return err_set(e, "key '%s': invalid column name '%s'", spec, ks->col[ks->n]);
        ks->n++;
        if (!c)
            return 0;
        p = c + 1;
    }
}

void keyset_expr(const struct keyset *ks, char *buf, size_t cap)
{
    if (ks->n == 1) {
        snprintf(buf, cap, "%s", ks->col[0]);
        return;
    }
    size_t n = (size_t)snprintf(buf, cap, "(");
    for (int i = 0; i < ks->n && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%s", i ? ", " : "", ks->col[i]);
    if (n < cap)
        snprintf(buf + n, cap - n, ")");
}

/* The expression that prints the key of a row as a literal, typed on PostgreSQL. */
static void literal_expr(char **s, enum database_kind kind, const struct keyset *ks)
{
    if (ks->n > 1)
        str_appendf(s, "'(' || ");
    for (int i = 0; i < ks->n; i++) {
        if (i)
            str_appendf(s, " || ', ' || ");
        if (kind == DATABASE_POSTGRES)
            str_appendf(s, "quote_literal(%s) || '::' || pg_typeof(%s)::text", ks->col[i],
                        ks->col[i]);
        else
            str_appendf(s, "quote(%s)", ks->col[i]);
    }
    if (ks->n > 1)
        str_appendf(s, " || ')'");
}

/* " ORDER BY a, b" or with DESC. */
static void order_by(char **s, const struct keyset *ks, int desc)
{
    str_appendf(s, " ORDER BY ");
    for (int i = 0; i < ks->n; i++)
        str_appendf(s, "%s%s%s", i ? ", " : "", ks->col[i], desc ? " DESC" : "");
}

/* " WHERE a IS NOT NULL AND ...": rows with a NULL in the key are not walked. */
static void not_null(char **s, const struct keyset *ks)
{
    for (int i = 0; i < ks->n; i++)
        str_appendf(s, "%s%s IS NOT NULL", i ? " AND " : " WHERE ", ks->col[i]);
}

char *keyset_next_sql(enum database_kind kind, const char *table, const struct keyset *ks,
                      const char *pos, const char *upto, int size)
{
    char expr[KEYSET_COLS_MAX * (MFILE_IDENT_MAX + 2) + 4];
    keyset_expr(ks, expr, sizeof(expr));
    char *s = strdup("SELECT ");
    literal_expr(&s, kind, ks);
    str_appendf(&s, " FROM (SELECT ");
    for (int i = 0; i < ks->n; i++)
        str_appendf(&s, "%s%s", i ? ", " : "", ks->col[i]);
    str_appendf(&s, " FROM %s", table);
    not_null(&s, ks);
    if (pos)
        str_appendf(&s, " AND %s > %s", expr, pos);
    if (upto)
        str_appendf(&s, " AND %s <= %s", expr, upto);
    order_by(&s, ks, 0);
    str_appendf(&s, " LIMIT %d) b", size);
    order_by(&s, ks, 1);
    str_appendf(&s, " LIMIT 1");
    return s;
}

/* The smallest (or with `last`, the largest) key of `table` as one SQL literal. */
static char *edge_sql(enum database_kind kind, const char *table, const struct keyset *ks, int last)
{
    char *s = strdup("SELECT ");
    literal_expr(&s, kind, ks);
    str_appendf(&s, " FROM %s", table);
    not_null(&s, ks);
    order_by(&s, ks, last);
    str_appendf(&s, " LIMIT 1");
    return s;
}

char *keyset_first_sql(enum database_kind kind, const char *table, const struct keyset *ks)
{
    return edge_sql(kind, table, ks, 0);
}

char *keyset_last_sql(enum database_kind kind, const char *table, const struct keyset *ks)
{
    return edge_sql(kind, table, ks, 1);
}

/* Whether the :lo at `at` in `tmpl` follows a '>' (spaces between allowed). */
static int after_gt(const char *tmpl, const char *at)
{
    const char *p = at;
    while (p > tmpl && (p[-1] == ' ' || p[-1] == '\t' || p[-1] == '\n'))
        p--;
    return p > tmpl && p[-1] == '>' && (p - 1 == tmpl || (p[-2] != '<' && p[-2] != '>'));
}

static int placeholder(const char *p, const char *name)
{
    if (strncmp(p, name, 3) != 0)
        return 0;
    char next = p[3];
    return !(isalnum((unsigned char)next) || next == '_');
}

char *keyset_subst(const char *tmpl, const char *lo, const char *hi, int first, struct err *e)
{
    char *out = strdup("");
    const char *p = tmpl, *from = tmpl;
    while (out && *p) {
        int is_lo = placeholder(p, ":lo"), is_hi = placeholder(p, ":hi");
        if (!is_lo && !is_hi) {
            p++;
            continue;
        }
        if (is_lo && first && !after_gt(tmpl, p)) {
            free(out);
            err_set(e, "the batch statement uses :lo other than in 'KEY > :lo', which a key "
                       "that is not an integer needs");
            return NULL;
        }
        const char *upto = p;
        if (is_lo && first) /* "> :lo" becomes ">= LO" */
            while (upto[-1] != '>')
                upto--;
        str_appendf(&out, "%.*s%s%s", (int)(upto - from), from, is_lo && first ? "= " : "",
                    is_lo ? lo : hi);
        p += 3;
        from = p;
    }
    str_appendf(&out, "%s", from);
    if (!out)
        err_set(e, "out of memory");
    return out;
}

/* Skips one literal at *p; 0 if there is none there. */
static int skip_literal(const char **p)
{
    const char *s = *p;
    if (*s == 'X' || *s == 'x') {
        if (s[1] != '\'')
            return 0;
        s += 2;
        while (isxdigit((unsigned char)*s))
            s++;
        if (*s++ != '\'')
            return 0;
    } else if (*s == '\'') {
        for (s++;; s++) {
            if (!*s)
                return 0;
            if (*s == '\'' && s[1] == '\'')
                s++;
            else if (*s == '\'')
                break;
        }
        s++;
    } else if (*s == '-' || isdigit((unsigned char)*s)) {
        s++;
        while (isdigit((unsigned char)*s) || *s == '.' || *s == 'e' || *s == 'E' ||
               ((*s == '+' || *s == '-') && (s[-1] == 'e' || s[-1] == 'E')))
            s++;
    } else {
        return 0;
    }
    if (s[0] == ':' && s[1] == ':') {
        s += 2;
        const char *t = s;
        while (isalnum((unsigned char)*s) || *s == '_' || *s == ' ' || *s == '.' || *s == '"' ||
               *s == '[' || *s == ']')
            s++;
        if (s == t || s[-1] == ' ')
            return 0;
    }
    *p = s;
    return 1;
}

int keyset_literal_ok(const char *s)
{
    if (!s || strlen(s) >= KEYSET_POS_MAX)
        return 0;
    if (*s != '(')
        return skip_literal(&s) && *s == 0;
    s++;
    for (int i = 0;; i++) {
        if (i && strncmp(s, ", ", 2) != 0)
            return 0;
        if (i)
            s += 2;
        if (!skip_literal(&s))
            return 0;
        if (*s == ')')
            return s[1] == 0;
    }
}

int keyset_is_integer(struct database *db, const char *table, const struct keyset *ks)
{
    char type[128];
    if (ks->n != 1 || db->drv->column_type(db, table, ks->col[0], type, sizeof(type)) < 0)
        return ks->n == 1; /* a column not found yet: the integer walk reports it */
    for (char *c = type; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    return strstr(type, "int") != NULL;
}

int keyset_ensure(struct database *db, struct err *e)
{
    if (database_exec_tx(db,
                         "CREATE TABLE IF NOT EXISTS baton_backfill_pos (id TEXT PRIMARY KEY,"
                         " step INTEGER NOT NULL, pos TEXT NOT NULL)",
                         e) < 0)
        return err_wrap(e, "cannot create the table of backfill positions");
    return 0;
}

/* 'text' with quotes doubled, into buf; -1 if it does not fit. */
static int quote_text(char *buf, size_t cap, const char *s)
{
    size_t n = 0;
    if (cap < 3)
        return -1;
    buf[n++] = '\'';
    for (; *s; s++) {
        if (n + 4 >= cap)
            return -1;
        if (*s == '\'')
            buf[n++] = '\'';
        buf[n++] = *s;
    }
    buf[n++] = '\'';
    buf[n] = 0;
    return 0;
}

int keyset_pos_load(struct database *db, const char *id, int step, char *pos, size_t cap,
                    int *found, struct err *e)
{
    char qid[2 * MFILE_ID_MAX + 4], sql[2 * MFILE_ID_MAX + 128];
    *found = 0;
    if (quote_text(qid, sizeof(qid), id) < 0)
        return err_set(e, "migration id '%s' too long", id);
    snprintf(sql, sizeof(sql), "SELECT pos FROM baton_backfill_pos WHERE id = %s AND step = %d",
             qid, step);
    struct database_rows r;
    if (database_query(db, sql, &r, e) < 0)
        return err_wrap(e, "cannot read the backfill position of '%s'", id);
    const char *v = database_cell(&r, 0, 0);
    int rc = 0;
    if (v && !keyset_literal_ok(v))
        rc =
            err_set(e, "the stored backfill position of '%s' is not a key literal: '%.64s'", id, v);
    else if (v && strlen(v) >= cap)
        rc = err_set(e, "the stored backfill position of '%s' is too long", id);
    else if (v) {
        snprintf(pos, cap, "%s", v);
        *found = 1;
    }
    database_rows_free(&r);
    if (rc < 0)
        db->retryable = 0;
    return rc;
}

int keyset_pos_put(struct database *db, const char *id, int step, const char *pos, struct err *e)
{
    char qid[2 * MFILE_ID_MAX + 4];
    char *qpos = malloc(2 * strlen(pos) + 4);
    if (!qpos || quote_text(qid, sizeof(qid), id) < 0 ||
        quote_text(qpos, 2 * strlen(pos) + 4, pos) < 0) {
        free(qpos);
        return err_set(e, "cannot store the backfill position of '%s': out of memory", id);
    }
    char *sql = NULL;
    int n = asprintf(&sql,
                     "INSERT INTO baton_backfill_pos (id, step, pos) VALUES (%s, %d, %s) ON "
                     "CONFLICT (id) DO UPDATE SET step = excluded.step, pos = excluded.pos",
                     qid, step, qpos);
    free(qpos);
    if (n < 0)
        return err_set(e, "out of memory");
    int rc = database_exec(db, sql, e);
    free(sql);
    return rc;
}
