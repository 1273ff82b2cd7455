/* Option tables (core/opt.h), the parsing side: values by kind with their units and
 * ranges, defaults, the config file's keys merged before the command line, getopt. */
#include "core/opt.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
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
    if (end == s || errno || !isfinite(v) || v < 0 || *s == '+' || *s == ' ' || *s == '\t' ||
        (*s == '0' && (s[1] == 'x' || s[1] == 'X')))
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

int opt_parse_int(const char *s, const char *what, long long min, long long max, long long *out,
                  struct err *e)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || *s == ' ' || *s == '\t' || *s == '+' || v < min || v > max)
        return err_set(e, "invalid %s '%s': expected %lld..%lld", what, s, min, max);
    *out = v;
    return 0;
}

int opt_parse_digits(const char *s, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!isdigit((unsigned char)*s) || *end || errno)
        return -1;
    *out = v;
    return 0;
}

/* A duration as short as a user would write it: "0", "250ms", "30s", "24h". */
static void duration_text(long long ms, char *buf, size_t cap)
{
    static const struct {
        const char *suffix;
        long long ms;
    } units[] = {{"h", 3600000}, {"m", 60000}, {"s", 1000}};
    for (size_t i = 0; ms && i < sizeof(units) / sizeof(units[0]); i++)
        if (ms % units[i].ms == 0) {
            snprintf(buf, cap, "%lld%s", ms / units[i].ms, units[i].suffix);
            return;
        }
    snprintf(buf, cap, ms ? "%lldms" : "%lld", ms);
}

/* "1..256", "1ms..24h": the range of o as the user writes it, for errors. */
static void range_text(const struct opt *o, char *buf, size_t cap)
{
    if (o->kind == OPT_DURATION) {
        char lo[32], hi[32];
        duration_text(o->min, lo, sizeof(lo));
        duration_text(o->max, hi, sizeof(hi));
        snprintf(buf, cap, "%s..%s", lo, hi);
    } else {
        snprintf(buf, cap, "%lld..%lld", o->min, o->max);
    }
}

static int has_range(const struct opt *o)
{
    return o->min || o->max;
}

static int check_range(const struct opt *o, const char *arg, double v, struct err *e)
{
    /* a 4-byte field holds at most INT_MAX, whatever the table says */
    double max = has_range(o) ? (double)o->max : INFINITY;
    double min = has_range(o) ? (double)o->min : -INFINITY;
    if (o->kind != OPT_NUMBER && o->size == sizeof(int) && max > INT_MAX)
        max = INT_MAX;
    if (v < min || v > max) {
        char r[64];
        range_text(o, r, sizeof(r));
        if (!has_range(o))
            snprintf(r, sizeof(r), "at most %.0f", max);
        return err_set(e, "invalid --%s '%s': expected %s", o->name, arg, r);
    }
    return 0;
}

/* Stores v in the int or 64-bit field at `field` (by o->size). */
static void store_int(const struct opt *o, void *field, long long v)
{
    if (o->size == sizeof(int)) {
        int i = (int)v;
        memcpy(field, &i, sizeof(i));
    } else {
        int64_t w = v;
        memcpy(field, &w, sizeof(w));
    }
}

static int set_int(const struct opt *o, void *field, const char *arg, struct err *e)
{
    char *end;
    errno = 0;
    long long v = strtoll(arg, &end, 10);
    if (errno || end == arg || *end || *arg == ' ' || *arg == '\t' || *arg == '+') {
        char r[64];
        range_text(o, r, sizeof(r));
        return err_set(e, "invalid --%s '%s': expected a whole number%s%s", o->name, arg,
                       has_range(o) ? " in " : "", has_range(o) ? r : "");
    }
    if (check_range(o, arg, (double)v, e) < 0)
        return -1;
    store_int(o, field, v);
    return 0;
}

static int set_number(const struct opt *o, void *field, const char *arg, struct err *e)
{
    char *end;
    errno = 0;
    double v = strtod(arg, &end);
    if (errno || end == arg || *end || !isfinite(v) || *arg == ' ' || *arg == '+' ||
        (*arg == '0' && (arg[1] == 'x' || arg[1] == 'X'))) {
        char r[64];
        range_text(o, r, sizeof(r));
        return err_set(e, "invalid --%s '%s': expected a number%s%s", o->name, arg,
                       has_range(o) ? " in " : "", has_range(o) ? r : "");
    }
    if (check_range(o, arg, v, e) < 0)
        return -1;
    memcpy(field, &v, sizeof(v));
    return 0;
}

