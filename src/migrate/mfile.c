/* Parser of migration files: a header of declarative operation lines, then raw SQL
 * sections. Comments ('#' or '--') and blank lines are allowed in the header. */
#include "migrate/mfile.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/str.h"

/* The key columns of add_unique / add_primary_key: "a, b" (names only). */
static const char *check_columns(const char *rest);
static const char *check_check(const char *rest);
static const char *check_foreign_key(const char *rest);

static const struct {
    const char *name;
    enum mfile_op_kind kind;
    int idents;                             /* identifiers after the table */
    int rest;                               /* 0 none, 1 optional, 2 required */
    const char *rest_name;                  /* what the rest holds, for "needs ..." */
    const char *(*check)(const char *rest); /* NULL or why the rest is refused */
} op_syntax[] = {
    {"add_column", MFILE_OP_ADD_COLUMN, 1, 2, "a type", NULL},
    {"drop_column", MFILE_OP_DROP_COLUMN, 1, 0, NULL, NULL},
    {"rename_column", MFILE_OP_RENAME_COLUMN, 2, 1, NULL, NULL},
    {"add_index", MFILE_OP_ADD_INDEX, 1, 2, "the indexed columns", NULL},
    {"add_constraint", MFILE_OP_ADD_CONSTRAINT, 1, 2, "CHECK (EXPRESSION)", check_check},
    {"change_type", MFILE_OP_CHANGE_TYPE, 2, 2, "a type", NULL},
    {"key", MFILE_OP_KEY, 1, 0, NULL, NULL},
    {"drop_index", MFILE_OP_DROP_INDEX, 1, 0, NULL, NULL},
    {"add_unique", MFILE_OP_ADD_UNIQUE, 1, 2, "the key columns", check_columns},
    {"add_primary_key", MFILE_OP_ADD_PRIMARY_KEY, 1, 2, "the key columns", check_columns},
    {"add_foreign_key", MFILE_OP_ADD_FOREIGN_KEY, 1, 2, "(COLUMNS) REFERENCES TABLE [(COLUMNS)]",
     check_foreign_key},
    {"reindex", MFILE_OP_REINDEX, 1, 0, NULL, NULL},
    {"set_not_null", MFILE_OP_SET_NOT_NULL, 1, 0, NULL, NULL},
    {"rename_table", MFILE_OP_RENAME_TABLE, 1, 0, NULL, NULL},
};
#define NSYNTAX (sizeof(op_syntax) / sizeof(op_syntax[0]))

const char *mfile_op_name(enum mfile_op_kind k)
{
    for (size_t i = 0; i < NSYNTAX; i++)
        if (op_syntax[i].kind == k)
            return op_syntax[i].name;
    return "?";
}

