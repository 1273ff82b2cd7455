/* The ledger table (`baton_migrations`: one row per migration with its checksum, phase,
 * step, backfill position and timestamps) and the runner lease (`baton_lock`: one row
 * with holder, fencing token and expiry) that makes each step run exactly once. */
#ifndef BATON_MIGRATE_LEDGER_H
#define BATON_MIGRATE_LEDGER_H

#include <stdint.h>

#include "core/err.h"
#include "migrate/database.h"
#include "migrate/mfile.h"

enum mphase {
    PH_PENDING, /* no ledger row (or never expanded) */
    PH_EXPANDING,
    PH_EXPANDED,
    PH_BACKFILLING,
    PH_BACKFILLED,
    PH_CONTRACTING,
    PH_CONTRACTED,
    PH_ABORTING,
    PH_ABORTED,
    PH_COUNT
};

struct ledger_entry {
    char id[MFILE_ID_MAX];
    char checksum[32];
    enum mphase phase;
    int step;    /* steps of the current phase already committed */
    int has_pos; /* backfill position valid */
    int64_t pos; /* last key done by the current backfill step */
    int64_t batches;
    char started_at[32], updated_at[32], expanded_at[32], contracted_at[32];
};

struct ledger {
    struct ledger_entry *v;
    int n;
};

const char *ledger_phase_name(enum mphase p);
/* Creates the ledger and lock tables if missing (idempotent). */
int ledger_ensure(struct database *db, struct err *e);
/* Loads every row; a database without the ledger table has an empty ledger. */
int ledger_load(struct database *db, struct ledger *out, struct err *e);
struct ledger_entry *ledger_find(struct ledger *l, const char *id);
/* Writes one row (insert or update), inside the caller's transaction. */
int ledger_put(struct database *db, const struct ledger_entry *le, struct err *e);
void ledger_free(struct ledger *l);
void ledger_now(char *buf, size_t cap);

struct lease {
    int64_t token;
    char holder[128];
    int lease_ms;
    int held;
};

/* Takes the runner lease, waiting up to wait_ms for a live holder to finish. A lease
 * whose holder is dead (same host, no such pid) or expired is taken over; the token grows
 * by one on every take-over. */
int lease_acquire(struct database *db, struct lease *l, int wait_ms, struct err *e);
/* Inside a write transaction: fails unless the lease is still ours, and extends it. */
int lease_fence(struct database *db, struct lease *l, struct err *e);
void lease_release(struct database *db, struct lease *l);

/* Sleeps about `ms` milliseconds with +-50% jitter (retry backoff between transactions). */
void jitter_sleep_ms(int ms);

#endif
