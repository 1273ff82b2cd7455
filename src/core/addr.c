/* Address parsing and socket set-up; errors name the address and the errno text. */
#include "core/addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int parse_port(const char *s, const char *spec, struct err *e)
{
    char *end;
    if (!*s)
        return err_set(e, "invalid address '%s': missing port", spec);
    errno = 0;
    long p = strtol(s, &end, 10);
    if (errno || *end || p < 0 || p > 65535)
        return err_set(e, "invalid address '%s': port '%s' is not a number in 0..65535", spec, s);
    return (int)p;
}

static void format_text(struct addr *a)
{
    char host[INET6_ADDRSTRLEN] = "";
    if (a->family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&a->ss;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        snprintf(a->text, sizeof(a->text), "%s:%d", host, ntohs(in->sin_port));
    } else if (a->family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a->ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        snprintf(a->text, sizeof(a->text), "[%s]:%d", host, ntohs(in6->sin6_port));
    } else if (a->family == AF_UNIX) {
        struct sockaddr_un *un = (struct sockaddr_un *)&a->ss;
        snprintf(a->text, sizeof(a->text), "unix:%s", un->sun_path);
    }
}

/* The "NAME=" part of spec into a->name; *rest points past it (or at spec). */
static int parse_name(const char *spec, struct addr *a, const char **rest, struct err *e)
{
    const char *eq = strchr(spec, '=');
    *rest = spec;
    if (!eq || strncmp(spec, "unix:", 5) == 0)
        return 0;
    size_t n = (size_t)(eq - spec);
    if (n == 0 || n >= sizeof(a->name))
        return err_set(e, "invalid address '%s': name before '=' must be 1..%d characters", spec,
                       ADDR_NAME_MAX - 1);
    for (size_t i = 0; i < n; i++) {
        char c = spec[i];
        if (!(c == '_' || c == '-' || c == '.' || (c >= '0' && c <= '9') ||
              (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
            return err_set(e,
                           "invalid address '%s': name may hold only letters, digits, "
                           "'_', '-' and '.'",
                           spec);
    }
    memcpy(a->name, spec, n);
    *rest = eq + 1;
    return 0;
}

/* Splits "HOST:PORT" or "[IPv6]:PORT" (rest, a part of spec) into host and *port_s. */
static int split_host_port(const char *rest, const char *spec, char *host, size_t cap,
                           const char **port_s, struct err *e)
{
    if (rest[0] == '[') {
        const char *close = strchr(rest, ']');
        if (!close || close[1] != ':')
            return err_set(e, "invalid address '%s': expected '[IPv6]:PORT'", spec);
        size_t n = (size_t)(close - rest - 1);
        if (n == 0 || n >= cap)
            return err_set(e, "invalid address '%s': empty or overlong IPv6 host", spec);
        memcpy(host, rest + 1, n);
        host[n] = 0;
        *port_s = close + 2;
        return 0;
    }
    const char *colon = strrchr(rest, ':');
    if (!colon)
        return err_set(e,
                       "invalid address '%s': expected HOST:PORT, [IPv6]:PORT or "
                       "unix:PATH",
                       spec);
    size_t n = (size_t)(colon - rest);
    if (n >= cap)
        return err_set(e, "invalid address '%s': host too long", spec);
    memcpy(host, rest, n);
    host[n] = 0;
    if (memchr(host, ':', n))
        return err_set(e,
                       "invalid address '%s': put an IPv6 host in brackets, "
                       "e.g. [::1]:8080",
                       spec);
    *port_s = colon + 1;
    return 0;
}

/* Completes a->ss once inet_pton filled its address of `family`. */
static int numeric(struct addr *a, int family, in_port_t *port_field, int port, socklen_t len)
{
    ((struct sockaddr *)&a->ss)->sa_family = (sa_family_t)family;
    *port_field = htons((uint16_t)port);
    a->family = family;
    a->len = len;
    return 0;
}

/* a->ss for host h (numeric first, else getaddrinfo) and port. */
static int resolve(const char *h, int port, const char *spec, struct addr *a, struct err *e)
{
    struct sockaddr_in *in = (struct sockaddr_in *)&a->ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a->ss;
    if (inet_pton(AF_INET, h, &in->sin_addr) == 1)
        return numeric(a, AF_INET, &in->sin_port, port, sizeof(*in));
    if (inet_pton(AF_INET6, h, &in6->sin6_addr) == 1)
        return numeric(a, AF_INET6, &in6->sin6_port, port, sizeof(*in6));
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(h, NULL, &hints, &res);
    if (rc != 0 || !res)
        return err_set(e, "cannot resolve host '%s' in '%s': %s", h, spec,
                       rc ? gai_strerror(rc) : "no address");
    memcpy(&a->ss, res->ai_addr, res->ai_addrlen);
    a->len = res->ai_addrlen;
    a->family = res->ai_family;
    if (a->family == AF_INET)
        in->sin_port = htons((uint16_t)port);
    else
        in6->sin6_port = htons((uint16_t)port);
    freeaddrinfo(res);
    return 0;
}

int addr_parse(const char *spec, int allow_name, struct addr *a, struct err *e)
{
    memset(a, 0, sizeof(*a));
    const char *rest = spec;
    if (allow_name && parse_name(spec, a, &rest, e) < 0)
        return -1;
    if (strncmp(rest, "unix:", 5) == 0) {
        const char *path = rest + 5;
        struct sockaddr_un *un = (struct sockaddr_un *)&a->ss;
        if (!*path || strlen(path) > ADDR_UNIX_PATH_MAX)
            return err_set(e, "invalid address '%s': unix path must be 1..%zu bytes", spec,
                           ADDR_UNIX_PATH_MAX);
        (void)addr_unix(un, path, "unix path", e);
        a->family = AF_UNIX;
        a->len = sizeof(*un);
        format_text(a);
        return 0;
    }
    char host[256];
    const char *port_s = NULL;
    if (split_host_port(rest, spec, host, sizeof(host), &port_s, e) < 0)
        return -1;
    int port = parse_port(port_s, spec, e);
    if (port < 0 || resolve(host[0] ? host : "0.0.0.0", port, spec, a, e) < 0)
        return -1;
    format_text(a);
    return 0;
}

int addr_port(const struct addr *a)
{
    if (a->family == AF_INET)
        return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
    if (a->family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
    return 0;
}

int addr_listen(const struct addr *a, int backlog, struct err *e)
{
    int fd = socket(a->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return err_errno(e, errno, "cannot create socket for '%s'", a->text);
    int one = 1;
    if (a->family == AF_UNIX) {
        const char *path = ((const struct sockaddr_un *)&a->ss)->sun_path;
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
            unlink(path);
    } else {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (a->family == AF_INET6)
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    }
    if (bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0) {
        int saved = errno;
        close(fd);
        return err_errno(e, saved, "cannot bind '%s'", a->text);
    }
    if (listen(fd, backlog) < 0) {
        int saved = errno;
        close(fd);
        return err_errno(e, saved, "cannot listen on '%s'", a->text);
    }
    return fd;
}

int addr_connect(const struct addr *a, struct err *e)
{
    int fd = socket(a->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return err_errno(e, errno, "cannot create socket for '%s'", a->text);
    if (a->family != AF_UNIX) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    if (connect(fd, (const struct sockaddr *)&a->ss, a->len) < 0 && errno != EINPROGRESS) {
        int saved = errno;
        close(fd);
        err_errno(e, saved, "cannot connect to '%s'", a->text);
        errno = saved; /* EAGAIN: a unix socket's backlog is full, the caller may retry */
        return -1;
    }
    return fd;
}

int addr_sock_error(int fd)
{
    int soerr = 0;
    socklen_t len = sizeof(soerr);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
        return errno;
    return soerr;
}

int addr_connect_result(int fd, const struct addr *a, struct err *e)
{
    int err = addr_sock_error(fd);
    return err ? err_errno(e, err, "cannot connect to '%s'", a->text) : 0;
}

int addr_from_fd(int fd, struct addr *a, struct err *e)
{
    memset(a, 0, sizeof(*a));
    a->len = sizeof(a->ss);
    if (getsockname(fd, (struct sockaddr *)&a->ss, &a->len) < 0)
        return err_errno(e, errno, "cannot read the address of fd %d", fd);
    a->family = a->ss.ss_family;
    format_text(a);
    return 0;
}

int addr_unix(struct sockaddr_un *un, const char *path, const char *what, struct err *e)
{
    size_t n = strlen(path);
    if (n > ADDR_UNIX_PATH_MAX)
        return err_set(e, "%s '%s' is longer than %zu bytes", what, path, ADDR_UNIX_PATH_MAX);
    memset(un, 0, sizeof(*un));
    un->sun_family = AF_UNIX;
    memcpy(un->sun_path, path, n + 1);
    return 0;
}

int addr_unix_name(struct sockaddr_un *un, socklen_t *len, const char *name, const char *what,
                   struct err *e)
{
    if (addr_unix(un, name, what, e) < 0)
        return -1;
    int abstract = name[0] == '@';
    if (abstract)
        un->sun_path[0] = 0;
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(name) + !abstract);
    return 0;
}