int mfile_ident_ok(const char *s)
{
    if (!s || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
        return 0;
    size_t n = 0;
    for (; s[n]; n++)
        if (!(isalnum((unsigned char)s[n]) || s[n] == '_'))
            return 0;
    return n < MFILE_IDENT_MAX;
}

/* A cursor over the words of an operation's rest: names, '(' ')' ','. */
struct words {
    const char *p;
    char w[MFILE_IDENT_MAX];
};

/* The next word into c->w; 0 at the end, -1 on a character or name that cannot be. */
static int word_next(struct words *c)
{
    while (*c->p == ' ' || *c->p == '\t')
        c->p++;
    if (!*c->p)
        return 0;
    if (strchr("(),", *c->p)) {
        c->w[0] = *c->p++;
        c->w[1] = 0;
        return 1;
    }
    size_t n = 0;
    while (isalnum((unsigned char)c->p[n]) || c->p[n] == '_')
        n++;
    if (n == 0 || n >= sizeof(c->w))
        return -1;
    memcpy(c->w, c->p, n);
    c->w[n] = 0;
    c->p += n;
    return 1;
}

static int word_is(struct words *c, const char *kw)
{
    return word_next(c) == 1 && strcasecmp(c->w, kw) == 0;
}

/* NAME[, NAME...] up to `close` (0: the end); returns the count, or -1. */
static int word_names(struct words *c, char close)
{
    int n = 0;
    for (;;) {
        if (word_next(c) != 1 || !mfile_ident_ok(c->w))
            return -1;
        n++;
        int r = word_next(c);
        if ((r == 0 && !close) || (r == 1 && c->w[0] == close && close))
            return n;
        if (r != 1 || c->w[0] != ',')
            return -1;
    }
}

static const char *check_columns(const char *rest)
{
    struct words c = {rest, ""};
    return word_names(&c, 0) > 0 ? NULL : "the key columns must be names separated by commas";
}

static const char *check_check(const char *rest)
{
    return strncasecmp(rest, "CHECK", 5) == 0 ? NULL
                                              : "add_constraint supports CHECK (EXPRESSION) only";
}

/* (COLS) REFERENCES TABLE [(COLS)] then ON DELETE|UPDATE ACTION, [NOT] DEFERRABLE,
 * INITIALLY DEFERRED|IMMEDIATE, MATCH FULL|SIMPLE, in any order. */
static const char *check_foreign_key(const char *rest)
{
    static const char *const usage = "add_foreign_key needs (COLUMNS) REFERENCES TABLE "
                                     "[(COLUMNS)] [ON DELETE|UPDATE ACTION] [[NOT] DEFERRABLE]";
    struct words c = {rest, ""};
    if (!word_is(&c, "(") || word_names(&c, ')') < 0 || !word_is(&c, "REFERENCES") ||
        word_next(&c) != 1 || !mfile_ident_ok(c.w))
        return usage;
    int r = word_next(&c);
    if (r == 1 && c.w[0] == '(') {
        if (word_names(&c, ')') < 0)
            return usage;
        r = word_next(&c);
    }
    while (r == 1) {
        if (strcasecmp(c.w, "ON") == 0) {
            if (word_next(&c) != 1 || (strcasecmp(c.w, "DELETE") && strcasecmp(c.w, "UPDATE")) ||
                word_next(&c) != 1)
                return usage;
            if (!strcasecmp(c.w, "SET") || !strcasecmp(c.w, "NO")) {
                const char *want = strcasecmp(c.w, "NO") == 0 ? "ACTION" : NULL;
                if (word_next(&c) != 1 || (want && strcasecmp(c.w, want)) ||
                    (!want && strcasecmp(c.w, "NULL") && strcasecmp(c.w, "DEFAULT")))
                    return usage;
            } else if (strcasecmp(c.w, "CASCADE") && strcasecmp(c.w, "RESTRICT")) {
                return usage;
            }
        } else if (strcasecmp(c.w, "NOT") == 0) {
            if (!word_is(&c, "DEFERRABLE"))
                return usage;
        } else if (strcasecmp(c.w, "INITIALLY") == 0) {
            if (word_next(&c) != 1 || (strcasecmp(c.w, "DEFERRED") && strcasecmp(c.w, "IMMEDIATE")))
                return usage;
        } else if (strcasecmp(c.w, "MATCH") == 0) {
            if (word_next(&c) != 1 || (strcasecmp(c.w, "FULL") && strcasecmp(c.w, "SIMPLE")))
                return usage;
        } else if (strcasecmp(c.w, "DEFERRABLE") != 0) {
            return usage;
        }
        r = word_next(&c);
    }
    return r == 0 ? NULL : usage;
}

void mfile_free(struct mfile *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->nops; i++)
        free(m->ops[i].rest);
    free(m->expand.sql);
    free(m->backfill.sql);
    free(m->contract.sql);
    free(m->abort_.sql);
    free(m);
}

int mfile_key_ok(const char *s)
{
    char part[MFILE_IDENT_MAX];
    if (!s || strlen(s) >= MFILE_IDENT_MAX)
        return 0;
    for (;;) {
        const char *c = strchr(s, ',');
        size_t n = c ? (size_t)(c - s) : strlen(s);
        memcpy(part, s, n);
        part[n] = 0;
        if (!mfile_ident_ok(part))
            return 0;
        if (!c)
            return 1;
        s = c + 1;
    }
}

const char *mfile_key(const struct mfile *m, const char *table)
{
    for (int i = 0; i < m->nops; i++)
        if (m->ops[i].kind == MFILE_OP_KEY && strcmp(m->ops[i].table, table) == 0)
            return m->ops[i].name;
    return "id";
}

