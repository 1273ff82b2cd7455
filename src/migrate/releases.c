/* Releases manifest parsing with inih; names and migration ids are validated here so the
 * rest of the engine can print them and compare them without further checks. */
#include "migrate/releases.h"

#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/file.h"

struct releases_state {
    struct releases *r;
    struct err *e;
    const char *name;
    int failed;
};

static int name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= RELEASES_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!(s[i] == '.' || s[i] == '-' || s[i] == '_' || (s[i] >= '0' && s[i] <= '9') ||
              (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
            return 0;
    return 1;
}

static struct release *release_get(struct releases_state *st, const char *section)
{
    struct releases *r = st->r;
    if (r->n && strcmp(r->v[r->n - 1].name, section) == 0)
        return &r->v[r->n - 1];
    if (releases_index(r, section) >= 0) {
        err_set(st->e, "releases '%s': release '%s' is given twice", st->name, section);
        return NULL;
    }
    if (!name_ok(section)) {
        err_set(st->e, "releases '%s': invalid release name '%s'", st->name, section);
        return NULL;
    }
    if (r->n >= RELEASES_MAX) {
        err_set(st->e, "releases '%s': more than %d releases", st->name, RELEASES_MAX);
        return NULL;
    }
    struct release *v = realloc(r->v, (size_t)(r->n + 1) * sizeof(*v));
    if (!v) {
        err_set(st->e, "out of memory");
        return NULL;
    }
    r->v = v;
    struct release *rel = &v[r->n++];
    memset(rel, 0, sizeof(*rel));
    snprintf(rel->name, sizeof(rel->name), "%s", section);
    return rel;
}

static int add_migrations(struct releases_state *st, struct release *rel, const char *value)
{
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", value);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
        if (strlen(tok) >= MFILE_ID_MAX) {
            err_set(st->e, "releases '%s': release '%s': invalid migration id '%s'", st->name,
                    rel->name, tok);
            return 0;
        }
        for (const char *c = tok; *c; c++)
            if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'z') ||
                  (*c >= 'A' && *c <= 'Z') || *c == '_')) {
                err_set(st->e, "releases '%s': release '%s': invalid migration id '%s'", st->name,
                        rel->name, tok);
                return 0;
            }
        if (releases_of_migration(st->r, tok) >= 0) {
            err_set(st->e, "releases '%s': migration '%s' is listed by two releases", st->name,
                    tok);
            return 0;
        }
        if (rel->nmigs >= RELEASES_MIGS_MAX) {
            err_set(st->e, "releases '%s': release '%s' lists more than %d migrations", st->name,
                    rel->name, RELEASES_MIGS_MAX);
            return 0;
        }
        char **v = realloc(rel->migs, (size_t)(rel->nmigs + 1) * sizeof(*v));
        if (!v || !(v[rel->nmigs] = strdup(tok))) {
            if (v)
                rel->migs = v;
            err_set(st->e, "out of memory");
            return 0;
        }
        rel->migs = v;
        rel->nmigs++;
    }
    return 1;
}

static int on_key(void *user, const char *section, const char *key, const char *value)
{
    struct releases_state *st = user;
    if (st->failed)
        return 0;
    if (!section || !*section) {
        err_set(st->e, "releases '%s': key '%s' outside a [RELEASE] section", st->name, key);
        st->failed = 1;
        return 0;
    }
    struct release *rel = release_get(st, section);
    if (!rel) {
        st->failed = 1;
        return 0;
    }
    if (strcmp(key, "migrations") == 0) {
        if (!add_migrations(st, rel, value))
            st->failed = 1;
    } else if (strcmp(key, "checkpoint") == 0) {
        if (strcasecmp(value, "true") == 0 || strcasecmp(value, "yes") == 0 ||
            strcmp(value, "1") == 0)
            rel->checkpoint = 1;
        else if (strcasecmp(value, "false") == 0 || strcasecmp(value, "no") == 0 ||
                 strcmp(value, "0") == 0)
            rel->checkpoint = 0;
        else {
            err_set(st->e, "releases '%s': release '%s': checkpoint must be true or false",
                    st->name, section);
            st->failed = 1;
        }
    } else {
        err_set(st->e,
                "releases '%s': release '%s': unknown key '%s' (known: migrations, "
                "checkpoint)",
                st->name, section, key);
        st->failed = 1;
    }
    return st->failed ? 0 : 1;
}

int releases_parse(const char *text, const char *name, struct releases *out, struct err *e)
{
    memset(out, 0, sizeof(*out));
    struct releases_state st = {.r = out, .e = e, .name = name};
    int rc = ini_parse_string(text, on_key, &st);
    if (st.failed || rc != 0) {
        if (!st.failed)
            err_set(e, "releases '%s': syntax error on line %d", name, rc);
        releases_free(out);
        return -1;
    }
    return 0;
}

int releases_load(const char *path, struct releases *out, struct err *e)
{
    memset(out, 0, sizeof(*out));
    char *text;
    if (file_read(path, "releases manifest", MFILE_MAX_BYTES, FILE_TEXT, &text, NULL, e) < 0)
        return -1;
    int rc = releases_parse(text, path, out, e);
    free(text);
    return rc;
}

void releases_free(struct releases *r)
{
    for (int i = 0; i < r->n; i++) {
        for (int j = 0; j < r->v[i].nmigs; j++)
            free(r->v[i].migs[j]);
        free(r->v[i].migs);
    }
    free(r->v);
    r->v = NULL;
    r->n = 0;
}

int releases_index(const struct releases *r, const char *name)
{
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->v[i].name, name) == 0)
            return i;
    return -1;
}

int releases_of_migration(const struct releases *r, const char *id)
{
    for (int i = 0; i < r->n; i++)
        for (int j = 0; j < r->v[i].nmigs; j++)
            if (strcmp(r->v[i].migs[j], id) == 0)
                return i;
    return -1;
}

const char *releases_last_migration(const struct releases *r, int idx)
{
    const char *last = NULL;
    for (int i = 0; i <= idx && i < r->n; i++)
        for (int j = 0; j < r->v[i].nmigs; j++)
            if (!last || strcmp(r->v[i].migs[j], last) > 0)
                last = r->v[i].migs[j];
    return last;
}
