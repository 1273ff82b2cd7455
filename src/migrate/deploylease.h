/* The deploy lease in the database: one row per service in `baton_deploy_lease` with
 * its holder, since when, a fencing token that grows on every take-over, an expiry the
 * holder keeps pushing back, and the deploy's progress. `baton deploy` reaches it by
 * running `baton migrate lease ...` (so the `baton` binary never links libpq). */
#ifndef BATON_MIGRATE_DEPLOYLEASE_H
#define BATON_MIGRATE_DEPLOYLEASE_H

#include <stdint.h>
#include <stdio.h>

#include "core/err.h"
#include "migrate/database.h"
#include "migrate/migrate.h"

#define LEASEROW_TEXT_MAX 256

struct leaserow {
    char service[64];
    char holder[LEASEROW_TEXT_MAX]; /* "" when released */
    int64_t token;
    int64_t since_unix_ms, expires_unix_ms;
    char progress[LEASEROW_TEXT_MAX];
};

enum { LEASEROW_TAKEN = 0, LEASEROW_HELD = 1 };

/* Takes the lease of `service` for `holder` if it is free, released, expired, or its
 * token is `expect` (>= 0: an explicit take-over of a lease seen stale). Returns
 * LEASEROW_TAKEN or LEASEROW_HELD (*out: the row as it is), or -1. */
int leaserow_take(struct database *db, const char *service, const char *holder, int64_t ttl_ms,
                  int64_t expect, struct leaserow *out, struct err *e);
/* Extends the lease and records `progress`, if `token` still holds it: 0, LEASEROW_HELD
 * (another deploy took over: *out shows it), or -1. */
int leaserow_renew(struct database *db, const char *service, int64_t token, int64_t ttl_ms,
                   const char *progress, struct leaserow *out, struct err *e);
/* Releases it if `token` holds it (else nothing). */
int leaserow_release(struct database *db, const char *service, int64_t token, struct err *e);
/* Reads it; 0 with out->token 0 when there is none. */
int leaserow_show(struct database *db, const char *service, struct leaserow *out, struct err *e);

/* `baton migrate lease take|renew|release|show ...` (args after "lease"): prints the
 * row as JSON; exit code 0, 3 when held by another (take) or lost (renew), 1, or 2. */
int leaserow_cli(const struct migrate_opts *o, int argc, char **argv, FILE *out);

#endif