/* Splits the next whitespace-separated word off *p into buf; returns 0 if none. */
static int next_word(const char **p, char *buf, size_t cap)
{
    const char *s = *p;
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = 0;
    while (s[n] && s[n] != ' ' && s[n] != '\t')
        n++;
    if (n == 0 || n >= cap) {
        *p = s + n;
        return n == 0 ? 0 : -1;
    }
    memcpy(buf, s, n);
    buf[n] = 0;
    *p = s + n;
    return 1;
}

static char *trim_dup(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        n--;
    return strndup(s, n);
}

static int unknown_op(struct mfile *m, int lineno, const char *word, struct err *e)
{
    char known[512] = "";
    for (size_t i = 0; i < NSYNTAX; i++)
        snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s", i ? ", " : "",
                 op_syntax[i].name);
    return err_set(e,
                   "%s:%d: unknown operation '%s' (known: %s; raw SQL goes in an [expand], "
                   "[backfill TABLE], [contract] or [abort] section)",
                   m->id, lineno, word, known);
}

static int parse_op(struct mfile *m, const char *line, int lineno, struct err *e)
{
    char word[MFILE_IDENT_MAX];
    const char *p = line;
    int w = next_word(&p, word, sizeof(word));
    if (w <= 0)
        return err_set(e, "%s:%d: unknown operation", m->id, lineno);
    size_t k = 0;
    while (k < NSYNTAX && strcmp(op_syntax[k].name, word) != 0)
        k++;
    if (k == NSYNTAX)
        return unknown_op(m, lineno, word, e);
    if (m->nops >= MFILE_OPS_MAX)
        return err_set(e, "%s:%d: more than %d operations", m->id, lineno, MFILE_OPS_MAX);
    struct mfile_op *op = &m->ops[m->nops];
    memset(op, 0, sizeof(*op));
    op->kind = op_syntax[k].kind;
    op->line = lineno;
    char *slots[3] = {op->table, op->name, op->new_column};
    for (int i = 0; i <= op_syntax[k].idents; i++) {
        int r = next_word(&p, slots[i], MFILE_IDENT_MAX);
        if (r == 0)
            return err_set(e, "%s:%d: '%s' needs %d names", m->id, lineno, op_syntax[k].name,
                           op_syntax[k].idents + 1);
        int ok =
            op->kind == MFILE_OP_KEY && i == 1 ? mfile_key_ok(slots[i]) : mfile_ident_ok(slots[i]);
        if (r < 0 || !ok)
            return err_set(e, "%s:%d: '%s': invalid name (letters, digits and '_', up to %d)",
                           m->id, lineno, op_syntax[k].name, MFILE_IDENT_MAX - 1);
    }
    while (*p == ' ' || *p == '\t')
        p++;
    size_t rest_len = strlen(p);
    if (rest_len >= MFILE_REST_MAX)
        return err_set(e, "%s:%d: line too long", m->id, lineno);
    if (op_syntax[k].rest == 0 && rest_len && p[0] != '#')
        return err_set(e, "%s:%d: unexpected text after '%s' operation", m->id, lineno,
                       op_syntax[k].name);
    if (op_syntax[k].rest == 2 && rest_len == 0)
        return err_set(e, "%s:%d: '%s' needs %s", m->id, lineno, op_syntax[k].name,
                       op_syntax[k].rest_name);
    if (strchr(p, ';'))
        return err_set(e, "%s:%d: ';' is not allowed in an operation line", m->id, lineno);
    op->rest = trim_dup(op_syntax[k].rest ? p : "");
    if (!op->rest)
        return err_set(e, "out of memory");
    const char *why = op_syntax[k].check ? op_syntax[k].check(op->rest) : NULL;
    if (why) {
        free(op->rest);
        op->rest = NULL;
        return err_set(e, "%s:%d: %s", m->id, lineno, why);
    }
    m->nops++;
    return 0;
}

