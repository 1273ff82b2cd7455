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

static const struct {
    const char *name;
    enum mop_kind kind;
    int idents; /* identifiers after the table */
    int rest;   /* 0 none, 1 optional, 2 required */
} op_syntax[] = {
    {"add_column", MOP_ADD_COLUMN, 1, 2},
    {"drop_column", MOP_DROP_COLUMN, 1, 0},
    {"rename_column", MOP_RENAME_COLUMN, 2, 1},
    {"add_index", MOP_ADD_INDEX, 1, 2},
    {"add_constraint", MOP_ADD_CONSTRAINT, 1, 2},
    {"change_type", MOP_CHANGE_TYPE, 2, 2},
    {"key", MOP_KEY, 1, 0},
};

const char *mop_name(enum mop_kind k)
{
    for (size_t i = 0; i < sizeof(op_syntax) / sizeof(op_syntax[0]); i++)
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

const char *mfile_key(const struct mfile *m, const char *table)
{
    for (int i = 0; i < m->nops; i++)
        if (m->ops[i].kind == MOP_KEY && strcmp(m->ops[i].table, table) == 0)
            return m->ops[i].a;
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

static int parse_op(struct mfile *m, const char *line, int lineno, struct err *e)
{
    char word[MFILE_IDENT_MAX];
    const char *p = line;
    int w = next_word(&p, word, sizeof(word));
    if (w <= 0)
        return err_set(e, "%s:%d: unknown operation", m->id, lineno);
    size_t k = 0, nsyn = sizeof(op_syntax) / sizeof(op_syntax[0]);
    while (k < nsyn && strcmp(op_syntax[k].name, word) != 0)
        k++;
    if (k == nsyn)
        return err_set(e,
                       "%s:%d: unknown operation '%s' (known: add_column, drop_column, "
                       "rename_column, add_index, add_constraint, change_type, key; raw SQL "
                       "goes in an [expand], [backfill TABLE], [contract] or [abort] section)",
                       m->id, lineno, word);
    if (m->nops >= MFILE_OPS_MAX)
        return err_set(e, "%s:%d: more than %d operations", m->id, lineno, MFILE_OPS_MAX);
    struct mop *op = &m->ops[m->nops];
    memset(op, 0, sizeof(*op));
    op->kind = op_syntax[k].kind;
    op->line = lineno;
    char *slots[3] = {op->table, op->a, op->b};
    for (int i = 0; i <= op_syntax[k].idents; i++) {
        int r = next_word(&p, slots[i], MFILE_IDENT_MAX);
        if (r == 0)
            return err_set(e, "%s:%d: '%s' needs %d names", m->id, lineno, op_syntax[k].name,
                           op_syntax[k].idents + 1);
        if (r < 0 || !mfile_ident_ok(slots[i]))
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
                       op->kind == MOP_ADD_INDEX        ? "the indexed columns"
                       : op->kind == MOP_ADD_CONSTRAINT ? "CHECK (EXPRESSION)"
                                                        : "a type");
    op->rest = trim_dup(op_syntax[k].rest ? p : "");
    if (!op->rest)
        return err_set(e, "out of memory");
    if (op->kind == MOP_ADD_CONSTRAINT && strncasecmp(op->rest, "CHECK", 5) != 0) {
        free(op->rest);
        return err_set(e, "%s:%d: add_constraint supports CHECK (EXPRESSION) only", m->id, lineno);
    }
    if (strchr(op->rest, ';')) {
        free(op->rest);
        return err_set(e, "%s:%d: ';' is not allowed in an operation line", m->id, lineno);
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
    if (s == &m->backfill) {
        if (next_word(&p, s->table, sizeof(s->table)) <= 0 || !mfile_ident_ok(s->table)) {
            err_set(e, "%s:%d: [backfill TABLE [KEY]] needs the table its batches walk", m->id,
                    lineno);
            return NULL;
        }
        int r = next_word(&p, s->key, sizeof(s->key));
        if (r == 0)
            strcpy(s->key, "id");
        else if (r < 0 || !mfile_ident_ok(s->key)) {
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
    for (int i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
}
