/* The chain file: parses and checks the list of versions and their steps, refusing a
 * gap, an unknown step or option, or a bad field with "FILE:LINE: cause". */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lazy/lazy_int.h"

/* Parsing context: the text (for line lookups) and the file name for messages. */
struct pctx {
    const char *text;
    size_t len;
    const char *name;
    const struct lazy_custom *customs;
    struct err *e;
};

/* Fails with "NAME:LINE: message", the line being that of the value at `path` (or of
 * the nearest enclosing value that can be found). */
static int perr(struct pctx *p, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int perr(struct pctx *p, const char *path, const char *fmt, ...)
{
    char buf[ERR_MSG_MAX];
    char pre[256];
    snprintf(pre, sizeof(pre), "%s", path);
    int line = 0;
    for (;;) {
        line = lazy_json_line(p->text, p->len, pre);
        char *slash = strrchr(pre, '/');
        if (line > 0 || !*pre)
            break;
        if (slash)
            *slash = 0;
        else
            pre[0] = 0;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return err_set(p->e, "%s:%d: %s", p->name, line > 0 ? line : 1, buf);
}

static const char *const op_names[] = {"add", "rename", "remove", "copy", "move", "custom"};
/* Options each step accepts besides "step" (a NULL-separated list per op). */
static const char *const op_options[][6] = {
    {"field", "default", NULL},
    {"from", "to", NULL},
    {"field", "fields", NULL},
    {"from", "to", NULL},
    {"fields", "to", "link", "version", NULL},
    {"name", NULL},
};

int lazy_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > LAZY_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                 (i > 0 && c >= '0' && c <= '9');
        if (!ok)
            return 0;
    }
    return 1;
}

static void path_free(struct lazy_path *p)
{
    for (int i = 0; i < p->depth; i++)
        free(p->seg[i]);
    p->depth = 0;
}

/* Splits "a.b.c" into a path; refuses empty segments and the managed `_version`. */
static int path_parse(struct pctx *p, const char *where, json_t *v, const char *what,
                      struct lazy_path *out)
{
    if (!json_is_string(v))
        return perr(p, where, "'%s' must be a field name (a string)", what);
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (len == 0 || len > 256 || strlen(s) != len)
        return perr(p, where, "'%s' must be a field name of 1 to 256 characters", what);
    out->depth = 0;
    const char *seg = s;
    for (;;) {
        const char *dot = strchr(seg, '.');
        size_t n = dot ? (size_t)(dot - seg) : strlen(seg);
        if (n == 0) {
            path_free(out);
            return perr(p, where, "field '%s' has an empty part", s);
        }
        if (out->depth == LAZY_PATH_MAX_DEPTH) {
            path_free(out);
            return perr(p, where, "field '%s' is nested deeper than %d", s, LAZY_PATH_MAX_DEPTH);
        }
        out->seg[out->depth++] = strndup(seg, n);
        if (!dot)
            break;
        seg = dot + 1;
    }
    if (strcmp(out->seg[0], "_version") == 0) {
        path_free(out);
        return perr(p, where, "field '_version' is managed by the chain and cannot be changed");
    }
    return 0;
}

static int paths_parse(struct pctx *p, const char *where, json_t *v, const char *what,
                       struct lazy_step *st)
{
    if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > 1000)
        return perr(p, where, "'%s' must be a non-empty list of field names", what);
    st->fields = calloc(json_array_size(v), sizeof(*st->fields));
    if (!st->fields)
        return err_set(p->e, "out of memory");
    size_t i;
    json_t *f;
    json_array_foreach(v, i, f)
    {
        char sub[256];
        snprintf(sub, sizeof(sub), "%s/%zu", where, i);
        if (path_parse(p, sub, f, what, &st->fields[st->nfields]) < 0)
            return -1;
        st->nfields++;
    }
    return 0;
}

static void step_free(struct lazy_step *st)
{
    path_free(&st->from);
    path_free(&st->to);
    for (int i = 0; i < st->nfields; i++)
        path_free(&st->fields[i]);
    free(st->fields);
    json_decref(st->value);
    free(st->collection);
    free(st->link);
}

static int require(struct pctx *p, const char *where, json_t *obj, const char *key, const char *op,
                   json_t **out)
{
    *out = json_object_get(obj, key);
    if (!*out)
        return perr(p, where, "step '%s' needs '%s'", op, key);
    return 0;
}