/* Recognises a section header line; returns the section or NULL. */
static struct msection *section_header(struct mfile *m, const char *line, int lineno, int *bad,
                                       struct err *e)
{
    *bad = 0;
    if (line[0] != '[')
        return NULL;
    const char *end = strchr(line, ']');
    if (!end)
        return NULL;
    for (const char *t = end + 1; *t; t++)
        if (*t != ' ' && *t != '\t' && *t != '\r')
            return NULL;
    char inner[3 * MFILE_IDENT_MAX];
    size_t n = (size_t)(end - line - 1);
    if (n >= sizeof(inner))
        return NULL;
    memcpy(inner, line + 1, n);
    inner[n] = 0;
    const char *p = inner;
    char word[MFILE_IDENT_MAX];
    if (next_word(&p, word, sizeof(word)) <= 0)
        return NULL;
    struct msection *s = NULL;
    if (strcmp(word, "expand") == 0)
        s = &m->expand;
    else if (strcmp(word, "backfill") == 0)
        s = &m->backfill;
    else if (strcmp(word, "contract") == 0)
        s = &m->contract;
    else if (strcmp(word, "abort") == 0)
        s = &m->abort_;
    else
        return NULL;
    *bad = 1;
    if (s->line) {
        err_set(e, "%s:%d: section [%s] given twice", m->id, lineno, word);
        return NULL;
    }
    if (s != &m->backfill) {
        int r = next_word(&p, word, sizeof(word));
        if (r == 1 && strcmp(word, "no-transaction") == 0)
            s->no_tx = 1;
        else if (r != 0) {
            err_set(e,
                    "%s:%d: unexpected text in section header (only 'no-transaction' may follow "
                    "the section name)",
                    m->id, lineno);
            return NULL;
        }
    }
    if (s == &m->backfill) {
        if (next_word(&p, s->table, sizeof(s->table)) <= 0 || !mfile_ident_ok(s->table)) {
            err_set(e, "%s:%d: [backfill TABLE [KEY]] needs the table its batches walk", m->id,
                    lineno);
            return NULL;
        }
        int r = next_word(&p, s->key, sizeof(s->key));
        if (r == 0)
            strcpy(s->key, "id");
        else if (r < 0 || !mfile_key_ok(s->key)) {
            err_set(e, "%s:%d: invalid key column in [backfill]", m->id, lineno);
            return NULL;
        }
    }
    if (next_word(&p, word, sizeof(word)) != 0) {
        err_set(e, "%s:%d: unexpected text in section header", m->id, lineno);
        return NULL;
    }
    *bad = 0;
    s->line = lineno;
    return s;
}

static int section_finish(struct mfile *m, struct msection *s, const char *start, const char *end,
                          struct err *e)
{
    if (!s)
        return 0;
    s->sql = strndup(start, (size_t)(end - start));
    if (!s->sql)
        return err_set(e, "out of memory");
    if (s == &m->backfill && (!strstr(s->sql, ":lo") || !strstr(s->sql, ":hi")))
        return err_set(e,
                       "%s:%d: [backfill %s] must use :lo and :hi (e.g. WHERE %s > :lo AND %s <= "
                       ":hi) so it runs in batches",
                       m->id, s->line, s->table, s->key, s->key);
    return 0;
}

/* rename_table turns its table into a view at expand, so any other operation of the same
 * migration on that table (or on the new name) would meet the view in a later phase. */
static int check_rename_table(const struct mfile *m, struct err *e)
{
    for (int i = 0; i < m->nops; i++) {
        const struct mfile_op *r = &m->ops[i];
        if (r->kind != MFILE_OP_RENAME_TABLE)
            continue;
        for (int k = 0; k < m->nops; k++)
            if (k != i && m->ops[k].kind != MFILE_OP_KEY &&
                (strcmp(m->ops[k].table, r->table) == 0 || strcmp(m->ops[k].table, r->name) == 0))
                return err_set(e,
                               "%s:%d: '%s' on table '%s' in the migration that renames it: "
                               "after expand the old name is a view; put rename_table in a "
                               "migration of its own",
                               m->id, m->ops[k].line, mfile_op_name(m->ops[k].kind),
                               m->ops[k].table);
    }
    return 0;
}