/* "a, b or c": the words of an enum (or sub-commands) as a sentence lists them. */
static void word_list(const char *const *words, char *buf, size_t cap)
{
    buf[0] = 0;
    for (int i = 0; words[i]; i++) {
        size_t n = strlen(buf);
        snprintf(buf + n, cap - n, "%s%s", i == 0 ? "" : (words[i + 1] ? ", " : " or "), words[i]);
    }
}

static int set_enum(const struct opt *o, void *field, const char *arg, struct err *e)
{
    for (int i = 0; o->names[i]; i++)
        if (strcmp(o->names[i], arg) == 0) {
            memcpy(field, &i, sizeof(i));
            return 0;
        }
    char list[256];
    word_list(o->names, list, sizeof(list));
    return err_set(e, "invalid --%s '%s': expected %s", o->name, arg, list);
}

/* A flag's optional value: none or yes/true/on/1 sets it, no/false/off/0 does not. */
static int set_flag(const struct opt *o, void *field, const char *arg, struct err *e)
{
    static const char *const yes[] = {"", "1", "yes", "true", "on"};
    static const char *const no[] = {"0", "no", "false", "off"};
    int on = -1;
    for (size_t i = 0; on < 0 && i < sizeof(yes) / sizeof(yes[0]); i++)
        if (strcmp(arg, yes[i]) == 0)
            on = 1;
    for (size_t i = 0; on < 0 && i < sizeof(no) / sizeof(no[0]); i++)
        if (strcmp(arg, no[i]) == 0)
            on = 0;
    if (on < 0)
        return err_set(e, "invalid --%s '%s': expected yes or no", o->name, arg);
    int v = (o->flags & OPT_NEGATE) ? !on : on;
    memcpy(field, &v, sizeof(v));
    return 0;
}

/* Reads a duration or size into its field (int or 64-bit, by o->size). */
static int set_unit_value(const struct opt *o, void *field, const char *arg, struct err *e)
{
    uint64_t u;
    int rc = o->kind == OPT_DURATION ? opt_parse_duration(arg, o->unit, &u, e)
                                     : opt_parse_size(arg, &u, e);
    if (rc < 0)
        return err_wrap(e, "invalid --%s", o->name);
    if (u > INT64_MAX || check_range(o, arg, (double)u, e) < 0)
        return -1;
    store_int(o, field, (long long)u);
    return 0;
}

/* Reads `arg` into the field of option o (in the struct at `opts`). */
static int set_value(const struct opt *o, void *opts, const char *arg, struct err *e)
{
    void *field = (char *)opts + o->offset;
    switch (o->kind) {
    case OPT_FLAG:
        return set_flag(o, field, arg, e);
    case OPT_INT:
        return set_int(o, field, arg, e);
    case OPT_NUMBER:
        return set_number(o, field, arg, e);
    case OPT_ENUM:
        return set_enum(o, field, arg, e);
    case OPT_DURATION:
    case OPT_SIZE:
        return set_unit_value(o, field, arg, e);
    case OPT_STRING:
        if (!*arg || strlen(arg) >= o->size)
            return err_set(e, "invalid --%s '%s': expected 1..%zu bytes", o->name, arg,
                           o->size - 1);
        memcpy(field, arg, strlen(arg) + 1);
        return 0;
    case OPT_TEXT:
        if (!*arg)
            return err_set(e, "invalid --%s '': expected a value", o->name);
        memcpy(field, &arg, sizeof(arg));
        return 0;
    case OPT_CUSTOM:
        return o->parse(opts, arg, e);
    }
    return err_set(e, "--%s: unknown option kind", o->name);
}

static int apply_defaults(const struct opt_verb *v, void *opts, struct err *e)
{
    for (const struct opt *o = v->opts; o && o->name; o++) {
        if (!o->def)
            continue;
        if (o->kind == OPT_FLAG) {
            int on = strcmp(o->def, "1") == 0;
            memcpy((char *)opts + o->offset, &on, sizeof(on));
        } else if (set_value(o, opts, o->def, e) < 0) {
            return err_wrap(e, "default of --%s", o->name);
        }
    }
    return 0;
}

