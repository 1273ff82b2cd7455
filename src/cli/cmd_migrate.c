/* `baton migrate`: forward-only expand / backfill / contract migrations. An option
 * table per sub-command (the common options first, also the keys of [migrate] in
 * --config), then one call into the migrate library (src/migrate/migrate.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/verbs.h"
#include "core/log.h"
#include "migrate/deploylease.h"
#include "migrate/migrate.h"
#include "migrate/throttle.h"

struct migrate_cli {
    struct migrate_opts o;
    const char *to, *from, *release;
    int level; /* enum log_level */
    int reset; /* throttle --reset */
};

static const char *const log_levels[] = {"debug", "info", "warn", "error", NULL};

#define M(member) OPT_AT(struct migrate_cli, o.member)
/* The options of every sub-command. Defaults not written here come from the
 * environment (migrate_opts_init): BATON_DB, BATON_MIGRATIONS,
 * BATON_MIGRATE_BATCH_SLEEP_MS. The unit-free duration spellings replace the *-ms ones,
 * which stay accepted. */
/* clang-format off */
#define MIGRATE_OPTIONS                                                                          \
    {.name = "db", .kind = OPT_TEXT, M(db_url), .arg = "URL",                                   \
     .help = "sqlite:PATH, postgres://..., or a libpq conninfo (env BATON_DB)"},                 \
    {.name = "dir", .kind = OPT_TEXT, M(dir), .arg = "DIR",                                     \
     .help = "the migration files (env BATON_MIGRATIONS)"},                                      \
    {.name = "releases", .kind = OPT_TEXT, M(releases), .arg = "FILE",                          \
     .help = "releases manifest (default DIR/releases.ini)"},                                    \
    {.name = "json", .kind = OPT_FLAG, M(json), .flags = OPT_CLI_ONLY,                          \
     .help = "JSON output (status, path, check)"},                                               \
    {.name = "lease", .kind = OPT_DURATION, M(lease_ms), .min = 100, .max = 100000000,          \
     .def = "30s", .help = "runner lease time to live"},                                         \
    {.name = "wait", .kind = OPT_DURATION, M(wait_ms), .max = 100000000, .def = "2m",           \
     .help = "how long to wait for another runner's lease"},                                     \
    {.name = "lock-timeout", .kind = OPT_DURATION, M(lock_timeout_ms), .min = 1,                \
     .max = 100000000, .def = "500ms", .help = "PostgreSQL lock_timeout of DDL and batches"},    \
    {.name = "retries", .kind = OPT_INT, M(retries), .max = 100000000, .def = "30", .arg = "N", \
     .help = "retries of a step that hit a lock timeout"},                                       \
    {.name = "batch-size", .kind = OPT_INT, M(batch_size), .min = 1, .max = 100000000,          \
     .def = "500", .arg = "N", .help = "first backfill batch size"},                             \
    {.name = "batch-max", .kind = OPT_INT, M(batch_max), .min = 1, .max = 100000000,            \
     .def = "50000", .arg = "N", .help = "largest backfill batch"},                              \
    {.name = "time-target", .kind = OPT_DURATION, M(time_target_ms), .min = 1,                  \
     .max = 100000000, .def = "50ms", .help = "batch duration the batch size adapts to"},        \
    {.name = "duty-percent", .kind = OPT_INT, M(duty_percent), .min = 1, .max = 100,            \
     .def = "50", .arg = "N",                                                                    \
     .help = "share of time backfill batches may keep the database busy;\n"                      \
             "after a batch of T ms baton pauses T*(100-N)/N ms"},                               \
    {.name = "batch-sleep", .kind = OPT_DURATION, M(batch_sleep_ms), .max = 100000000,          \
     .help = "extra pause between batches (default 0;\n"                                         \
             "env BATON_MIGRATE_BATCH_SLEEP_MS)"},                                               \
    {.name = "probe", .kind = OPT_TEXT, M(probe_sql), .arg = "SQL", .def = "SELECT 1",         \
     .help = "PostgreSQL: the query the backfill throttle times on its own session\n"           \
             "('off': no probe, the duty stays at its cap unless a limit is passed)"},           \
    {.name = "probe-target", .kind = OPT_DURATION, M(probe_target_ms), .max = 100000000,        \
     .help = "back off when the probe takes longer while batches run\n"                          \
             "(default: 4 times its latency between batches, at least 5ms)"},                    \
    {.name = "max-active", .kind = OPT_INT, M(max_active), .max = 100000000, .arg = "N",        \
     .help = "back off when more other sessions are active (default 0: no limit)"},              \
    {.name = "max-lag", .kind = OPT_DURATION, M(max_lag_ms), .max = 100000000,                  \
     .help = "back off when a replica's replay lag is longer (default 0: no limit)"},            \
    {.name = "small-table-rows", .kind = OPT_INT, M(small_table_rows), .max = 2000000000,       \
     .def = "1000", .arg = "N",                                                                 \
     .help = "lint: a table the database says has fewer rows may be locked briefly"},           \
    {.name = "lint-style", .kind = OPT_FLAG, M(lint_style),                                     \
     .help = "lint: also the style rules (text over varchar, bigint...)"},                      \
    {.name = "log-level", .kind = OPT_ENUM, OPT_AT(struct migrate_cli, level),                  \
     .names = log_levels, .def = "info", .help = "least level logged"},                          \
    {.name = "lease-ms", .kind = OPT_DURATION, M(lease_ms), .min = 100, .max = 100000000,       \
     .flags = OPT_HIDDEN},                                                                       \
    {.name = "wait-ms", .kind = OPT_DURATION, M(wait_ms), .max = 100000000,                     \
     .flags = OPT_HIDDEN},                                                                       \
    {.name = "lock-timeout-ms", .kind = OPT_DURATION, M(lock_timeout_ms), .min = 1,             \
     .max = 100000000, .flags = OPT_HIDDEN},                                                     \
    {.name = "time-target-ms", .kind = OPT_DURATION, M(time_target_ms), .min = 1,               \
     .max = 100000000, .flags = OPT_HIDDEN},                                                     \
    {.name = "batch-sleep-ms", .kind = OPT_DURATION, M(batch_sleep_ms), .max = 100000000,       \
     .flags = OPT_HIDDEN}

