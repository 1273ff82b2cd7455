/* Unit tests of what `baton run --mode proxy` adds to the supervisor: the connect and
 * http:PATH readiness specs, the private port checks (supervise/portcheck.c) against
 * real loopback sockets, and the master's calls to its proxy worker on the loop
 * (supervise/ctlcall.c). The proxy worker's record in the state: test_supervise_state.c. */
#include "unit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/ctl.h"
#include "core/loop.h"
#include "supervise/ctlcall.h"
#include "supervise/portcheck.h"
#include "supervise/run.h"

static void parses_port_readiness(void **state)
{
    struct run_opts o = {0};
    struct err e;
    assert_int_equal(run_parse_ready("connect", &o, &e), 0);
    assert_int_equal(o.ready_mode, READY_CONNECT);
    assert_int_equal(run_parse_ready("http:/health?full=1", &o, &e), 0);
    assert_int_equal(o.ready_mode, READY_HTTP);
    assert_string_equal(o.ready_path, "/health?full=1");
    const char *bad[] = {"http:", "http:health", "http:/a b", "http:/a\r\nX: y", "connect:1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_refused(run_parse_ready(bad[i], &o, &e), e.msg, "invalid --ready");
    }
    char longpath[400] = "http:/";
    memset(longpath + 6, 'a', sizeof(longpath) - 7);
    longpath[sizeof(longpath) - 1] = 0;
    assert_int_equal(run_parse_ready(longpath, &o, &e), -1);
}

/* A loopback listener on a kernel-chosen port. */
static int listener(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(sin);
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(listen(fd, 8), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
    *port = ntohs(sin.sin_port);
    return fd;
}

struct outcome {
    struct loop *loop;
    int done, ok;
    char what[PORTCHECK_WHAT_MAX];
};

static void on_done(int ok, const char *what, void *data)
{
    struct outcome *o = data;
    o->done = 1;
    o->ok = ok;
    snprintf(o->what, sizeof(o->what), "%s", what);
    loop_stop(o->loop);
}

static void run_check(struct outcome *o, int port, const char *path, uint64_t timeout_ms)
{
    struct err e;
    struct portcheck *c;
    assert_int_equal(loop_new(&o->loop, &e), 0);
    assert_int_equal(portcheck_start(&c, o->loop, port, path, timeout_ms, on_done, o, &e), 0);
    assert_int_equal(loop_run(o->loop, &e), 0);
    loop_free(o->loop);
    assert_true(o->done);
}

static void checks_ports(void **state)
{
    int port;
    int fd = listener(&port);
    assert_int_equal(portcheck_port_free(port), 0); /* held by our listener */
    struct outcome o = {0};
    run_check(&o, port, NULL, 1000);
    assert_true(o.ok);
    /* http: the listener accepts but never answers: the check times out. */
    struct outcome t = {0};
    run_check(&t, port, "/health", 200);
    assert_false(t.ok);
    assert_string_equal(t.what, "GET /health timed out after 200 ms");
    close(fd);
    /* Nothing listens any more: refused, and the port is free again. */
    struct outcome r = {0};
    run_check(&r, port, NULL, 1000);
    assert_false(r.ok);
    assert_non_null(strstr(r.what, "Connection refused"));
    assert_int_equal(portcheck_port_free(port), 1);
}

/* --- the master's calls to its proxy worker (supervise/ctlcall.c) ------------------------- */

struct call_outcome {
    struct loop *loop;
    int done;
    json_t *reply;
    char error[ERR_MSG_MAX];
    struct ctl_req *held; /* a request the server never answers */
};

static void on_call(json_t *reply, const char *error, void *data)
{
    struct call_outcome *o = data;
    o->done++;
    o->reply = json_incref(reply);
    snprintf(o->error, sizeof(o->error), "%s", error ? error : "");
    loop_stop(o->loop);
}

static void serve(struct ctl_req *req, const char *cmd, json_t *msg, void *data)
{
    struct call_outcome *o = data;
    if (strcmp(cmd, "echo") == 0)
        ctl_reply_ok(req, json_pack("{s:O}", "got", json_object_get(msg, "arg")));
    else if (strcmp(cmd, "hold") == 0)
        o->held = req;
    else
        ctl_reply_error(req, "unknown command '%s'", cmd);
}

static void sock_path(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "/tmp/baton-unit-%d-%s.sock", (int)getpid(), name);
    unlink(buf);
}

