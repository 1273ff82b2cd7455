/* `baton lazy`: checks chains, shows how many documents sit at each version, sweeps a
 * collection forward, and reads / writes single documents, through libbaton-lazy; an
 * option table per sub-command. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baton/lazy.h"
#include "cli/verbs.h"

struct lazy_args {
    const char *store, *chain, *plugin;
    size_t batch, max_docs;
    double rate;
    int json, raw, restart;
    int argc;
    char **argv; /* positional arguments after the sub-command */
};

#define A(member) OPT_AT(struct lazy_args, member)
/* clang-format off */
#define LAZY_STORE                                                                               \
    {.name = "store", .kind = OPT_TEXT, A(store), .arg = "URL", .flags = OPT_REQUIRED,          \
     .help = "sqlite:PATH#TABLE, postgres://USER@HOST:PORT/DB#TABLE or\n"                        \
             "redis://HOST:PORT/PREFIX"}
#define LAZY_CHAIN                                                                               \
    {.name = "chain", .kind = OPT_TEXT, A(chain), .arg = "FILE", .flags = OPT_REQUIRED,         \
     .help = "the chain of versions"}
#define LAZY_PLUGIN                                                                              \
    {.name = "plugin", .kind = OPT_TEXT, A(plugin), .arg = "LIB.so",                            \
     .help = "a shared library defining `const struct lazy_custom\n"                             \
             "baton_lazy_customs[]` (custom steps; NULL-name terminated)"}
#define LAZY_JSON {.name = "json", .kind = OPT_FLAG, A(json), .help = "machine-readable output"}
#define LAZY_RAW                                                                                 \
    {.name = "raw", .kind = OPT_FLAG, A(raw), .help = "store the text even if it is not JSON"}

static const struct opt check_options[] = {LAZY_PLUGIN, LAZY_JSON, {0}};
static const struct opt status_options[] = {LAZY_STORE, LAZY_CHAIN, LAZY_PLUGIN, LAZY_JSON, {0}};
static const struct opt sweep_options[] = {
    LAZY_STORE, LAZY_CHAIN, LAZY_PLUGIN,
    {.name = "batch", .kind = OPT_INT, A(batch), .min = 1, .max = 100000000, .def = "500",
     .arg = "N", .help = "documents per batch"},
    {.name = "rate", .kind = OPT_NUMBER, A(rate), .max = 1000000000, .arg = "DOCS_PER_S",
     .help = "at most this many documents per second (default: unthrottled)"},
    {.name = "restart", .kind = OPT_FLAG, A(restart),
     .help = "sweep from the start, ignoring a saved position"},
    {.name = "max-docs", .kind = OPT_INT, A(max_docs), .min = 1, .max = 100000000, .arg = "N",
     .help = "stop after about N documents (position saved)"},
    LAZY_JSON, {0}};
static const struct opt get_options[] = {LAZY_STORE, LAZY_CHAIN, LAZY_PLUGIN, {0}};
static const struct opt put_options[] = {LAZY_STORE, LAZY_RAW, {0}};
static const struct opt dump_options[] = {LAZY_STORE, {0}};
static const struct opt load_options[] = {LAZY_STORE, LAZY_RAW, LAZY_JSON, {0}};
/* clang-format on */

#define LAZY_FOOTER                                                                                \
    "exit codes: 0 done; 1 failed (the reason on stderr), or documents were skipped as\n"          \
    "malformed; 2 usage error.\n"
#define LAZY_SUB(verb, syn, what, table, n)                                                        \
    {                                                                                              \
        .name = "lazy " verb, .synopsis = syn, .summary = what, .opts = table,                     \
        OPT_TAKES(n, (n) ? (n) : OPT_NO_LIMIT), .footer = LAZY_FOOTER                              \
    }

static const struct opt_verb sub_check = LAZY_SUB(
    "check", "CHAIN", "parse and check a chain; errors name the line at fault", check_options, 1);
static const struct opt_verb sub_status =
    LAZY_SUB("status", NULL, "count documents per version (and malformed ones)", status_options, 0);
