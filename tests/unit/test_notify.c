/* Unit tests of the sd_notify parser and receiver (supervise/notify.c) and of the
 * master state format (supervise/state.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "supervise/notify.h"
#include "supervise/state.h"

static void parses_ready_and_stopping(void **state)
{
    struct notify_msg m;
    struct err e;
    assert_int_equal(notify_parse("READY=1", 7, &m, &e), 0);
    assert_true(m.ready);
    assert_false(m.stopping);
    const char *multi = "STATUS=serving 3 conns\nSTOPPING=1\nMAINPID=42\nX_CUSTOM=yes\n";
    assert_int_equal(notify_parse(multi, strlen(multi), &m, &e), 0);
    assert_false(m.ready);
    assert_true(m.stopping);
    assert_true(m.has_status);
    assert_string_equal(m.status, "serving 3 conns");
    assert_int_equal(notify_parse("READY=0", 7, &m, &e), 0);
    assert_false(m.ready);
    assert_int_equal(notify_parse("", 0, &m, &e), 0);
}

static void refuses_bad_messages(void **state)
{
    struct notify_msg m;
    struct err e;
    assert_int_equal(notify_parse("READY", 5, &m, &e), -1);
    assert_non_null(strstr(e.msg, "is not KEY=VALUE"));
    assert_int_equal(notify_parse("ready=1", 7, &m, &e), -1);
    assert_non_null(strstr(e.msg, "[A-Z0-9_]+"));
    assert_int_equal(notify_parse("READY=1\0X", 9, &m, &e), -1);
    assert_non_null(strstr(e.msg, "NUL"));
    char *big = malloc(NOTIFY_MSG_MAX + 1);
    memset(big, 'A', NOTIFY_MSG_MAX + 1);
    assert_int_equal(notify_parse(big, NOTIFY_MSG_MAX + 1, &m, &e), -1);
    assert_non_null(strstr(e.msg, "longer than"));
    free(big);
}

static void status_is_capped(void **state)
{
    char buf[600] = "STATUS=";
    memset(buf + 7, 'x', 500);
    buf[507] = 0;
    struct notify_msg m;
    struct err e;
    assert_int_equal(notify_parse(buf, strlen(buf), &m, &e), 0);
    assert_int_equal(strlen(m.status), NOTIFY_STATUS_MAX - 1);
}

static void receives_with_sender_pid(void **state)
{
    char dir[] = "/tmp/baton-notify-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof(path), "%s/n.sock", dir);
    struct err e;
    int fd = notify_open(path, &e);
    assert_true(fd >= 0);
    int c = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    strcpy(un.sun_path, path);
    assert_int_equal(sendto(c, "READY=1", 7, 0, (struct sockaddr *)&un, sizeof(un)), 7);
    char buf[64];
    pid_t pid = 0;
    assert_int_equal(notify_recv(fd, buf, sizeof(buf), &pid, &e), 7);
    assert_int_equal(pid, getpid());
    /* a datagram longer than the buffer is refused, not cut */
    char big[200];
    memset(big, 'A', sizeof(big));
    assert_int_equal(sendto(c, big, sizeof(big), 0, (struct sockaddr *)&un, sizeof(un)), 200);
    assert_int_equal(notify_recv(fd, buf, sizeof(buf), &pid, &e), -1);
    assert_non_null(strstr(e.msg, "longer than"));
    assert_int_equal(notify_recv(fd, buf, sizeof(buf), &pid, &e), 0); /* nothing waiting */
    close(c);
    close(fd);
    unlink(path);
    rmdir(dir);
}

