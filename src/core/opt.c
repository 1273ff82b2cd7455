/* Option tables (core/opt.h): one parser for every verb's command line and config
 * keys, range checks, duration and size units, --help and man pages from the table. */
#include "core/opt.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"

static int count_opts(const struct opt_verb *v)
{
    int n = 0;
    while (v->opts && v->opts[n].name)
        n++;
    return n;
}

int opt_parse_duration(const char *s, const char *bare_unit, uint64_t *ms, struct err *e)
{
    static const struct {
        const char *suffix;
        double ms;
    } units[] = {{"ms", 1}, {"s", 1e3}, {"m", 60e3}, {"h", 3600e3}, {"d", 86400e3}};
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || !isfinite(v) || v < 0 || *s == '+' || *s == ' ' || *s == '\t')
        goto bad;
    const char *unit = *end ? end : (bare_unit ? bare_unit : "ms");
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (strcmp(unit, units[i].suffix) == 0) {
            double r = v * units[i].ms;
            if (r > 1e15)
                goto bad;
            *ms = (uint64_t)(r + 0.5);
            return 0;
        }
bad:
    return err_set(e, "'%s' is not a duration (a number with a unit: 250ms, 2s, 1.5m, 1h)", s);
}

int opt_parse_size(const char *s, uint64_t *bytes, struct err *e)
{
    char *end;
    errno = 0;
    if (*s < '0' || *s > '9')
        goto bad;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno)
        goto bad;
    unsigned shift = 0;
    if (*end == 'k' || *end == 'K')
        shift = 10;
    else if (*end == 'M')
        shift = 20;
    else if (*end == 'G')
        shift = 30;
    else if (*end)
        goto bad;
    if (shift && end[1])
        goto bad;
    if (v > (UINT64_MAX >> shift))
        goto bad;
    *bytes = (uint64_t)v << shift;
    return 0;
bad:
    return err_set(e, "'%s' is not a size (bytes, or a number with k, M or G)", s);
}

/* "1..256", "250ms..1h": the range of o as the user writes it, for errors. */
static void range_text(const struct opt *o, char *buf, size_t cap)
{
    if (o->kind == OPT_DURATION)
        snprintf(buf, cap, "%lldms..%lldms", o->min, o->max);
    else
        snprintf(buf, cap, "%lld..%lld", o->min, o->max);
}

static int check_range(const struct opt *o, const char *arg, long long v, struct err *e)
{
    if ((o->min || o->max) && (v < o->min || v > o->max)) {
        char r[64];
        range_text(o, r, sizeof(r));
        return err_set(e, "invalid --%s '%s': expected %s", o->name, arg, r);
    }
    return 0;
}

static int set_int(const struct opt *o, void *field, const char *arg, struct err *e)
{
    char *end;
    errno = 0;
    long long v = strtoll(arg, &end, 10);
    if (errno || end == arg || *end || *arg == ' ' || *arg == '+') {
        char r[64];
        range_text(o, r, sizeof(r));
        return err_set(e, "invalid --%s '%s': expected a whole number%s%s", o->name, arg,
                       o->min || o->max ? " in " : "", o->min || o->max ? r : "");
    }
    if (check_range(o, arg, v, e) < 0)
        return -1;
    *(int *)field = (int)v;
    return 0;
}

static int set_enum(const struct opt *o, void *field, const char *arg, struct err *e)
{
    char list[256] = "";
    for (int i = 0; o->names[i]; i++) {
        if (strcmp(o->names[i], arg) == 0) {
            *(int *)field = i;
            return 0;
        }
        size_t n = strlen(list);
        snprintf(list + n, sizeof(list) - n, "%s%s", i ? ", " : "", o->names[i]);
    }
    return err_set(e, "invalid --%s '%s': expected one of %s", o->name, arg, list);
}

/* Reads `arg` into the field of option o (in the struct at `opts`). */
static int set_value(const struct opt *o, void *opts, const char *arg, struct err *e)
{
    void *field = (char *)opts + o->offset;
    uint64_t u;
    switch (o->kind) {
    case OPT_FLAG:
        *(int *)field = 1;
        return 0;
    case OPT_INT:
        return set_int(o, field, arg, e);
    case OPT_ENUM:
        return set_enum(o, field, arg, e);
    case OPT_DURATION:
        if (opt_parse_duration(arg, o->unit, &u, e) < 0)
            return err_wrap(e, "invalid --%s", o->name);
        if (u > INT64_MAX || check_range(o, arg, (long long)u, e) < 0)
            return -1;
        *(uint64_t *)field = u;
        return 0;
    case OPT_SIZE:
        if (opt_parse_size(arg, &u, e) < 0)
            return err_wrap(e, "invalid --%s", o->name);
        if (u > INT64_MAX || check_range(o, arg, (long long)u, e) < 0)
            return -1;
        *(size_t *)field = (size_t)u;
        return 0;
    case OPT_STRING:
        if (!*arg || strlen(arg) >= o->size)
            return err_set(e, "invalid --%s '%s': expected 1..%zu bytes", o->name, arg,
                           o->size - 1);
        memcpy(field, arg, strlen(arg) + 1);
        return 0;
    case OPT_CUSTOM:
        return o->parse(opts, arg, e);
    }
    return err_set(e, "--%s: unknown option kind", o->name);
}

static int apply_defaults(const struct opt_verb *v, void *opts, struct err *e)
{
    for (const struct opt *o = v->opts; o && o->name; o++)
        if (o->def && set_value(o, opts, o->def, e) < 0)
            return err_wrap(e, "default of --%s", o->name);
    return 0;
}

/* Finds --config FILE and --help before "--" (so the config is read first). Returns 1
 * when --help was asked. */
