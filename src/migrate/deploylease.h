/* The deploy lease in the database: one row per service in `baton_deploy_lease` with
 * its holder, since when, a fencing token that grows on every take-over, an expiry the
 * holder keeps pushing back, and the deploy's progress. `baton deploy` reaches it by
 * running `baton migrate lease ...` (so the `baton` binary never links libpq). */
#ifndef BATON_MIGRATE_DEPLOYLEASE_H
#define BATON_MIGRATE_DEPLOYLEASE_H

#include <stdint.h>
#include <stdio.h>

#include "core/err.h"
#include "migrate/mdb.h"
#include "migrate/migrate.h"

#define DLEASE_TEXT_MAX 256

struct dlease {
    char service[64];
    char holder[DLEASE_TEXT_MAX]; /* "" when released */
    int64_t token;
    int64_t since_unix_ms, expires_unix_ms;
    char progress[DLEASE_TEXT_MAX];
};

enum { DLEASE_TAKEN = 0, DLEASE_HELD = 1 };

/* Takes the lease of `service` for `holder` if it is free, released, expired, or its
 * token is `expect` (>= 0: an explicit take-over of a lease seen stale). Returns
 * DLEASE_TAKEN or DLEASE_HELD (*out: the row as it is), or -1. */
int dlease_take(struct mdb *db, const char *service, const char *holder, int64_t ttl_ms,
                int64_t expect, struct dlease *out, struct err *e);
/* Extends the lease and records `progress`, if `token` still holds it: 0, DLEASE_HELD
 * (another deploy took over: *out shows it), or -1. */
int dlease_renew(struct mdb *db, const char *service, int64_t token, int64_t ttl_ms,
                 const char *progress, struct dlease *out, struct err *e);
/* Releases it if `token` holds it (else nothing). */
int dlease_release(struct mdb *db, const char *service, int64_t token, struct err *e);
/* Reads it; 0 with out->token 0 when there is none. */
int dlease_show(struct mdb *db, const char *service, struct dlease *out, struct err *e);

/* `baton migrate lease take|renew|release|show ...` (args after "lease"): prints the
 * row as JSON; exit code 0, 3 when held by another (take) or lost (renew), 1, or 2. */
int dlease_cli(const struct migrate_opts *o, int argc, char **argv, FILE *out);

#endif
