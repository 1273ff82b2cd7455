/* SCM_RIGHTS messages and pidfd_getfd. Every received control message is checked for
 * type and length before its descriptors are used. */
#include "core/fdpass.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

int fdpass_send(int sock, const void *buf, size_t len, const int *fds, int nfds, struct err *e)
{
    if (nfds < 0 || nfds > FDPASS_MAX || len == 0)
        return err_set(e, "cannot pass %d descriptors with %zu bytes", nfds, len);
    union {
        char buf[CMSG_SPACE(sizeof(int) * FDPASS_MAX)];
        struct cmsghdr align;
    } u;
    struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    if (nfds > 0) {
        memset(&u, 0, sizeof(u));
        msg.msg_control = u.buf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
    }
    ssize_t n;
    do
        n = sendmsg(sock, &msg, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return err_errno(e, errno, "cannot send descriptors");
    return 0;
}

ssize_t fdpass_recv(int sock, void *buf, size_t cap, int *fds, int maxfds, int *nfds, struct err *e)
{
    union {
        char buf[CMSG_SPACE(sizeof(int) * FDPASS_MAX)];
        struct cmsghdr align;
    } u;
    struct iovec iov = {.iov_base = buf, .iov_len = cap};
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
    *nfds = 0;
    ssize_t n;
    do
        n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return err_errno(e, errno, "cannot receive descriptors");
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len < CMSG_LEN(0))
            continue;
        size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        int *got = (int *)CMSG_DATA(c);
        for (size_t i = 0; i < count; i++) {
            int fd;
            memcpy(&fd, got + i, sizeof(fd));
            if (*nfds < maxfds)
                fds[(*nfds)++] = fd;
            else
                close(fd);
        }
    }
    return n;
}

int fd_steal(pid_t pid, int target_fd, struct err *e)
{
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pidfd < 0)
        return err_errno(e, errno, "cannot open pidfd for pid %d", (int)pid);
    int fd = (int)syscall(SYS_pidfd_getfd, pidfd, target_fd, 0);
    int saved = errno;
    close(pidfd);
    if (fd < 0)
        return err_errno(e, saved, "cannot take fd %d from pid %d (pidfd_getfd)", target_fd,
                         (int)pid);
    return fd;
}

/* Sets (on) or clears `bit` among the flags fcntl reads with `get` and writes with `set`;
 * `what` names those flags in the error. */
static int fd_set_flag(int fd, int get, int set, int bit, int on, const char *what, struct err *e)
{
    int flags = fcntl(fd, get);
    if (flags < 0)
        return err_errno(e, errno, "cannot read %s of fd %d", what, fd);
    flags = on ? (flags | bit) : (flags & ~bit);
    if (fcntl(fd, set, flags) < 0)
        return err_errno(e, errno, "cannot set %s of fd %d", what, fd);
    return 0;
}

int fd_set_cloexec(int fd, int on, struct err *e)
{
    return fd_set_flag(fd, F_GETFD, F_SETFD, FD_CLOEXEC, on, "flags", e);
}

int fd_set_nonblock(int fd, int on, struct err *e)
{
    return fd_set_flag(fd, F_GETFL, F_SETFL, O_NONBLOCK, on, "status flags", e);
}
