/* Unit tests of src/core: address parsing, config files, word splitting, the control
 * request parser, timers of the event loop and its idle hook. */
#include "unit.h"

#include <stdio.h>
#include <string.h>

#include "core/addr.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/ctl.h"
#include "core/loop.h"

static void addr_parses_forms(void **state)
{
    struct addr a;
    struct err e;
    assert_int_equal(addr_parse("127.0.0.1:8080", 1, &a, &e), 0);
    assert_int_equal(a.family, AF_INET);
    assert_int_equal(addr_port(&a), 8080);
    assert_string_equal(a.text, "127.0.0.1:8080");
    assert_int_equal(addr_parse("web=[::1]:9000", 1, &a, &e), 0);
    assert_string_equal(a.name, "web");
    assert_int_equal(a.family, AF_INET6);
    assert_string_equal(a.text, "[::1]:9000");
    assert_int_equal(addr_parse("unix:/tmp/x.sock", 1, &a, &e), 0);
    assert_int_equal(a.family, AF_UNIX);
    assert_string_equal(a.text, "unix:/tmp/x.sock");
    assert_int_equal(addr_parse(":80", 0, &a, &e), 0);
    assert_string_equal(a.text, "0.0.0.0:80");
}

static void addr_rejects_bad(void **state)
{
    struct addr a;
    struct err e;
    assert_refused(addr_parse("127.0.0.1", 1, &a, &e), e.msg, "expected HOST:PORT");
    assert_refused(addr_parse("127.0.0.1:99999", 1, &a, &e), e.msg, "port '99999'");
    assert_refused(addr_parse("::1:80", 1, &a, &e), e.msg, "brackets");
    assert_int_equal(addr_parse("[::1]80", 1, &a, &e), -1);
    assert_int_equal(addr_parse("bad name=1.2.3.4:1", 1, &a, &e), -1);
    assert_int_equal(addr_parse("unix:", 1, &a, &e), -1);
}

/* One helper fills every unix address: a path with its NUL, an abstract "@name" without
 * one, and a name that does not fit is refused with the reason, never cut. */
static void addr_unix_fills_or_says_why(void **state)
{
    struct sockaddr_un un;
    socklen_t len;
    struct err e;
    assert_int_equal(addr_unix_name(&un, &len, "/run/x.sock", "NOTIFY_SOCKET", &e), 0);
    assert_int_equal(un.sun_family, AF_UNIX);
    assert_string_equal(un.sun_path, "/run/x.sock");
    assert_int_equal(len, offsetof(struct sockaddr_un, sun_path) + 12);
    assert_int_equal(addr_unix_name(&un, &len, "@notify", "NOTIFY_SOCKET", &e), 0);
    assert_int_equal(un.sun_path[0], 0);
    assert_memory_equal(un.sun_path + 1, "notify", 6);
    assert_int_equal(len, offsetof(struct sockaddr_un, sun_path) + 7);
    char longest[ADDR_UNIX_PATH_MAX + 2];
    memset(longest, 'a', sizeof(longest) - 1);
    longest[0] = '/';
    longest[ADDR_UNIX_PATH_MAX] = 0;
    assert_int_equal(addr_unix(&un, longest, "control socket path", &e), 0);
    longest[ADDR_UNIX_PATH_MAX] = 'a';
    longest[ADDR_UNIX_PATH_MAX + 1] = 0;
    assert_int_equal(addr_unix(&un, longest, "control socket path", &e), -1);
    char want[64];
    snprintf(want, sizeof(want), "' is longer than %zu bytes", ADDR_UNIX_PATH_MAX);
    assert_non_null(strstr(e.msg, want));
    assert_int_equal(strncmp(e.msg, "control socket path '/aaa", 25), 0);
    assert_int_equal(addr_unix_name(&un, &len, longest, "NOTIFY_SOCKET", &e), -1);
    assert_int_equal(strncmp(e.msg, "NOTIFY_SOCKET '", 15), 0);
}

/* The wall clock's text form, as log lines and ledgers write it (and plots read it). */
static void clock_text_is_rfc3339_utc(void **state)
{
    char buf[CLOCK_UTC_TEXT_MAX];
    clock_utc_text(1795000000123, buf, sizeof(buf));
    assert_string_equal(buf, "2026-11-18T11:06:40.123Z");
    clock_utc_text(0, buf, sizeof(buf));
    assert_string_equal(buf, "1970-01-01T00:00:00.000Z");
    clock_utc_text(-1, buf, sizeof(buf));
    assert_string_equal(buf, "1969-12-31T23:59:59.999Z");
    assert_true(clock_wall_ms() > 0);
    uint64_t a = clock_now_us(), b = clock_now_us();
    assert_true(b >= a);
}

static void words_split_with_quotes(void **state)
{
    char **w;
    struct err e;
    assert_int_equal(split_words("app --x 'a b' \"c \\\"d\\\"\" e\\ f", &w, &e), 5);
    assert_string_equal(w[0], "app");
    assert_string_equal(w[2], "a b");
    assert_string_equal(w[3], "c \"d\"");
    assert_string_equal(w[4], "e f");
    assert_null(w[5]);
    for (int i = 0; w[i]; i++)
        free(w[i]);
    free(w);
    assert_refused(split_words("app 'open", &w, &e), e.msg, "unterminated");
}

static const char *const run_keys[] = {"listen", "workers", NULL};

