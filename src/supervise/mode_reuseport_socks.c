/* --mode reuseport: the listening sockets of a worker, taken with pidfd_getfd. */
#include "supervise/mode_reuseport_socks.h"

#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int rps_same_addr(const struct addr *a, const struct addr *b)
{
    if (a->family != b->family)
        return 0;
    if (a->family == AF_INET) {
        const struct sockaddr_in *x = (const void *)&a->ss, *y = (const void *)&b->ss;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (a->family == AF_INET6) {
        const struct sockaddr_in6 *x = (const void *)&a->ss, *y = (const void *)&b->ss;
        return x->sin6_port == y->sin6_port &&
               memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
    }
    return 0;
}

static int sockopt_int(int fd, int name)
{
    int v = 0;
    socklen_t len = sizeof(v);
    return getsockopt(fd, SOL_SOCKET, name, &v, &len) < 0 ? 0 : v;
}

/* fd (ours) is a TCP listener with SO_REUSEPORT bound to `a`. */
static int is_shared_listener(int fd, const struct addr *a)
{
    struct addr got;
    if (sockopt_int(fd, SO_TYPE) != SOCK_STREAM || !sockopt_int(fd, SO_ACCEPTCONN) ||
        !sockopt_int(fd, SO_REUSEPORT) || addr_from_fd(fd, &got, NULL) < 0)
        return 0;
    return rps_same_addr(&got, a);
}

/* The socket inode that /proc/PID/fd/NAME links to, or 0 when it is not a socket. */
static unsigned long long socket_inode(int dirfd, const char *name)
{
    char link[64];
    unsigned long long ino;
    ssize_t n = readlinkat(dirfd, name, link, sizeof(link) - 1);
    if (n <= 0)
        return 0;
    link[n] = 0;
    char tail;
    if (sscanf(link, "socket:[%llu%c", &ino, &tail) != 2 || tail != ']')
        return 0;
    return ino;
}

static int seen(const unsigned long long *inodes, int n, unsigned long long ino)
{
    for (int i = 0; i < n; i++)
        if (inodes[i] == ino)
            return 1;
    return 0;
}

int rps_find(pid_t pid, const struct addr *a, int *fds, int max, struct err *e)
{
    char path[64];
    unsigned long long inodes[RPS_MAX];
    int n = 0;
    snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    DIR *d = pidfd >= 0 ? opendir(path) : NULL;
    if (!d) {
        int saved = errno;
        if (pidfd >= 0)
            close(pidfd);
        return err_errno(e, saved, "cannot look at the sockets of worker %d", (int)pid);
    }
    if (max > RPS_MAX)
        max = RPS_MAX;
    struct dirent *de;
    while (n < max && (de = readdir(d))) {
        char *end;
        long target = strtol(de->d_name, &end, 10);
        unsigned long long ino;
        if (*end || end == de->d_name || target < 0 ||
            !(ino = socket_inode(dirfd(d), de->d_name)) || seen(inodes, n, ino))
            continue;
        int fd = (int)syscall(SYS_pidfd_getfd, pidfd, (int)target, 0);
        if (fd < 0)
            continue; /* closed since the listing, or not ours to take */
        if (is_shared_listener(fd, a)) {
            inodes[n] = ino;
            fds[n++] = fd;
        } else {
            close(fd);
        }
    }
    closedir(d);
    close(pidfd);
    return n;
}

void rps_close(int *fds, int n)
{
    for (int i = 0; i < n; i++)
        if (fds[i] >= 0) {
            close(fds[i]);
            fds[i] = -1;
        }
}
