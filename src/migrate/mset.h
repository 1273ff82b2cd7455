/* The set of migrations a command works on: the files of the migrations directory in
 * id order, and the releases manifest if there is one. */
#ifndef BATON_MIGRATE_MSET_H
#define BATON_MIGRATE_MSET_H

#include "core/err.h"
#include "migrate/migrate.h"
#include "migrate/mfile.h"
#include "migrate/rel.h"

struct mset {
    struct mfile **m;
    int n;
    struct releases releases;
    int has_releases; /* a manifest was found */
};

/* Loads every migration of o->dir and the manifest (o->releases, else DIR/releases.ini
 * if present). Every migration a release lists must exist. */
int mset_load(const struct migrate_opts *o, struct mset *s, struct err *e);
/* The paths of the migration files of o->dir, in id order (free with mfile_list_free);
 * fails when no directory is set. */
int mset_paths(const struct migrate_opts *o, char ***paths, int *n, struct err *e);
void mset_free(struct mset *s);
int mset_index(const struct mset *s, const char *id);

#endif
