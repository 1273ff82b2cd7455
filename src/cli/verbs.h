/* The verbs of the `baton` command. Each parses its own arguments and calls into a
 * capability's library; it returns the process exit code (see cli_usage_exit). */
#ifndef BATON_CLI_VERBS_H
#define BATON_CLI_VERBS_H

#include <stddef.h>

/* Exit codes shared by all verbs (documented in each --help). */
enum {
    EXIT_OK = 0,    /* done */
    EXIT_FAIL = 1,  /* the operation failed (reason on stderr) */
    EXIT_USAGE = 2, /* bad arguments or config */
};

/* A verb runs in this process (`run`), or in a companion executable `baton-NAME`
 * (`tool`): the verbs that speak to databases live there, so the `baton run` master
 * and the proxy never map libpq, SQLite or hiredis (see docs/internals/binaries.md). */
struct verb {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *tool;
    const char *summary;
};

int cmd_run(int argc, char **argv);
int cmd_upgrade(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_reexec(int argc, char **argv);
int cmd_load(int argc, char **argv);
int cmd_proxy(int argc, char **argv);
int cmd_backend(int argc, char **argv);
int cmd_switch(int argc, char **argv);
int cmd_deploy(int argc, char **argv);
/* in the companion executables */
int cmd_lazy(int argc, char **argv);
int cmd_migrate(int argc, char **argv);

/* Replaces this process with the companion executable `baton-TOOL`, passing argv
 * (argv[0] is the verb). Searched in $BATON_EXEC_PATH, beside this executable, then in
 * ../libexec/baton relative to it. Returns only on failure, with the reason printed. */
int tool_exec(const char *tool, int argc, char **argv);

/* The path of the companion executable `baton-TOOL` in the same places tool_exec
 * looks; 0 when found, -1 when not (out then holds the last place tried). */
int tool_path(const char *tool, char *out, size_t cap);

/* The table of verbs, terminated by a NULL name (cli/main.c). */
extern const struct verb baton_verbs[];

#endif
