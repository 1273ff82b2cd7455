/* Unit tests of src/core/opt: option tables (defaults, config keys, command line,
 * ranges, enums, durations and sizes, positional arguments, --help and man text). */
#include "unit.h"

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
                                         .synopsis = "-- COMMAND",
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
    assert_string_equal(e.msg, "invalid --mode 'x': expected handoff or proxy");
    opt_result_free(&r);
    assert_int_equal(PARSE(&demo_cmd, &d, &r, &e, "demo", "--bogus", "--", "x"), OPT_ERROR);
    assert_string_equal(e.msg, "unknown option '--bogus'; 'baton demo --help' lists the options");
    opt_result_free(&r);
    assert_int_equal(PARSE(&demo_cmd, &d, &r, &e, "demo", "--idle-timeout", "0s", "--", "x"),
                     OPT_ERROR);
    assert_string_equal(e.msg, "invalid --idle-timeout '0s': expected 1ms..24h");
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

static char *capture(void (*write)(const struct opt_verb *, FILE *), const struct opt_verb *v)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    write(v, out);
    fclose(out);
    return buf;
}

static void help_and_man_come_from_the_table(void **state)
{
    char *buf = capture(opt_help, &demo_cmd);
    size_t len = 0;
    assert_non_null(strstr(buf, "usage: baton demo [OPTIONS] -- COMMAND\n"));
    assert_non_null(strstr(buf, "  --workers N             workers (default 1)\n"));
    assert_non_null(strstr(buf, "drain\n                          for this long (default 30s)"));
    assert_non_null(strstr(
        buf,
        "a bare number is seconds for\n--drain-timeout (as before units existed), milliseconds"));
    assert_null(strstr(buf, "--verbose (default"));
    free(buf);
    buf = NULL;
    FILE *out = open_memstream(&buf, &len);
    opt_man(&demo_cmd, "baton 0.1.0", "2026-12-01", out);
    fclose(out);
    assert_non_null(strstr(buf, ".TH BATON-DEMO 1 \"2026-12-01\""));
    assert_non_null(strstr(buf, ".B \\-\\-workers N\nworkers (default 1)\n"));
    free(buf);
}

/* Field widths, flags that clear, flag values from a config, text and numbers. */
struct wide {
    int64_t count;
    int timeout_ms;
    int xff, json;
    double rate;
    const char *store;
};

static const struct opt wide_opts[] = {
    {.name = "count",
     .kind = OPT_INT,
     OPT_AT(struct wide, count),
     .min = 1,
     .max = 1000000000000LL,
     .def = "5"},
    {.name = "timeout", .kind = OPT_DURATION, OPT_AT(struct wide, timeout_ms), .def = "2s"},
    {.name = "no-xff", .kind = OPT_FLAG, OPT_AT(struct wide, xff), .def = "1", .flags = OPT_NEGATE},
    {.name = "json", .kind = OPT_FLAG, OPT_AT(struct wide, json)},
    {.name = "rate", .kind = OPT_NUMBER, OPT_AT(struct wide, rate), .max = 1000},
    {.name = "store", .kind = OPT_TEXT, OPT_AT(struct wide, store), .def = "sqlite:x"},
    {0}};
static const struct opt_verb wide_cmd = {
    .name = "wide", .section = "wide", .opts = wide_opts, .args = OPT_ARGS_NONE};

