/* Unit tests of src/supervise/sdnotify.c: NOTIFY_SOCKET addresses (paths, abstract names,
 * refused forms), the watchdog's period from WATCHDOG_USEC/WATCHDOG_PID, and the
 * datagram's text (a status cannot add a line of its own). */
#include "unit.h"

#include <string.h>

#include "supervise/sdnotify.h"

static void addresses(void **state)
{
    struct sockaddr_un un;
    socklen_t len;
    struct err e;
    assert_int_equal(sdnotify_address(NULL, &un, &len, &e), 0);
    assert_int_equal(sdnotify_address("", &un, &len, &e), 0);
    assert_int_equal(sdnotify_address("/run/systemd/notify", &un, &len, &e), 1);
    assert_string_equal(un.sun_path, "/run/systemd/notify");
    assert_int_equal(len, offsetof(struct sockaddr_un, sun_path) + 20);
    assert_int_equal(sdnotify_address("@sd-notify", &un, &len, &e), 1);
    assert_int_equal(un.sun_path[0], 0);
    assert_memory_equal(un.sun_path + 1, "sd-notify", 9);
    assert_int_equal(len, offsetof(struct sockaddr_un, sun_path) + 10);
    assert_int_equal(sdnotify_address("run/notify", &un, &len, &e), -1);
    assert_string_equal(e.msg, "invalid NOTIFY_SOCKET 'run/notify': want an absolute path or "
                               "@name shorter than 108 bytes");
    assert_int_equal(sdnotify_address("@", &un, &len, &e), -1);
    char longer[200];
    memset(longer, 'a', sizeof(longer) - 1);
    longer[0] = '/';
    longer[sizeof(longer) - 1] = 0;
    assert_int_equal(sdnotify_address(longer, &un, &len, &e), -1);
}

static void watchdog_period(void **state)
{
    struct err e;
    assert_int_equal(sdnotify_watchdog_ms(NULL, NULL, 42, &e), 0);
    assert_int_equal(sdnotify_watchdog_ms("30000000", NULL, 42, &e), 15000);
    assert_int_equal(sdnotify_watchdog_ms("30000000", "42", 42, &e), 15000);
    assert_int_equal(sdnotify_watchdog_ms("30000000", "43", 42, &e), 0); /* not ours */
    assert_int_equal(sdnotify_watchdog_ms("1", NULL, 42, &e), 1);
    const char *bad[] = {"0", "-5", "+5", " 5", "5s", "99999999999999999999", "86400000001"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (sdnotify_watchdog_ms(bad[i], NULL, 42, &e) != -1)
            fail_msg("WATCHDOG_USEC '%s' was accepted", bad[i]);
    assert_string_equal(e.msg,
                        "invalid WATCHDOG_USEC '86400000001': want microseconds, 1 to a day");
    assert_int_equal(sdnotify_watchdog_ms("1000", "0", 42, &e), -1);
    assert_int_equal(sdnotify_watchdog_ms("1000", "x", 42, &e), -1);
    assert_string_equal(e.msg, "invalid WATCHDOG_PID 'x'");
}

static void datagram_text(void **state)
{
    char buf[64];
    size_t n = sdnotify_format(buf, sizeof(buf), "READY=1\n", "generation 2 serves");
    assert_int_equal(n, strlen("READY=1\nSTATUS=generation 2 serves"));
    assert_string_equal(buf, "READY=1\nSTATUS=generation 2 serves");
    /* A reason with a newline cannot smuggle in a field of its own. */
    n = sdnotify_format(buf, sizeof(buf), "", "rolled back: bad\nMAINPID=1\r");
    assert_string_equal(buf, "STATUS=rolled back: bad MAINPID=1 ");
    n = sdnotify_format(buf, 16, "STOPPING=1\n", "a long status");
    assert_int_equal(n, 15);
    assert_string_equal(buf, "STOPPING=1\nSTAT");
}

UNIT_MAIN("sdnotify", NULL, NULL, cmocka_unit_test(addresses), cmocka_unit_test(watchdog_period),
          cmocka_unit_test(datagram_text))
