/* Internals shared by the proxy engine's files (proxy.c: accept, connect, retry,
 * drain, the buffer pool; the relays behind relay.h: tcp.c, the byte relay, and
 * http*.c, the HTTP/1.1 mode; health.c: checks). Not for use outside src/proxy. */
#ifndef BATON_PROXY_CONN_H
#define BATON_PROXY_CONN_H

#include <sys/socket.h>

#include "core/addr.h"
#include "core/loop.h"
#include "proxy/config.h"
#include "proxy/pool.h"
#include "proxy/relay.h"

#define CONN_TRIES_MAX 8

/* Why accepting on a listener stopped while clients waited (they stay in the kernel's
 * accept queue until it goes on). */
enum listener_limit { LIMIT_MAX_CONNS, LIMIT_FDS, LIMIT_N };

struct listener {
    struct watcher w;
    struct proxy *p;
    struct listener *next;
    char name[ADDR_TEXT_MAX]; /* its address, the metrics' label */
    int tcp;                  /* an inet socket (its accept queue is readable by TCP_INFO) */
    uint64_t accepted;
    uint64_t limited[LIMIT_N];
};

struct proxy {
    struct loop *loop;
    struct proxy_config cfg;
    struct pool_table *table;
    struct listener *listeners;
    struct conn *conns; /* every live client connection */
    size_t nconns;
    struct timer drain_timer;  /* cuts connections of backends past drain_until */
    struct timer accept_timer; /* re-enables accept after EMFILE or max_conns */
    int accept_paused;
    int stopping;
    uint64_t stop_deadline;
    struct timer stop_timer;
    void (*done)(struct proxy *p, void *data); /* proxy_done_cb */
    void *done_data;
    void *health;               /* health.c */
    struct free_buf *free_bufs; /* http buffers kept for reuse (linked through their start) */
    size_t nfree_bufs, buf_size;
    char *scratch;                   /* tcp copy path: buffer_bytes read and sent at once */
    uint64_t accepted, refused_full; /* clients accepted; times max_conns paused accepting */
};

/* One direction of a tcp relay: bytes from `src` to `dst`, through a pipe (splice) or
 * a buffer (copy). */
struct tcp_dir {
    int pipe[2];
    size_t in_pipe, pipe_size;
    char *buf;
    size_t off, len;
    int splice; /* on the splice path (else copy) */
    int eof;    /* src reached EOF */
    int shut;   /* dst shut down for writing */
};

struct http_state; /* http_int.h */

/* A backend connection: its socket and the watcher registered for it stay together
 * from connect to close, so that handing the connection from a client to the idle
 * pool and back costs no epoll ADD or DEL (at most a MOD of its events). */
struct bconn {
    struct watcher w; /* w.fd is the socket; w.data the conn using it, or this bconn */
    struct proxy *p;
    struct backend *b;         /* while idle (a reference is held) */
    struct bconn *next, *prev; /* in b->idle_list while idle */
};

/* A buffer on the free list: its first bytes link to the next one. */
struct free_buf {
    struct free_buf *next;
};

struct conn {
    struct proxy *p;
    const struct relay *relay;  /* chosen at accept time */
    struct conn *next, *prev;   /* in p->conns */
    struct conn *bnext, *bprev; /* in backend->conn_list */
    struct backend *backend;    /* reference held while set */
    int counted;                /* counted in backend->conns */
    int cfd, bfd;               /* bfd: bc's socket, or -1 */
    struct watcher cw;
    struct bconn *bc;   /* the backend connection while bfd >= 0 */
    struct timer timer; /* connect, idle and header deadlines */
    struct backend *tried[CONN_TRIES_MAX];
    int ntried;
    int bconnecting;
    int breused;           /* the backend connection came from the idle pool */
    int parked;            /* http: kept between requests, not counted in backend->conns */
    char peer[64];         /* client address text, for logs and X-Forwarded-For */
    struct tcp_dir dir[2]; /* tcp relay: 0 client -> backend, 1 backend -> client */
    struct http_state *h;  /* http relay */
    uint64_t last_active_ms;
};

/* proxy.c */
/* Chooses a backend not yet tried and starts a non-blocking connect; -1 when no
 * backend is left (the caller answers the client). In http mode an idle connection
 * to the chosen backend is taken instead when there is one: then it returns 1 and
 * the backend side is ready at once (c->breused set). */
int conn_connect_backend(struct conn *c);
/* Watches c's backend socket for `events` with the relay's callback. The watcher of a
 * backend connection stays registered from connect to close: it is changed in place
 * (an epoll_ctl MOD at most, where unwatching and watching again would cost a DEL and
 * an ADD). */
int conn_watch_backend(struct conn *c, uint32_t events, watcher_cb cb);
/* http: gives the backend connection of c back to its backend's idle pool (or closes
 * it if the backend takes no new work), and releases c's backend side. */
void conn_release_backend(struct conn *c);
/* Closes the idle connections of b (it drains, or is removed), pooled or parked. */
void proxy_idle_flush(struct proxy *p, struct backend *b);
/* http: after a response, keeps c's backend connection for c's next request (it is no
 * longer counted as busy); conn_connect_backend uses it if it picks that backend. */
void conn_park_backend(struct conn *c);
/* http buffers of p->buf_size bytes, recycled through a bounded free list. */
char *proxy_buf_get(struct proxy *p);
void proxy_buf_put(struct proxy *p, char *buf);
/* A non-blocking pipe for splice(2), grown to PROXY_PIPE_BYTES where the system allows
 * (fewer splice calls and wakeups per megabyte); returns its capacity, or 0 with errno
 * set when no pipe could be made. */
#define PROXY_PIPE_BYTES (1024 * 1024)
size_t proxy_pipe(int fds[2]);
/* Releases the backend side (socket, accounting, reference). */
void conn_drop_backend(struct conn *c);
/* Closes the client connection and everything it holds. */
void conn_close(struct conn *c);
/* Starts the idle deadline of a tcp connection (checked against last_active_ms). */
void conn_arm_idle(struct conn *c);
/* After a backend entered drain: idle http connections let it go; deadlines re-armed. */
void proxy_backend_drained(struct proxy *p, struct backend *b);
void proxy_check_done(struct proxy *p);

/* health.c */
int health_start(struct proxy *p, struct err *e);
void health_track(struct proxy *p, struct backend *b);
void health_untrack(struct proxy *p, struct backend *b);
void health_free(struct proxy *p);
/* A connect refused during traffic: counts as a failed check. */
void health_passive_fail(struct proxy *p, struct backend *b);

#endif