/* The step's name (its op), or -1 with the message written. */
static int step_op(struct pctx *p, const char *where, json_t *js)
{
    if (!json_is_object(js))
        return perr(p, where, "a step must be an object like {\"step\": \"add\", ...}");
    json_t *name = json_object_get(js, "step");
    if (!name)
        return perr(p, where,
                    "step has no 'step' key (one of: add, rename, remove, copy, "
                    "move, custom)");
    if (!json_is_string(name))
        return perr(p, where, "'step' must be a string");
    for (int i = 0; i < 6; i++)
        if (strcmp(json_string_value(name), op_names[i]) == 0)
            return i;
    char at[300];
    snprintf(at, sizeof(at), "%s/step", where);
    return perr(p, at,
                "step '%.64s' is unknown (known: add, rename, remove, copy, move, "
                "custom)",
                json_string_value(name));
}

/* Refuses an option the step does not take, naming those it does. */
static int options_known(struct pctx *p, const char *where, json_t *js, int op)
{
    const char *key;
    json_t *val;
    json_object_foreach(js, key, val)
    {
        if (strcmp(key, "step") == 0)
            continue;
        int known = 0;
        for (int i = 0; op_options[op][i]; i++)
            if (strcmp(op_options[op][i], key) == 0)
                known = 1;
        if (known)
            continue;
        char opts[128] = "", at[300];
        for (int i = 0; op_options[op][i]; i++)
            snprintf(opts + strlen(opts), sizeof(opts) - strlen(opts), "%s%s", i ? ", " : "",
                     op_options[op][i]);
        snprintf(at, sizeof(at), "%s/%s", where, key);
        return perr(p, at, "step '%s' has no option '%.64s' (options: %s)", op_names[op], key,
                    opts);
    }
    return 0;
}

/* The path option `key` that step `op` requires. */
static int path_option(struct pctx *p, const char *where, json_t *js, int op, const char *key,
                       struct lazy_path *out)
{
    json_t *v;
    char w[300];
    if (require(p, where, js, key, op_names[op], &v) < 0)
        return -1;
    snprintf(w, sizeof(w), "%s/%s", where, key);
    return path_parse(p, w, v, key, out);
}

static int move_parse(struct pctx *p, const char *where, json_t *js, struct lazy_step *st,
                      const char **targets, int ntargets)
{
    json_t *v;
    char w[300];
    if (require(p, where, js, "fields", "move", &v) < 0)
        return -1;
    snprintf(w, sizeof(w), "%s/fields", where);
    if (paths_parse(p, w, v, "fields", st) < 0)
        return -1;
    if (require(p, where, js, "to", "move", &v) < 0)
        return -1;
    snprintf(w, sizeof(w), "%s/to", where);
    if (!json_is_string(v) || !lazy_name_ok(json_string_value(v)))
        return perr(p, w,
                    "'to' must name a collection: letters, digits and '_', at most "
                    "%d characters",
                    LAZY_NAME_MAX);
    for (int i = 0; i < ntargets; i++)
        if (strcmp(targets[i], json_string_value(v)) == 0)
            return perr(p, w, "collection '%s' is already the target of another move", targets[i]);
    st->collection = strdup(json_string_value(v));
    v = json_object_get(js, "link");
    snprintf(w, sizeof(w), "%s/link", where);
    if (v && (!json_is_string(v) || json_string_length(v) == 0 ||
              strchr(json_string_value(v), '.') || strcmp(json_string_value(v), "_version") == 0))
        return perr(p, w, "'link' must be a top-level field name other than '_version'");
    st->link = strdup(v ? json_string_value(v) : "parent_id");
    v = json_object_get(js, "version");
    snprintf(w, sizeof(w), "%s/version", where);
    if (v && (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1000000))
        return perr(p, w, "'version' must be an integer from 0 to 1000000");
    st->child_version = v ? (int)json_integer_value(v) : 1;
    for (int i = 0; i < st->nfields; i++)
        if (strcmp(st->fields[i].seg[0], st->link) == 0)
            return perr(p, where, "field '%s' is also the 'link' of the moved document", st->link);
    return 0;
}

static int remove_parse(struct pctx *p, const char *where, json_t *js, struct lazy_step *st)
{
    json_t *one = json_object_get(js, "field"), *many = json_object_get(js, "fields");
    char w[300];
    if (!one == !many)
        return perr(p, where, "step 'remove' needs either 'field' or 'fields'");
    if (many) {
        snprintf(w, sizeof(w), "%s/fields", where);
        return paths_parse(p, w, many, "fields", st);
    }
    st->fields = calloc(1, sizeof(*st->fields));
    if (!st->fields)
        return err_set(p->e, "out of memory");
    snprintf(w, sizeof(w), "%s/field", where);
    if (path_parse(p, w, one, "field", &st->fields[0]) < 0)
        return -1;
    st->nfields = 1;
    return 0;
}

