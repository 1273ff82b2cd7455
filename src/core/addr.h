/* Listen and backend addresses: parsing "[NAME=]HOST:PORT", "[IPv6]:PORT" and
 * "unix:PATH", binding listeners and starting non-blocking connects. */
#ifndef BATON_CORE_ADDR_H
#define BATON_CORE_ADDR_H

#include <sys/socket.h>
#include <sys/un.h>

#include "core/err.h"

#define ADDR_NAME_MAX 64
#define ADDR_TEXT_MAX 128
/* A buffer that holds any unix socket path with its NUL: sun_path's size, named once
 * (108 on Linux); the longest path is one byte less. */
#define ADDR_UNIX_PATH_SIZE sizeof(((struct sockaddr_un *)0)->sun_path)
#define ADDR_UNIX_PATH_MAX  (ADDR_UNIX_PATH_SIZE - 1)

struct addr {
    char name[ADDR_NAME_MAX]; /* the NAME= part, or "" */
    char text[ADDR_TEXT_MAX]; /* the address as given, without NAME= */
    struct sockaddr_storage ss;
    socklen_t len;
    int family; /* AF_INET, AF_INET6, AF_UNIX */
};

/* Parses `spec`. With allow_name, a leading "NAME=" is split off into a->name.
 * Host names are resolved (numeric first; "localhost" and others via getaddrinfo). */
int addr_parse(const char *spec, int allow_name, struct addr *a, struct err *e);

/* Creates a listening, non-blocking, close-on-exec socket bound to `a`
 * (SO_REUSEADDR; a stale unix socket file is replaced). Returns the fd or -1. */
int addr_listen(const struct addr *a, int backlog, struct err *e);

/* Starts a non-blocking connect to `a`. Returns the fd (connect may be in progress:
 * wait for EPOLLOUT and check SO_ERROR with addr_connect_result) or -1 with errno set
 * (EAGAIN: a unix socket whose backlog is full). */
int addr_connect(const struct addr *a, struct err *e);
/* After EPOLLOUT on a connecting fd: 0 when connected, else -1 with the reason. */
int addr_connect_result(int fd, const struct addr *a, struct err *e);
/* A socket's pending error (SO_ERROR, which it clears), 0 when there is none. */
int addr_sock_error(int fd);

/* Fills `a` from the local address of a bound socket fd (for inherited listeners). */
int addr_from_fd(int fd, struct addr *a, struct err *e);

/* Fills `un` with the unix socket PATH; a path longer than ADDR_UNIX_PATH_MAX is refused
 * with "WHAT 'PATH' is longer than N bytes". */
int addr_unix(struct sockaddr_un *un, const char *path, const char *what, struct err *e);
/* The same for a peer named by the environment (NOTIFY_SOCKET): PATH, or "@NAME" for NAME
 * in Linux's abstract namespace (no file; the name is the bytes after a NUL, with no
 * terminator). *len is the address's length to pass to sendto or connect. */
int addr_unix_name(struct sockaddr_un *un, socklen_t *len, const char *name, const char *what,
                   struct err *e);

/* The port of an inet address, or 0. */
int addr_port(const struct addr *a);

#endif