static void fields_of_every_width(void **state)
{
    struct wide w = {0};
    struct opt_result r;
    struct err e;
    assert_int_equal(PARSE(&wide_cmd, &w, &r, &e, "wide"), OPT_RUN);
    assert_int_equal(w.count, 5);
    assert_int_equal(w.timeout_ms, 2000);
    assert_int_equal(w.xff, 1);
    assert_int_equal(w.json, 0);
    assert_string_equal(w.store, "sqlite:x");
    opt_result_free(&r);
    assert_int_equal(PARSE(&wide_cmd, &w, &r, &e, "wide", "--count", "999999999999", "--no-xff",
                           "--json", "--rate=0.5", "--timeout", "1.5m", "--store", "redis://h"),
                     OPT_RUN);
    assert_true(w.count == 999999999999LL);
    assert_int_equal(w.xff, 0);
    assert_int_equal(w.json, 1);
    assert_true(w.rate == 0.5);
    assert_int_equal(w.timeout_ms, 90000);
    assert_string_equal(w.store, "redis://h");
    opt_result_free(&r);
    /* an int field without a range still holds only an int */
    assert_int_equal(PARSE(&wide_cmd, &w, &r, &e, "wide", "--timeout", "30d"), OPT_ERROR);
    assert_string_equal(e.msg, "invalid --timeout '30d': expected at most 2147483647");
    opt_result_free(&r);
    assert_int_equal(PARSE(&wide_cmd, &w, &r, &e, "wide", "--rate", "1e9"), OPT_ERROR);
    assert_string_equal(e.msg, "invalid --rate '1e9': expected 0..1000");
    opt_result_free(&r);
    assert_int_equal(PARSE(&wide_cmd, &w, &r, &e, "wide", "--rate", "fast"), OPT_ERROR);
    assert_string_equal(e.msg, "invalid --rate 'fast': expected a number in 0..1000");
    opt_result_free(&r);
    assert_int_equal(PARSE(&wide_cmd, &w, &r, &e, "wide", "--store="), OPT_ERROR);
    assert_string_equal(e.msg, "invalid --store '': expected a value");
    opt_result_free(&r);
    assert_int_equal(PARSE(&wide_cmd, &w, &r, &e, "wide", "--json=maybe"), OPT_ERROR);
    assert_string_equal(e.msg, "invalid --json 'maybe': expected yes or no");
    opt_result_free(&r);
    assert_int_equal(PARSE(&wide_cmd, &w, &r, &e, "wide", "extra"), OPT_ERROR);
    assert_string_equal(e.msg, "unexpected argument 'extra'; 'baton wide --help' shows the usage");
    opt_result_free(&r);
}

static void flags_as_config_keys(void **state)
{
    char path[] = "/tmp/baton-test-opt-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *ini = "[wide]\nno-xff = yes\njson = false\n";
    assert_int_equal(write(fd, ini, strlen(ini)), (ssize_t)strlen(ini));
    close(fd);
    struct wide w = {0};
    struct opt_result r;
    struct err e;
    assert_int_equal(PARSE(&wide_cmd, &w, &r, &e, "wide", "--config", path), OPT_RUN);
    assert_int_equal(w.xff, 0);
    assert_int_equal(w.json, 0);
    /* --config is not kept in the merged arguments: the keys stand for it */
    for (int i = 0; i < r.nmerged; i++)
        assert_null(strstr(r.merged[i], "config"));
    assert_int_equal(r.nmerged, 3);
    opt_result_free(&r);
    unlink(path);
}

static const struct opt_verb maybe_cmd = {
    .name = "upgrade", .opts = wide_opts, .args = OPT_ARGS_MAYBE_COMMAND};

static void command_may_be_absent(void **state)
{
    struct wide w = {0};
    struct opt_result r;
    struct err e;
    assert_int_equal(PARSE(&maybe_cmd, &w, &r, &e, "upgrade", "--json"), OPT_RUN);
    assert_int_equal(r.argc, 0);
    assert_false(r.command);
    opt_result_free(&r);
    w.json = 0;
    assert_int_equal(PARSE(&maybe_cmd, &w, &r, &e, "upgrade", "--", "app", "--json"), OPT_RUN);
    assert_int_equal(r.argc, 2);
    assert_true(r.command);
    assert_int_equal(w.json, 0);
    opt_result_free(&r);
    assert_int_equal(PARSE(&maybe_cmd, &w, &r, &e, "upgrade", "app"), OPT_ERROR);
    assert_string_equal(e.msg, "unexpected argument 'app': put the command after '--'");
    opt_result_free(&r);
    /* an option's value is not the command: --help after it is still seen */
    assert_int_equal(PARSE(&demo_cmd, &w, &r, &e, "demo", "--name", "x", "--help"), OPT_HELP);
    opt_result_free(&r);
}

static const struct opt sub_common[] = {
    {.name = "db", .kind = OPT_TEXT, OPT_AT(struct wide, store), .arg = "URL", .help = "db"},
    {.name = "json", .kind = OPT_FLAG, OPT_AT(struct wide, json), .help = "json"},
    {0}};