/* The option of v named by `word` ("--name" or "--name=value"), or NULL. */
static const struct opt *find_opt(const struct opt_verb *v, const char *word)
{
    if (strncmp(word, "--", 2) != 0)
        return NULL;
    size_t n = strcspn(word + 2, "=");
    for (const struct opt *o = v->opts; o && o->name; o++)
        if (strlen(o->name) == n && strncmp(o->name, word + 2, n) == 0)
            return o;
    return NULL;
}

/* Whether `word` is an option of v (or --config) whose value is the next word. */
static int takes_next(const struct opt_verb *v, const char *word)
{
    if (strchr(word, '='))
        return 0;
    if (v->section && strcmp(word, "--config") == 0)
        return 1;
    const struct opt *o = find_opt(v, word);
    return o && o->kind != OPT_FLAG;
}

/* Finds --config FILE and --help before "--" (the config is read first). Returns 1
 * when --help was asked. */
static int scan_special(const struct opt_verb *v, int argc, char **argv, const char **config)
{
    int stop_at_arg = v->args == OPT_ARGS_COMMAND || v->args == OPT_ARGS_MAYBE_COMMAND;
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
        if (v->section && strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            *config = argv[i + 1];
        else if (v->section && strncmp(argv[i], "--config=", 9) == 0)
            *config = argv[i] + 9;
        else if (stop_at_arg && argv[i][0] != '-')
            break;
        if (takes_next(v, argv[i]))
            i++;
    }
    return 0;
}

/* argv without --config FILE (before "--"): the merged arguments say the same, and a
 * process started again with them (baton run's re-exec) no longer needs the file. */
static char **without_config(const struct opt_verb *v, int argc, char **argv, int *n)
{
    char **out = calloc((size_t)argc + 1, sizeof(*out));
    if (!out)
        return NULL;
    int k = 0, done = 0;
    for (int i = 0; i < argc; i++) {
        done |= strcmp(argv[i], "--") == 0;
        if (!done && i > 0 && v->section && strcmp(argv[i], "--config") == 0) {
            i++;
            continue;
        }
        if (!done && i > 0 && v->section && strncmp(argv[i], "--config=", 9) == 0)
            continue;
        out[k++] = argv[i];
    }
    *n = k;
    return out;
}

/* The command line with the config file's options in front (r->merged, owned). */
static int merge_config(const struct opt_verb *v, int argc, char **argv, const char *config,
                        struct opt_result *r, struct err *e)
{
    struct config_args cfg = {0}, merged = {0};
    const char *keys[OPT_MAX + 1];
    int nkeys = 0, n = 0;
    for (const struct opt *o = v->opts; o && o->name; o++)
        if (!(o->flags & OPT_CLI_ONLY))
            keys[nkeys++] = o->name;
    keys[nkeys] = NULL;
    if (config && config_load(config, v->section, keys, &cfg, e) < 0)
        return -1;
    char **args = without_config(v, argc, argv, &n);
    if (!config && (cfg.argv = calloc(2, sizeof(char *))) != NULL &&
        (cfg.argv[0] = strdup("baton")) != NULL)
        cfg.argc = 1;
    int rc = !args || cfg.argc == 0 ? err_errno(e, ENOMEM, "cannot parse options")
                                    : config_merge(&cfg, n, args, &merged, e);
    free(args);
    config_args_free(&cfg);
    r->merged = merged.argv;
    r->nmerged = merged.argc;
    return rc;
}

