/* The generations of one master: oldest first, which one is current, the next id and
 * the command `rollback` goes back to. Routes notify messages to the generation whose
 * worker sent them, and writes and reads the generations' part of the state file. */
#ifndef BATON_SUPERVISE_GENS_H
#define BATON_SUPERVISE_GENS_H

#include <jansson.h>
#include <sys/types.h>

#include "core/err.h"
#include "supervise/ctx.h"
#include "supervise/gen.h"
#include "supervise/notify.h"

struct gens;

int gens_new(struct gens **out, struct run_ctx *ctx, struct err *e);
/* Forgets every generation without signalling a worker (they keep running). */
void gens_free(struct gens *gs);
/* As gens_free, and starts over: no generation, next id 1, no previous command. */
void gens_clear(struct gens *gs);

int gens_count(const struct gens *gs);
/* The i-th generation, oldest first (i < gens_count), or NULL. */
struct gen *gens_at(const struct gens *gs, int i);
struct gen *gens_current(const struct gens *gs);
struct gen *gens_find(const struct gens *gs, unsigned id);
/* The command of the generation the current one replaced, or NULL. */
char *const *gens_prev_argv(const struct gens *gs);

/* Adds a STARTING generation of argv with the next id; NULL on out of memory. */
struct gen *gens_add(struct gens *gs, char *const *argv);
void gens_stop_all(struct gens *gs, const char *reason);
/* A notify message from `pid` or a process it forked: 1 when a worker of ours sent it. */
int gens_notify(struct gens *gs, pid_t pid, const struct notify_msg *msg);
/* 1 when a slot of any generation holds `port`. */
int gens_port_held(const struct gens *gs, int port);

/* The "generations" array of `status`. */
json_t *gens_status(const struct gens *gs);
/* Their part of the state: next_gen, current_gen, prev_command, generations. */
void gens_to_json(const struct gens *gs, json_t *root);
/* Reads it into an empty gs: workers are recorded, not watched. On error gs is empty. */
int gens_from_json(struct gens *gs, json_t *root, struct err *e);
/* After a re-exec: gen_resume on each (then, once the mode took over too, settle). */
void gens_resume(struct gens *gs);
void gens_settle(struct gens *gs);
/* After a killed master: drops workers that are gone, returns how many are left and
 * their pids (the current generation's first); then adopts them as orphans. */
int gens_survivors(struct gens *gs, pid_t *pids, int max);
void gens_adopt_orphans(struct gens *gs);

#endif
