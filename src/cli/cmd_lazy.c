/* `baton lazy`: checks chains, shows how many documents sit at each version, sweeps a
 * collection forward, and reads / writes single documents, through libbaton-lazy. */
#include <dlfcn.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baton/lazy.h"
#include "cli/verbs.h"

static const char usage_text[] =
    "usage: baton lazy check [--plugin LIB.so] CHAIN\n"
    "       baton lazy status --store URL --chain CHAIN [--json]\n"
    "       baton lazy sweep  --store URL --chain CHAIN [--batch N] [--rate DOCS_PER_S]\n"
    "                         [--restart] [--max-docs N] [--json]\n"
    "       baton lazy get    --store URL --chain CHAIN ID\n"
    "       baton lazy put    --store URL [--raw] ID JSON\n"
    "       baton lazy dump   --store URL\n"
    "       baton lazy load   --store URL [--raw] < FILE\n"
    "\n"
    "Versioned documents upgraded on read: each document carries `_version`, and the\n"
    "chain (a JSON file, see docs/lazy.md) lists the steps from one version to the next.\n"
    "\n"
    "  check     parse and check a chain; errors name the line at fault\n"
    "  status    count documents per version (and malformed ones)\n"
    "  sweep     upgrade every document in batches; resumes from its saved position\n"
    "            after a crash; malformed documents are reported and left alone\n"
    "  get       read one document, upgrade it, write it back if it changed; print it\n"
    "  put       write one document as given (--raw: even if it is not JSON)\n"
    "  dump      print every stored document as ID<TAB>TEXT, in id order, unchanged\n"
    "  load      write documents read from stdin as ID<TAB>TEXT lines (dump's format)\n"
    "\n"
    "options:\n"
    "  --store URL         sqlite:PATH#TABLE, postgres://USER@HOST:PORT/DB#TABLE or\n"
    "                      redis://HOST:PORT/PREFIX\n"
    "  --chain FILE        the chain of versions\n"
    "  --plugin LIB.so     a shared library defining `const struct lazy_custom\n"
    "                      baton_lazy_customs[]` (custom steps; NULL-name terminated)\n"
    "  --batch N           documents per sweep batch (default 500)\n"
    "  --rate N            at most N documents per second (default: unthrottled)\n"
    "  --restart           sweep from the start, ignoring a saved position\n"
    "  --max-docs N        stop the sweep after about N documents (position saved)\n"
    "  --raw               put, load: store the text even if it is not JSON\n"
    "  --json              machine-readable output\n"
    "  -h, --help          this text\n"
    "\n"
    "exit codes: 0 done; 1 failed (the reason on stderr), or documents were skipped as\n"
    "malformed; 2 usage error.\n";

struct lazy_args {
    const char *store, *chain, *plugin;
    size_t batch, max_docs;
    double rate;
    int json, raw, restart;
    int argc;
    char **argv; /* positional arguments after the sub-command */
};

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "baton lazy: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n'baton lazy --help' lists the options\n");
    return EXIT_USAGE;
}

static int parse_size(const char *s, size_t *out)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (!*s || *end || s[0] == '-' || v == 0 || v > 100000000ULL)
        return -1;
    *out = (size_t)v;
    return 0;
}

