/* sd_notify receiver: a SO_PASSCRED datagram socket and a strict parser. Every
 * datagram is checked for truncation and length before it is parsed. */
#include "supervise/notify.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/addr.h"

static int key_is(const char *line, size_t klen, const char *key)
{
    return strlen(key) == klen && memcmp(line, key, klen) == 0;
}

int notify_parse(const char *buf, size_t len, struct notify_msg *m, struct err *e)
{
    memset(m, 0, sizeof(*m));
    if (len > NOTIFY_MSG_MAX)
        return err_set(e, "notify message of %zu bytes is longer than %d", len, NOTIFY_MSG_MAX);
    if (memchr(buf, 0, len))
        return err_set(e, "notify message holds a NUL byte");
    size_t off = 0;
    while (off < len) {
        const char *line = buf + off;
        const char *nl = memchr(line, '\n', len - off);
        size_t n = nl ? (size_t)(nl - line) : len - off;
        off += n + (nl ? 1 : 0);
        if (n == 0)
            continue;
        const char *eq = memchr(line, '=', n);
        if (!eq || eq == line)
            return err_set(e, "notify message line '%.*s' is not KEY=VALUE", (int)(n > 40 ? 40 : n),
                           line);
        size_t klen = (size_t)(eq - line);
        for (size_t i = 0; i < klen; i++) {
            char c = line[i];
            if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
                return err_set(e, "notify message key '%.*s' is not [A-Z0-9_]+",
                               (int)(klen > 40 ? 40 : klen), line);
        }
        const char *val = eq + 1;
        size_t vlen = n - klen - 1;
        int one = vlen == 1 && val[0] == '1';
        if (key_is(line, klen, "READY"))
            m->ready |= one;
        else if (key_is(line, klen, "STOPPING"))
            m->stopping |= one;
        else if (key_is(line, klen, "RELOADING"))
            m->reloading |= one;
        else if (key_is(line, klen, "STATUS")) {
            size_t k = vlen < sizeof(m->status) - 1 ? vlen : sizeof(m->status) - 1;
            memcpy(m->status, val, k);
            m->status[k] = 0;
            m->has_status = 1;
        }
    }
    return 0;
}

int notify_open(const char *path, struct err *e)
{
    struct sockaddr_un un;
    if (addr_unix(&un, path, "notify socket path", e) < 0)
        return -1;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return err_errno(e, errno, "cannot create notify socket '%s'", path);
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0) {
        int saved = errno;
        close(fd);
        return err_errno(e, saved, "cannot set SO_PASSCRED on '%s'", path);
    }
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(path);
    mode_t old = umask(0177);
    int rc = bind(fd, (struct sockaddr *)&un, sizeof(un));
    umask(old);
    if (rc < 0) {
        int saved = errno;
        close(fd);
        return err_errno(e, saved, "cannot bind notify socket '%s'", path);
    }
    return fd;
}

ssize_t notify_recv(int fd, char *buf, size_t cap, pid_t *pid, struct err *e)
{
    union {
        char buf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * 16)];
        struct cmsghdr align;
    } u;
    struct iovec iov = {.iov_base = buf, .iov_len = cap};
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
    ssize_t n;
    do
        n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC);
    while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return 0;
    if (n < 0)
        return err_errno(e, errno, "cannot read notify socket");
    *pid = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET)
            continue;
        if (c->cmsg_type == SCM_CREDENTIALS && c->cmsg_len == CMSG_LEN(sizeof(struct ucred))) {
            struct ucred cred;
            memcpy(&cred, CMSG_DATA(c), sizeof(cred));
            *pid = cred.pid;
        } else if (c->cmsg_type == SCM_RIGHTS && c->cmsg_len >= CMSG_LEN(0)) {
            size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < count; i++) {
                int got;
                memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(got));
                close(got);
            }
        }
    }
    if ((size_t)n > cap || (msg.msg_flags & MSG_TRUNC))
        return err_set(e, "notify message of %zd bytes from pid %d is longer than %zu", n,
                       (int)*pid, cap);
    if (*pid <= 0)
        return err_set(e, "notify message without sender credentials");
    return n;
}
