/* The `baton` command: dispatches `baton VERB ...` to the verb's function; its hidden
 * options --man, --man-dir and --completion write the documentation for the build. */
#include <stdio.h>
#include <string.h>

#include "cli/verbs.h"

/* Stand-ins for the verbs of the companion executables (their tables live there). */
static const struct opt_verb lazy_stand_in = {
    .name = "lazy", .summary = "versioned documents: check a chain, status, sweep, get, put"};
static const struct opt_verb migrate_stand_in = {
    .name = "migrate", .summary = "forward-only expand / backfill / contract database migrations"};
static const struct opt_verb plot_stand_in = {
    .name = "plot",
    .summary = "draw a load run's timeline, with an upgrade's events, as SVG or PNG"};

/* One line per verb, grouped by capability; each verb lives in cli/cmd_*.c. */
static const struct verb verbs[] = {
    {&run_verb, verb_run, NULL},           {&upgrade_verb, verb_upgrade, NULL},
    {&rollback_verb, verb_rollback, NULL}, {&status_verb, verb_status, NULL},
    {&stop_verb, verb_stop, NULL},         {&reexec_verb, verb_reexec, NULL},
    {&proxy_verb, verb_proxy, NULL},       {&backend_verb, verb_backend, NULL},
    {&switch_verb, verb_switch, NULL},     {&load_verb, verb_load, NULL},
    {&deploy_verb, verb_deploy, NULL},     {&lazy_stand_in, NULL, "lazy"},
    {&migrate_stand_in, NULL, "migrate"},  {&plot_stand_in, NULL, "plot"},
};
#define NVERBS (sizeof(verbs) / sizeof(verbs[0]))

static const struct opt_verb *verb_docs[NVERBS + 1];

static const struct opt_verb baton_verb = {
    .name = "",
    .synopsis = "VERB [OPTIONS] [ARGS]",
    .summary = "upgrade running services without downtime",
    .about = "baton upgrades running services without downtime: it hands the listening\n"
             "sockets of an app to its new version, switches a proxy's traffic between\n"
             "pools, and evolves databases with forward-only migrations.\n",
    .subs = verb_docs,
    .footer = "'baton VERB --help' describes a verb. Exit codes: 0 done, 1 failed, "
              "2 usage error.\n",
};

int main(int argc, char **argv)
{
    for (size_t i = 0; i < NVERBS; i++)
        verb_docs[i] = verbs[i].doc;
    int rc = opt_doc_main(&baton_verb, "baton " BATON_VERSION, argc, argv);
    if (rc >= 0)
        return rc;
    if (argc < 2) {
        opt_help(&baton_verb, stderr);
        return EXIT_USAGE;
    }
    const char *verb = argv[1];
    if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0 || strcmp(verb, "help") == 0) {
        opt_help(&baton_verb, stdout);
        return EXIT_OK;
    }
    if (strcmp(verb, "--version") == 0 || strcmp(verb, "version") == 0) {
        printf("baton %s\n", BATON_VERSION);
        return EXIT_OK;
    }
    for (size_t i = 0; i < NVERBS; i++)
        if (strcmp(verbs[i].doc->name, verb) == 0)
            return verbs[i].run ? verbs[i].run(argc - 1, argv + 1)
                                : tool_exec(verbs[i].tool, argc - 1, argv + 1);
    fprintf(stderr, "baton: unknown verb '%s'; 'baton --help' lists the verbs\n", verb);
    return EXIT_USAGE;
}
