/* libFuzzer target: the http mode end to end (src/proxy/http*.c). The
 * input is split into what a client sends and what the backend answers; both go
 * through a real engine over unix sockets on an event loop, so request and response
 * parsing, head rewriting, framing, pipelining and error answers are all reached. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/log.h"
#include "proxy/proxy.h"

static struct loop *loop;
static struct proxy *proxy;
static char front_path[108];
static int backend_listen = -1;
static struct watcher backend_w;
static const uint8_t *answer;
static size_t answer_len;

struct peer {
    struct watcher w;
    int answered;
};

static void on_backend_conn(struct loop *l, struct watcher *w, uint32_t revents)
{
    struct peer *b = w->data;
    char buf[4096];
    ssize_t n = recv(w->fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0 && !b->answered) {
        /* answer once, whatever was asked, then close */
        b->answered = 1;
        send(w->fd, answer, answer_len, MSG_NOSIGNAL | MSG_DONTWAIT);
        shutdown(w->fd, SHUT_WR);
        return;
    }
    if (n == 0 || (n < 0 && errno != EAGAIN)) {
        loop_unwatch(l, w);
        close(w->fd);
        free(b);
    }
}

static void on_backend_accept(struct loop *l, struct watcher *w, uint32_t revents)
{
    for (;;) {
        int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        struct peer *b = calloc(1, sizeof(*b));
        if (!b || loop_watch(l, &b->w, fd, EPOLLIN, on_backend_conn, b, NULL) < 0) {
            free(b);
            close(fd);
        }
    }
}

static int listen_unix(const char *path)
{
    char spec[128];
    snprintf(spec, sizeof(spec), "unix:%s", path);
    struct addr a;
    struct err e;
    if (addr_parse(spec, 0, &a, &e) < 0)
        return -1;
    return addr_listen(&a, 128, &e);
}

static int setup(void)
{
    struct err e;
    char dir[64];
    snprintf(dir, sizeof(dir), "/tmp/baton-fuzz-http-%d", (int)getpid());
    mkdir(dir, 0700);
    char backend_path[108];
    snprintf(backend_path, sizeof(backend_path), "%s/backend.sock", dir);
    snprintf(front_path, sizeof(front_path), "%s/front.sock", dir);
    log_setup(LOG_ALERT, "fuzz");
    if (loop_new(&loop, &e) < 0)
        return -1;
    backend_listen = listen_unix(backend_path);
    int front = listen_unix(front_path);
    if (backend_listen < 0 || front < 0)
        return -1;
    loop_watch(loop, &backend_w, backend_listen, EPOLLIN, on_backend_accept, NULL, NULL);
    struct pool_table *t;
    char spec[160];
    snprintf(spec, sizeof(spec), "b=unix:%s", backend_path);
    if (pool_table_new(&t, BALANCE_ROUNDROBIN, &e) < 0 || pool_add_spec(t, spec, NULL, &e) < 0)
        return -1;
    struct proxy_config cfg;
    proxy_config_defaults(&cfg);
    cfg.mode = PROXY_HTTP;
    cfg.health = HEALTH_NONE;
    cfg.header_timeout_ms = 200;
    cfg.idle_timeout_ms = 300;
    cfg.connect_timeout_ms = 200;
    cfg.buffer_bytes = 1024; /* small buffers: backpressure paths get exercised */
    cfg.header_max_bytes = 1024;
    if (proxy_new(&proxy, loop, &cfg, t, &e) < 0)
        return -1;
    return proxy_add_listener(proxy, front, &e);
}

static struct timer guard;
static void on_guard(struct loop *l, struct timer *t)
{
    loop_stop(l);
}

static void on_client(struct loop *l, struct watcher *w, uint32_t revents)
{
    char buf[4096];
    for (;;) {
        ssize_t n = recv(w->fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n > 0)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        loop_stop(l); /* the proxy closed: this exchange is over */
        return;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        if (setup() < 0)
            abort(); /* the harness itself could not start */
        ready = 1;
    }
    if (size < 2)
        return 0;
    size_t req_len = ((size_t)data[0] << 8 | data[1]) % (size - 1);
    const uint8_t *req = data + 2;
    answer = req + req_len;
    answer_len = size - 2 - req_len;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    snprintf(un.sun_path, sizeof(un.sun_path), "%s", front_path);
    if (fd < 0 || connect(fd, (struct sockaddr *)&un, sizeof(un)) < 0) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    /* small inputs fit the socket buffer; the rest is dropped */
    send(fd, req, req_len, MSG_NOSIGNAL | MSG_DONTWAIT);
    shutdown(fd, SHUT_WR);
    struct watcher w = {0};
    struct err e;
    loop_watch(loop, &w, fd, EPOLLIN, on_client, NULL, NULL);
    timer_start(loop, &guard, 2000, on_guard, NULL);
    loop_run(loop, &e);
    timer_stop(loop, &guard);
    loop_unwatch(loop, &w);
    close(fd);
    return 0;
}
