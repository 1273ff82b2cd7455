/* The releases manifest (`releases.ini` in the migrations directory): app releases in
 * order, the migrations each needs expanded, and which releases are checkpoints that a
 * deployment must stop at (deploy, declare stable, contract) before going further. */
#ifndef BATON_MIGRATE_RELEASES_H
#define BATON_MIGRATE_RELEASES_H

#include "core/err.h"
#include "migrate/mfile.h"

#define RELEASES_MAX      256
#define RELEASES_NAME_MAX 64
#define RELEASES_MIGS_MAX 256

struct release {
    char name[RELEASES_NAME_MAX];
    int checkpoint;
    char **migs; /* migration ids, owned */
    int nmigs;
};

struct releases {
    struct release *v;
    int n;
};

/* Parses the manifest: one [RELEASE] section per release, oldest first, with
 * `migrations = ID, ID...` and optional `checkpoint = true`. */
int releases_parse(const char *text, const char *name, struct releases *out, struct err *e);
int releases_load(const char *path, struct releases *out, struct err *e);
void releases_free(struct releases *r);
/* Position of a release, or -1. */
int releases_index(const struct releases *r, const char *name);
/* Position of the release that needs migration `id`, or -1 if none lists it. */
int releases_of_migration(const struct releases *r, const char *id);
/* The last migration (in id order) needed by release `idx` or any earlier release; NULL
 * if there is none. */
const char *releases_last_migration(const struct releases *r, int idx);

#endif