static int parse_args(int argc, char **argv, struct lazy_args *a)
{
    static const struct option opts[] = {
        {"store", required_argument, NULL, 's'},
        {"chain", required_argument, NULL, 'c'},
        {"plugin", required_argument, NULL, 'p'},
        {"batch", required_argument, NULL, 'b'},
        {"rate", required_argument, NULL, 'r'},
        {"max-docs", required_argument, NULL, 'm'},
        {"restart", no_argument, NULL, 'R'},
        {"raw", no_argument, NULL, 'w'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            a->store = optarg;
            break;
        case 'c':
            a->chain = optarg;
            break;
        case 'p':
            a->plugin = optarg;
            break;
        case 'b':
            if (parse_size(optarg, &a->batch) < 0)
                return usage_error("--batch '%s' must be a positive integer", optarg);
            break;
        case 'm':
            if (parse_size(optarg, &a->max_docs) < 0)
                return usage_error("--max-docs '%s' must be a positive integer", optarg);
            break;
        case 'r': {
            char *end;
            a->rate = strtod(optarg, &end);
            if (!*optarg || *end || !(a->rate > 0) || a->rate > 1e9)
                return usage_error("--rate '%s' must be a positive number", optarg);
            break;
        }
        case 'R':
            a->restart = 1;
            break;
        case 'w':
            a->raw = 1;
            break;
        case 'j':
            a->json = 1;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return -1;
        default:
            return usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    a->argc = argc - optind;
    a->argv = argv + optind;
    return 0;
}

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

static int need(const struct lazy_args *a, int store, int chain)
{
    if (store && !a->store)
        return usage_error("%s needs --store URL", "this command");
    if (chain && !a->chain)
        return usage_error("%s needs --chain FILE", "this command");
    return 0;
}

static int open_both(const struct lazy_args *a, struct lazy_store **s, struct lazy_chain **c)
{
    struct lazy_error e;
    if (c && load_chain(a, a->chain, c) < 0)
        return EXIT_FAIL;
    if (lazy_store_open(a->store, s, &e) < 0) {
        fprintf(stderr, "baton lazy: %s\n", e.msg);
        return EXIT_FAIL;
    }
    return 0;
}

static int lazy_sub_check(const struct lazy_args *a)
{
    if (a->argc != 1)
        return usage_error("%s takes one chain file", "check");
    struct lazy_chain *c;
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

static int lazy_sub_status(const struct lazy_args *a)
{
    struct lazy_store *s = NULL;
    struct lazy_chain *c = NULL;
    struct lazy_error e;
    json_t *st = NULL;
    int rc = need(a, 1, 1);
    if (rc || (rc = open_both(a, &s, &c)))
        goto out;
    if (lazy_status(s, c, &st, &e) < 0) {
        fprintf(stderr, "baton lazy: %s\n", e.msg);
        rc = EXIT_FAIL;
        goto out;
    }
    if (a->json) {
        json_dumpf(st, stdout, JSON_COMPACT);
        putchar('\n');
    } else {
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
out:
    json_decref(st);
    lazy_store_close(s);
    lazy_chain_free(c);
    return rc;
}

static void on_skip(const char *id, const char *why, void *arg)
{
    fprintf(stderr, "baton lazy: skipped document '%s': %s\n", id, why);
}

static int lazy_sub_sweep(const struct lazy_args *a)
{
    struct lazy_store *s = NULL;
    struct lazy_chain *c = NULL;
    struct lazy_error e;
    struct lazy_sweep_report r;
    int rc = need(a, 1, 1);
    if (rc || (rc = open_both(a, &s, &c)))
        goto out;
    struct lazy_sweep_opts o = {.batch = a->batch,
                                .rate = a->rate,
                                .restart = a->restart,
                                .max_docs = a->max_docs,
                                .on_skip = on_skip};
    if (lazy_sweep(s, c, &o, &r, &e) < 0) {
        fprintf(stderr, "baton lazy: sweep of '%s' stopped (position saved): %s\n", a->store,
                e.msg);
        rc = EXIT_FAIL;
        goto out;
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
    rc = r.malformed ? EXIT_FAIL : EXIT_OK;
out:
    lazy_store_close(s);
    lazy_chain_free(c);
    return rc;
}

static int lazy_sub_get(const struct lazy_args *a)
{
    struct lazy_store *s = NULL;
    struct lazy_chain *c = NULL;
    struct lazy_error e;
    json_t *doc = NULL;
    int rc = need(a, 1, 1);
    if (!rc && a->argc != 1)
        rc = usage_error("%s takes one document id", "get");
    if (rc || (rc = open_both(a, &s, &c)))
        goto out;
    if (lazy_get(s, c, a->argv[0], &doc, &e) < 0) {
        fprintf(stderr, "baton lazy: %s\n", e.msg);
        rc = EXIT_FAIL;
        goto out;
    }
    json_dumpf(doc, stdout, JSON_COMPACT);
    putchar('\n');
out:
    json_decref(doc);
    lazy_store_close(s);
    lazy_chain_free(c);
    return rc;
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

static int lazy_sub_put(const struct lazy_args *a)
{
    struct lazy_store *s = NULL;
    struct lazy_error e;
    int rc = need(a, 1, 0);
    if (!rc && a->argc != 2)
        rc = usage_error("%s takes a document id and its JSON text", "put");
    if (!rc && !a->raw && !is_object(a->argv[0], a->argv[1]))
        rc = EXIT_USAGE;
    if (rc || (rc = open_both(a, &s, NULL)))
        goto out;
    if (lazy_put_text(s, a->argv[0], a->argv[1], &e) < 0) {
        fprintf(stderr, "baton lazy: %s\n", e.msg);
        rc = EXIT_FAIL;
    }
out:
    lazy_store_close(s);
    return rc;
}

static int dump_one(const char *id, const char *text, void *arg)
{
    printf("%s\t%s\n", id, text);
    return 0;
}

static int lazy_sub_dump(const struct lazy_args *a)
{
    struct lazy_store *s = NULL;
    struct lazy_error e;
    int rc = need(a, 1, 0);
    if (rc || (rc = open_both(a, &s, NULL)))
        goto out;
    if (lazy_each(s, dump_one, NULL, &e) < 0) {
        fprintf(stderr, "baton lazy: %s\n", e.msg);
        rc = EXIT_FAIL;
    }
out:
    lazy_store_close(s);
    return rc;
}

#define LOAD_LINE_MAX (16u << 20)

static int lazy_sub_load(const struct lazy_args *a)
{
    struct lazy_store *s = NULL;
    struct lazy_error e;
    char *line = NULL;
    size_t cap = 0, n = 0;
    ssize_t len;
    int rc = need(a, 1, 0);
    if (rc || (rc = open_both(a, &s, NULL)))
        goto out;
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
    lazy_store_close(s);
    return rc;
}

int cmd_lazy(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(const struct lazy_args *a);
    } subs[] = {
        {"check", lazy_sub_check}, {"status", lazy_sub_status}, {"sweep", lazy_sub_sweep},
        {"get", lazy_sub_get},     {"put", lazy_sub_put},       {"dump", lazy_sub_dump},
        {"load", lazy_sub_load},
    };
    if (argc < 2) {
        fputs(usage_text, stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage_text, stdout);
        return EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
        if (strcmp(subs[i].name, argv[1]) != 0)
            continue;
        struct lazy_args a = {0};
        int rc = parse_args(argc - 1, argv + 1, &a);
        if (rc < 0)
            return EXIT_OK; /* --help */
        if (rc > 0)
            return rc;
        if (strcmp(argv[1], "check") != 0 && strcmp(argv[1], "get") != 0 &&
            strcmp(argv[1], "put") != 0 && a.argc > 0)
            return usage_error("unexpected argument '%s'", a.argv[0]);
        int out = subs[i].run(&a);
        fflush(stdout);
        return out;
    }
    return usage_error("unknown sub-command '%s' (check, status, sweep, get, put, dump, load)",
                       argv[1]);
}
