/* The in-place re-exec of the master: its state goes into a memfd whose number the new
 * image finds in BATON_STATE_FD, its descriptors stay open across execve, and its pid
 * stays, so the workers remain its children. */
#ifndef BATON_SUPERVISE_REEXEC_H
#define BATON_SUPERVISE_REEXEC_H

#include "core/err.h"

/* Executes `binary` with argv = binary, self_argv...; `state` in a memfd; `fds` kept
 * open. `before_exec(data)` runs once everything is ready, just before execve. Returns
 * only when that failed (e), with every descriptor as it was. */
int reexec_exec(const char *binary, char *const *self_argv, const char *state, const int *fds,
                int nfds, void (*before_exec)(void *), void *data, struct err *e);

/* The new image: the state handed over in BATON_STATE_FD (removed from the environment),
 * read whole (caller frees). Returns 0 with *text NULL when there is none. */
int reexec_take_state(char **text, size_t *len, struct err *e);

#endif
