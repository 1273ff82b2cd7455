/* The master's state file, written by a thread of its own: a write and a rename can
 * block for milliseconds on a busy disk, and the master's loop must never wait on one
 * in the middle of an upgrade. The loop hands over the newest text; older texts that
 * were not written yet are dropped (the newest one says everything they said). */
#ifndef BATON_SUPERVISE_STATEFILE_H
#define BATON_SUPERVISE_STATEFILE_H

#include "core/err.h"

struct statefile;

/* Starts the writer of `path` (a copy is kept). */
int statefile_open(struct statefile **out, const char *path, struct err *e);
/* Hands `text` (stolen; from malloc) to the writer and returns at once. */
void statefile_post(struct statefile *sf, char *text);
/* Returns once every text posted so far is in the file (or failed, with a warning). */
void statefile_wait(struct statefile *sf);
/* Writes what is left, ends the thread and frees sf. NULL is fine. */
void statefile_close(struct statefile *sf);

#endif