static const struct opt_verb sub_sweep = LAZY_SUB(
    "sweep", NULL, "upgrade every document in batches, resuming after a crash; malformed ones stay",
    sweep_options, 0);
static const struct opt_verb sub_get =
    LAZY_SUB("get", "ID", "read one document, upgrade it, write it back if it changed; print it",
             get_options, 1);
static const struct opt_verb sub_put =
    LAZY_SUB("put", "ID JSON", "write one document as given (--raw: even if it is not JSON)",
             put_options, 2);
static const struct opt_verb sub_dump =
    LAZY_SUB("dump", NULL, "print every stored document as ID<TAB>TEXT, in id order, unchanged",
             dump_options, 0);
static const struct opt_verb sub_load = LAZY_SUB(
    "load", "< FILE", "write documents read from stdin as ID<TAB>TEXT lines (dump's format)",
    load_options, 0);

static const struct opt_verb *const lazy_subs[] = {
    &sub_check, &sub_status, &sub_sweep, &sub_get, &sub_put, &sub_dump, &sub_load, NULL,
};

const struct opt_verb lazy_verb = {
    .name = "lazy",
    .synopsis = "COMMAND [OPTIONS] [ARGS]",
    .summary = "versioned documents: check a chain, status, sweep, get, put",
    .about = "Versioned documents upgraded on read: each document carries `_version`, and the\n"
             "chain (a JSON file, see docs/lazy.md) lists the steps from one version to the\n"
             "next. 'baton lazy COMMAND --help' describes a command.\n",
    .subs = lazy_subs,
    .footer = LAZY_FOOTER,
};

static int load_chain(const struct lazy_args *a, const char *path, struct lazy_chain **c)
{
    const struct lazy_custom *customs = NULL;
    if (a->plugin) {
        void *h = dlopen(a->plugin, RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            fprintf(stderr, "baton lazy: cannot load plugin '%s': %s\n", a->plugin, dlerror());
            return -1;
        }
        customs = dlsym(h, "baton_lazy_customs");
        if (!customs) {
            fprintf(stderr, "baton lazy: plugin '%s' defines no 'baton_lazy_customs'\n", a->plugin);
            return -1;
        }
        /* the library stays loaded for the life of the process */
    }
    struct lazy_error e;
    if (lazy_chain_load(path, customs, c, &e) < 0) {
        fprintf(stderr, "baton lazy: %s\n", e.msg);
        return -1;
    }
    return 0;
}

/* Prints a library error; the sub-command's exit code. */
static int failed(const struct lazy_error *e)
{
    fprintf(stderr, "baton lazy: %s\n", e->msg);
    return EXIT_FAIL;
}

static int lazy_sub_check(const struct lazy_args *a, struct lazy_store *s, struct lazy_chain *c)
{
    (void)s;
    if (load_chain(a, a->argv[0], &c) < 0)
        return EXIT_FAIL;
    if (a->json)
        printf("{\"chain\":\"%s\",\"ok\":true,\"base\":%d,\"latest\":%d,\"steps\":%zu}\n",
               a->argv[0], lazy_chain_base(c), lazy_chain_latest(c), lazy_chain_steps(c));
    else
        printf("%s: ok, versions %d to %d, %zu steps\n", a->argv[0], lazy_chain_base(c),
               lazy_chain_latest(c), lazy_chain_steps(c));
    lazy_chain_free(c);
    return EXIT_OK;
}

static void print_status(json_t *st)
{
    printf("collection %s: %lld documents, latest version %lld\n",
           json_string_value(json_object_get(st, "collection")),
           json_integer_value(json_object_get(st, "total")),
           json_integer_value(json_object_get(st, "latest")));
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(st, "versions"), k, v)
    {
        printf("  version %-6s %lld\n", k, json_integer_value(v));
    }
    json_object_foreach(json_object_get(st, "malformed"), k, v)
    {
        if (json_integer_value(v))
            printf("  malformed %-11s %lld\n", k, json_integer_value(v));
    }
}

