/* The progress file of a deploy: which release goes out, the phase, each host's step,
 * the database steps and the bake, written atomically (temporary file, fsync, rename)
 * after every step, so that `baton deploy resume` continues exactly where a killed or
 * stopped deploy left off. Read back strictly: a bad file is refused, never guessed. */
#ifndef BATON_DEPLOY_DSTATE_H
#define BATON_DEPLOY_DSTATE_H

#include <jansson.h>
#include <stdint.h>

#include "core/err.h"
#include "deploy/dfile.h"
#include "deploy/hostsm.h"

#define DSTATE_MAX     (4 * 1024 * 1024) /* bytes of a progress file read back */
#define DSTATE_MSG_MAX 512

enum dphase {
    DP_ROLLOUT,  /* expand (if any), hosts, bake, contract */
    DP_REVERT,   /* taking the upgraded hosts back */
    DP_DONE,     /* every host serves the release (and contract ran) */
    DP_REVERTED, /* the release was taken back (or aborted) everywhere */
    DP_NPHASES
};

/* A database step or the bake. */
enum dstep { DS_PENDING, DS_DONE, DS_FAILED, DS_SKIPPED, DS_NSTEPS };

struct dstate_host {
    char name[DF_NAME_MAX];
    enum host_state state;
    int64_t started_unix_ms, finished_unix_ms; /* 0: not yet */
    char error[DSTATE_MSG_MAX];
};

struct dstate {
    char service[DF_NAME_MAX];
    char release[DF_RELEASE_MAX];
    char from[DF_RELEASE_MAX]; /* the release before ("" if unknown) */
    enum df_strategy strategy;
    enum dphase phase;
    enum dstep expand, bake, contract;
    char reason[DSTATE_MSG_MAX]; /* why it stopped, failed or was reverted */
    int64_t started_unix_ms, updated_unix_ms;
    struct dstate_host *hosts;
    int nhosts;
};

/* A fresh state for deploying `release` over df's hosts (all pending). */
int dstate_init(struct dstate *st, const struct dfile *df, const char *release, const char *from,
                struct err *e);
void dstate_free(struct dstate *st);

/* Reads `path`; *exists 0 (and 0 returned) when there is no such file. */
int dstate_load(const char *path, struct dstate *st, int *exists, struct err *e);
/* Writes `path` atomically (path.tmp, fsync, rename, fsync of the directory). */
int dstate_save(const char *path, struct dstate *st, struct err *e);

json_t *dstate_to_json(const struct dstate *st);
/* Checks every field; `name` is the file for messages. */
int dstate_from_json(json_t *doc, const char *name, struct dstate *st, struct err *e);

/* The host called `name`, or NULL. */
struct dstate_host *dstate_host(struct dstate *st, const char *name);
/* Whether the state's hosts are df's hosts, in the same order (a resume must follow
 * the same plan). */
int dstate_matches(const struct dstate *st, const struct dfile *df, struct err *e);

const char *dstate_phase_name(enum dphase p);
const char *dstate_step_name(enum dstep s);

#endif