static const struct opt sub_expand_opts[] = {
    {.name = "db", .kind = OPT_TEXT, OPT_AT(struct wide, store), .arg = "URL", .help = "db"},
    {.name = "json", .kind = OPT_FLAG, OPT_AT(struct wide, json), .help = "json"},
    {.name = "count", .kind = OPT_INT, OPT_AT(struct wide, count), .max = 9, .help = "to"},
    {0}};
static const struct opt_verb sub_expand = {.name = "mig expand",
                                           .summary = "expand the schema",
                                           .synopsis = "[--count N]",
                                           .opts = sub_expand_opts,
                                           .args = OPT_ARGS_NONE};
static const struct opt_verb sub_lint = {.name = "mig lint",
                                         .summary = "check files",
                                         .synopsis = "FILE...",
                                         .opts = sub_common,
                                         .args = OPT_ARGS_ANY,
                                         .min_args = 1};
static const struct opt_verb *const mig_subs[] = {&sub_expand, &sub_lint, NULL};
static const struct opt_verb mig_cmd = {.name = "mig",
                                        .synopsis = "COMMAND [ARGS]",
                                        .summary = "migrations",
                                        .opts = sub_common,
                                        .subs = mig_subs};

static void sub_commands_after_options(void **state)
{
    struct wide w = {0};
    struct opt_result r;
    const struct opt_verb *sub;
    struct err e;
    assert_int_equal(opt_parse_sub(&mig_cmd, 6,
                                   ARGV("mig", "--db", "lint", "expand", "--count", "3"), &sub, &w,
                                   &r, &e),
                     OPT_RUN);
    assert_ptr_equal(sub, &sub_expand);
    assert_string_equal(w.store, "lint");
    assert_int_equal(w.count, 3);
    opt_result_free(&r);
    assert_int_equal(
        opt_parse_sub(&mig_cmd, 4, ARGV("mig", "lint", "a", "--json"), &sub, &w, &r, &e), OPT_RUN);
    assert_ptr_equal(sub, &sub_lint);
    assert_int_equal(r.argc, 1);
    assert_string_equal(r.argv[0], "a");
    opt_result_free(&r);
    assert_int_equal(opt_parse_sub(&mig_cmd, 3, ARGV("mig", "lint", "--count=3"), &sub, &w, &r, &e),
                     OPT_ERROR);
    assert_string_equal(e.msg,
                        "unknown option '--count=3'; 'baton mig lint --help' lists the options");
    opt_result_free(&r);
    assert_int_equal(opt_parse_sub(&mig_cmd, 2, ARGV("mig", "frob"), &sub, &w, &r, &e), OPT_ERROR);
    assert_string_equal(e.msg, "unknown sub-command 'frob'; expected expand or lint");
    assert_null(sub);
    opt_result_free(&r);
    assert_int_equal(opt_parse_sub(&mig_cmd, 2, ARGV("mig", "--json"), &sub, &w, &r, &e),
                     OPT_ERROR);
    assert_string_equal(e.msg, "missing sub-command; expected expand or lint");
    opt_result_free(&r);
}

static void table_mistakes_are_caught(void **state)
{
    struct err e;
    static const struct opt twice[] = {
        {.name = "json", .kind = OPT_FLAG, OPT_AT(struct wide, json)},
        {.name = "json", .kind = OPT_FLAG, OPT_AT(struct wide, json)},
        {0}};
    static const struct opt bad_def[] = {
        {.name = "count", .kind = OPT_INT, OPT_AT(struct wide, count), .max = 9, .def = "10"}, {0}};
    static const struct opt no_names[] = {
        {.name = "mode", .kind = OPT_ENUM, OPT_AT(struct wide, json)}, {0}};
    static const struct opt wrong_field[] = {
        {.name = "rate", .kind = OPT_TEXT, OPT_AT(struct wide, json)}, {0}};
    static const struct opt reserved[] = {
        {.name = "help", .kind = OPT_FLAG, OPT_AT(struct wide, json)}, {0}};
    const struct opt *tables[] = {twice, bad_def, no_names, wrong_field, reserved};
    const char *want[] = {"is in its table twice", "default of --count", "does not fit its kind",
                          "does not fit its kind", "--help is reserved"};
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
        struct opt_verb v = {.name = "t", .opts = tables[i]};
        assert_refused(opt_check(&v, &e), e.msg, want[i]);
    }
    assert_int_equal(opt_check(&mig_cmd, &e), 0);
    long long n;
    assert_int_equal(opt_parse_int("1000", "weight", 0, 1000, &n, &e), 0);
    assert_int_equal(n, 1000);
    assert_int_equal(opt_parse_int("-3", "weight", 0, 1000, &n, &e), -1);
    assert_string_equal(e.msg, "invalid weight '-3': expected 0..1000");
}

