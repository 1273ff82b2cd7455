/* Unit tests of what `baton run --mode proxy` adds to the supervisor: the connect and
 * http:PATH readiness specs, the proxy worker and private ports in the master state,
 * and the private port checks (supervise/portcheck.c) against real loopback sockets. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/loop.h"
#include "supervise/portcheck.h"
#include "supervise/run.h"
#include "supervise/state.h"

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
        assert_int_equal(run_parse_ready(bad[i], &o, &e), -1);
        assert_non_null(strstr(e.msg, "invalid --ready"));
    }
    char longpath[400] = "http:/";
    memset(longpath + 6, 'a', sizeof(longpath) - 7);
    longpath[sizeof(longpath) - 1] = 0;
    assert_int_equal(run_parse_ready(longpath, &o, &e), -1);
}

static void state_keeps_proxy_and_ports(void **state)
{
    struct run_state s = {0};
    s.master_pid = 10;
    s.next_gen = 3;
    s.current_gen = 2;
    s.proxy_mode = 1;
    s.proxy_pid = 77;
    s.proxy_start_time = 555;
    s.proxy_restarts = 4;
    s.proxy_ready = 1;
    s.ngens = 1;
    char *cmd[] = {"app", NULL};
    s.gens[0].id = 2;
    s.gens[0].state = 2;
    s.gens[0].argv = argv_dup(cmd);
    s.gens[0].nslots = 2;
    s.gens[0].workers = calloc(1, sizeof(struct state_worker));
    s.gens[0].ports = calloc(2, sizeof(int));
    s.gens[0].ports[0] = 20001;
    s.gens[0].ports[1] = 20002;
    char *text = state_dump(&s);
    assert_non_null(text);
    struct run_state t;
    struct err e;
    assert_int_equal(state_parse(text, strlen(text), &t, &e), 0);
    assert_true(t.proxy_mode);
    assert_int_equal(t.proxy_pid, 77);
    assert_int_equal(t.proxy_start_time, 555);
    assert_int_equal(t.proxy_restarts, 4);
    assert_true(t.proxy_ready);
    assert_non_null(t.gens[0].ports);
    assert_int_equal(t.gens[0].ports[1], 20002);
    state_free(&t);
    state_free(&s);
    free(text);

    /* A handoff-mode state has neither. */
    struct run_state h = {0};
    h.master_pid = 10;
    h.next_gen = 1;
    text = state_dump(&h);
    assert_int_equal(state_parse(text, strlen(text), &t, &e), 0);
    assert_false(t.proxy_mode);
    state_free(&t);
    free(text);
}

static void state_refuses_bad_ports(void **state)
{
    const char *head = "{\"format\":1,\"master_pid\":5,\"notify_fd\":-1,\"control_fd\":-1,"
                       "\"next_gen\":2,\"current_gen\":1,\"reexecs\":0,\"started_unix_ms\":0,"
                       "\"listen\":[],";
    const char *bad[] = {
        "\"generations\":[{\"id\":1,\"state\":2,\"started_unix_ms\":0,\"drain_deadline_unix_ms\":0,"
        "\"restarts\":0,\"slots\":1,\"command\":[\"a\"],\"workers\":[],\"ports\":[70000]}]}",
        "\"generations\":[{\"id\":1,\"state\":2,\"started_unix_ms\":0,\"drain_deadline_unix_ms\":0,"
        "\"restarts\":0,\"slots\":1,\"command\":[\"a\"],\"workers\":[],\"ports\":[1,2]}]}",
        "\"generations\":[],\"proxy\":[]}",
        "\"generations\":[],\"proxy\":{\"pid\":-3,\"start_time\":0,\"restarts\":0}}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char doc[1024];
        snprintf(doc, sizeof(doc), "%s%s", head, bad[i]);
        struct run_state t;
        struct err e;
        assert_int_equal(state_parse(doc, strlen(doc), &t, &e), -1);
        assert_non_null(strstr(e.msg, "malformed state"));
    }
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_port_readiness),
        cmocka_unit_test(state_keeps_proxy_and_ports),
        cmocka_unit_test(state_refuses_bad_ports),
        cmocka_unit_test(checks_ports),
    };
    return cmocka_run_group_tests_name("modeproxy", tests, NULL, NULL);
}
