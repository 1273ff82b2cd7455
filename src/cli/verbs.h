/* The verbs of the `baton` command. Each has an option table (core/opt.h), parses its
 * own arguments by it and calls into a capability's library; it returns the process
 * exit code. */
#ifndef BATON_CLI_VERBS_H
#define BATON_CLI_VERBS_H

#include "core/opt.h"

#define BATON_VERSION "0.1.0"

/* Exit codes shared by all verbs (documented in each --help). */
enum {
    EXIT_OK = 0,    /* done */
    EXIT_FAIL = 1,  /* the operation failed (reason on stderr) */
    EXIT_USAGE = 2, /* bad arguments or config */
};

/* The exit code after an opt_parse that did not return OPT_RUN: 0 after --help, else 2
 * (the usage error was printed). */
#define VERB_PARSE_EXIT(rc) ((rc) == OPT_HELP ? EXIT_OK : EXIT_USAGE)

/* A verb runs in this process (`run`), or in a companion executable `baton-NAME`
 * (`tool`): the verbs that speak to databases live there, so the `baton run` master
 * and the proxy never map libpq, SQLite or hiredis (see docs/internals/binaries.md).
 * `doc` is its table (name, summary, options); a companion's verb is a stand-in here
 * with its name and summary, its table lives in the companion. */
struct verb {
    const struct opt_verb *doc;
    int (*run)(int argc, char **argv);
    const char *tool;
};

/* Each verb: its table and its main function (argv[0] is the verb). */
extern const struct opt_verb run_verb, upgrade_verb, rollback_verb, status_verb, stop_verb,
    reexec_verb, proxy_verb, backend_verb, switch_verb, load_verb, deploy_verb;
int verb_run(int argc, char **argv);
int verb_upgrade(int argc, char **argv);
int verb_rollback(int argc, char **argv);
int verb_status(int argc, char **argv);
int verb_stop(int argc, char **argv);
int verb_reexec(int argc, char **argv);
int verb_proxy(int argc, char **argv);
int verb_backend(int argc, char **argv);
int verb_switch(int argc, char **argv);
int verb_load(int argc, char **argv);
int verb_deploy(int argc, char **argv);
/* in the companion executables */
extern const struct opt_verb lazy_verb, migrate_verb, plot_verb;
int verb_lazy(int argc, char **argv);
int verb_migrate(int argc, char **argv);
int verb_plot(int argc, char **argv);

/* Replaces this process with the companion executable `baton-TOOL`, passing argv
 * (argv[0] is the verb). Searched in $BATON_EXEC_PATH, beside this executable, then in
 * ../libexec/baton relative to it. Returns only on failure, with the reason printed. */
int tool_exec(const char *tool, int argc, char **argv);

/* The path of the companion executable `baton-TOOL` in the same places tool_exec
 * looks; 0 when found, -1 when not (out then holds the last place tried). */
int tool_path(const char *tool, char *out, size_t cap);

/* Runs the companion executable `baton-TOOL` with argv (argv[0] is the verb), `input` on
 * its stdin and out_fd as its stdout, and waits for it; returns its exit code, or
 * EXIT_FAIL with the reason printed when it could not run. */
int tool_run_input(const char *tool, char *const *argv, const char *input, size_t len, int out_fd);

#endif
