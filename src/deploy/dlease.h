/* The deploy lease: one deploy of a service at a time. Kept in the database when the
 * deploy file has one (the `baton_deploy_lease` row, through `baton migrate lease`), else
 * as a lock file on the balancer's host over SSH (or here when the balancer is local),
 * changed under flock(1). Both hold: holder, since, a fencing token that grows on every
 * take-over, an expiry the holder pushes back, and the deploy's progress. */
#ifndef BATON_DEPLOY_DLEASE_H
#define BATON_DEPLOY_DLEASE_H

#include <stdint.h>

#include "core/err.h"
#include "core/loop.h"
#include "deploy/dfile.h"
#include "deploy/transport.h"

#define DLEASE_TEXT_MAX 256

struct dlease_info {
    char holder[DLEASE_TEXT_MAX]; /* "" when free */
    int64_t token;
    int64_t since_unix_ms, expires_unix_ms;
    char progress[DLEASE_TEXT_MAX];
};

enum { DLEASE_OK = 0, DLEASE_HELD = 1, DLEASE_ERROR = -1, DLEASE_UNREACHABLE = -2 };

/* rc: DLEASE_OK; DLEASE_HELD (take: someone else holds it; renew: another deploy took it
 * over; `info` shows the holder); DLEASE_ERROR or DLEASE_UNREACHABLE (`error` says why). */
typedef void (*dlease_cb)(int rc, const struct dlease_info *info, const char *error, void *data);

struct dlease;

/* `tr` reaches the lock's host (ssh, or the local transport); `migrate` is the
 * baton-migrate executable (database leases). `holder` names this deploy. */
int dlease_new(const struct dfile *df, struct transport *tr, const char *migrate,
               const char *holder, struct dlease **out, struct err *e);
void dlease_free(struct dlease *l);

/* Takes it; `expect` >= 0 takes it over from the holder whose token that is. */
int dlease_take(struct dlease *l, int64_t expect, dlease_cb cb, void *data, struct err *e);
/* Pushes the expiry back and records `progress`. */
int dlease_renew(struct dlease *l, const char *progress, dlease_cb cb, void *data, struct err *e);
int dlease_release(struct dlease *l, dlease_cb cb, void *data, struct err *e);
int dlease_show(struct dlease *l, dlease_cb cb, void *data, struct err *e);

/* Where the lease lives, for messages: "database" or "HOST:PATH". */
const char *dlease_where(const struct dlease *l);
int64_t dlease_token(const struct dlease *l);

/* "user@host:pid" of this process. */
void dlease_holder_self(char *out, size_t cap);
/* Whether `holder` is a process of this machine that no longer runs. */
int dlease_holder_dead_here(const char *holder);

/* Reads a lock file's `key=value` lines (and the script's ok=/error=) into info;
 * *ok gets ok=. Unknown keys or bad numbers are refused. */
int dlease_parse_lock(const char *text, struct dlease_info *info, int *ok, struct err *e);

#endif