static void config_turns_keys_into_options(void **state)
{
    struct config_args c;
    struct err e;
    const char *text = "[run]\nlisten = 127.0.0.1:1\nlisten = [::1]:2\nworkers = 3\n"
                       "command = ./app --v 2\n[proxy]\nother = 1\n";
    assert_int_equal(config_parse(text, "t.ini", "run", run_keys, &c, &e), 0);
    assert_int_equal(c.argc, 8);
    assert_string_equal(c.argv[1], "--listen=127.0.0.1:1");
    assert_string_equal(c.argv[3], "--workers=3");
    assert_string_equal(c.argv[4], "--");
    assert_string_equal(c.argv[7], "2");
    char *argv[] = {"run", "--workers=5", NULL};
    struct config_args m;
    assert_int_equal(config_merge(&c, 2, argv, &m, &e), 0);
    assert_string_equal(m.argv[3], "--workers=3");
    assert_string_equal(m.argv[4], "--workers=5"); /* command line comes later and wins */
    assert_string_equal(m.argv[5], "--");
    config_args_free(&m);
    config_args_free(&c);
}

static void config_errors_name_line(void **state)
{
    struct config_args c;
    struct err e;
    assert_int_equal(
        config_parse("[run]\nworkers = 1\nbogus = 2\n", "t.ini", "run", run_keys, &c, &e), -1);
    assert_string_equal(e.msg, "t.ini:3: unknown key 'bogus' in [run]");
    assert_refused(config_parse("[run]\nworkers\n", "t.ini", "run", run_keys, &c, &e), e.msg,
                   "t.ini:2: malformed line");
    assert_refused(config_load("/nonexistent/x.ini", "run", run_keys, &c, &e), e.msg,
                   "cannot open config file '/nonexistent/x.ini'");
}

static void ctl_parse_checks_shape(void **state)
{
    json_t *m;
    struct err e;
    const char *good = "{\"cmd\":\"status\"}";
    assert_int_equal(ctl_parse_request(good, strlen(good), &m, &e), 0);
    json_decref(m);
    const char *bad[] = {"",
                         "[1]",
                         "{\"cmd\":1}",
                         "{\"cmd\":\"\"}",
                         "{\"x\":1}",
                         "{bad",
                         "{\"cmd\":\"a\",\"cmd\":\"b\"}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_refused(ctl_parse_request(bad[i], strlen(bad[i]), &m, &e), e.msg,
                       "malformed control request");
    }
}

static int fired[4];
static void on_timer(struct loop *l, struct timer *t)
{
    int idx = (int)(intptr_t)t->data;
    fired[idx] = (int)(clock_now_ms() & 0x7fffffff);
    if (idx == 2)
        loop_stop(l);
}

static void timers_fire_in_order(void **state)
{
    struct loop *l;
    struct err e;
    assert_int_equal(loop_new(&l, &e), 0);
    struct timer t[4] = {{0}};
    timer_start(l, &t[0], 30, on_timer, (void *)0);
    timer_start(l, &t[1], 10, on_timer, (void *)1);
    timer_start(l, &t[2], 60, on_timer, (void *)2);
    timer_start(l, &t[3], 20, on_timer, (void *)3);
    timer_stop(l, &t[3]);
    memset(fired, 0, sizeof(fired));
    assert_int_equal(loop_run(l, &e), 0);
    assert_true(fired[1] > 0 && fired[0] >= fired[1] && fired[2] >= fired[0]);
    assert_int_equal(fired[3], 0);
    loop_free(l);
}

/* The idle hook runs once per iteration, after that iteration's timers: three timers
 * due at once make one iteration, so the hook sees all three fired. */
struct idle_seen {
    int calls, fired_at_first_call, fired;
};

static void on_idle_timer(struct loop *l, struct timer *t)
{
    ((struct idle_seen *)t->data)->fired++;
}

static void on_idle(struct loop *l, void *data)
{
    struct idle_seen *s = data;
    if (s->calls++ == 1)
        s->fired_at_first_call = s->fired;
    if (s->fired == 3)
        loop_stop(l);
}

static void idle_runs_after_each_iteration(void **state)
{
    struct loop *l;
    struct err e;
    struct idle_seen s = {0};
    assert_int_equal(loop_new(&l, &e), 0);
    struct timer t[3] = {{0}};
    for (int i = 0; i < 3; i++)
        timer_start(l, &t[i], 0, on_idle_timer, &s);
    loop_on_idle(l, on_idle, &s);
    assert_int_equal(loop_run(l, &e), 0);
    assert_int_equal(s.calls, 2); /* before the first wait, then after the timers */
    assert_int_equal(s.fired_at_first_call, 3);
    loop_free(l);
}

UNIT_MAIN("core", NULL, NULL, cmocka_unit_test(addr_parses_forms),
          cmocka_unit_test(addr_rejects_bad), cmocka_unit_test(words_split_with_quotes),
          cmocka_unit_test(config_turns_keys_into_options),
          cmocka_unit_test(config_errors_name_line), cmocka_unit_test(ctl_parse_checks_shape),
          cmocka_unit_test(timers_fire_in_order), cmocka_unit_test(idle_runs_after_each_iteration),
          cmocka_unit_test(addr_unix_fills_or_says_why),
          cmocka_unit_test(clock_text_is_rfc3339_utc))
