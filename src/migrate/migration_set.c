/* Loading the migrations directory and the releases manifest. */
#include "migrate/migration_set.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int migration_set_paths(const struct migrate_opts *o, char ***paths, int *n, struct err *e)
{
    *paths = NULL;
    *n = 0;
    if (!o->dir || !*o->dir)
        return err_set(e, "no migrations directory: use --dir DIR or BATON_MIGRATIONS");
    return mfile_list(o->dir, paths, n, e);
}

int migration_set_load(const struct migrate_opts *o, struct migration_set *s, struct err *e)
{
    memset(s, 0, sizeof(*s));
    char **paths;
    int n;
    if (migration_set_paths(o, &paths, &n, e) < 0)
        return -1;
    s->m = calloc((size_t)(n ? n : 1), sizeof(*s->m));
    if (!s->m) {
        mfile_list_free(paths, n);
        return err_set(e, "out of memory");
    }
    for (int i = 0; i < n; i++) {
        if (mfile_load(paths[i], &s->m[s->n], e) < 0) {
            mfile_list_free(paths, n);
            migration_set_free(s);
            return -1;
        }
        s->n++;
    }
    mfile_list_free(paths, n);
    char def[4096];
    const char *rel = o->releases;
    if (!rel) {
        snprintf(def, sizeof(def), "%s/releases.ini", o->dir);
        if (access(def, F_OK) == 0)
            rel = def;
    }
    if (rel) {
        if (releases_load(rel, &s->releases, e) < 0) {
            migration_set_free(s);
            return -1;
        }
        s->has_releases = 1;
        for (int i = 0; i < s->releases.n; i++)
            for (int j = 0; j < s->releases.v[i].nmigs; j++)
                if (migration_set_index(s, s->releases.v[i].migs[j]) < 0) {
                    err_set(e,
                            "releases '%s': release '%s' lists migration '%s', which has no "
                            "file in '%s'",
                            rel, s->releases.v[i].name, s->releases.v[i].migs[j], o->dir);
                    migration_set_free(s);
                    return -1;
                }
    }
    return 0;
}

void migration_set_free(struct migration_set *s)
{
    for (int i = 0; i < s->n; i++)
        mfile_free(s->m[i]);
    free(s->m);
    s->m = NULL;
    s->n = 0;
    if (s->has_releases)
        releases_free(&s->releases);
    s->has_releases = 0;
}

int migration_set_index(const struct migration_set *s, const char *id)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->m[i]->id, id) == 0)
            return i;
    return -1;
}
