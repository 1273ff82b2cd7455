/* What the end-to-end libFuzzer targets of the http mode share: a real engine (src/proxy)
 * on an event loop, listening on a unix socket, in front of one backend on another unix
 * socket whose connections the target handles itself; and one client exchange. Included
 * by fuzz_http_proxy.c and fuzz_http_diff.c, each a program of its own. */
#ifndef BATON_FUZZ_PROXY_HARNESS_H
#define BATON_FUZZ_PROXY_HARNESS_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/log.h"
#include "proxy/proxy.h"

static struct loop *loop;
static struct proxy *proxy;
static char front_path[108];
static struct watcher backend_w;

/* How the backend's connections are made: the size of the target's own struct for one
 * (whose first member is its struct watcher) and what reads from one. */
static struct {
    size_t peer_size;
    watcher_cb on_data;
} backend_kind;

/* The backend's open connections, held here so that one the engine keeps open when the
 * run ends is still referenced (LeakSanitizer does not see the loop's epoll data). */
static struct watcher **peers;
static size_t npeers, peers_cap;

/* Closes a backend connection after a read of N bytes that ended it (EOF or an error). */

static inline int peer_closed(struct loop *l, struct watcher *w, ssize_t n)
{
    if (n > 0 || (n < 0 && errno == EAGAIN))
        return 0;
    for (size_t i = 0; i < npeers; i++)
        if (peers[i] == w) {
            peers[i] = peers[--npeers];
            break;
        }
    loop_unwatch(l, w);
    close(w->fd);
    free(w->data);
    return 1;
}

static inline int peer_keep(struct watcher *b)
{
    if (npeers == peers_cap) {
        size_t cap = peers_cap ? 2 * peers_cap : 16;
        struct watcher **v = realloc(peers, cap * sizeof(*v));
        if (!v)
            return -1;
        peers = v;
        peers_cap = cap;
    }
    peers[npeers++] = b;
    return 0;
}

static inline void on_backend_accept(struct loop *l, struct watcher *w, uint32_t revents)
{
    for (;;) {
        int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        struct watcher *b = calloc(1, backend_kind.peer_size);
        if (!b || peer_keep(b) < 0) {
            free(b);
            close(fd);
        } else if (loop_watch(l, b, fd, EPOLLIN, backend_kind.on_data, b, NULL) < 0) {
            npeers--;
            free(b);
            close(fd);
        }
    }
}

static inline int listen_unix(const char *path)
{
    char spec[128];
    snprintf(spec, sizeof(spec), "unix:%s", path);
    struct addr a;
    struct err e;
    if (addr_parse(spec, 0, &a, &e) < 0)
        return -1;
    return addr_listen(&a, 128, &e);
}

/* The engine's defaults in http mode, without health checks (the backend is always up),
 * with the target's timeouts and its (small) buffers and head limit. */
static inline struct proxy_config harness_config(int header_timeout_ms, int idle_timeout_ms,
                                                 size_t buffer_bytes, size_t header_max_bytes)
{
    struct proxy_config cfg;
    proxy_config_defaults(&cfg);
    cfg.mode = PROXY_HTTP;
    cfg.health = HEALTH_NONE;
    cfg.header_timeout_ms = header_timeout_ms;
    cfg.idle_timeout_ms = idle_timeout_ms;
    cfg.buffer_bytes = buffer_bytes;
    cfg.header_max_bytes = header_max_bytes;
    return cfg;
}

/* Starts the loop, the backend (each connection a PEER_SIZE struct that starts with its
 * watcher, read by ON_DATA) and the engine with CFG, in /tmp/baton-fuzz-NAME-PID. Returns
 * 0, for LLVMFuzzerInitialize; aborts when it cannot start: nothing could be fuzzed. */
static inline int harness_start(const char *name, size_t peer_size, watcher_cb on_data,
                                const struct proxy_config *cfg)
{
    struct err e;
    char dir[64], backend_path[108], spec[160];
    snprintf(dir, sizeof(dir), "/tmp/baton-fuzz-%s-%d", name, (int)getpid());
    mkdir(dir, 0700);
    snprintf(backend_path, sizeof(backend_path), "%s/backend.sock", dir);
    snprintf(front_path, sizeof(front_path), "%s/front.sock", dir);
    log_setup(LOG_ALERT, "fuzz");
    if (loop_new(&loop, &e) < 0)
        goto fail;
    int backend = listen_unix(backend_path), front = listen_unix(front_path);
    if (backend < 0 || front < 0)
        goto fail;
    backend_kind.peer_size = peer_size;
    backend_kind.on_data = on_data;
    loop_watch(loop, &backend_w, backend, EPOLLIN, on_backend_accept, NULL, NULL);
    struct pool_table *t;
    snprintf(spec, sizeof(spec), "b=unix:%s", backend_path);
    if (pool_table_new(&t, BALANCE_ROUNDROBIN, &e) < 0 || pool_add_spec(t, spec, NULL, &e) < 0)
        goto fail;
    if (proxy_new(&proxy, loop, cfg, t, &e) < 0)
        goto fail;
    if (proxy_add_listener(proxy, front, &e) == 0)
        return 0;
fail:
    abort();
}

static inline void on_guard(struct loop *l, struct timer *t)
{
    loop_stop(l);
}

/* One client: sends REQ (what fits the socket buffer) and its end, then runs the loop
 * until ON_ANSWER stops it (the proxy closed) or GUARD_MS passed. -1 when the client
 * could not connect. */
static inline int harness_exchange(const void *req, size_t len, watcher_cb on_answer,
                                   uint64_t guard_ms)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    snprintf(un.sun_path, sizeof(un.sun_path), "%s", front_path);
    if (fd < 0 || connect(fd, (struct sockaddr *)&un, sizeof(un)) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    send(fd, req, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    shutdown(fd, SHUT_WR);
    struct watcher w = {0};
    struct timer guard = {0};
    struct err e;
    loop_watch(loop, &w, fd, EPOLLIN, on_answer, NULL, NULL);
    timer_start(loop, &guard, guard_ms, on_guard, NULL);
    loop_run(loop, &e);
    timer_stop(loop, &guard);
    loop_unwatch(loop, &w);
    close(fd);
    return 0;
}

#endif
