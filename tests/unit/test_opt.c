/* Unit tests of src/core/opt: option tables (defaults, config keys, command line,
 * ranges, enums, durations and sizes, positional arguments, --help and man text). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/opt.h"

struct demo {
    int workers, verbose, mode, nlisten;
    uint64_t drain_ms, idle_ms;
    size_t buffer;
    char name[8];
    char listen[4][32];
};

static int add_listen(void *opts, const char *arg, struct err *e)
{
    struct demo *d = opts;
    if (d->nlisten == 4)
        return err_set(e, "at most 4 --listen");
    snprintf(d->listen[d->nlisten++], sizeof(d->listen[0]), "%s", arg);
    return 0;
}

static const char *const modes[] = {"handoff", "proxy", NULL};

static const struct opt demo_opts[] = {
    {.name = "workers",
     .kind = OPT_INT,
     OPT_AT(struct demo, workers),
     .min = 1,
     .max = 64,
     .def = "1",
     .arg = "N",
     .help = "workers"},
    {.name = "verbose", .kind = OPT_FLAG, OPT_AT(struct demo, verbose), .help = "talk more"},
    {.name = "mode",
     .kind = OPT_ENUM,
     OPT_AT(struct demo, mode),
     .names = modes,
     .def = "handoff",
     .help = "how"},
    {.name = "drain-timeout",
     .kind = OPT_DURATION,
     OPT_AT(struct demo, drain_ms),
     .unit = "s",
     .def = "30s",
     .max = 86400000,
     .help = "drain\nfor this long"},
    {.name = "idle-timeout",
     .kind = OPT_DURATION,
     OPT_AT(struct demo, idle_ms),
     .def = "60s",
     .min = 1,
     .max = 86400000,
     .help = "idle"},
    {.name = "buffer-size",
     .kind = OPT_SIZE,
     OPT_AT(struct demo, buffer),
     .def = "16k",
     .min = 1024,
     .max = 16 << 20,
     .help = "buffer"},
    {.name = "name",
     .kind = OPT_STRING,
     OPT_AT(struct demo, name),
     .def = "baton",
     .help = "instance"},
    {.name = "listen",
     .kind = OPT_CUSTOM,
     .parse = add_listen,
     .flags = OPT_REPEAT,
     .arg = "ADDR",
     .help = "address"},
    {0}};

static const struct opt_verb demo_cmd = {.name = "demo",
                                         .synopsis = "[OPTIONS] -- COMMAND",
                                         .about = "a demo verb\n",
                                         .section = "demo",
                                         .opts = demo_opts,
                                         .args = OPT_ARGS_COMMAND};
static const struct opt_verb demo_any = {
    .name = "demo any", .opts = demo_opts, .args = OPT_ARGS_ANY, .min_args = 1, .max_args = 2};

#define ARGV(...)                   ((char *[]){__VA_ARGS__, NULL})
#define ARGC(...)                   ((int)(sizeof((char *[]){__VA_ARGS__}) / sizeof(char *)))
#define PARSE(verb, out, r, e, ...) opt_parse(verb, ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), out, r, e)

static void defaults_then_command_line(void **state)
{
    struct demo d = {0};
    struct opt_result r;
    struct err e;
    assert_int_equal(PARSE(&demo_cmd, &d, &r, &e, "demo", "--workers=3", "--mode", "proxy",
                           "--listen", "a", "--listen=b", "--", "app", "--workers", "9"),
                     OPT_RUN);
    assert_int_equal(d.workers, 3);
    assert_int_equal(d.mode, 1);
    assert_int_equal(d.drain_ms, 30000);
    assert_int_equal(d.idle_ms, 60000);
    assert_int_equal(d.buffer, 16384);
    assert_string_equal(d.name, "baton");
    assert_int_equal(d.nlisten, 2);
    assert_string_equal(d.listen[1], "b");
    assert_int_equal(r.argc, 3);
    assert_string_equal(r.argv[0], "app");
    assert_string_equal(r.argv[1], "--workers");
    assert_true(opt_given(&demo_cmd, &r, "workers"));
    assert_false(opt_given(&demo_cmd, &r, "drain-timeout"));
    opt_result_free(&r);
}

static void durations_and_sizes(void **state)
{
    uint64_t v;
    struct err e;
    assert_int_equal(opt_parse_duration("250ms", "s", &v, &e), 0);
    assert_int_equal(v, 250);
    assert_int_equal(opt_parse_duration("1.5m", "s", &v, &e), 0);
    assert_int_equal(v, 90000);
    assert_int_equal(opt_parse_duration("2", "s", &v, &e), 0);
    assert_int_equal(v, 2000);
    assert_int_equal(opt_parse_duration("2", "ms", &v, &e), 0);
    assert_int_equal(v, 2);
    assert_int_equal(opt_parse_duration("1h", NULL, &v, &e), 0);
    assert_int_equal(v, 3600000);
    const char *bad[] = {"", "s", "-1s", "2x", "1e400", "nan", " 2s", "+2s", "2 s", "2sec"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(opt_parse_duration(bad[i], "s", &v, &e), -1);
    assert_non_null(strstr(e.msg, "not a duration"));
    assert_int_equal(opt_parse_size("4M", &v, &e), 0);
    assert_int_equal(v, 4 << 20);
    assert_int_equal(opt_parse_size("512", &v, &e), 0);
    assert_int_equal(v, 512);
    assert_int_equal(opt_parse_size("4MB", &v, &e), -1);
    assert_int_equal(opt_parse_size("-4", &v, &e), -1);
    assert_int_equal(opt_parse_size("99999999999999999999k", &v, &e), -1);
}

static void errors_name_the_option(void **state)
{
    struct demo d = {0};
    struct opt_result r;
    struct err e;
    assert_int_equal(PARSE(&demo_cmd, &d, &r, &e, "demo", "--workers", "0", "--", "x"), OPT_ERROR);
    assert_string_equal(e.msg, "invalid --workers '0': expected 1..64");
    opt_result_free(&r);
    assert_int_equal(PARSE(&demo_cmd, &d, &r, &e, "demo", "--mode", "x", "--", "x"), OPT_ERROR);
    assert_string_equal(e.msg, "invalid --mode 'x': expected one of handoff, proxy");
    opt_result_free(&r);
    assert_int_equal(PARSE(&demo_cmd, &d, &r, &e, "demo", "--bogus", "--", "x"), OPT_ERROR);
    assert_string_equal(e.msg, "unknown option '--bogus'; 'baton demo --help' lists the options");
    opt_result_free(&r);
    assert_int_equal(PARSE(&demo_cmd, &d, &r, &e, "demo", "--idle-timeout", "0s", "--", "x"),
                     OPT_ERROR);
    assert_string_equal(e.msg, "invalid --idle-timeout '0s': expected 1ms..86400000ms");
    opt_result_free(&r);
    assert_int_equal(PARSE(&demo_cmd, &d, &r, &e, "demo", "--name", "muchtoolong", "--", "x"),
                     OPT_ERROR);
    opt_result_free(&r);
    assert_int_equal(PARSE(&demo_cmd, &d, &r, &e, "demo", "--workers"), OPT_ERROR);
    assert_non_null(strstr(e.msg, "needs a value"));
    opt_result_free(&r);
    assert_int_equal(PARSE(&demo_cmd, &d, &r, &e, "demo", "--workers", "2"), OPT_ERROR);
    assert_non_null(strstr(e.msg, "missing '-- COMMAND"));
    opt_result_free(&r);
}

static void positional_counts(void **state)
{
    struct demo d = {0};
    struct opt_result r;
    struct err e;
    assert_int_equal(PARSE(&demo_any, &d, &r, &e, "any", "a", "--verbose", "b"), OPT_RUN);
    assert_int_equal(d.verbose, 1);
    assert_int_equal(r.argc, 2);
    opt_result_free(&r);
    assert_int_equal(PARSE(&demo_any, &d, &r, &e, "any", "--verbose"), OPT_ERROR);
    assert_non_null(strstr(e.msg, "missing argument"));
    opt_result_free(&r);
    assert_int_equal(PARSE(&demo_any, &d, &r, &e, "any", "a", "b", "c"), OPT_ERROR);
    assert_non_null(strstr(e.msg, "too many arguments ('c')"));
    opt_result_free(&r);
}

static void config_keys_then_command_line_wins(void **state)
{
    char path[] = "/tmp/baton-test-opt-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *ini = "[demo]\nworkers = 5\ndrain-timeout = 2\nlisten = x\ncommand = app -v\n"
                      "[other]\nworkers = 9\n";
    assert_int_equal(write(fd, ini, strlen(ini)), (ssize_t)strlen(ini));
    close(fd);
    struct demo d = {0};
    struct opt_result r;
    struct err e;
    assert_int_equal(
        PARSE(&demo_cmd, &d, &r, &e, "demo", "--config", path, "--workers", "7", "--listen=y"),
        OPT_RUN);
    assert_int_equal(d.workers, 7);
    assert_int_equal(d.drain_ms, 2000);
    assert_int_equal(d.nlisten, 2);
    assert_int_equal(r.argc, 2);
    assert_string_equal(r.argv[0], "app");
    opt_result_free(&r);
    FILE *f = fopen(path, "w");
    fputs("[demo]\nworkerz = 5\n", f);
    fclose(f);
    assert_int_equal(PARSE(&demo_cmd, &d, &r, &e, "demo", "--config", path, "--", "x"), OPT_ERROR);
    assert_non_null(strstr(e.msg, ":2: unknown key 'workerz' in [demo]"));
    opt_result_free(&r);
    unlink(path);
}

static void help_and_man_come_from_the_table(void **state)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    opt_help(&demo_cmd, out);
    fclose(out);
    assert_non_null(strstr(buf, "usage: baton demo [OPTIONS] -- COMMAND\n"));
    assert_non_null(strstr(buf, "  --workers N             workers (default 1)\n"));
    assert_non_null(strstr(buf, "drain\n                          for this long (default 30s)"));
    assert_non_null(strstr(buf, "a bare number is seconds for --drain-timeout"));
    assert_null(strstr(buf, "--verbose (default"));
    free(buf);
    buf = NULL;
    out = open_memstream(&buf, &len);
    opt_man(&demo_cmd, "2026-12-01", out);
    fclose(out);
    assert_non_null(strstr(buf, ".TH BATON-DEMO 1 \"2026-12-01\""));
    assert_non_null(strstr(buf, ".B \\-\\-workers N\nworkers (default 1)\n"));
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_then_command_line),
        cmocka_unit_test(durations_and_sizes),
        cmocka_unit_test(errors_name_the_option),
        cmocka_unit_test(positional_counts),
        cmocka_unit_test(config_keys_then_command_line_wins),
        cmocka_unit_test(help_and_man_come_from_the_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