static uint64_t fnv1a64(const char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

int mfile_parse(const char *text, size_t len, const char *id, struct mfile **out, struct err *e)
{
    *out = NULL;
    if (len > MFILE_MAX_BYTES)
        return err_set(e, "migration '%s' is larger than %d bytes", id, MFILE_MAX_BYTES);
    if (memchr(text, 0, len))
        return err_set(e, "migration '%s' holds a NUL byte", id);
    struct mfile *m = calloc(1, sizeof(*m));
    if (!m)
        return err_set(e, "out of memory");
    snprintf(m->id, sizeof(m->id), "%s", id);
    snprintf(m->checksum, sizeof(m->checksum), "fnv1a64:%016llx",
             (unsigned long long)fnv1a64(text, len));
    struct msection *cur = NULL;
    const char *body = NULL, *p = text, *end = text + len;
    int lineno = 0, rc = 0;
    char line[MFILE_REST_MAX + 64];
    while (p < end && rc == 0) {
        lineno++;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        size_t ll = (size_t)(le - p);
        const char *next = nl ? nl + 1 : end;
        if (ll >= sizeof(line)) {
            if (!cur)
                rc = err_set(e, "%s:%d: line too long", m->id, lineno);
            p = next;
            continue;
        }
        memcpy(line, p, ll);
        line[ll] = 0;
        while (ll && (line[ll - 1] == '\r' || line[ll - 1] == ' ' || line[ll - 1] == '\t'))
            line[--ll] = 0;
        char *l = line;
        while (*l == ' ' || *l == '\t')
            l++;
        int bad = 0;
        struct msection *s = section_header(m, l, lineno, &bad, e);
        if (bad) {
            rc = -1;
        } else if (s) {
            if (cur)
                rc = section_finish(m, cur, body, p, e);
            cur = s;
            body = next;
        } else if (!cur && *l && *l != '#' && strncmp(l, "--", 2) != 0) {
            rc = parse_op(m, l, lineno, e);
        }
        p = next;
    }
    if (rc == 0 && cur)
        rc = section_finish(m, cur, body, end, e);
    if (rc == 0)
        rc = check_rename_table(m, e);
    if (rc < 0) {
        mfile_free(m);
        return -1;
    }
    *out = m;
    return 0;
}

int mfile_load(const char *path, struct mfile **out, struct err *e)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return err_errno(e, errno, "cannot open migration '%s'", path);
    char *buf = malloc(MFILE_MAX_BYTES + 1);
    if (!buf) {
        fclose(f);
        return err_set(e, "out of memory");
    }
    size_t n = fread(buf, 1, MFILE_MAX_BYTES + 1, f);
    int rd_err = ferror(f);
    fclose(f);
    if (rd_err) {
        free(buf);
        return err_set(e, "cannot read migration '%s'", path);
    }
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    char id[MFILE_ID_MAX];
    size_t bl = strlen(base), sl = strlen(MFILE_SUFFIX);
    if (bl <= sl || strcmp(base + bl - sl, MFILE_SUFFIX) != 0 || bl - sl >= sizeof(id)) {
        free(buf);
        return err_set(e, "migration '%s': the name must be NNNN_name%s", path, MFILE_SUFFIX);
    }
    memcpy(id, base, bl - sl);
    id[bl - sl] = 0;
    int rc = mfile_parse(buf, n, id, out, e);
    free(buf);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int mfile_list(const char *dir, char ***paths, int *n, struct err *e)
{
    *paths = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return err_errno(e, errno, "cannot open migrations directory '%s'", dir);
    struct dirent *de;
    int cap = 0;
    size_t sl = strlen(MFILE_SUFFIX);
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l <= sl || strcmp(de->d_name + l - sl, MFILE_SUFFIX) != 0 || de->d_name[0] == '.')
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            char **v = realloc(*paths, (size_t)cap * sizeof(*v));
            if (!v)
                break;
            *paths = v;
        }
        char *full = NULL;
        if (asprintf(&full, "%s/%s", dir, de->d_name) < 0)
            break;
        (*paths)[(*n)++] = full;
    }
    closedir(d);
    if (*n)
        qsort(*paths, (size_t)*n, sizeof(char *), cmp_str);
    return 0;
}

void mfile_list_free(char **paths, int n)
{
    str_list_free(paths, n);
}
