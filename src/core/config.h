/* Config files: an INI file (read with inih) whose keys are a verb's long option
 * names, turned into "--key=value" arguments placed before the command line's own,
 * so a flag given on the command line wins and each verb parses options once. */
#ifndef BATON_CORE_CONFIG_H
#define BATON_CORE_CONFIG_H

#include "core/err.h"

struct config_args {
    int argc;
    char **argv; /* argv[0] copied; NULL-terminated; owned */
};

/* Reads section `section` of `path` (keys outside any section count too). Every key
 * must be in `allowed` (a NULL-terminated list of long option names), else the error
 * names the file, line and key. The key "command" is split into words (quotes
 * honoured) and appended after "--". Repeated keys (e.g. listen) repeat the option. */
int config_load(const char *path, const char *section, const char *const *allowed,
                struct config_args *out, struct err *e);

/* Same, from a string in memory (for tests and the fuzz target); `name` is shown in
 * errors in place of a path. */
int config_parse(const char *text, const char *name, const char *section,
                 const char *const *allowed, struct config_args *out, struct err *e);

/* Builds argv = argv0, config options, then the command line's args (after argv[0]);
 * a "command" from the file is used only if the command line has no "--". */
int config_merge(const struct config_args *cfg, int argc, char **argv, struct config_args *out,
                 struct err *e);

void config_args_free(struct config_args *a);

/* Splits `line` into shell-like words ('single', "double" quotes, backslash escapes).
 * Returns the count or -1. *words is NULL-terminated; caller frees each and the array. */
int split_words(const char *line, char ***words, struct err *e);

#endif