static int custom_parse(struct pctx *p, const char *where, json_t *js, struct lazy_step *st)
{
    json_t *v;
    char w[300];
    if (require(p, where, js, "name", "custom", &v) < 0)
        return -1;
    snprintf(w, sizeof(w), "%s/name", where);
    if (!json_is_string(v))
        return perr(p, w, "'name' must be a string");
    for (const struct lazy_custom *c = p->customs; c && c->name; c++)
        if (strcmp(c->name, json_string_value(v)) == 0)
            st->custom = c;
    if (!st->custom)
        return perr(p, w, "custom step '%.64s' has no registered callback", json_string_value(v));
    return 0;
}

static int step_parse(struct pctx *p, const char *where, json_t *js, struct lazy_step *st,
                      const char **targets, int ntargets)
{
    int op = step_op(p, where, js);
    if (op < 0 || options_known(p, where, js, op) < 0)
        return -1;
    st->op = (enum lazy_op)op;
    json_t *v;
    switch (st->op) {
    case LAZY_OP_ADD:
        if (path_option(p, where, js, op, "field", &st->from) < 0 ||
            require(p, where, js, "default", "add", &v) < 0)
            return -1;
        st->value = json_deep_copy(v);
        return 0;
    case LAZY_OP_RENAME:
    case LAZY_OP_COPY:
        return path_option(p, where, js, op, "from", &st->from) < 0 ||
                       path_option(p, where, js, op, "to", &st->to) < 0
                   ? -1
                   : 0;
    case LAZY_OP_REMOVE:
        return remove_parse(p, where, js, st);
    case LAZY_OP_MOVE:
        return move_parse(p, where, js, st, targets, ntargets);
    case LAZY_OP_CUSTOM:
        return custom_parse(p, where, js, st);
    }
    return 0;
}

void lazy_chain_free(struct lazy_chain *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->nversions; i++) {
        for (int j = 0; j < c->versions[i].nsteps; j++)
            step_free(&c->versions[i].steps[j]);
        free(c->versions[i].steps);
    }
    free(c->versions);
    free(c->name);
    free(c);
}

/* The move steps' target collections seen so far (each may be the target of one). */
struct targets {
    const char *name[64];
    int n;
};

/* Version entry i (`where` is "versions/I"), appended to c. */
static int version_parse(struct pctx *p, const char *where, json_t *jv, size_t i,
                         struct lazy_chain *c, struct targets *t)
{
    const char *key;
    json_t *val;
    char at[128];
    if (!json_is_object(jv))
        return perr(p, where,
                    "a version must be an object like {\"version\": 2, \"steps\": [...]}");
    json_object_foreach(jv, key, val)
    {
        if (strcmp(key, "version") && strcmp(key, "steps")) {
            snprintf(at, sizeof(at), "%s/%s", where, key);
            return perr(p, at, "unknown key '%.64s' in a version (keys: version, steps)", key);
        }
    }
    json_t *num = json_object_get(jv, "version");
    int expect = c->base + 1 + (int)i, prev = expect - 1;
    if (!json_is_integer(num))
        return perr(p, where, "version needs an integer 'version' (expected %d)", expect);
    json_int_t n = json_integer_value(num);
    snprintf(at, sizeof(at), "%s/version", where);
    if (n > expect)
        return perr(p, at, "version %lld follows version %d: gap, version %d is missing",
                    (long long)n, prev, expect);
    if (n < expect)
        return perr(p, at, "version %lld follows version %d: versions must go up by one",
                    (long long)n, prev);
    struct lazy_version *v = &c->versions[c->nversions++];
    v->version = expect;
    v->line = lazy_json_line(p->text, p->len, where);
    json_t *steps = json_object_get(jv, "steps");
    snprintf(at, sizeof(at), "%s/steps", where);
    if (!steps)
        return perr(p, where, "version %d has no 'steps' list", expect);
    if (!json_is_array(steps) || json_array_size(steps) > LAZY_MAX_STEPS)
        return perr(p, at, "'steps' must be a list of at most %d steps", LAZY_MAX_STEPS);
    if (!(v->steps = calloc(json_array_size(steps) + 1, sizeof(*v->steps))))
        return err_set(p->e, "out of memory");
    size_t j;
    json_t *js;
    json_array_foreach(steps, j, js)
    {
        char sw[128];
        snprintf(sw, sizeof(sw), "%s/steps/%zu", where, j);
        struct lazy_step *st = &v->steps[v->nsteps++];
        st->line = lazy_json_line(p->text, p->len, sw);
        if (step_parse(p, sw, js, st, t->name, t->n) < 0)
            return -1;
        if (st->op == LAZY_OP_MOVE) {
            if (t->n == 64)
                return perr(p, sw, "more than 64 move steps");
            t->name[t->n++] = st->collection;
        }
        c->nsteps++;
    }
    return 0;
}

