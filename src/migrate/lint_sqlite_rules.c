/* The SQLite lint rules: each a small function over what SQLite said of one statement
 * (the authorizer's calls while preparing it, and the schema of the in-memory copy
 * before and after running it), and the table at the end giving each its name, hazard
 * and safe recipe. */
#include "migrate/lint_sqlite_rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/str.h"

static char **table_names(sqlite3 *db, int *n)
{
    sqlite3_stmt *st = NULL;
    char **v = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type = 'table'", -1, &st,
                           NULL) != SQLITE_OK)
        return NULL;
    while (sqlite3_step(st) == SQLITE_ROW) {
        char **nv = realloc(v, (size_t)(*n + 1) * sizeof(*v));
        if (!nv)
            break;
        v = nv;
        v[*n] = strdup((const char *)sqlite3_column_text(st, 0));
        if (v[*n])
            (*n)++;
    }
    sqlite3_finalize(st);
    return v;
}

static struct sq_col *columns(sqlite3 *db, const char *table, int *n)
{
    char *sql = sqlite3_mprintf("SELECT name, \"notnull\", dflt_value FROM pragma_table_info(%Q) "
                                "ORDER BY cid",
                                table);
    sqlite3_stmt *st = NULL;
    struct sq_col *v = NULL;
    *n = 0;
    if (sql && sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK)
        while (sqlite3_step(st) == SQLITE_ROW) {
            struct sq_col *nv = realloc(v, (size_t)(*n + 1) * sizeof(*v));
            if (!nv)
                break;
            v = nv;
            const unsigned char *name = sqlite3_column_text(st, 0), *d = sqlite3_column_text(st, 2);
            v[*n].name = strdup(name ? (const char *)name : "");
            v[*n].dflt = d ? strdup((const char *)d) : NULL;
            v[*n].notnull = sqlite3_column_int(st, 1);
            (*n)++;
        }
    sqlite3_finalize(st);
    sqlite3_free(sql);
    return v;
}

static void columns_free(struct sq_col *v, int n)
{
    for (int i = 0; i < n; i++) {
        free(v[i].name);
        free(v[i].dflt);
    }
    free(v);
}

void lint_sqlite_before(struct sq_stmt *s)
{
    for (int i = 0; i < s->q->nacts && !s->altered[0]; i++)
        if (s->q->acts[i].code == SQLITE_ALTER_TABLE)
            snprintf(s->altered, sizeof(s->altered), "%s", s->q->acts[i].b);
    s->tables_before = table_names(s->q->db, &s->ntables_before);
    if (s->altered[0])
        s->before = columns(s->q->db, s->altered, &s->nbefore);
}

void lint_sqlite_after(struct sq_stmt *s)
{
    if (!s->altered[0])
        return;
    int n;
    char **now = table_names(s->q->db, &n);
    int still = 0;
    for (int i = 0; i < n; i++)
        still |= strcmp(now[i], s->altered) == 0;
    for (int i = 0; i < n && !still && !s->renamed_to[0]; i++) {
        int seen = 0;
        for (int k = 0; k < s->ntables_before; k++)
            seen |= strcmp(now[i], s->tables_before[k]) == 0;
        if (!seen)
            snprintf(s->renamed_to, sizeof(s->renamed_to), "%s", now[i]);
    }
    str_list_free(now, n);
    if (still)
        s->after = columns(s->q->db, s->altered, &s->nafter);
}

void lint_sqlite_stmt_free(struct sq_stmt *s)
{
    columns_free(s->before, s->nbefore);
    columns_free(s->after, s->nafter);
    str_list_free(s->tables_before, s->ntables_before);
    s->before = s->after = NULL;
    s->tables_before = NULL;
}

void lint_sqlite_track(const struct sq_stmt *s)
{
    static const struct {
        int code;
        const char *kind;
    } creates[] = {{SQLITE_CREATE_TABLE, "table"},
                   {SQLITE_CREATE_INDEX, "index"},
                   {SQLITE_CREATE_VIEW, "view"},
                   {SQLITE_CREATE_TRIGGER, "trigger"}};
    struct lint_file *f = s->f;
    struct sq *q = s->q;
    for (int i = 0; i < q->nacts; i++) {
        if (q->acts[i].code == SQLITE_CREATE_TABLE)
            lint_names_add(&f->created, NULL, q->acts[i].a);
        if (q->acts[i].code == SQLITE_DROP_TABLE)
            lint_names_add(&q->dropped, NULL, q->acts[i].a);
        for (size_t k = 0; k < sizeof(creates) / sizeof(creates[0]); k++)
            if (q->acts[i].code == creates[k].code)
                lint_names_add(&q->mine, creates[k].kind, q->acts[i].a);
    }
    if (s->after && s->nafter == s->nbefore + 1) {
        char key[2 * SQ_NAME_MAX + 2];
        snprintf(key, sizeof(key), "%s.%s", s->altered, s->after[s->nafter - 1].name);
        lint_names_add(&q->mine, "column", key);
    }
    if (s->renamed_to[0] && lint_table_is_new(f, NULL, s->altered))
        lint_names_add(&f->created, NULL, s->renamed_to);
}