static int scan_special(const struct opt_verb *v, int argc, char **argv, struct opt_result *r)
{
    int stop_at_arg = v->args == OPT_ARGS_COMMAND;
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
        if (v->section && strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            r->config_path = argv[++i];
        else if (v->section && strncmp(argv[i], "--config=", 9) == 0)
            r->config_path = argv[i] + 9;
        else if (stop_at_arg && argv[i][0] != '-')
            break;
    }
    return 0;
}

/* argv with the config file's options in front (r->merged, owned). */
static int merge_config(const struct opt_verb *v, int argc, char **argv, struct opt_result *r,
                        struct err *e)
{
    struct config_args cfg = {0}, merged = {0};
    const char *keys[OPT_MAX + 1];
    int nkeys = 0;
    for (const struct opt *o = v->opts; o && o->name; o++)
        if (!(o->flags & OPT_CLI_ONLY))
            keys[nkeys++] = o->name;
    keys[nkeys] = NULL;
    if (r->config_path && config_load(r->config_path, v->section, keys, &cfg, e) < 0)
        return -1;
    if (!r->config_path && (cfg.argv = calloc(2, sizeof(char *))) != NULL &&
        (cfg.argv[0] = strdup("baton")) != NULL)
        cfg.argc = 1;
    if (cfg.argc == 0 || config_merge(&cfg, argc, argv, &merged, e) < 0) {
        config_args_free(&cfg);
        return cfg.argc ? -1 : err_errno(e, ENOMEM, "cannot parse options");
    }
    config_args_free(&cfg);
    r->merged = merged.argv;
    r->nmerged = merged.argc;
    return 0;
}

/* The getopt_long table for v (the option's index in val), plus --config and --help. */
static void build_longopts(const struct opt_verb *v, struct option *lo)
{
    int n = count_opts(v), k = 0;
    for (int i = 0; i < n; i++)
        lo[k++] = (struct option){v->opts[i].name,
                                  v->opts[i].kind == OPT_FLAG ? no_argument : required_argument,
                                  NULL, 1000 + i};
    if (v->section)
        lo[k++] = (struct option){"config", required_argument, NULL, 'C'};
    lo[k++] = (struct option){"help", no_argument, NULL, 'h'};
    lo[k] = (struct option){0, 0, 0, 0};
}

static int unknown_option(const struct opt_verb *v, char **argv, int ch, struct err *e)
{
    const char *what = argv[optind - 1];
    if (ch == ':')
        return err_set(e, "option '%s' needs a value; 'baton %s --help' lists the options", what,
                       v->name);
    return err_set(e, "unknown option '%s'; 'baton %s --help' lists the options", what, v->name);
}

static int parse_merged(const struct opt_verb *v, void *opts, struct opt_result *r, struct err *e)
{
    struct option lo[OPT_MAX + 3];
    build_longopts(v, lo);
    const char *shortopts = v->args == OPT_ARGS_COMMAND ? "+:" : ":";
    optind = 0; /* full re-initialisation of getopt's state */
    opterr = 0;
    int ch;
    while ((ch = getopt_long(r->nmerged, r->merged, shortopts, lo, NULL)) != -1) {
        if (ch == 'C' || ch == 'h')
            continue; /* read by scan_special */
        if (ch < 1000)
            return unknown_option(v, r->merged, ch, e);
        const struct opt *o = &v->opts[ch - 1000];
        if (set_value(o, opts, optarg ? optarg : "", e) < 0)
            return -1;
        r->given[ch - 1000] = 1;
    }
    r->argc = r->nmerged - optind;
    r->argv = r->merged + optind;
    return 0;
}

static int check_args(const struct opt_verb *v, struct opt_result *r, struct err *e)
{
    if (v->args == OPT_ARGS_COMMAND) {
        if (r->argc == 0 || optind < 1 || strcmp(r->merged[optind - 1], "--") != 0)
            return err_set(e, "missing '-- COMMAND [ARG...]'%s",
                           v->section ? " (or 'command' in --config)" : "");
        return 0;
    }
    if (v->args == OPT_ARGS_NONE && r->argc > 0)
        return err_set(e, "unexpected argument '%s'; 'baton %s --help' shows the usage", r->argv[0],
                       v->name);
    if (r->argc < v->min_args)
        return err_set(e, "missing argument; usage: baton %s %s", v->name,
                       v->synopsis ? v->synopsis : "");
    if (v->max_args && r->argc > v->max_args)
        return err_set(e, "too many arguments ('%s'); usage: baton %s %s", r->argv[v->max_args],
                       v->name, v->synopsis ? v->synopsis : "");
    return 0;
}

int opt_parse(const struct opt_verb *v, int argc, char **argv, void *opts, struct opt_result *r,
              struct err *e)
{
    memset(r, 0, sizeof(*r));
    if (count_opts(v) > OPT_MAX)
        return err_set(e, "baton %s: more than %d options in its table", v->name, OPT_MAX);
    if (scan_special(v, argc, argv, r)) {
        opt_help(v, stdout);
        return OPT_HELP;
    }
    if (apply_defaults(v, opts, e) < 0 || merge_config(v, argc, argv, r, e) < 0 ||
        parse_merged(v, opts, r, e) < 0 || check_args(v, r, e) < 0)
        return OPT_ERROR;
    return OPT_RUN;
}

void opt_result_free(struct opt_result *r)
{
    struct config_args a = {.argc = r->nmerged, .argv = r->merged};
    config_args_free(&a);
    memset(r, 0, sizeof(*r));
}

int opt_given(const struct opt_verb *v, const struct opt_result *r, const char *name)
{
    for (int i = 0; v->opts && v->opts[i].name; i++)
        if (strcmp(v->opts[i].name, name) == 0)
            return r->given[i];
    return 0;
}
