/* The services of the host system a proxy process uses (host.h): sd_notify, the
 * LISTEN_FDS convention, listening sockets and the control socket. */
#include "proxy/host.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <unistd.h>

#include "core/addr.h"
#include "core/log.h"

void host_notify(const char *msg)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || !*path)
        return;
    struct sockaddr_un un;
    socklen_t len;
    struct err e;
    if (addr_unix_name(&un, &len, path, "NOTIFY_SOCKET", &e) < 0)
        return;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&un, len) < 0)
        log_warn("proxy: cannot notify '%s': %s", path, strerror(errno));
    close(fd);
}

int host_take_listen_fds(int *fds, int max)
{
    const char *pid = getenv("LISTEN_PID"), *count = getenv("LISTEN_FDS");
    if (!pid || !count || atol(pid) != (long)getpid())
        return 0;
    int n = atoi(count);
    if (n <= 0)
        return 0;
    if (n > max)
        n = max;
    for (int i = 0; i < n; i++) {
        fds[i] = 3 + i;
        fcntl(3 + i, F_SETFD, FD_CLOEXEC);
        fcntl(3 + i, F_SETFL, fcntl(3 + i, F_GETFL) | O_NONBLOCK);
    }
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    return n;
}

/* Binds the control socket. A new generation started by `baton run` finds the old
 * one's socket live: it binds a temporary name and renames it over the path, so
 * control requests reach the newest proxy while the old one drains. */
int host_control_open(struct host_control *c, struct loop *loop, const char *path, int takeover,
                      ctl_handler handler, void *data, struct err *e)
{
    snprintf(c->path, sizeof(c->path), "%s", path);
    if (ctl_server_open(&c->ctl, loop, path, handler, data, e) == 0)
        goto bound;
    if (!takeover || !strstr(e->msg, "in use"))
        return -1;
    char tmp[ADDR_UNIX_PATH_SIZE];
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.%d", path, (int)getpid()) >= sizeof(tmp))
        return err_set(e, "control socket path '%s' is too long", path);
    struct addr a;
    char spec[120];
    snprintf(spec, sizeof(spec), "unix:%s", tmp);
    if (addr_parse(spec, 0, &a, e) < 0)
        return -1;
    mode_t old = umask(0177);
    int fd = addr_listen(&a, 64, e);
    umask(old);
    if (fd < 0)
        return -1;
    if (rename(tmp, path) < 0) {
        int saved = errno;
        close(fd);
        unlink(tmp);
        return err_errno(e, saved, "cannot take over control socket '%s'", path);
    }
    if (ctl_server_adopt(&c->ctl, loop, fd, path, handler, data, e) < 0) {
        close(fd);
        return -1;
    }
    log_info("proxy: took over control socket '%s' from the previous generation", path);
bound:;
    struct stat st;
    if (stat(path, &st) == 0)
        c->ino = st.st_ino;
    return 0;
}

void host_control_close(struct host_control *c)
{
    if (!c->ctl)
        return;
    struct stat st;
    int ours = stat(c->path, &st) == 0 && st.st_ino == c->ino;
    ctl_server_close(c->ctl, ours);
    c->ctl = NULL;
}

int host_listen(const struct addr *a, int reuseport, struct err *e)
{
    if (!reuseport || a->family == AF_UNIX)
        return addr_listen(a, 1024, e);
    int fd = socket(a->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return err_errno(e, errno, "cannot create socket for '%s'", a->text);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (a->family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
        bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0 || listen(fd, 1024) < 0) {
        int saved = errno;
        close(fd);
        return err_errno(e, saved, "cannot bind '%s'", a->text);
    }
    return fd;
}