static int is_new(const struct sq_stmt *s, const char *table)
{
    return lint_table_is_new(s->f, NULL, table);
}

static void transaction_in_section(const struct sq_stmt *s, const struct lint_rule *r)
{
    for (int i = 0; i < s->q->nacts; i++) {
        const struct sq_act *a = &s->q->acts[i];
        if (a->code == SQLITE_TRANSACTION)
            lint_hit(s->f, r, s->line, NULL, "%s", a->a);
        else if (a->code == SQLITE_SAVEPOINT)
            lint_hit(s->f, r, s->line, NULL, "SAVEPOINT %s (%s)", a->b, a->a);
    }
}

static void outside_transaction_only(const struct sq_stmt *s, const struct lint_rule *r)
{
    if (s->vacuum && !s->f->no_tx)
        lint_hit(s->f, r, s->line, NULL, "VACUUM");
}

/* The column of `before` missing from `after`, or NULL. */
static const char *gone(const struct sq_col *before, int nb, const struct sq_col *after, int na)
{
    for (int i = 0; i < nb; i++) {
        int found = 0;
        for (int k = 0; k < na && !found; k++)
            found = strcmp(before[i].name, after[k].name) == 0;
        if (!found)
            return before[i].name;
    }
    return NULL;
}

static void drop_column_in_expand(const struct sq_stmt *s, const struct lint_rule *r)
{
    const char *col = s->after && s->nafter < s->nbefore
                          ? gone(s->before, s->nbefore, s->after, s->nafter)
                          : NULL;
    if (col && lint_in_expand(s->f) && !is_new(s, s->altered))
        lint_hit(s->f, r, s->line, NULL, "DROP COLUMN %s of %s", col, s->altered);
}

static void drop_in_expand(const struct sq_stmt *s, const struct lint_rule *r, int code,
                           const char *what)
{
    for (int i = 0; lint_in_expand(s->f) && i < s->q->nacts; i++)
        if (s->q->acts[i].code == code && !is_new(s, s->q->acts[i].a))
            lint_hit(s->f, r, s->line, NULL, "%s %s", what, s->q->acts[i].a);
}

static void drop_table_in_expand(const struct sq_stmt *s, const struct lint_rule *r)
{
    drop_in_expand(s, r, SQLITE_DROP_TABLE, "DROP TABLE");
}

static void drop_object_in_expand(const struct sq_stmt *s, const struct lint_rule *r)
{
    drop_in_expand(s, r, SQLITE_DROP_VIEW, "DROP VIEW");
    drop_in_expand(s, r, SQLITE_DROP_TRIGGER, "DROP TRIGGER");
}

static void rename_column(const struct sq_stmt *s, const struct lint_rule *r)
{
    if (!s->after || s->nafter != s->nbefore || is_new(s, s->altered))
        return;
    for (int i = 0; i < s->nbefore; i++)
        if (strcmp(s->before[i].name, s->after[i].name) != 0)
            lint_hit(s->f, r, s->line, NULL, "RENAME COLUMN %s TO %s of %s", s->before[i].name,
                     s->after[i].name, s->altered);
}

static void rename_table(const struct sq_stmt *s, const struct lint_rule *r)
{
    if (s->renamed_to[0] && !lint_names_has(&s->q->dropped, NULL, s->renamed_to) &&
        !is_new(s, s->altered))
        lint_hit(s->f, r, s->line, NULL, "RENAME TABLE %s TO %s", s->altered, s->renamed_to);
}

static void table_rebuild(const struct sq_stmt *s, const struct lint_rule *r)
{
    if (s->renamed_to[0] && lint_names_has(&s->q->dropped, NULL, s->renamed_to))
        lint_hit(s->f, r, s->line, NULL, "%s renamed to %s, which this section dropped", s->altered,
                 s->renamed_to);
}

/* The column an ALTER TABLE ... ADD COLUMN added, or NULL. */
static const struct sq_col *added(const struct sq_stmt *s)
{
    if (!s->after || s->nafter != s->nbefore + 1 || is_new(s, s->altered))
        return NULL;
    return &s->after[s->nafter - 1];
}

static void add_column_not_null(const struct sq_stmt *s, const struct lint_rule *r)
{
    const struct sq_col *c = added(s);
    if (c && c->notnull && (!c->dflt || strcasecmp(c->dflt, "NULL") == 0))
        lint_hit(s->f, r, s->line, NULL, "ADD COLUMN %s NOT NULL without a DEFAULT on %s", c->name,
                 s->altered);
}

