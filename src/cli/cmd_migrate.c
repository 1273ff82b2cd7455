/* `baton migrate`: forward-only expand / backfill / contract migrations. Parses the
 * options and the sub-verb, then calls the migrate library (src/migrate/migrate.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/verbs.h"
#include "core/config.h"
#include "core/log.h"
#include "migrate/deploylease.h"
#include "migrate/migrate.h"

static const char usage_text[] =
    "usage: baton migrate [--db URL] [--dir DIR] VERB [ARGS]\n"
    "\n"
    "Forward-only migrations in phases: expand (both app versions work), backfill (data\n"
    "copied in short resumable batches), contract (after the new version is stable).\n"
    "\n"
    "verbs:\n"
    "  new NAME                    create DIR/NNNN_NAME.migration from a template\n"
    "  status [--json]             each migration's phase and backfill progress\n"
    "  plan                        what would run, phase by phase, with lint findings\n"
    "  expand [--to ID]            expand, then backfill, every pending migration (up to ID)\n"
    "  backfill                    backfill every expanded migration\n"
    "  contract [--to ID]          contract every backfilled migration (up to ID)\n"
    "  abort ID                    undo the expansion of ID (before its contract)\n"
    "  lint FILE...                check migration files for unsafe operations\n"
    "  path --from REL --to REL    the mandatory stops between two releases\n"
    "  check --release REL         exit 0 only if the database is usable by release REL\n"
    "  lease take|renew|release|show SERVICE ...  the lease of 'baton deploy' (for it)\n"
    "\n"
    "options:\n"
    "  --db URL              sqlite:PATH, postgres://..., or a libpq conninfo (env BATON_DB)\n"
    "  --dir DIR             the migration files (env BATON_MIGRATIONS)\n"
    "  --releases FILE       releases manifest (default DIR/releases.ini)\n"
    "  --config FILE         read these options from section [migrate] of an INI file\n"
    "  --json                JSON output (status, path, check)\n"
    "  --lease-ms MS         runner lease time to live (30000)\n"
    "  --wait-ms MS          how long to wait for another runner's lease (120000)\n"
    "  --lock-timeout-ms MS  PostgreSQL lock_timeout of DDL and batches (500)\n"
    "  --retries N           retries of a step that hit a lock timeout (30)\n"
    "  --batch-size N        first backfill batch size (500)\n"
    "  --batch-max N         largest backfill batch (50000)\n"
    "  --time-target-ms MS   batch duration the batch size adapts to (50)\n"
    "  --duty-percent N      share of time backfill batches may keep the database busy;\n"
    "                        after a batch of T ms baton pauses T*(100-N)/N ms (50)\n"
    "  --batch-sleep-ms MS   extra pause between batches (0; env BATON_MIGRATE_BATCH_SLEEP_MS)\n"
    "  --log-level LEVEL     debug, info, warn, error (info)\n"
    "\n"
    "exit codes: 0 done (check: compatible), 1 failed (check: not compatible; lint and\n"
    "plan: findings), 2 usage error.\n";

enum {
    OPT_DB = 256,
    OPT_DIR,
    OPT_RELEASES,
    OPT_CONFIG,
    OPT_JSON,
    OPT_TO,
    OPT_FROM,
    OPT_RELEASE,
    OPT_LEASE,
    OPT_WAIT,
    OPT_LOCK_TIMEOUT,
    OPT_RETRIES,
    OPT_BATCH_SIZE,
    OPT_BATCH_MAX,
    OPT_TIME_TARGET,
    OPT_BATCH_SLEEP,
    OPT_DUTY,
    OPT_LOG_LEVEL,
};

static const struct option long_opts[] = {
    {"db", required_argument, NULL, OPT_DB},
    {"dir", required_argument, NULL, OPT_DIR},
    {"releases", required_argument, NULL, OPT_RELEASES},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"json", no_argument, NULL, OPT_JSON},
    {"to", required_argument, NULL, OPT_TO},
    {"from", required_argument, NULL, OPT_FROM},
    {"release", required_argument, NULL, OPT_RELEASE},
    {"lease-ms", required_argument, NULL, OPT_LEASE},
    {"wait-ms", required_argument, NULL, OPT_WAIT},
    {"lock-timeout-ms", required_argument, NULL, OPT_LOCK_TIMEOUT},
    {"retries", required_argument, NULL, OPT_RETRIES},
    {"batch-size", required_argument, NULL, OPT_BATCH_SIZE},
    {"batch-max", required_argument, NULL, OPT_BATCH_MAX},
    {"time-target-ms", required_argument, NULL, OPT_TIME_TARGET},
    {"batch-sleep-ms", required_argument, NULL, OPT_BATCH_SLEEP},
    {"duty-percent", required_argument, NULL, OPT_DUTY},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const char *const config_keys[] = {
    "db",        "dir",        "releases",  "lease-ms",       "wait-ms",        "lock-timeout-ms",
    "retries",   "batch-size", "batch-max", "time-target-ms", "batch-sleep-ms", "duty-percent",
    "log-level", NULL,
};

static int usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "baton migrate: %s%s%s%s\n'baton migrate --help' lists the verbs and options\n",
            what, arg ? " '" : "", arg ? arg : "", arg ? "'" : "");
    return EXIT_USAGE;
}

static int parse_int(const char *s, int min, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == 0 || *end || v < min || v > 100000000)
        return -1;
    *out = (int)v;
    return 0;
}

struct args {
    struct migrate_opts o;
    const char *to, *from, *release, *config;
    enum log_level level;
};

static int parse_args(int argc, char **argv, struct args *a, int *first_pos)
{
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "+h", long_opts, NULL)) != -1) {
        int *num = NULL, min = 0;
        switch (c) {
        case OPT_DB:
            a->o.db_url = optarg;
            break;
        case OPT_DIR:
            a->o.dir = optarg;
            break;
        case OPT_RELEASES:
            a->o.releases = optarg;
            break;
        case OPT_CONFIG:
            a->config = optarg;
            break;
        case OPT_JSON:
            a->o.json = 1;
            break;
        case OPT_TO:
            a->to = optarg;
            break;
        case OPT_FROM:
            a->from = optarg;
            break;
        case OPT_RELEASE:
            a->release = optarg;
            break;
        case OPT_LEASE:
            num = &a->o.lease_ms;
            min = 100;
            break;
        case OPT_WAIT:
            num = &a->o.wait_ms;
            break;
        case OPT_LOCK_TIMEOUT:
            num = &a->o.lock_timeout_ms;
            min = 1;
            break;
        case OPT_RETRIES:
            num = &a->o.retries;
            break;
        case OPT_BATCH_SIZE:
            num = &a->o.batch_size;
            min = 1;
            break;
        case OPT_BATCH_MAX:
            num = &a->o.batch_max;
            min = 1;
            break;
        case OPT_TIME_TARGET:
            num = &a->o.time_target_ms;
            min = 1;
            break;
        case OPT_BATCH_SLEEP:
            num = &a->o.batch_sleep_ms;
            break;
        case OPT_DUTY:
            num = &a->o.duty_percent;
            min = 1;
            break;
        case OPT_LOG_LEVEL:
            if (log_level_parse(optarg, &a->level) < 0)
                return usage_error("unknown log level", optarg);
            break;
        case 'h':
            fputs(usage_text, stdout);
            return -EXIT_OK - 1;
        default:
            return usage_error("unknown or incomplete option", argv[optind - 1]);
        }
        if (num && parse_int(optarg, min, num) < 0)
            return usage_error("invalid number", optarg);
    }
    if (a->o.duty_percent > 100)
        return usage_error("--duty-percent must be 1 to 100", NULL);
    *first_pos = optind;
    return 0;
}

int cmd_migrate(int argc, char **argv)
{
    struct args a;
    memset(&a, 0, sizeof(a));
    migrate_opts_init(&a.o);
    a.level = LOG_INFO;
    /* options may come before or after the verb: move the verb and its operands last */
    char **av = calloc((size_t)argc + 1, sizeof(char *));
    char **pos = calloc((size_t)argc + 1, sizeof(char *));
    if (!av || !pos) {
        free(av);
        free(pos);
        return EXIT_FAIL;
    }
    int ac = 0, np = 0;
    av[ac++] = argv[0];
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (s[0] == '-' && s[1]) {
            av[ac++] = argv[i];
            const struct option *lo = NULL;
            for (const struct option *x = long_opts; x->name; x++)
                if (s[1] == '-' && strcmp(s + 2, x->name) == 0)
                    lo = x;
            if (lo && lo->has_arg == required_argument && i + 1 < argc)
                av[ac++] = argv[++i];
        } else {
            pos[np++] = argv[i];
        }
    }
    struct config_args cfg = {0}, merged = {0};
    int rc = EXIT_USAGE, first = 0;
    int pr = parse_args(ac, av, &a, &first);
    if (pr == -EXIT_OK - 1) {
        rc = EXIT_OK;
        goto out;
    }
    if (pr != 0)
        goto out;
    if (a.config) {
        struct err e;
        if (config_load(a.config, "migrate", config_keys, &cfg, &e) < 0 ||
            config_merge(&cfg, ac, av, &merged, &e) < 0) {
            fprintf(stderr, "baton migrate: %s\n", e.msg);
            goto out;
        }
        migrate_opts_init(&a.o);
        a.config = NULL;
        if (parse_args(merged.argc, merged.argv, &a, &first) != 0)
            goto out;
    }
    log_setup(a.level, "migrate");
    if (np == 0) {
        rc = usage_error("missing verb", NULL);
        goto out;
    }
    const char *verb = pos[0];
    struct err e = {{0}};
    int r = 0;
    if (strcmp(verb, "new") == 0) {
        if (np != 2) {
            rc = usage_error("usage: baton migrate new NAME", NULL);
            goto out;
        }
        r = migrate_new(&a.o, pos[1], stdout, &e);
    } else if (strcmp(verb, "status") == 0 && np == 1) {
        r = migrate_status(&a.o, stdout, &e);
    } else if (strcmp(verb, "plan") == 0 && np == 1) {
        r = migrate_plan(&a.o, stdout, &e);
        if (r > 0) {
            rc = EXIT_FAIL;
            goto out;
        }
    } else if (strcmp(verb, "expand") == 0 && np == 1) {
        r = migrate_expand(&a.o, a.to, &e);
    } else if (strcmp(verb, "backfill") == 0 && np == 1) {
        r = migrate_backfill(&a.o, &e);
    } else if (strcmp(verb, "contract") == 0 && np == 1) {
        r = migrate_contract(&a.o, a.to, &e);
    } else if (strcmp(verb, "abort") == 0) {
        if (np != 2) {
            rc = usage_error("usage: baton migrate abort ID", NULL);
            goto out;
        }
        r = migrate_abort(&a.o, pos[1], &e);
    } else if (strcmp(verb, "lint") == 0) {
        if (np < 2) {
            rc = usage_error("usage: baton migrate lint FILE...", NULL);
            goto out;
        }
        r = migrate_lint(&a.o, pos + 1, np - 1, stdout, &e);
        rc = r == 0 ? EXIT_OK : EXIT_FAIL;
        goto out;
    } else if (strcmp(verb, "path") == 0 && np == 1) {
        if (!a.from || !a.to) {
            rc = usage_error("usage: baton migrate path --from RELEASE --to RELEASE", NULL);
            goto out;
        }
        r = migrate_path(&a.o, a.from, a.to, stdout, &e);
    } else if (strcmp(verb, "lease") == 0) {
        rc = leaserow_cli(&a.o, np - 1, pos + 1, stdout);
        goto out;
    } else if (strcmp(verb, "check") == 0 && np == 1) {
        if (!a.release) {
            rc = usage_error("usage: baton migrate check --release RELEASE", NULL);
            goto out;
        }
        r = migrate_check(&a.o, a.release, stdout, &e);
        if (r >= 0) {
            rc = r == 1 ? EXIT_OK : EXIT_FAIL;
            goto out;
        }
    } else {
        rc = usage_error("unknown verb or unexpected arguments for", verb);
        goto out;
    }
    if (r < 0) {
        fprintf(stderr, "baton migrate %s: %s\n", verb, e.msg);
        rc = EXIT_FAIL;
    } else {
        rc = EXIT_OK;
    }
out:
    config_args_free(&cfg);
    config_args_free(&merged);
    free(av);
    free(pos);
    return rc;
}
