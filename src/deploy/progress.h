/* What a deploy shows while it runs: on a terminal, a live table of the hosts with
 * their steps and a progress bar (redrawn in place, log lines printed above it); plain
 * timestamped lines when the output is not a terminal; one JSON event per line with
 * --json (for CI). Every remote command appears with its host, exit status and time. */
#ifndef BATON_DEPLOY_PROGRESS_H
#define BATON_DEPLOY_PROGRESS_H

#include <stdio.h>

#include "core/loop.h"
#include "deploy/child.h"
#include "deploy/dfile.h"
#include "deploy/dstate.h"

enum pg_mode { PG_TTY, PG_PLAIN, PG_JSON };

struct progress;

/* Follows `st` (read at every call); the tty table is refreshed by a timer on `loop`. */
int progress_new(enum pg_mode mode, FILE *out, struct loop *loop, const struct dfile *df,
                 const struct dstate *st, struct progress **pg, struct err *e);
void progress_free(struct progress *pg);

/* Host i changed step (its state is in st); detail may be "". */
void progress_host(struct progress *pg, int i, const char *detail);
/* A line about the whole deploy ("expand", "bake 30s", a verdict...). */
void progress_note(struct progress *pg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A command finished on `label` (a host, "lease", "database"). */
void progress_command(struct progress *pg, const char *label, const char *command,
                      const struct child_result *r);
/* The end: ok or not, and the reason. */
void progress_end(struct progress *pg, int ok, const char *summary);

#endif
