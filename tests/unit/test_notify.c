/* Unit tests of the sd_notify parser and receiver (supervise/notify.c) and of what the
 * master reads in /proc (supervise/proc.c). */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "supervise/notify.h"
#include "supervise/proc.h"

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
    assert_refused(notify_parse("READY", 5, &m, &e), e.msg, "is not KEY=VALUE");
    assert_refused(notify_parse("ready=1", 7, &m, &e), e.msg, "[A-Z0-9_]+");
    assert_refused(notify_parse("READY=1\0X", 9, &m, &e), e.msg, "NUL");
    char *big = malloc(NOTIFY_MSG_MAX + 1);
    memset(big, 'A', NOTIFY_MSG_MAX + 1);
    assert_refused(notify_parse(big, NOTIFY_MSG_MAX + 1, &m, &e), e.msg, "longer than");
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
    assert_refused(notify_recv(fd, buf, sizeof(buf), &pid, &e), e.msg, "longer than");
    assert_int_equal(notify_recv(fd, buf, sizeof(buf), &pid, &e), 0); /* nothing waiting */
    close(c);
    close(fd);
    unlink(path);
    rmdir(dir);
}

static void start_time_of_self(void **state)
{
    assert_true(proc_start_time(getpid()) > 0);
    assert_int_equal(proc_parent(getpid()), getppid());
    assert_int_equal(proc_parent(4194304 - 1), 0);
    assert_int_equal(proc_start_time(4194304 - 1), 0);
}

UNIT_MAIN("notify", NULL, NULL, cmocka_unit_test(parses_ready_and_stopping),
          cmocka_unit_test(refuses_bad_messages), cmocka_unit_test(status_is_capped),
          cmocka_unit_test(receives_with_sender_pid), cmocka_unit_test(start_time_of_self))
