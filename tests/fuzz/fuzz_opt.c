/* libFuzzer target: option parsing (core/opt.c): the input's lines are a command line
 * read by a table of every kind and by a verb with sub-commands; durations and sizes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "input.h"
#include "core/opt.h"

struct fz {
    int n, flag, mode, on;
    int64_t big;
    int ms;
    uint64_t ms64;
    size_t bytes;
    double rate;
    const char *text;
    char name[8];
    int listed;
};

static int count(void *opts, const char *arg, struct err *e)
{
    struct fz *f = opts;
    if (f->listed == 4)
        return err_set(e, "at most 4 --item");
    f->listed += *arg != 0;
    return 0;
}

static const char *const modes[] = {"a", "bb", NULL};
static const struct opt fz_opts[] = {
    {.name = "n", .kind = OPT_INT, OPT_AT(struct fz, n), .min = -5, .max = 5, .def = "1"},
    {.name = "flag", .kind = OPT_FLAG, OPT_AT(struct fz, flag)},
    {.name = "no-on", .kind = OPT_FLAG, OPT_AT(struct fz, on), .def = "1", .flags = OPT_NEGATE},
    {.name = "mode", .kind = OPT_ENUM, OPT_AT(struct fz, mode), .names = modes, .def = "a"},
    {.name = "big", .kind = OPT_INT, OPT_AT(struct fz, big)},
    {.name = "ms", .kind = OPT_DURATION, OPT_AT(struct fz, ms), .unit = "s"},
    {.name = "ms64", .kind = OPT_DURATION, OPT_AT(struct fz, ms64), .min = 1, .max = 86400000},
    {.name = "bytes", .kind = OPT_SIZE, OPT_AT(struct fz, bytes), .min = 1, .max = 1 << 30},
    {.name = "rate", .kind = OPT_NUMBER, OPT_AT(struct fz, rate), .max = 1000},
    {.name = "text", .kind = OPT_TEXT, OPT_AT(struct fz, text)},
    {.name = "name", .kind = OPT_STRING, OPT_AT(struct fz, name), .def = "x"},
    {.name = "item", .kind = OPT_CUSTOM, .parse = count, .flags = OPT_REPEAT},
    {.name = "old-ms", .kind = OPT_DURATION, OPT_AT(struct fz, ms64), .flags = OPT_HIDDEN},
    {0}};
static const struct opt_verb fz_cmd = {.name = "fz", .opts = fz_opts, .args = OPT_ARGS_COMMAND};
static const struct opt_verb fz_any = {
    .name = "p any", .opts = fz_opts, .args = OPT_ARGS_ANY, .max_args = 3};
static const struct opt_verb fz_maybe = {
    .name = "p maybe", .opts = fz_opts, .args = OPT_ARGS_MAYBE_COMMAND};
static const struct opt_verb *const subs[] = {&fz_any, &fz_maybe, NULL};
static const struct opt_verb fz_parent = {.name = "p", .opts = fz_opts, .subs = subs};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *text = fuzz_text(data, size);
    char *argv[65];
    int argc = 0;
    if (!text)
        return 0;
    for (char *p = text, *line; argc < 64 && (line = strsep(&p, "\n")) != NULL;)
        argv[argc++] = line;
    argv[argc] = NULL;
    struct fz f;
    struct opt_result r;
    struct err e;
    const struct opt_verb *sub;
    FILE *saved = stdout;
    stdout = fopen("/dev/null", "w"); /* --help text */
    memset(&f, 0, sizeof(f));
    opt_parse(&fz_cmd, argc, argv, &f, &r, &e);
    opt_result_free(&r);
    memset(&f, 0, sizeof(f));
    opt_parse_sub(&fz_parent, argc, argv, &sub, &f, &r, &e);
    opt_result_free(&r);
    if (stdout)
        fclose(stdout);
    stdout = saved;
    uint64_t v;
    opt_parse_duration(text, "s", &v, &e);
    opt_parse_size(text, &v, &e);
    long long n;
    opt_parse_int(text, "n", -10, 10, &n, &e);
    free(text);
    return 0;
}
