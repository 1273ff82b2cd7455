/* The `baton` command: dispatches `baton VERB ...` to the verb's function. */
#include <stdio.h>
#include <string.h>

#include "cli/verbs.h"

#define BATON_VERSION "0.1.0"

/* One line per verb, grouped by capability; each verb lives in cli/cmd_*.c. */
const struct verb baton_verbs[] = {
    {"run", cmd_run, NULL,
     "run a service's workers with inherited sockets; upgrade without downtime"},
    {"upgrade", cmd_upgrade, NULL, "start a new generation of a running 'baton run'; stop the old"},
    {"rollback", cmd_upgrade, NULL, "go back to the previous generation's command"},
    {"status", cmd_status, NULL, "show the generations and workers of a running 'baton run'"},
    {"stop", cmd_stop, NULL, "drain every generation and stop 'baton run'"},
    {"reexec", cmd_reexec, NULL, "replace the 'baton run' master's binary in place (same pid)"},
    {"proxy", cmd_proxy, NULL, "run a TCP/HTTP proxy with blue-green pools and a runtime API"},
    {"backend", cmd_backend, NULL, "list, add, drain, enable, remove or weight a proxy's backends"},
    {"switch", cmd_switch, NULL, "send a proxy's new connections to another pool; drain the old"},
    {"load", cmd_load, NULL, "send HTTP load and report every failed request"},
    {"deploy", cmd_deploy, NULL, "roll a release across a fleet behind HAProxy, host by host"},
    {"lazy", NULL, "lazy", "versioned documents: check a chain, status, sweep, get, put"},
    {"migrate", NULL, "migrate", "forward-only expand / backfill / contract database migrations"},
    {NULL, NULL, NULL, NULL},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: baton VERB [OPTIONS] [ARGS]\n\n"
                 "baton upgrades running services without downtime.\n\nverbs:\n");
    for (const struct verb *v = baton_verbs; v->name; v++)
        fprintf(out, "  %-10s %s\n", v->name, v->summary);
    fprintf(out, "\n'baton VERB --help' describes a verb. Exit codes: 0 done, 1 failed, "
                 "2 usage error.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *verb = argv[1];
    if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0 || strcmp(verb, "help") == 0) {
        usage(stdout);
        return EXIT_OK;
    }
    if (strcmp(verb, "--version") == 0 || strcmp(verb, "version") == 0) {
        printf("baton %s\n", BATON_VERSION);
        return EXIT_OK;
    }
    for (const struct verb *v = baton_verbs; v->name; v++)
        if (strcmp(v->name, verb) == 0)
            return v->run ? v->run(argc - 1, argv + 1) : tool_exec(v->tool, argc - 1, argv + 1);
    fprintf(stderr, "baton: unknown verb '%s'; 'baton --help' lists the verbs\n", verb);
    return EXIT_USAGE;
}