static void one_call(struct call_outcome *o, const char *path, json_t *req, uint64_t timeout_ms)
{
    struct ctlcall *c;
    struct err e;
    assert_int_equal(ctlcall_start(&c, o->loop, path, req, timeout_ms, on_call, o, &e), 0);
    json_decref(req);
    assert_int_equal(loop_run(o->loop, &e), 0);
    assert_int_equal(o->done, 1);
}

static void calls_on_the_loop(void **state)
{
    struct call_outcome o = {0};
    struct err e;
    char path[108];
    sock_path(path, sizeof(path), "call");
    assert_int_equal(loop_new(&o.loop, &e), 0);
    struct ctl_server *srv;
    assert_int_equal(ctl_server_open(&srv, o.loop, path, serve, &o, &e), 0);
    one_call(&o, path, json_pack("{s:s,s:i}", "cmd", "echo", "arg", 7), 1000);
    assert_string_equal(o.error, "");
    assert_int_equal(json_integer_value(json_object_get(o.reply, "got")), 7);
    json_decref(o.reply);
    o.done = 0;
    one_call(&o, path, json_pack("{s:s}", "cmd", "nope"), 1000);
    assert_null(o.reply);
    assert_string_equal(o.error, "unknown command 'nope'");
    /* A peer that never answers: the call ends at its timeout; the loop went on. */
    o.done = 0;
    one_call(&o, path, json_pack("{s:s}", "cmd", "hold"), 100);
    assert_non_null(o.held);
    char want[200];
    snprintf(want, sizeof(want), "timed out after 100 ms waiting for the reply of 'unix:%s'", path);
    assert_string_equal(o.error, want);
    /* A cancelled call never reports. */
    struct ctlcall *c;
    json_t *req = json_pack("{s:s}", "cmd", "hold");
    assert_int_equal(ctlcall_start(&c, o.loop, path, req, 100, on_call, &o, &e), 0);
    json_decref(req);
    ctlcall_cancel(c);
    ctl_server_close(srv, 1);
    ctl_reply_error(o.held, "closed"); /* a held request is still ours to finish */
    /* Nobody listens any more: reported from the loop, like every other failure. */
    o.done = 0;
    one_call(&o, path, json_pack("{s:s}", "cmd", "echo"), 100);
    assert_null(o.reply);
    snprintf(want, sizeof(want), "cannot connect to 'unix:%s': No such file or directory", path);
    assert_string_equal(o.error, want);
    /* A path no socket can have is refused at once. */
    char longpath[200];
    memset(longpath, 'p', sizeof(longpath) - 1);
    longpath[sizeof(longpath) - 1] = 0;
    req = json_pack("{s:s}", "cmd", "echo");
    assert_int_equal(ctlcall_start(&c, o.loop, longpath, req, 100, on_call, &o, &e), -1);
    json_decref(req);
    assert_non_null(strstr(e.msg, "is longer than"));
    loop_free(o.loop);
}

/* A raw peer that answers each connection with `len` bytes of `fill` (plus `tail`). */
struct raw_peer {
    struct watcher w, conn;
    struct loop *loop;
    char fill;
    size_t len, sent;
    const char *tail;
};