#define CLI(member) OPT_AT(struct migrate_cli, member)
#define TO_OPTION                                                                                \
    {.name = "to", .kind = OPT_TEXT, CLI(to), .arg = "ID", .flags = OPT_CLI_ONLY,               \
     .help = "stop after migration ID (default: every pending one)"}

static const struct opt common_options[] = {MIGRATE_OPTIONS, {0}};
static const struct opt to_options[] = {MIGRATE_OPTIONS, TO_OPTION, {0}};
static const struct opt path_options[] = {
    MIGRATE_OPTIONS,
    {.name = "from", .kind = OPT_TEXT, CLI(from), .arg = "REL",
     .flags = OPT_CLI_ONLY | OPT_REQUIRED, .help = "the release the database serves now"},
    {.name = "to", .kind = OPT_TEXT, CLI(to), .arg = "REL",
     .flags = OPT_CLI_ONLY | OPT_REQUIRED, .help = "the release to reach"},
    {0}};
static const struct opt check_options[] = {
    MIGRATE_OPTIONS,
    {.name = "release", .kind = OPT_TEXT, CLI(release), .arg = "REL",
     .flags = OPT_CLI_ONLY | OPT_REQUIRED, .help = "the release that would use the database"},
    {0}};
static const struct opt throttle_options[] = {
    MIGRATE_OPTIONS,
    {.name = "reset", .kind = OPT_FLAG, CLI(reset), .flags = OPT_CLI_ONLY,
     .help = "forget the stored settings first (backfills use their options again)"},
    {0}};
/* clang-format on */

#define MIGRATE_FOOTER                                                                             \
    "exit codes: 0 done (check: compatible), 1 failed (check: not compatible; lint and\n"          \
    "plan: findings), 2 usage error.\n"
/* A sub-command taking lo..hi arguments (core/opt.h: OPT_TAKES). */
#define MIGRATE_SUB(verb, syn, what, table, lo, hi)                                                \
    {                                                                                              \
        .name = "migrate " verb, .synopsis = syn, .summary = what, .section = "migrate",           \
        .opts = table, OPT_TAKES(lo, hi), .footer = MIGRATE_FOOTER                                 \
    }

static const struct opt_verb sub_new = MIGRATE_SUB(
    "new", "NAME", "create DIR/NNNN_NAME.migration from a template", common_options, 1, 1);
static const struct opt_verb sub_status = MIGRATE_SUB(
    "status", NULL, "each migration's phase and backfill progress", common_options, 0, 0);
static const struct opt_verb sub_plan = MIGRATE_SUB(
    "plan", NULL, "what would run, phase by phase, with lint findings", common_options, 0, 0);
static const struct opt_verb sub_expand =
    MIGRATE_SUB("expand", "[--to ID]", "expand, then backfill, every pending migration (up to ID)",
                to_options, 0, 0);
static const struct opt_verb sub_backfill =
    MIGRATE_SUB("backfill", NULL, "backfill every expanded migration", common_options, 0, 0);
static const struct opt_verb sub_contract = MIGRATE_SUB(
    "contract", "[--to ID]", "contract every backfilled migration (up to ID)", to_options, 0, 0);
static const struct opt_verb sub_abort = MIGRATE_SUB(
    "abort", "ID", "undo the expansion of ID (before its contract)", common_options, 1, 1);