static int lazy_sub_status(const struct lazy_args *a, struct lazy_store *s, struct lazy_chain *c)
{
    struct lazy_error e;
    json_t *st = NULL;
    if (lazy_status(s, c, &st, &e) < 0)
        return failed(&e);
    if (a->json) {
        json_dumpf(st, stdout, JSON_COMPACT);
        putchar('\n');
    } else {
        print_status(st);
    }
    json_decref(st);
    return EXIT_OK;
}

static void on_skip(const char *id, const char *why, void *arg)
{
    fprintf(stderr, "baton lazy: skipped document '%s': %s\n", id, why);
}

static int lazy_sub_sweep(const struct lazy_args *a, struct lazy_store *s, struct lazy_chain *c)
{
    struct lazy_error e;
    struct lazy_sweep_report r;
    struct lazy_sweep_opts o = {.batch = a->batch,
                                .rate = a->rate,
                                .restart = a->restart,
                                .max_docs = a->max_docs,
                                .on_skip = on_skip};
    if (lazy_sweep(s, c, &o, &r, &e) < 0) {
        fprintf(stderr, "baton lazy: sweep of '%s' stopped (position saved): %s\n", a->store,
                e.msg);
        return EXIT_FAIL;
    }
    if (a->json)
        printf("{\"examined\":%zu,\"upgraded\":%zu,\"current\":%zu,\"malformed\":%zu,"
               "\"conflicts\":%zu,\"passes\":%zu,\"resumed\":%s,\"complete\":%s}\n",
               r.examined, r.upgraded, r.current, r.malformed, r.conflicts, r.passes,
               r.resumed ? "true" : "false", r.complete ? "true" : "false");
    else
        printf("sweep %s%s: %zu upgraded, %zu malformed (skipped), %zu conflicts retried; "
               "%zu reads in %zu passes%s\n",
               r.complete ? "complete" : "stopped", r.resumed ? " (resumed)" : "", r.upgraded,
               r.malformed, r.conflicts, r.examined, r.passes + !r.complete,
               r.complete ? "" : "; run again to continue");
    return r.malformed ? EXIT_FAIL : EXIT_OK;
}

static int lazy_sub_get(const struct lazy_args *a, struct lazy_store *s, struct lazy_chain *c)
{
    struct lazy_error e;
    json_t *doc = NULL;
    if (lazy_get(s, c, a->argv[0], &doc, &e) < 0)
        return failed(&e);
    json_dumpf(doc, stdout, JSON_COMPACT);
    putchar('\n');
    json_decref(doc);
    return EXIT_OK;
}

/* 1 when `text` is a JSON object; otherwise prints why (naming the id) and returns 0. */
static int is_object(const char *id, const char *text)
{
    json_error_t je;
    json_t *doc = json_loads(text, 0, &je);
    int ok = json_is_object(doc);
    if (!ok)
        fprintf(stderr,
                "baton lazy: document '%s' is not a JSON object (%s); --raw stores it anyway\n", id,
                doc ? "another JSON value" : je.text);
    json_decref(doc);
    return ok;
}

/* put's document is checked before the store is opened: a usage error needs no store. */
static int put_usage(const struct lazy_args *a)
{
    return !a->raw && !is_object(a->argv[0], a->argv[1]) ? EXIT_USAGE : 0;
}

static int lazy_sub_put(const struct lazy_args *a, struct lazy_store *s, struct lazy_chain *c)
{
    struct lazy_error e;
    (void)c;
    return lazy_put_text(s, a->argv[0], a->argv[1], &e) < 0 ? failed(&e) : EXIT_OK;
}

static int dump_one(const char *id, const char *text, void *arg)
{
    printf("%s\t%s\n", id, text);
    return 0;
}

static int lazy_sub_dump(const struct lazy_args *a, struct lazy_store *s, struct lazy_chain *c)
{
    struct lazy_error e;
    (void)a, (void)c;
    return lazy_each(s, dump_one, NULL, &e) < 0 ? failed(&e) : EXIT_OK;
}

#define LOAD_LINE_MAX (16u << 20)