/* The getopt_long table for v (the option's index in val), plus --config and --help. */
static void build_longopts(const struct opt_verb *v, struct option *lo)
{
    int n = count_opts(v), k = 0;
    for (int i = 0; i < n; i++)
        lo[k++] = (struct option){
            v->opts[i].name, v->opts[i].kind == OPT_FLAG ? optional_argument : required_argument,
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
    int stop = v->args == OPT_ARGS_COMMAND || v->args == OPT_ARGS_MAYBE_COMMAND;
    optind = 0; /* full re-initialisation of getopt's state */
    opterr = 0;
    int ch;
    while ((ch = getopt_long(r->nmerged, r->merged, stop ? "+:" : ":", lo, NULL)) != -1) {
        if (ch == 'C')
            continue; /* read before */
        if (ch == 'h')
            return OPT_HELP;
        if (ch < 1000)
            return unknown_option(v, r->merged, ch, e);
        const struct opt *o = &v->opts[ch - 1000];
        if (set_value(o, opts, optarg ? optarg : "", e) < 0)
            return -1;
        r->given[ch - 1000] = 1;
    }
    r->argc = r->nmerged - optind;
    r->argv = r->merged + optind;
    r->command = stop && optind > 0 && strcmp(r->merged[optind - 1], "--") == 0 && r->argc > 0;
    return OPT_RUN;
}

static int check_args(const struct opt_verb *v, struct opt_result *r, struct err *e)
{
    const char *syn = v->synopsis ? v->synopsis : "";
    for (int i = 0; v->opts && v->opts[i].name; i++)
        if ((v->opts[i].flags & OPT_REQUIRED) && !r->given[i])
            return err_set(e, "missing --%s %s; 'baton %s --help' shows the usage", v->opts[i].name,
                           v->opts[i].arg ? v->opts[i].arg : "VALUE", v->name);
    if (v->args == OPT_ARGS_COMMAND && !r->command)
        return err_set(e, "missing '-- COMMAND [ARG...]'%s",
                       v->section ? " (or 'command' in --config)" : "");
    if (v->args == OPT_ARGS_MAYBE_COMMAND && r->argc > 0 && !r->command)
        return err_set(e, "unexpected argument '%s': put the command after '--'", r->argv[0]);
    if (v->args != OPT_ARGS_ANY)
        return v->args != OPT_ARGS_NONE || r->argc == 0
                   ? 0
                   : err_set(e, "unexpected argument '%s'; 'baton %s --help' shows the usage",
                             r->argv[0], v->name);
    if (r->argc < v->min_args)
        return err_set(e, "missing argument; usage: baton %s [OPTIONS] %s", v->name, syn);
    if (v->max_args && r->argc > v->max_args)
        return err_set(e, "too many arguments ('%s'); usage: baton %s [OPTIONS] %s",
                       r->argv[v->max_args], v->name, syn);
    return 0;
}

int opt_parse(const struct opt_verb *v, int argc, char **argv, void *opts, struct opt_result *r,
              struct err *e)
{
    memset(r, 0, sizeof(*r));
    const char *config = NULL;
    if (opt_check(v, e) < 0)
        return OPT_ERROR;
    if (scan_special(v, argc, argv, &config))
        return OPT_HELP;
    int rc;
    if (apply_defaults(v, opts, e) < 0 || merge_config(v, argc, argv, config, r, e) < 0 ||
        (rc = parse_merged(v, opts, r, e)) < 0)
        return OPT_ERROR;
    if (rc == OPT_HELP)
        return OPT_HELP;
    return check_args(v, r, e) < 0 ? OPT_ERROR : OPT_RUN;
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

/* The last word of a sub-command's name: "expand" of "migrate expand". */
static const char *short_name(const struct opt_verb *v)
{
    const char *sp = strrchr(v->name, ' ');
    return sp ? sp + 1 : v->name;
}

/* Index in argv of the first word that is neither an option nor an option's value (of
 * the parent or any sub-command), before "--"; 0 when there is none. */
static int find_sub_word(const struct opt_verb *p, int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (argv[i][0] != '-' || !argv[i][1])
            return i;
        int next = takes_next(p, argv[i]);
        for (int s = 0; !next && p->subs[s]; s++)
            next = takes_next(p->subs[s], argv[i]);
        i += next;
    }
    return 0;
}

static int sub_error(const struct opt_verb *p, const char *word, int help, struct err *e)
{
    const char *names[OPT_MAX + 1];
    int n = 0;
    for (; n < OPT_MAX && p->subs[n]; n++)
        names[n] = short_name(p->subs[n]);
    names[n] = NULL;
    char list[512];
    word_list(names, list, sizeof(list));
    if (!word && help)
        return OPT_HELP;
    if (!word)
        err_set(e, "missing sub-command; expected %s", list);
    else
        err_set(e, "unknown sub-command '%s'; expected %s", word, list);
    return OPT_ERROR;
}

int opt_parse_sub(const struct opt_verb *parent, int argc, char **argv, const struct opt_verb **sub,
                  void *opts, struct opt_result *r, struct err *e)
{
    memset(r, 0, sizeof(*r));
    *sub = NULL;
    if (opt_check(parent, e) < 0)
        return OPT_ERROR;
    int at = find_sub_word(parent, argc, argv), help = 0;
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        help |= strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0;
    if (!at)
        return sub_error(parent, NULL, help, e);
    for (int s = 0; parent->subs[s]; s++)
        if (strcmp(short_name(parent->subs[s]), argv[at]) == 0)
            *sub = parent->subs[s];
    if (!*sub)
        return sub_error(parent, argv[at], 0, e);
    char **args = calloc((size_t)argc, sizeof(*args));
    if (!args)
        return err_errno(e, ENOMEM, "cannot parse options");
    int n = 0;
    args[n++] = argv[at];
    for (int i = 1; i < argc; i++)
        if (i != at)
            args[n++] = argv[i];
    int rc = opt_parse(*sub, n, args, opts, r, e);
    free(args);
    return rc;
}

/* Whether o's field has the size its kind writes (OPT_CUSTOM: whether it has a parser). */
static int field_size_ok(const struct opt *o)
{
    switch (o->kind) {
    case OPT_FLAG:
    case OPT_ENUM:
        return o->size == sizeof(int);
    case OPT_INT:
    case OPT_DURATION:
    case OPT_SIZE:
        return o->size == sizeof(int) || o->size == sizeof(int64_t);
    case OPT_NUMBER:
        return o->size == sizeof(double);
    case OPT_TEXT:
        return o->size == sizeof(const char *);
    case OPT_STRING:
        return o->size > 1;
    case OPT_CUSTOM:
        return o->parse != NULL;
    }
    return 0;
}

static int check_opt(const struct opt_verb *v, const struct opt *o, struct err *e)
{
    if (!o->name[0] || strspn(o->name, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(o->name))
        return err_set(e, "baton %s: option name '%s' is not lower-case words", v->name, o->name);
    if (strcmp(o->name, "help") == 0 || (v->section && strcmp(o->name, "config") == 0))
        return err_set(e, "baton %s: --%s is reserved", v->name, o->name);
    for (const struct opt *p = v->opts; p != o; p++)
        if (strcmp(p->name, o->name) == 0)
            return err_set(e, "baton %s: --%s is in its table twice", v->name, o->name);
    if (!field_size_ok(o) || (o->kind == OPT_ENUM && !o->names))
        return err_set(e, "baton %s: --%s: its field does not fit its kind", v->name, o->name);
    if (o->kind == OPT_FLAG && o->def && strcmp(o->def, "0") != 0 && strcmp(o->def, "1") != 0)
        return err_set(e, "baton %s: --%s: a flag's default is 0 or 1", v->name, o->name);
    if (!o->def || o->kind == OPT_FLAG || o->kind == OPT_CUSTOM)
        return 0;
    /* the default parses (into a scratch copy of the field) */
    union {
        int64_t i;
        double d;
        const char *p;
    } scratch;
    struct opt copy = *o;
    copy.offset = 0;
    if (o->kind == OPT_STRING)
        return strlen(o->def) < o->size
                   ? 0
                   : err_set(e, "baton %s: --%s: default too long", v->name, o->name);
    if (set_value(&copy, &scratch, o->def, e) < 0)
        return err_wrap(e, "baton %s: default of --%s", v->name, o->name);
    return 0;
}

int opt_check(const struct opt_verb *v, struct err *e)
{
    if (!v->name || (v->args != OPT_ARGS_ANY && (v->min_args || v->max_args)))
        return err_set(e, "baton %s: positional counts need OPT_ARGS_ANY", v->name ? v->name : "?");
    if (count_opts(v) > OPT_MAX)
        return err_set(e, "baton %s: more than %d options in its table", v->name, OPT_MAX);
    for (const struct opt *o = v->opts; o && o->name; o++)
        if (check_opt(v, o, e) < 0)
            return -1;
    for (int s = 0; v->subs && v->subs[s]; s++)
        if (opt_check(v->subs[s], e) < 0)
            return -1;
    return 0;
}
