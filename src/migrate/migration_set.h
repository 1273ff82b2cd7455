/* The set of migrations a command works on: the files of the migrations directory in
 * id order, and the releases manifest if there is one. */
#ifndef BATON_MIGRATE_MIGRATION_SET_H
#define BATON_MIGRATE_MIGRATION_SET_H

#include "core/err.h"
#include "migrate/migrate.h"
#include "migrate/mfile.h"
#include "migrate/releases.h"

struct migration_set {
    struct mfile **m;
    int n;
    struct releases releases;
    int has_releases; /* a manifest was found */
};

/* Loads every migration of o->dir and the manifest (o->releases, else DIR/releases.ini
 * if present). Every migration a release lists must exist. */
int migration_set_load(const struct migrate_opts *o, struct migration_set *s, struct err *e);
/* The paths of the migration files of o->dir, in id order (free with mfile_list_free);
 * fails when no directory is set. */
int migration_set_paths(const struct migrate_opts *o, char ***paths, int *n, struct err *e);
void migration_set_free(struct migration_set *s);
int migration_set_index(const struct migration_set *s, const char *id);

#endif
