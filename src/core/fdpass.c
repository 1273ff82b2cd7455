/* Taking descriptors from a live process with pidfd_getfd, and setting the flags of
 * descriptors. */
#include "core/fdpass.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

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
