/* Starting a child process the one way baton does it (app workers, readiness probes,
 * proxy workers): a vfork-style clone; in the child every handled signal and SIGPIPE at
 * its default, an empty signal mask, chosen descriptors moved to 3.., LISTEN_PID set to
 * the child's own pid; then exec, whose failure the child reports to the parent through
 * the memory they share until then. */
#ifndef BATON_CORE_SPAWN_H
#define BATON_CORE_SPAWN_H

#include <stdint.h>
#include <sys/types.h>

#include "core/err.h"

#define SPAWN_MAX_FDS 64

struct spawn {
    char *const *argv;           /* argv[0] is searched in PATH */
    char *const *env_add;        /* "KEY=VALUE" set in the child (NULL-terminated, may be NULL) */
    const char *const *env_drop; /* "KEY=" prefixes removed from our environment (may be NULL) */
    const int *fds;              /* become fds 3, 4, ... of the child, without FD_CLOEXEC */
    int nfds;
    int listen_pid;    /* set LISTEN_PID=<the child's pid> (systemd socket activation) */
    int stdout_fd;     /* when > 0, becomes fd 1 of the child (0 keeps ours) */
    uint64_t *exec_us; /* when not NULL: the monotonic clock (microseconds) just before
                        * the child's exec, or 0 when it never got there */
};

/* Starts s->argv with our environment minus env_drop and the keys env_add sets, plus
 * env_add. Returns the child's pid, or -1 with e when no child was made. When the exec
 * itself failed, the child has already exited with status 127 and *exec_errno (if not
 * NULL) holds the cause, else 0; the caller reaps the child in both cases. Waits only
 * for the child's exec (as posix_spawn does), never for the program. */
pid_t spawn_start(const struct spawn *s, int *exec_errno, struct err *e);

/* Copies a NULL-terminated argv (caller frees with spawn_argv_free); NULL on out of
 * memory. */
char **spawn_argv_dup(char *const *argv);
void spawn_argv_free(char **argv);

#endif
