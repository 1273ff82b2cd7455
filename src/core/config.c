/* INI config files for the verbs, parsed by inih; every error names file and line. */
#include "core/config.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/str.h"

struct parse_state {
    const char *name;
    const char *section;
    const char *const *allowed;
    struct config_args *out;
    char **command; /* words of "command", if given */
    struct err *e;
    int failed;
    int lineno;       /* counted by the readers below: inih is built without line numbers */
    const char *text; /* string input, or */
    FILE *file;       /* file input */
};

/* inih reader callbacks: hand over one line and count it. */
static char *read_line(char *buf, int size, void *user)
{
    struct parse_state *st = user;
    if (st->file) {
        if (!fgets(buf, size, st->file))
            return NULL;
    } else {
        if (!*st->text)
            return NULL;
        int n = 0;
        while (n < size - 1 && st->text[n] && st->text[n] != '\n')
            n++;
        if (n < size - 1 && st->text[n] == '\n')
            n++;
        memcpy(buf, st->text, (size_t)n);
        buf[n] = 0;
        st->text += n;
    }
    st->lineno++;
    return buf;
}

static int args_push(struct config_args *a, const char *s)
{
    char **v = realloc(a->argv, (size_t)(a->argc + 2) * sizeof(*v));
    if (!v)
        return -1;
    a->argv = v;
    a->argv[a->argc] = strdup(s);
    if (!a->argv[a->argc])
        return -1;
    a->argv[++a->argc] = NULL;
    return 0;
}

void config_args_free(struct config_args *a)
{
    str_list_free(a->argv, a->argc);
    a->argv = NULL;
    a->argc = 0;
}

static void free_words(char **w)
{
    if (!w)
        return;
    for (char **p = w; *p; p++)
        free(*p);
    free(w);
}

int split_words(const char *line, char ***words, struct err *e)
{
    size_t cap = 8, n = 0, len = strlen(line);
    char **w = calloc(cap, sizeof(*w));
    char *cur = malloc(len + 1);
    if (!w || !cur)
        goto oom;
    const char *p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        size_t k = 0;
        char quote = 0;
        for (; *p; p++) {
            char c = *p;
            if (quote) {
                if (c == quote)
                    quote = 0;
                else if (c == '\\' && quote == '"' && p[1])
                    cur[k++] = *++p;
                else
                    cur[k++] = c;
            } else if (c == '\'' || c == '"') {
                quote = c;
            } else if (c == '\\' && p[1]) {
                cur[k++] = *++p;
            } else if (c == ' ' || c == '\t') {
                break;
            } else {
                cur[k++] = c;
            }
        }
        if (quote) {
            free(cur);
            free_words(w);
            return err_set(e, "unterminated %c quote in '%s'", quote, line);
        }
        cur[k] = 0;
        if (n + 2 > cap) {
            cap *= 2;
            char **nw = realloc(w, cap * sizeof(*nw));
            if (!nw)
                goto oom;
            w = nw;
        }
        w[n] = strdup(cur);
        if (!w[n])
            goto oom;
        w[++n] = NULL;
    }
    free(cur);
    *words = w;
    return (int)n;
oom:
    free(cur);
    free_words(w);
    return err_errno(e, ENOMEM, "cannot split '%s'", line);
}

static int on_entry(void *user, const char *section, const char *key, const char *value)
{
    struct parse_state *st = user;
    int lineno = st->lineno;
    if (st->failed)
        return 0;
    if (section && *section && strcmp(section, st->section) != 0)
        return 1; /* other verbs' sections */
    if (strcmp(key, "command") == 0) {
        free_words(st->command);
        st->command = NULL;
        if (split_words(value, &st->command, st->e) < 0) {
            err_wrap(st->e, "%s:%d", st->name, lineno);
            st->failed = 1;
            return 0;
        }
        return 1;
    }
    int ok = 0;
    for (const char *const *a = st->allowed; *a; a++)
        if (strcmp(*a, key) == 0)
            ok = 1;
    if (!ok) {
        err_set(st->e, "%s:%d: unknown key '%s' in [%s]", st->name, lineno, key, st->section);
        st->failed = 1;
        return 0;
    }
    size_t n = strlen(key) + strlen(value) + 4;
    char *opt = malloc(n);
    if (!opt || (snprintf(opt, n, "--%s=%s", key, value), args_push(st->out, opt) < 0)) {
        free(opt);
        err_errno(st->e, ENOMEM, "%s:%d", st->name, lineno);
        st->failed = 1;
        return 0;
    }
    free(opt);
    return 1;
}

static int finish(struct parse_state *st, int rc)
{
    if (rc != 0 && !st->failed) {
        if (rc < 0)
            err_errno(st->e, errno, "cannot read config file '%s'", st->name);
        else
            err_set(st->e, "%s:%d: malformed line (expected 'key = value' or '[section]')",
                    st->name, rc);
        st->failed = 1;
    }
    if (!st->failed && st->command) {
        if (args_push(st->out, "--") < 0)
            st->failed = 1;
        for (char **w = st->command; !st->failed && *w; w++)
            if (args_push(st->out, *w) < 0)
                st->failed = 1;
        if (st->failed)
            err_errno(st->e, ENOMEM, "%s", st->name);
    }
    free_words(st->command);
    if (st->failed) {
        config_args_free(st->out);
        return -1;
    }
    return 0;
}

int config_parse(const char *text, const char *name, const char *section,
                 const char *const *allowed, struct config_args *out, struct err *e)
{
    memset(out, 0, sizeof(*out));
    struct parse_state st = {
        .name = name, .section = section, .allowed = allowed, .out = out, .e = e};
    if (args_push(out, "baton") < 0)
        return err_errno(e, ENOMEM, "%s", name);
    st.text = text;
    return finish(&st, ini_parse_stream(read_line, &st, on_entry, &st));
}

int config_load(const char *path, const char *section, const char *const *allowed,
                struct config_args *out, struct err *e)
{
    memset(out, 0, sizeof(*out));
    struct parse_state st = {
        .name = path, .section = section, .allowed = allowed, .out = out, .e = e};
    if (args_push(out, "baton") < 0)
        return err_errno(e, ENOMEM, "%s", path);
    FILE *f = fopen(path, "r");
    if (!f) {
        int saved = errno;
        config_args_free(out);
        return err_errno(e, saved, "cannot open config file '%s'", path);
    }
    st.file = f;
    int rc = ini_parse_stream(read_line, &st, on_entry, &st);
    fclose(f);
    return finish(&st, rc);
}

int config_merge(const struct config_args *cfg, int argc, char **argv, struct config_args *out,
                 struct err *e)
{
    memset(out, 0, sizeof(*out));
    int has_dashdash = 0;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--") == 0)
            has_dashdash = 1;
    int fail = args_push(out, argv[0]) < 0;
    int cfg_cmd = cfg->argc;
    for (int i = 1; i < cfg->argc; i++)
        if (strcmp(cfg->argv[i], "--") == 0) {
            cfg_cmd = i;
            break;
        }
    for (int i = 1; !fail && i < cfg_cmd; i++)
        fail = args_push(out, cfg->argv[i]) < 0;
    for (int i = 1; !fail && i < argc; i++)
        fail = args_push(out, argv[i]) < 0;
    if (!has_dashdash)
        for (int i = cfg_cmd; !fail && i < cfg->argc; i++)
            fail = args_push(out, cfg->argv[i]) < 0;
    if (fail) {
        config_args_free(out);
        return err_errno(e, ENOMEM, "cannot merge config and arguments");
    }
    return 0;
}