static int chain_build(struct pctx *p, json_t *root, struct lazy_chain *c)
{
    if (!json_is_object(root))
        return perr(p, "", "a chain must be a JSON object with a 'versions' list");
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val)
    {
        if (strcmp(key, "collection") && strcmp(key, "base") && strcmp(key, "versions"))
            return perr(p, key, "unknown key '%.64s' (keys: collection, base, versions)", key);
    }
    json_t *base = json_object_get(root, "base");
    if (base && (!json_is_integer(base) || json_integer_value(base) < 0 ||
                 json_integer_value(base) > 1000000))
        return perr(p, "base", "'base' must be an integer from 0 to 1000000");
    c->base = base ? (int)json_integer_value(base) : 1;
    json_t *coll = json_object_get(root, "collection");
    if (coll && !json_is_string(coll))
        return perr(p, "collection", "'collection' must be a string");
    json_t *vs = json_object_get(root, "versions");
    if (!vs)
        return perr(p, "", "chain has no 'versions' list");
    if (!json_is_array(vs))
        return perr(p, "versions", "'versions' must be a list");
    if (json_array_size(vs) > LAZY_MAX_VERSIONS)
        return perr(p, "versions", "more than %d versions", LAZY_MAX_VERSIONS);
    c->versions = calloc(json_array_size(vs) + 1, sizeof(*c->versions));
    if (!c->versions)
        return err_set(p->e, "out of memory");
    struct targets t = {{0}, 0};
    size_t i;
    json_t *jv;
    json_array_foreach(vs, i, jv)
    {
        char where[64];
        snprintf(where, sizeof(where), "versions/%zu", i);
        if (version_parse(p, where, jv, i, c, &t) < 0)
            return -1;
    }
    return 0;
}

int lazy_chain_parse(const char *text, size_t len, const char *name,
                     const struct lazy_custom *customs, struct lazy_chain **out,
                     struct lazy_error *le)
{
    struct err e = {{0}};
    struct pctx p = {text, len, name ? name : "chain", customs, &e};
    *out = NULL;
    struct lazy_chain *c = NULL;
    json_error_t je;
    json_t *root = NULL;
    int rc = -1;
    if (len > LAZY_CHAIN_MAX_BYTES) {
        err_set(&e, "%s: chain is larger than %u bytes", p.name, LAZY_CHAIN_MAX_BYTES);
        goto out;
    }
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        err_set(&e, "%s:%d: %s", p.name, je.line > 0 ? je.line : 1, je.text);
        goto out;
    }
    c = calloc(1, sizeof(*c));
    if (!c || !(c->name = strdup(p.name))) {
        err_set(&e, "out of memory");
        goto out;
    }
    if (chain_build(&p, root, c) < 0)
        goto out;
    *out = c;
    c = NULL;
    rc = 0;
out:
    json_decref(root);
    lazy_chain_free(c);
    if (rc < 0)
        lazy_error_from(le, &e);
    return rc;
}

int lazy_chain_load(const char *path, const struct lazy_custom *customs, struct lazy_chain **out,
                    struct lazy_error *le)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        struct err e;
        err_errno(&e, errno, "cannot open chain '%s'", path);
        lazy_error_from(le, &e);
        return -1;
    }
    size_t cap = LAZY_CHAIN_MAX_BYTES + 1;
    char *buf = malloc(cap);
    size_t n = buf ? fread(buf, 1, cap, f) : 0;
    int bad = !buf || ferror(f);
    fclose(f);
    if (bad || n == cap) {
        if (le)
            snprintf(le->msg, sizeof(le->msg), "cannot read chain '%s': %s", path,
                     bad ? "read error" : "larger than 1 MiB");
        free(buf);
        return -1;
    }
    int rc = lazy_chain_parse(buf, n, path, customs, out, le);
    free(buf);
    return rc;
}

int lazy_chain_base(const struct lazy_chain *c)
{
    return c->base;
}
int lazy_chain_latest(const struct lazy_chain *c)
{
    return c->base + c->nversions;
}
size_t lazy_chain_steps(const struct lazy_chain *c)
{
    return c->nsteps;
}