/* Whether SQLite refuses `dflt` as the default of a column added to a table with rows
 * (it must be a constant): asked of SQLite on a scratch table holding one row. */
static int non_constant(sqlite3 *db, const char *dflt)
{
    char *sql = sqlite3_mprintf("CREATE TEMP TABLE _baton_probe (x); INSERT INTO _baton_probe "
                                "VALUES (1); ALTER TABLE _baton_probe ADD COLUMN y DEFAULT (%s)",
                                dflt);
    char *msg = NULL;
    int refused = sql && sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK && msg &&
                  strstr(msg, "non-constant default");
    sqlite3_free(msg);
    sqlite3_free(sql);
    sqlite3_exec(db, "DROP TABLE IF EXISTS temp._baton_probe", NULL, NULL, NULL);
    return refused;
}

static void add_column_non_constant_default(const struct sq_stmt *s, const struct lint_rule *r)
{
    const struct sq_col *c = added(s);
    if (c && c->dflt && non_constant(s->q->db, c->dflt))
        lint_hit(s->f, r, s->line, NULL, "ADD COLUMN %s DEFAULT %s on %s", c->name, c->dflt,
                 s->altered);
}

/* Whether act i names the same table as an earlier act of `code` (reported once). */
static int repeated(const struct sq *q, int i, int code)
{
    for (int k = 0; k < i; k++)
        if (q->acts[k].code == code && strcmp(q->acts[k].a, q->acts[i].a) == 0)
            return 1;
    return 0;
}

/* The tables the statement's program opens for reading (OpenRead on their root page):
 * SQLite's own answer, which the authorizer does not give for INSERT ... SELECT * when
 * SQLite copies the rows directly. Calls fn for each one that is not `except`. */
static void each_read_table(const struct sq_stmt *s, const char *except,
                            void (*fn)(const struct sq_stmt *s, const char *table, void *arg),
                            void *arg)
{
    char *sql = sqlite3_mprintf("EXPLAIN %s", sqlite3_sql(s->st));
    sqlite3_stmt *ex = NULL, *name = NULL;
    if (!sql || sqlite3_prepare_v2(s->q->db, sql, -1, &ex, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->q->db,
                           "SELECT name FROM sqlite_master WHERE type = 'table' AND rootpage = ?",
                           -1, &name, NULL) != SQLITE_OK)
        goto out;
    char seen[8][SQ_NAME_MAX];
    int nseen = 0;
    while (sqlite3_step(ex) == SQLITE_ROW) {
        const char *op = (const char *)sqlite3_column_text(ex, 1);
        if (!op || strcmp(op, "OpenRead") != 0 || sqlite3_column_int(ex, 4) != 0)
            continue;
        sqlite3_reset(name);
        sqlite3_bind_int(name, 1, sqlite3_column_int(ex, 3));
        const char *t =
            sqlite3_step(name) == SQLITE_ROW ? (const char *)sqlite3_column_text(name, 0) : NULL;
        int dup = 0;
        for (int i = 0; t && i < nseen; i++)
            dup |= strcmp(seen[i], t) == 0;
        if (!t || dup || strcmp(t, except) == 0 || nseen == 8)
            continue;
        snprintf(seen[nseen++], SQ_NAME_MAX, "%s", t);
        fn(s, t, arg);
    }
out:
    sqlite3_finalize(ex);
    sqlite3_finalize(name);
    sqlite3_free(sql);
}

static void source_read(const struct sq_stmt *s, const char *table, void *arg)
{
    const struct lint_rule *r = arg;
    char buf[256];
    const char *note;
    if (!lint_table_is_cheap(s->f, NULL, table, &note, buf, sizeof(buf)))
        lint_hit(s->f, r, s->line, note, "INSERT ... SELECT ... FROM %s", table);
}

static void unbatched_update(const struct sq_stmt *s, const struct lint_rule *r)
{
    const struct sq *q = s->q;
    char buf[256];
    const char *note;
    if (s->f->sec == SEC_BACKFILL || s->f->sec == SEC_OPS)
        return;
    int drops = 0;
    for (int i = 0; i < q->nacts; i++)
        drops |= q->acts[i].code == SQLITE_DROP_TABLE || q->acts[i].code == SQLITE_DROP_VIEW;
    for (int i = 0; i < q->nacts; i++) {
        const struct sq_act *a = &q->acts[i];
        if (a->code == SQLITE_INSERT && !repeated(q, i, a->code))
            each_read_table(s, a->a, source_read, (void *)r);
        if ((a->code != SQLITE_UPDATE && (a->code != SQLITE_DELETE || drops)) ||
            repeated(q, i, a->code) ||
            lint_table_is_cheap(s->f, NULL, a->a, &note, buf, sizeof(buf)))
            continue;
        lint_hit(s->f, r, s->line, note, "%s %s",
                 a->code == SQLITE_UPDATE ? "UPDATE" : "DELETE FROM", a->a);
    }
}

