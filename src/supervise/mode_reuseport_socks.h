/* --mode reuseport: finding the listening sockets a worker bound itself. The master
 * reads /proc/PID/fd and takes each socket with pidfd_getfd to look at it: a socket
 * counts when it listens, has SO_REUSEPORT and is bound to the --listen address. */
#ifndef BATON_SUPERVISE_MODE_REUSEPORT_SOCKS_H
#define BATON_SUPERVISE_MODE_REUSEPORT_SOCKS_H

#include <sys/types.h>

#include "core/addr.h"
#include "core/err.h"

#define RPS_MAX 64 /* sockets taken from one process for one address */

/* Duplicates into this process (close-on-exec) the distinct listening SO_REUSEPORT
 * sockets of process `pid` bound to `a`, at most `max`. Returns how many (0: none
 * yet), or -1 when the process cannot be read (gone, or not ours to look into). The
 * caller closes the fds: while the master holds one, closing it in the app does not
 * close the socket. */
int rps_find(pid_t pid, const struct addr *a, int *fds, int max, struct err *e);
/* 1 when the two socket addresses are the same family, address and port. */
int rps_same_addr(const struct addr *a, const struct addr *b);
/* Closes fds[0..n). */
void rps_close(int *fds, int n);

#endif
