/* `baton deploy FILE RELEASE`, `baton deploy status|resume|abort FILE`: parses the
 * options (one table per sub-verb, core/opt.h), reads the deploy file, and calls the
 * deploy library (src/deploy/deploy.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/verbs.h"
#include "core/opt.h"
#include "core/log.h"
#include "deploy/deploy.h"

struct deploy_args {
    int dry_run, json, plain, take_over;
    char from[DF_RELEASE_MAX];
};

#define A(m) OPT_AT(struct deploy_args, m)

static const struct opt run_opts[] = {
    {.name = "dry-run",
     .kind = OPT_FLAG,
     A(dry_run),
     .help = "print the plan: every step, host by host, with the commands it sends"},
    {.name = "json", .kind = OPT_FLAG, A(json), .help = "one JSON event per line (for CI)"},
    {.name = "plain",
     .kind = OPT_FLAG,
     A(plain),
     .help = "plain lines even on a terminal (no live table)"},
    {.name = "from",
     .kind = OPT_STRING,
     A(from),
     .arg = "RELEASE",
     .help = "the release the fleet runs now (remembered after the first deploy);\n"
             "remove-upgrade-add reverts to it"},
    {.name = "take-over",
     .kind = OPT_FLAG,
     A(take_over),
     .help = "take the lease from another deploy seen stale (its holder is gone)"},
    LOG_FORMAT_OPTION,
    {0},
};

static const struct opt status_opts[] = {
    {.name = "json", .kind = OPT_FLAG, A(json), .help = "the progress and the lease as JSON"},
    {0},
};

static const char footer[] =
    "The deploy file (INI) names the hosts, the balancer, the app, the rollout rules, the\n"
    "lease and the database: see docs/deploy.md. Progress is kept in the file's state\n"
    "path (default FILE.state), written after every step.\n\n"
    "exit codes: 0 done, 1 failed, reverted or stopped (reason on stderr; resume or\n"
    "abort it), 2 usage error or a bad deploy file.\n";

#define DEPLOY_SUB(nm, syn, text, table)                                                           \
    {                                                                                              \
        .name = nm, .synopsis = syn, .about = text, .opts = table, .footer = footer,               \
        OPT_TAKES(1, 1)                                                                            \
    }

const struct opt_verb deploy_verb = {
    .name = "deploy",
    .synopsis = "FILE RELEASE [OPTIONS]",
    .summary = "roll a release across a fleet behind HAProxy, host by host",
    .about = "Rolls RELEASE across the fleet of FILE: database expand, then host by host\n"
             "(canaries first, max-parallel at a time) drain, upgrade, health check, ready\n"
             "again; a bake verified on the balancer's counters; then contract. A failure\n"
             "reverts the hosts upgraded. 'status', 'resume' and 'abort' are sub-verbs.\n",
    .opts = run_opts,
    .footer = footer,
    OPT_TAKES(2, 2),
};

static const struct opt_verb sub_verbs[] = {
    DEPLOY_SUB("deploy status", "FILE",
               "Shows the recorded progress of FILE's deploy and who holds its lease.\n",
               status_opts),
    DEPLOY_SUB("deploy resume", "FILE [OPTIONS]",
               "Continues a deploy that stopped (killed, interrupted, a host unreachable)\n"
               "exactly where it was: no finished host is upgraded again.\n",
               run_opts),
    DEPLOY_SUB("deploy abort", "FILE [OPTIONS]",
               "Reverts the hosts the recorded deploy upgraded, in reverse order, the same\n"
               "careful way (drain, revert, health check, ready). The contract never runs.\n",
               run_opts),
};

static int fail(const struct opt_verb *v, int code, const char *msg)
{
    fprintf(stderr, "baton %s: %s\n", v->name, msg);
    return code;
}

static int run(const struct opt_verb *v, enum deploy_mode mode, const struct deploy_args *a,
               const char *file, const char *release)
{
    struct dfile df;
    struct err e = {{0}};
    char migrate[4096];
    if (dfile_load(file, &df, &e) < 0)
        return fail(v, EXIT_USAGE, e.msg);
    if (release && dfile_release_ok(release, &e) < 0) {
        dfile_free(&df);
        return fail(v, EXIT_USAGE, e.msg);
    }
    if (a->from[0] && dfile_release_ok(a->from, &e) < 0) {
        dfile_free(&df);
        return fail(v, EXIT_USAGE, e.msg);
    }
    if (tool_path("migrate", migrate, sizeof(migrate)) < 0)
        snprintf(migrate, sizeof(migrate), "baton-migrate");
    struct deploy_opts o = {
        .mode = mode,
        .release = release,
        .from = a->from[0] ? a->from : NULL,
        .take_over = a->take_over,
        .display = a->json                                ? PG_JSON
                   : (!a->plain && isatty(STDOUT_FILENO)) ? PG_TTY
                                                          : PG_PLAIN,
        .out = stdout,
        .migrate = migrate,
        .runtime_dir = getenv("XDG_RUNTIME_DIR"),
    };
    int rc;
    if (strcmp(v->name, "deploy status") == 0)
        rc = deploy_status(&df, &o, a->json, stdout, &e);
    else if (a->dry_run)
        rc = deploy_dry_run(&df, &o, stdout, &e);
    else
        rc = deploy_run(&df, &o, &e);
    dfile_free(&df);
    return rc < 0 ? fail(v, EXIT_FAIL, e.msg) : EXIT_OK;
}

int verb_deploy(int argc, char **argv)
{
    const struct opt_verb *v = &deploy_verb;
    enum deploy_mode mode = DEPLOY_NEW;
    static const char *const subs[] = {"status", "resume", "abort"};
    for (int i = 0; i < 3; i++)
        if (argc > 1 && strcmp(argv[1], subs[i]) == 0) {
            v = &sub_verbs[i];
            mode = i == 2 ? DEPLOY_ABORT : DEPLOY_RESUME;
            argc--;
            argv++;
        }
    struct deploy_args a = {0};
    struct opt_result r;
    int rc = opt_parse_cli(v, argc, argv, &a, &r);
    if (rc == OPT_RUN)
        rc = run(v, mode, &a, r.argv[0], mode == DEPLOY_NEW ? r.argv[1] : NULL);
    else
        rc = VERB_PARSE_EXIT(rc);
    opt_result_free(&r);
    return rc;
}