static void raw_write(struct loop *loop, struct watcher *w, uint32_t revents)
{
    struct raw_peer *p = w->data;
    char chunk[16384];
    memset(chunk, p->fill, sizeof(chunk));
    while (p->sent < p->len) {
        size_t n = p->len - p->sent < sizeof(chunk) ? p->len - p->sent : sizeof(chunk);
        ssize_t r = send(w->fd, chunk, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (r <= 0)
            return; /* full (wait for EPOLLOUT) or the caller went away */
        p->sent += (size_t)r;
    }
    if (p->tail)
        send(w->fd, p->tail, strlen(p->tail), MSG_NOSIGNAL | MSG_DONTWAIT);
    loop_unwatch(loop, w);
}

static void raw_accept(struct loop *loop, struct watcher *w, uint32_t revents)
{
    struct raw_peer *p = w->data;
    int fd = accept4(w->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    struct err e;
    if (fd >= 0)
        assert_int_equal(loop_watch(loop, &p->conn, fd, EPOLLOUT, raw_write, p, &e), 0);
}

static int raw_listen(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    snprintf(un.sun_path, sizeof(un.sun_path), "%s", path);
    assert_int_equal(bind(fd, (struct sockaddr *)&un, sizeof(un)), 0);
    assert_int_equal(listen(fd, 4), 0);
    return fd;
}

static void refuses_bad_replies(void **state)
{
    struct err e;
    char path[108], want[200];
    sock_path(path, sizeof(path), "raw");
    struct call_outcome o = {0};
    assert_int_equal(loop_new(&o.loop, &e), 0);
    int lfd = raw_listen(path);
    struct raw_peer p = {.loop = o.loop, .fill = 'x', .len = 3, .tail = "\n"};
    assert_int_equal(loop_watch(o.loop, &p.w, lfd, EPOLLIN, raw_accept, &p, &e), 0);
    one_call(&o, path, json_pack("{s:s}", "cmd", "x"), 2000);
    assert_null(o.reply);
    assert_non_null(strstr(o.error, "malformed reply from"));
    close(p.conn.fd);
    /* A reply that never ends is cut at the cap. */
    o.done = 0;
    p.len = CTLCALL_REPLY_MAX + 65536;
    p.sent = 0;
    p.tail = NULL;
    one_call(&o, path, json_pack("{s:s}", "cmd", "x"), 5000);
    snprintf(want, sizeof(want), "reply from 'unix:%s' is longer than %d bytes", path,
             CTLCALL_REPLY_MAX);
    assert_string_equal(o.error, want);
    if (p.conn.active)
        loop_unwatch(o.loop, &p.conn);
    close(p.conn.fd);
    loop_unwatch(o.loop, &p.w);
    close(lfd);
    unlink(path);
    loop_free(o.loop);
}

/* The peer's backlog is full when the call starts: the call tries again every 10 ms
 * and gets its reply once the peer accepts (a failure at once would say "Resource
 * temporarily unavailable"). */
struct backlog_peer {
    struct raw_peer raw;
    int lfd, queued[8], nqueued;
    struct timer open_up;
};

static void open_up(struct loop *loop, struct timer *t)
{
    struct backlog_peer *b = t->data;
    struct err e;
    for (int i = 0; i < b->nqueued; i++)
        close(b->queued[i]);
    int fd;
    while ((fd = accept4(b->lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
        close(fd); /* the connections that filled the backlog */
    assert_int_equal(loop_watch(loop, &b->raw.w, b->lfd, EPOLLIN, raw_accept, &b->raw, &e), 0);
}

static void retries_a_full_backlog(void **state)
{
    struct err e;
    char path[108];
    sock_path(path, sizeof(path), "backlog");
    struct call_outcome o = {0};
    assert_int_equal(loop_new(&o.loop, &e), 0);
    struct backlog_peer b = {.raw = {.loop = o.loop, .tail = "{\"ok\":true,\"n\":1}\n"}};
    b.lfd = raw_listen(path);
    assert_int_equal(listen(b.lfd, 0), 0);
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    snprintf(un.sun_path, sizeof(un.sun_path), "%s", path);
    for (;;) {
        assert_true(b.nqueued < 8);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (connect(fd, (struct sockaddr *)&un, sizeof(un)) < 0) {
            assert_int_equal(errno, EAGAIN);
            close(fd);
            break;
        }
        b.queued[b.nqueued++] = fd;
    }
    timer_start(o.loop, &b.open_up, 50, open_up, &b);
    one_call(&o, path, json_pack("{s:s}", "cmd", "x"), 5000);
    assert_string_equal(o.error, "");
    assert_int_equal(json_integer_value(json_object_get(o.reply, "n")), 1);
    json_decref(o.reply);
    if (b.raw.conn.active)
        loop_unwatch(o.loop, &b.raw.conn);
    close(b.raw.conn.fd);
    loop_unwatch(o.loop, &b.raw.w);
    close(b.lfd);
    unlink(path);
    loop_free(o.loop);
}

UNIT_MAIN("modeproxy", NULL, NULL, cmocka_unit_test(parses_port_readiness),
          cmocka_unit_test(checks_ports), cmocka_unit_test(calls_on_the_loop),
          cmocka_unit_test(refuses_bad_replies), cmocka_unit_test(retries_a_full_backlog))