static int lazy_sub_load(const struct lazy_args *a, struct lazy_store *s, struct lazy_chain *c)
{
    struct lazy_error e;
    char *line = NULL;
    size_t cap = 0, n = 0;
    ssize_t len;
    int rc = EXIT_OK;
    (void)c;
    for (long lineno = 1; (len = getline(&line, &cap, stdin)) >= 0; lineno++) {
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = 0;
        if (len == 0)
            continue;
        char *tab = strchr(line, '\t');
        if ((size_t)len > LOAD_LINE_MAX || !tab || tab == line) {
            fprintf(stderr, "baton lazy: stdin:%ld: expected ID<TAB>TEXT (at most 16 MiB)\n",
                    lineno);
            rc = EXIT_FAIL;
            goto out;
        }
        *tab = 0;
        if (!a->raw && !is_object(line, tab + 1)) {
            rc = EXIT_FAIL;
            goto out;
        }
        if (lazy_put_text(s, line, tab + 1, &e) < 0) {
            fprintf(stderr, "baton lazy: stdin:%ld: %s\n", lineno, e.msg);
            rc = EXIT_FAIL;
            goto out;
        }
        n++;
    }
    if (a->json)
        printf("{\"loaded\":%zu}\n", n);
    else
        printf("loaded %zu documents\n", n);
out:
    free(line);
    return rc;
}

/* The sub-commands: what each needs opened before it runs (then closed after it), and
 * an optional check of its arguments made first. */
enum { NEEDS_STORE = 1, NEEDS_CHAIN = 2 };
static const struct lazy_sub {
    const struct opt_verb *verb;
    int needs;
    int (*usage)(const struct lazy_args *a);
    int (*run)(const struct lazy_args *a, struct lazy_store *s, struct lazy_chain *c);
} lazy_sub_table[] = {
    {&sub_check, 0, NULL, lazy_sub_check},
    {&sub_status, NEEDS_STORE | NEEDS_CHAIN, NULL, lazy_sub_status},
    {&sub_sweep, NEEDS_STORE | NEEDS_CHAIN, NULL, lazy_sub_sweep},
    {&sub_get, NEEDS_STORE | NEEDS_CHAIN, NULL, lazy_sub_get},
    {&sub_put, NEEDS_STORE, put_usage, lazy_sub_put},
    {&sub_dump, NEEDS_STORE, NULL, lazy_sub_dump},
    {&sub_load, NEEDS_STORE, NULL, lazy_sub_load},
};

/* Opens what `sub` needs (the chain first), runs it, closes; the exit code. */
static int run_sub(const struct lazy_sub *sub, const struct lazy_args *a)
{
    struct lazy_store *s = NULL;
    struct lazy_chain *c = NULL;
    struct lazy_error e;
    int rc = sub->usage ? sub->usage(a) : 0;
    if (rc)
        return rc;
    if ((sub->needs & NEEDS_CHAIN) && load_chain(a, a->chain, &c) < 0)
        return EXIT_FAIL;
    if ((sub->needs & NEEDS_STORE) && lazy_store_open(a->store, &s, &e) < 0)
        rc = failed(&e);
    else
        rc = sub->run(a, s, c);
    lazy_store_close(s);
    lazy_chain_free(c);
    return rc;
}

int verb_lazy(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "help") == 0) {
        opt_help(&lazy_verb, stdout);
        return EXIT_OK;
    }
    struct lazy_args a = {0};
    struct opt_result r;
    const struct opt_verb *sub;
    int rc = opt_parse_sub_cli(&lazy_verb, argc, argv, &sub, &a, &r);
    for (size_t i = 0; rc == OPT_RUN && i < sizeof(lazy_sub_table) / sizeof(lazy_sub_table[0]); i++)
        if (lazy_sub_table[i].verb == sub) {
            a.argc = r.argc;
            a.argv = r.argv;
            rc = run_sub(&lazy_sub_table[i], &a);
            fflush(stdout);
            opt_result_free(&r);
            return rc;
        }
    opt_result_free(&r);
    return VERB_PARSE_EXIT(rc);
}