struct sq_rule {
    struct lint_rule info;
    void (*check)(const struct sq_stmt *s, const struct lint_rule *r); /* NULL: the reader's */
};

/* The SQLite rules: name, style, hazard, safe recipe, and the function over a statement.
 * The reader (lint_sqlite.c) reports "syntax-error", "unchecked", "statement-fails",
 * "not-idempotent-outside-transaction" and "sqlite-unsupported-alter" itself. */
static const struct sq_rule rules[] = {
    {LINT_RULE_SYNTAX_ERROR, NULL},
    {LINT_RULE_UNCHECKED, NULL},
    {{"statement-fails", 0, "SQLite refuses to run it against the schema it would meet",
      "fix the statement"},
     NULL},
    {{"transaction-in-section", 0,
      "baton runs each section in one transaction with the ledger step that records it; a COMMIT, "
      "ROLLBACK or SAVEPOINT inside breaks that, so a kill can apply part of the section twice",
      "remove it; for VACUUM use a section marked no-transaction ([expand no-transaction])"},
     transaction_in_section},
    {{"outside-transaction-only", 0,
      "SQLite refuses to run it inside a transaction, and each section runs in one",
      "put it in a section marked no-transaction, e.g. [contract no-transaction]"},
     outside_transaction_only},
    {{"not-idempotent-outside-transaction", 0,
      "a statement of a no-transaction section killed before its step is recorded runs again, and "
      "this one then fails",
      "write it with IF NOT EXISTS / IF EXISTS, or move it to a section that runs in a "
      "transaction"},
     NULL},
    {LINT_RULE_DROP_COLUMN, drop_column_in_expand},
    {LINT_RULE_DROP_TABLE, drop_table_in_expand},
    {{"drop-object-in-expand", 0,
      "it removes what the app version still running may use or count on",
      "move it to [contract], which runs once that version is gone"},
     drop_object_in_expand},
    {LINT_RULE_RENAME_COLUMN, rename_column},
    {{"rename-table", 0,
      "the app version still running uses the old name, and every query naming it fails",
      "use 'rename_table OLD NEW' (the table takes the new name and a view with INSTEAD OF "
      "triggers keeps the old one writable until contract)"},
     rename_table},
    {{"sqlite-table-rebuild", 0,
      "the create-copy-drop-rename rebuild holds the database's write lock for the whole copy and "
      "breaks the version that uses the old table",
      "add columns with 'add_column', copy with a [backfill TABLE] section, and drop the old "
      "objects in [contract]"},
     table_rebuild},
    {{"add-column-not-null", 0,
      "SQLite refuses NOT NULL without a DEFAULT on a table with rows, and the app version still "
      "running inserts rows without the column",
      "give it a DEFAULT ('add_column TABLE COL TYPE DEFAULT VALUE'), or add it nullable, "
      "backfill, then 'set_not_null TABLE COL'"},
     add_column_not_null},
    {{"add-column-non-constant-default", 0,
      "SQLite refuses to add a column whose default is CURRENT_TIME, CURRENT_DATE, "
      "CURRENT_TIMESTAMP or an expression to a table with rows",
      "add it without a default and fill it in a [backfill TABLE] section"},
     add_column_non_constant_default},
    {{"unbatched-update", 0,
      "one statement over the whole table holds SQLite's write lock for the whole copy, and every "
      "app write waits",
      "move it to a [backfill TABLE KEY] section with 'WHERE KEY > :lo AND KEY <= :hi' so it runs "
      "in short batches"},
     unbatched_update},
    {{"sqlite-unsupported-alter", 0,
      "SQLite has no ALTER for column types or constraints; doing it by hand takes a table rebuild "
      "that holds the write lock for the whole copy",
      "use 'change_type TABLE COL NEWCOL TYPE', 'add_constraint TABLE NAME CHECK (EXPR)', "
      "'set_not_null TABLE COL' or 'add_unique TABLE NAME COLS'"},
     NULL},
};
#define NRULES (sizeof(rules) / sizeof(rules[0]))

void lint_sqlite_check(const struct sq_stmt *s)
{
    for (size_t i = 0; i < NRULES; i++)
        if (rules[i].check)
            rules[i].check(s, &rules[i].info);
}

int lint_sqlite_rule_count(void)
{
    return (int)NRULES;
}

const struct lint_rule *lint_sqlite_rule_at(int i)
{
    return i >= 0 && i < (int)NRULES ? &rules[i].info : NULL;
}