static void required_options(void **state)
{
    static const struct opt req_opts[] = {{.name = "store",
                                           .kind = OPT_TEXT,
                                           OPT_AT(struct wide, store),
                                           .arg = "URL",
                                           .flags = OPT_REQUIRED,
                                           .help = "where"},
                                          {0}};
    static const struct opt_verb req_cmd = {.name = "lz status", .opts = req_opts};
    struct wide w = {0};
    struct opt_result r;
    struct err e;
    assert_int_equal(PARSE(&req_cmd, &w, &r, &e, "status"), OPT_ERROR);
    assert_string_equal(e.msg, "missing --store URL; 'baton lz status --help' shows the usage");
    opt_result_free(&r);
    assert_int_equal(PARSE(&req_cmd, &w, &r, &e, "status", "--store=x"), OPT_RUN);
    opt_result_free(&r);
    char *buf = capture(opt_help, &req_cmd);
    assert_non_null(strstr(buf, "  --store URL             where (required)\n"));
    free(buf);
}

static void sub_commands_in_help_man_and_completion(void **state)
{
    char *help = capture(opt_help, &mig_cmd);
    assert_non_null(strstr(help, "usage: baton mig [OPTIONS] COMMAND [ARGS]\n"));
    assert_non_null(strstr(help, "commands:\n  expand [--count N]  expand the schema\n"));
    assert_non_null(strstr(help, "  lint FILE...        check files\n"));
    free(help);
    char *comp = capture(opt_completion_verb, &mig_cmd);
    assert_non_null(strstr(comp, "_baton_subs[mig]='expand lint'\n"));
    assert_non_null(strstr(comp, "_baton_opts[mig expand]='--db --json --count --help'\n"));
    assert_non_null(strstr(comp, "_baton_args[mig expand]='--db --count '\n"));
    free(comp);
    comp = capture(opt_completion_verb, &demo_cmd);
    assert_non_null(strstr(comp, "_baton_vals[demo --mode]='handoff proxy'\n"));
    assert_non_null(strstr(comp, "--listen --config --help'\n"));
    free(comp);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    opt_man(&mig_cmd, "baton 0.1.0", "2026-12-01", out);
    fclose(out);
    assert_non_null(strstr(buf, ".SH NAME\nbaton\\-mig \\- migrations\n"));
    assert_non_null(strstr(buf, ".B expand [\\-\\-count N]\nexpand the schema\nSee "
                                "\\fBbaton\\-mig\\-expand\\fR(1).\n"));
    free(buf);
    char page[64];
    opt_man_name(&sub_expand, page, sizeof(page));
    assert_string_equal(page, "baton-mig-expand");
}

UNIT_MAIN("opt", NULL, NULL, cmocka_unit_test(defaults_then_command_line),
          cmocka_unit_test(durations_and_sizes), cmocka_unit_test(errors_name_the_option),
          cmocka_unit_test(positional_counts), cmocka_unit_test(config_keys_then_command_line_wins),
          cmocka_unit_test(help_and_man_come_from_the_table),
          cmocka_unit_test(fields_of_every_width), cmocka_unit_test(flags_as_config_keys),
          cmocka_unit_test(command_may_be_absent), cmocka_unit_test(sub_commands_after_options),
          cmocka_unit_test(table_mistakes_are_caught), cmocka_unit_test(required_options),
          cmocka_unit_test(sub_commands_in_help_man_and_completion))
