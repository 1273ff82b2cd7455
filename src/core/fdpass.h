/* Taking file descriptors from a live process with pidfd_getfd, and setting the
 * close-on-exec and non-blocking flags of a descriptor. */
#ifndef BATON_CORE_FDPASS_H
#define BATON_CORE_FDPASS_H

#include <sys/types.h>

#include "core/err.h"

/* Duplicates descriptor `target_fd` of process `pid` into this process (close-on-exec).
 * Needs ptrace access to pid (same user and ptrace allowed, or root). */
int fd_steal(pid_t pid, int target_fd, struct err *e);

/* Clears FD_CLOEXEC / sets O_NONBLOCK on fd. */
int fd_set_cloexec(int fd, int on, struct err *e);
int fd_set_nonblock(int fd, int on, struct err *e);

#endif
