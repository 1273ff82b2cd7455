/* The verbs of the `baton` command. Each parses its own arguments and calls into a
 * capability's library; it returns the process exit code (see cli_usage_exit). */
#ifndef BATON_CLI_VERBS_H
#define BATON_CLI_VERBS_H

/* Exit codes shared by all verbs (documented in each --help). */
enum {
    EXIT_OK = 0,    /* done */
    EXIT_FAIL = 1,  /* the operation failed (reason on stderr) */
    EXIT_USAGE = 2, /* bad arguments or config */
};

struct verb {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

int cmd_load(int argc, char **argv);
int cmd_proxy(int argc, char **argv);
int cmd_backend(int argc, char **argv);
int cmd_switch(int argc, char **argv);

/* The table of verbs, terminated by a NULL name (cli/main.c). */
extern const struct verb baton_verbs[];

#endif
