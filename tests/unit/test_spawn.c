/* Unit tests of core/spawn.c against real children: descriptors land on 3.. (even when
 * they start inside that range), LISTEN_PID is the child's own pid, the environment is
 * filtered and overridden, and a failed exec is reported with its cause. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/spawn.h"

/* Runs `script` under /bin/sh with `s` and returns what it wrote to stdout. */
static void run_sh(struct spawn *s, const char *script, char *out, size_t size, int *status)
{
    char *argv[] = {"/bin/sh", "-c", (char *)script, NULL};
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    s->argv = argv;
    s->stdout_fd = p[1];
    struct err e;
    int exec_errno = -1;
    pid_t pid = spawn_start(s, &exec_errno, &e);
    assert_true(pid > 0);
    assert_int_equal(exec_errno, 0);
    close(p[1]);
    size_t n = 0;
    ssize_t r;
    while (n < size - 1 && (r = read(p[0], out + n, size - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = 0;
    close(p[0]);
    assert_int_equal(waitpid(pid, status, 0), pid);
    char pidline[32];
    snprintf(pidline, sizeof(pidline), "pid=%d\n", (int)pid);
    if (strstr(script, "pid=$LISTEN_PID"))
        assert_non_null(strstr(out, pidline));
}

static void moves_fds_into_place(void **state)
{
    /* Two pipes; pass their write ends swapped so that one already sits in 3..4. */
    int a[2], b[2];
    assert_int_equal(pipe2(a, O_CLOEXEC), 0);
    assert_int_equal(pipe2(b, O_CLOEXEC), 0);
    int fds[2] = {b[1], a[1]};
    struct spawn s = {.fds = fds, .nfds = 2, .listen_pid = 1};
    char out[256];
    int status;
    run_sh(&s, "echo to-b >&3; echo to-a >&4; echo pid=$LISTEN_PID", out, sizeof(out), &status);
    assert_int_equal(status, 0);
    close(a[1]);
    close(b[1]);
    char buf[64] = {0};
    assert_true(read(b[0], buf, sizeof(buf) - 1) > 0);
    assert_string_equal(buf, "to-b\n");
    memset(buf, 0, sizeof(buf));
    assert_true(read(a[0], buf, sizeof(buf) - 1) > 0);
    assert_string_equal(buf, "to-a\n");
    close(a[0]);
    close(b[0]);
}

static void passes_no_other_fds(void **state)
{
    int keep = open("/dev/null", O_RDONLY | O_CLOEXEC);
    struct spawn s = {0};
    char out[256];
    int status;
    char script[128];
    snprintf(script, sizeof(script), "[ -e /proc/self/fd/%d ] && echo leaked; echo done", keep);
    run_sh(&s, script, out, sizeof(out), &status);
    assert_string_equal(out, "done\n");
    close(keep);
}

static void filters_and_sets_environment(void **state)
{
    setenv("SPAWN_TEST_DROP", "x", 1);
    setenv("SPAWN_TEST_SET", "old", 1);
    setenv("LISTEN_PID", "1", 1);
    char *add[] = {"SPAWN_TEST_SET=new", "SPAWN_TEST_NEW=yes", NULL};
    const char *drop[] = {"SPAWN_TEST_DROP=", NULL};
    struct spawn s = {.env_add = add, .env_drop = drop};
    char out[256];
    int status;
    run_sh(&s,
           "echo \"${SPAWN_TEST_DROP-unset} $SPAWN_TEST_SET $SPAWN_TEST_NEW ${LISTEN_PID-none}\"; "
           "env | grep -c '^SPAWN_TEST_SET='",
           out, sizeof(out), &status);
    assert_string_equal(out, "unset new yes 1\n1\n");
    /* With listen_pid, an inherited LISTEN_PID is replaced by the child's. */
    struct spawn l = {.listen_pid = 1};
    run_sh(&l, "echo pid=$LISTEN_PID; env | grep -c '^LISTEN_PID='", out, sizeof(out), &status);
    assert_non_null(strstr(out, "\n1\n"));
    unsetenv("SPAWN_TEST_DROP");
    unsetenv("SPAWN_TEST_SET");
    unsetenv("LISTEN_PID");
}

static void reports_exec_failure(void **state)
{
    char *argv[] = {"/nonexistent/baton-spawn-test", NULL};
    struct spawn s = {.argv = argv};
    struct err e;
    int exec_errno = 0;
    pid_t pid = spawn_start(&s, &exec_errno, &e);
    assert_true(pid > 0);
    assert_int_equal(exec_errno, ENOENT);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 127);
    /* Not a program: EACCES, also reported. */
    char *dir[] = {"/", NULL};
    s.argv = dir;
    pid = spawn_start(&s, &exec_errno, &e);
    assert_true(pid > 0);
    assert_int_equal(exec_errno, EACCES);
    assert_int_equal(waitpid(pid, &status, 0), pid);
}

static void refuses_bad_requests(void **state)
{
    struct spawn s = {0};
    struct err e;
    assert_int_equal(spawn_start(&s, NULL, &e), -1);
    assert_string_equal(e.msg, "cannot start a process without a command");
    char *argv[] = {"/bin/true", NULL};
    int fds[1] = {0};
    s.argv = argv;
    s.fds = fds;
    s.nfds = SPAWN_MAX_FDS + 1;
    assert_refused(spawn_start(&s, NULL, &e), e.msg,
                   "cannot start '/bin/true' with 65 descriptors");
}

static void copies_argv(void **state)
{
    char *argv[] = {"app", "--version", "v2", NULL};
    char **copy = spawn_argv_dup(argv);
    assert_non_null(copy);
    assert_string_equal(copy[2], "v2");
    assert_null(copy[3]);
    spawn_argv_free(copy);
    char **empty = spawn_argv_dup(NULL);
    assert_non_null(empty);
    assert_null(empty[0]);
    spawn_argv_free(empty);
    spawn_argv_free(NULL);
}

UNIT_MAIN("spawn", NULL, NULL, cmocka_unit_test(moves_fds_into_place),
          cmocka_unit_test(passes_no_other_fds), cmocka_unit_test(filters_and_sets_environment),
          cmocka_unit_test(reports_exec_failure), cmocka_unit_test(refuses_bad_requests),
          cmocka_unit_test(copies_argv))