static const struct opt_verb sub_lint =
    MIGRATE_SUB("lint", "FILE...", "check migration files for unsafe operations", common_options, 1,
                OPT_NO_LIMIT);
static const struct opt_verb sub_path = MIGRATE_SUB(
    "path", "--from REL --to REL", "the mandatory stops between two releases", path_options, 0, 0);
static const struct opt_verb sub_check =
    MIGRATE_SUB("check", "--release REL", "exit 0 only if the database is usable by release REL",
                check_options, 0, 0);

static const struct opt_verb sub_lease = MIGRATE_SUB(
    "lease", "take|renew|release|show SERVICE ...",
    "the lease of 'baton deploy' (for it; prints the row as JSON)", common_options, 2, 5);

static const struct opt_verb sub_throttle = MIGRATE_SUB(
    "throttle", "[--duty-percent N] [--probe-target DUR] [--max-active N] [--max-lag DUR]",
    "retune the throttle of running and later backfills (prints the stored settings)",
    throttle_options, 0, 0);

static const struct opt_verb *const migrate_subs[] = {
    &sub_new,  &sub_status, &sub_plan,  &sub_expand, &sub_backfill, &sub_contract, &sub_abort,
    &sub_lint, &sub_path,   &sub_check, &sub_lease,  &sub_throttle, NULL,
};

/* `throttle`: stores the limits given (command line or config), the rest untouched. */
static int throttle_run(struct migrate_cli *c, const struct opt_result *r, struct err *e)
{
    const struct opt_verb *v = &sub_throttle;
    struct throttle_limits set = {
        opt_given(v, r, "duty-percent") ? c->o.duty_percent : -1,
        opt_given(v, r, "probe-target") ? c->o.probe_target_ms : -1,
        opt_given(v, r, "max-active") ? c->o.max_active : -1,
        opt_given(v, r, "max-lag") ? c->o.max_lag_ms : -1,
    };
    return migrate_throttle(&c->o, &set, c->reset, stdout, e);
}

const struct opt_verb migrate_verb = {
    .name = "migrate",
    .synopsis = "[OPTIONS] COMMAND [ARGS]",
    .summary = "forward-only expand / backfill / contract database migrations",
    .about = "Forward-only migrations in phases: expand (both app versions work), backfill (data\n"
             "copied in short resumable batches), contract (after the new version is stable).\n"
             "The options may come before or after COMMAND.\n",
    .section = "migrate",
    .opts = common_options,
    .subs = migrate_subs,
    .footer = MIGRATE_FOOTER,
};

/* Runs sub-command `sub`; returns the verb's exit code (errors printed). */
static int migrate_run(const struct opt_verb *sub, struct migrate_cli *c,
                       const struct opt_result *r)
{
    struct err e = {{0}};
    int v = -1, findings = 0;
    if (sub == &sub_lease)
        return leaserow_cli(&c->o, r->argc, r->argv, stdout);
    if (sub == &sub_new)
        v = migrate_new(&c->o, r->argv[0], stdout, &e);
    else if (sub == &sub_status)
        v = migrate_status(&c->o, stdout, &e);
    else if (sub == &sub_plan)
        findings = v = migrate_plan(&c->o, stdout, &e);
    else if (sub == &sub_expand)
        v = migrate_expand(&c->o, c->to, &e);
    else if (sub == &sub_backfill)
        v = migrate_backfill(&c->o, &e);
    else if (sub == &sub_contract)
        v = migrate_contract(&c->o, c->to, &e);
    else if (sub == &sub_abort)
        v = migrate_abort(&c->o, r->argv[0], &e);
    else if (sub == &sub_lint)
        findings = v = migrate_lint(&c->o, r->argv, r->argc, stdout, &e);
    else if (sub == &sub_path)
        v = migrate_path(&c->o, c->from, c->to, stdout, &e);
    else if (sub == &sub_throttle)
        v = throttle_run(c, r, &e);
    else if (sub == &sub_check)
        findings = (v = migrate_check(&c->o, c->release, stdout, &e)) == 0;
    if (v < 0) {
        fprintf(stderr, "baton %s: %s\n", sub->name, e.msg);
        return EXIT_FAIL;
    }
    return v < 0 || findings > 0 ? EXIT_FAIL : EXIT_OK;
}

int verb_migrate(int argc, char **argv)
{
    struct migrate_cli c;
    struct opt_result r;
    const struct opt_verb *sub;
    memset(&c, 0, sizeof(c));
    migrate_opts_init(&c.o);
    int rc = opt_parse_sub_cli(&migrate_verb, argc, argv, &sub, &c, &r);
    if (rc == OPT_RUN) {
        log_setup((enum log_level)c.level, "migrate");
        rc = migrate_run(sub, &c, &r);
    } else {
        rc = VERB_PARSE_EXIT(rc);
    }
    opt_result_free(&r);
    return rc;
}