static void state_round_trip(void **state)
{
    struct run_state s = {0};
    s.master_pid = 1234;
    s.notify_fd = 5;
    s.control_fd = 6;
    s.next_gen = 4;
    s.current_gen = 3;
    s.reexecs = 2;
    s.started_unix_ms = 1700000000000;
    char *prev[] = {"app", "--version", "v2", NULL};
    s.prev_argv = argv_dup(prev);
    s.nlisten = 1;
    strcpy(s.listen[0].name, "web");
    strcpy(s.listen[0].addr, "127.0.0.1:8080");
    s.listen[0].fd = 7;
    s.listen[0].worker_fd = 3;
    s.ngens = 1;
    char *cmd[] = {"app", "--version", "v3", NULL};
    s.gens[0].id = 3;
    s.gens[0].state = 2;
    s.gens[0].argv = argv_dup(cmd);
    s.gens[0].nslots = 2;
    s.gens[0].nworkers = 1;
    s.gens[0].workers = calloc(1, sizeof(struct state_worker));
    s.gens[0].workers[0] =
        (struct state_worker){.pid = 99, .start_time = 12345, .slot = 1, .ready = 1};
    char *text = state_dump(&s);
    assert_non_null(text);
    struct run_state t;
    struct err e;
    assert_int_equal(state_parse(text, strlen(text), &t, &e), 0);
    assert_int_equal(t.master_pid, 1234);
    assert_int_equal(t.current_gen, 3);
    assert_int_equal(t.reexecs, 2);
    assert_string_equal(t.prev_argv[2], "v2");
    assert_string_equal(t.listen[0].addr, "127.0.0.1:8080");
    assert_int_equal(t.listen[0].fd, 7);
    assert_int_equal(t.gens[0].workers[0].pid, 99);
    assert_int_equal(t.gens[0].workers[0].start_time, 12345);
    assert_int_equal(t.gens[0].workers[0].slot, 1);
    assert_true(t.gens[0].workers[0].ready);
    assert_string_equal(t.gens[0].argv[2], "v3");
    state_free(&t);
    state_free(&s);
    free(text);
}

static void state_refuses_bad_input(void **state)
{
    struct run_state t;
    struct err e;
    const char *bad[] = {
        "",
        "[]",
        "{\"format\":2}",
        "{\"format\":1,\"master_pid\":0}",
        "{\"format\":1,\"master_pid\":5,\"notify_fd\":-1,\"control_fd\":-1,\"next_gen\":1,"
        "\"current_gen\":0,\"reexecs\":0,\"started_unix_ms\":0,\"listen\":{},\"generations\":[]}",
        "{\"format\":1,\"master_pid\":5,\"notify_fd\":-1,\"control_fd\":-1,\"next_gen\":1,"
        "\"current_gen\":0,\"reexecs\":0,\"started_unix_ms\":0,\"listen\":[],\"generations\":"
        "[{\"id\":1,\"state\":9}]}",
        "{\"format\":1,\"master_pid\":5,\"notify_fd\":-1,\"control_fd\":-1,\"next_gen\":1,"
        "\"current_gen\":0,\"reexecs\":0,\"started_unix_ms\":0,\"listen\":[],\"generations\":"
        "[{\"id\":1,\"state\":2,\"started_unix_ms\":0,\"drain_deadline_unix_ms\":0,"
        "\"restarts\":0,\"slots\":1,\"command\":[],\"workers\":[]}]}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(state_parse(bad[i], strlen(bad[i]), &t, &e), -1);
        assert_non_null(strstr(e.msg, "malformed state"));
    }
}

static void start_time_of_self(void **state)
{
    assert_true(proc_start_time(getpid()) > 0);
    assert_int_equal(proc_parent(getpid()), getppid());
    assert_int_equal(proc_parent(4194304 - 1), 0);
    assert_int_equal(proc_start_time(4194304 - 1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_ready_and_stopping), cmocka_unit_test(refuses_bad_messages),
        cmocka_unit_test(status_is_capped),          cmocka_unit_test(receives_with_sender_pid),
        cmocka_unit_test(state_round_trip),          cmocka_unit_test(state_refuses_bad_input),
        cmocka_unit_test(start_time_of_self),
    };
    return cmocka_run_group_tests_name("notify_state", tests, NULL, NULL);
}
