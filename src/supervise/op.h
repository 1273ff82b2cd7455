/* The operations that change generations (start, upgrade, rollback) or the master
 * itself (reexec): one queue, one operation at a time, in order, so a request made
 * during an upgrade waits its turn. An operation ends when its new generation serves
 * and the mode finished moving traffic to it, or when it failed; then its control
 * request gets its reply. */
#ifndef BATON_SUPERVISE_OP_H
#define BATON_SUPERVISE_OP_H

#include <jansson.h>

#include "core/ctl.h"
#include "supervise/ctx.h"
#include "supervise/gens.h"
#include "supervise/mode.h"

enum op_kind { OP_START, OP_UPGRADE, OP_ROLLBACK, OP_REEXEC };

struct ops;

/* The master's part of a re-exec: hands its state and descriptors over and executes
 * `binary`; returns only when that failed (e). Just before the exec it calls
 * op_before_exec(ops). */
typedef int (*op_exec_fn)(void *data, const char *binary, struct err *e);
/* Called just before a reply to a start, upgrade or rollback is sent (the master
 * writes its state file there if it changed). */
typedef void (*op_flush_fn)(void *data);

/* exec and flush get `data`. */
int ops_new(struct ops **out, struct run_ctx *ctx, struct gens *gs, struct mode *md,
            op_exec_fn exec, op_flush_fn flush, void *data, struct err *e);
/* Forgets every operation; a request still waiting is answered "baton stopped". */
void ops_free(struct ops *q);

/* Queues an operation: argv (stolen; NULL: the current command) for start and
 * upgrade, `binary` for reexec; `req` (may be NULL) gets the reply. */
void op_enqueue(struct ops *q, enum op_kind kind, char **argv, struct ctl_req *req,
                const char *binary);
/* The control requests upgrade, rollback and reexec, checked field by field: returns
 * 1 when `cmd` was one of them (answered now or when done), else 0. */
int op_request(struct ops *q, struct ctl_req *req, const char *cmd, json_t *msg);

/* What the master passes on from the generations and the mode: NOTE_PROMOTED (the mode
 * moves traffic to g, then the running operation replies once its switch is complete),
 * NOTE_FAILED, NOTE_SWITCH_CHECK and NOTE_RETIRED; other notes are not the queue's. */
void op_note(struct ops *q, enum run_note n, struct gen *g, struct gen *old);

/* A graceful stop: op_stopping fails a running reexec (before the generations are
 * stopped), op_stopped fails whatever is left. */
void op_stopping(struct ops *q);
void op_stopped(struct ops *q);
/* The reexec is about to execute: the queued requests cannot cross it. */
void op_before_exec(void *ops);

/* "operation", "queued", "reexecs", "last_reexec_error" and "last_upgrade" (the timeline
 * of the last start, upgrade or rollback that ended) of `status`. */
void op_status(const struct ops *q, json_t *st);
/* Its part of the state ("reexecs"), and back. */
void op_to_json(const struct ops *q, json_t *root);
int op_from_json(struct ops *q, json_t *root, struct err *e);
unsigned op_reexecs(const struct ops *q);
/* Operations of `kind` since this master began that switched to their new generation
 * (counted when the switch is complete, before the reply to the request that asked),
 * and those whose new generation failed (counted before the reply too). */
unsigned long op_switched(const struct ops *q, enum op_kind kind);
unsigned long op_gen_failed(const struct ops *q, enum op_kind kind);

#endif
