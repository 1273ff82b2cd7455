/* Passing file descriptors between processes over Unix sockets (SCM_RIGHTS), and
 * taking them from a live process with pidfd_getfd. */
#ifndef BATON_CORE_FDPASS_H
#define BATON_CORE_FDPASS_H

#include <stddef.h>
#include <sys/types.h>

#include "core/err.h"

#define FDPASS_MAX 64

/* Sends `len` bytes (at least 1) with `nfds` descriptors attached. */
int fdpass_send(int sock, const void *buf, size_t len, const int *fds, int nfds, struct err *e);
/* Receives up to `cap` bytes and up to `maxfds` descriptors (close-on-exec). Returns the
 * byte count (0 on EOF) and sets *nfds; descriptors beyond maxfds are closed. */
ssize_t fdpass_recv(int sock, void *buf, size_t cap, int *fds, int maxfds, int *nfds,
                    struct err *e);

/* Duplicates descriptor `target_fd` of process `pid` into this process (close-on-exec).
 * Needs ptrace access to pid (same user and ptrace allowed, or root). */
int fd_steal(pid_t pid, int target_fd, struct err *e);

/* Clears FD_CLOEXEC / sets O_NONBLOCK on fd. */
int fd_set_cloexec(int fd, int on, struct err *e);
int fd_set_nonblock(int fd, int on, struct err *e);

#endif
