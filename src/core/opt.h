/* Declarative option tables for the verbs: one line per option (name, kind, range,
 * default, field, help) from which the command-line parser, the config file's keys,
 * `--help`, range checks, the man page and the shell completion are all produced.
 *
 *     struct run_opts { int workers; uint64_t drain_timeout_ms; char name[64]; ... };
 *     static const struct opt run_opts_table[] = {
 *         {.name = "workers", .kind = OPT_INT, OPT_AT(struct run_opts, workers),
 *          .min = 1, .max = 256, .def = "1", .arg = "N", .help = "workers per generation"},
 *         {.name = "drain-timeout", .kind = OPT_DURATION,
 *          OPT_AT(struct run_opts, drain_timeout_ms), .unit = "s", .def = "30s",
 *          .max = 86400000, .help = "SIGKILL a draining generation after"},
 *         {0}};
 *     static const struct opt_verb run_verb = {.name = "run", .section = "run",
 *         .synopsis = "-- COMMAND [ARG...]", .args = OPT_ARGS_COMMAND,
 *         .summary = "...", .about = "...", .opts = run_opts_table};
 *
 *     struct opt_result r;
 *     switch (opt_parse(&run_verb, argc, argv, &o, &r, &e)) {
 *     case OPT_HELP: return EXIT_OK;                          // --help was printed
 *     case OPT_ERROR: fprintf(stderr, "baton run: %s\n", e.msg); return EXIT_USAGE;
 *     }
 *     ... r.argc / r.argv: the arguments left (the COMMAND after "--") ...
 *     opt_result_free(&r);
 *
 * Order of precedence: the table's defaults, then the keys of section [verb->section]
 * of `--config FILE` (when the verb has a section), then the command line. Durations
 * take a unit (`250ms`, `2s`, `1.5m`, `1h`); a bare number is read in the option's
 * `unit` (kept from before units existed). Sizes take `k`, `M`, `G` (powers of 1024).
 *
 * A verb with sub-commands (`baton migrate expand`, `baton backend drain`) lists them
 * in `subs`; opt_parse_sub finds the sub-command among the arguments and parses them
 * with its table. Options shared by several tables are written once as a macro that
 * expands to their lines (see cli/ctlcli.h). */
#ifndef BATON_CORE_OPT_H
#define BATON_CORE_OPT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/err.h"

enum opt_kind {
    OPT_FLAG,     /* no argument: sets an int field to 1 (to 0 with OPT_NEGATE) */
    OPT_INT,      /* whole number into an int or a 64-bit field (by its size), in [min, max] */
    OPT_NUMBER,   /* a number with a fraction (double field), in [min, max] */
    OPT_DURATION, /* milliseconds into a uint64_t or int field, in [min, max] ms */
    OPT_SIZE,     /* bytes into a size_t or int field, in [min, max] */
    OPT_STRING,   /* char[size] field: copied, length checked, never empty */
    OPT_TEXT,     /* const char * field: the argument itself (lives as long as the result) */
    OPT_ENUM,     /* int field: the index of the argument in `names` */
    OPT_CUSTOM,   /* parse(opts, arg, e) does it (addresses, repeatable lists, ...) */
};

/* Flags of an option. */
#define OPT_REPEAT   0x1  /* may be given more than once (each use reaches parse) */
#define OPT_CLI_ONLY 0x2  /* not a key of the config file */
#define OPT_HIDDEN   0x4  /* accepted, not listed in --help (compatibility spellings) */
#define OPT_NEGATE   0x8  /* OPT_FLAG: sets its field to 0 (`--no-xff` clears xff) */
#define OPT_REQUIRED 0x10 /* must be given (config or command line) */

/* Where an option's value lives in the verb's options struct: offset and size. */
#define OPT_AT(type, member) .offset = offsetof(type, member), .size = sizeof(((type *)0)->member)

struct opt {
    const char *name; /* long option and config key ("drain-timeout"); NULL ends a table */
    enum opt_kind kind;
    size_t offset, size; /* the field (OPT_AT); unused by OPT_CUSTOM */
    const char *arg;     /* the argument's placeholder in --help ("N", "ADDR") */
    /* The default, written as a user would and parsed at start (OPT_FLAG: "1" sets the
     * field, "0" clears it); NULL leaves the field as the caller set it. */
    const char *def;
    long long min, max;       /* OPT_INT, OPT_DURATION (ms), OPT_SIZE (bytes); both 0: no range */
    const char *unit;         /* OPT_DURATION: unit of a bare number, "ms" or "s" (default "ms") */
    const char *const *names; /* OPT_ENUM: the accepted words, NULL-terminated */
    /* OPT_CUSTOM: reads `arg` into the options struct `opts`; fills e on bad input. */
    int (*parse)(void *opts, const char *arg, struct err *e);
    unsigned flags;
    const char *help; /* one line; "\n" starts an indented continuation line */
};

/* What a verb takes after its options. */
enum opt_args {
    OPT_ARGS_NONE,          /* nothing */
    OPT_ARGS_ANY,           /* positional arguments between or after options */
    OPT_ARGS_COMMAND,       /* "-- COMMAND [ARG...]": parsing stops at the first non-option */
    OPT_ARGS_MAYBE_COMMAND, /* "[-- COMMAND [ARG...]]": the same, and the command may be absent */
};

struct opt_verb {
    const char *name;     /* as typed after `baton`: "run", "migrate expand" */
    const char *synopsis; /* after "[OPTIONS]" in the usage line: "-- COMMAND [ARG...]" */
    const char *summary;  /* one line, lower case: the man page's NAME, the parent's list */
    const char *about;    /* what the verb does: a paragraph (lines end in "\n") */
    const char *section;  /* config section; NULL: the verb takes no --config */
    const struct opt *opts;
    const char *footer; /* signals, exit codes, examples: printed after the options */
    enum opt_args args;
    int min_args, max_args;             /* positional count; max 0 = no limit (OPT_ARGS_ANY only) */
    const struct opt_verb *const *subs; /* sub-commands, NULL-terminated; NULL: none */
};

/* The positional arguments of a verb, as fields of its struct opt_verb: `lo` to `hi` of
 * them, OPT_TAKES(0, 0) none (an argument is refused), hi OPT_NO_LIMIT any number from lo:
 *     const struct opt_verb plot_verb = {.name = "plot", ..., OPT_TAKES(1, 1)}; */
#define OPT_NO_LIMIT (-1)
#define OPT_TAKES(lo, hi)                                                                          \
    .args = (hi) == 0 ? OPT_ARGS_NONE : OPT_ARGS_ANY, .min_args = (lo),                            \
    .max_args = (hi) < 0 ? 0 : (hi)

#define OPT_MAX 64 /* options in one table */

/* What is left after the options, and which options were given. */
struct opt_result {
    int argc;
    char **argv;         /* positional args, or COMMAND [ARG...] after "--" */
    char given[OPT_MAX]; /* given[i]: opts[i] was set by the config or command line */
    char **merged;       /* owned: the config's options followed by the command line */
    int nmerged;
    const char *config_path; /* --config FILE, when given (points into merged) */
    int command;             /* OPT_ARGS_*COMMAND: the arguments followed "--" */
};

enum { OPT_RUN = 0, OPT_HELP = 1, OPT_ERROR = -1 };

/* Parses argv (argv[0] is the verb) into `opts` (the caller's struct, zeroed or not):
 * defaults first, then the config file, then the command line. Returns OPT_RUN,
 * OPT_HELP when --help was given (opt_parse_cli prints it), or OPT_ERROR with e set (a usage error:
 * the message names the option and what it accepts). r is always initialised and
 * must be freed with opt_result_free. */
int opt_parse(const struct opt_verb *v, int argc, char **argv, void *opts, struct opt_result *r,
              struct err *e);
void opt_result_free(struct opt_result *r);

/* For a verb with sub-commands: finds the sub-command named by the first argument that
 * is neither an option nor an option's value (options may come before it), and parses
 * the arguments without it by the sub-command's table. *sub is the sub-command found
 * (NULL when --help asks for the parent's text, or on a missing or unknown one: e says
 * which). Same returns as opt_parse. */
int opt_parse_sub(const struct opt_verb *parent, int argc, char **argv, const struct opt_verb **sub,
                  void *opts, struct opt_result *r, struct err *e);

/* opt_parse and opt_parse_sub for a verb's main function: the same, and --help prints
 * the help of the verb (or sub-command) on stdout, a usage error is printed on stderr
 * as "baton VERB: message" (opt_doc.c). */
int opt_parse_cli(const struct opt_verb *v, int argc, char **argv, void *opts,
                  struct opt_result *r);
int opt_parse_sub_cli(const struct opt_verb *parent, int argc, char **argv,
                      const struct opt_verb **sub, void *opts, struct opt_result *r);

/* Whether the option `name` of v was given (config or command line). */
int opt_given(const struct opt_verb *v, const struct opt_result *r, const char *name);

/* Checks a table's shape (names unique and well formed, a parser for OPT_CUSTOM, names
 * for OPT_ENUM, defaults that parse): a mistake in a table is caught by any use of it. */
int opt_check(const struct opt_verb *v, struct err *e);

/* Writes the usage text (--help) of v. */
void opt_help(const struct opt_verb *v, FILE *out);
/* Writes v's man page (roff, section 1) from the same table; `source` is the footer's
 * "baton 0.1.0", `date` its date (YYYY-MM-DD). */
void opt_man(const struct opt_verb *v, const char *source, const char *date, FILE *out);
/* Writes man page names: "baton-migrate-expand" for "migrate expand". */
void opt_man_name(const struct opt_verb *v, char *buf, size_t cap);

/* Bash completion (see opt_doc.c): the function `_baton` and its `complete` line
 * (once per script), then each verb's data: its sub-commands, options, the options that
 * take a value and the words of OPT_ENUM options. */
void opt_completion_head(FILE *out);
void opt_completion_verb(const struct opt_verb *v, FILE *out);

/* The hidden documentation options of an executable, for the build: `--man [VERB
 * [SUB]]` writes one page on stdout, `--man-dir DIR` writes DIR/baton-VERB.1 for `root`
 * and every sub-command, `--completion` writes bash completion (the top-level `root`,
 * named "", writes the function too; companion executables only their verbs' data). A
 * verb with neither options nor sub-commands stands for one that another executable
 * documents (`migrate` in `baton`): listed, never written. Returns -1 when argv[1] is
 * none of these options, else the exit code (0, or 1 after printing why it failed). */
int opt_doc_main(const struct opt_verb *root, const char *source, int argc, char **argv);

/* Parses a duration: "250ms", "2s", "1.5m", "1h", "1d"; a bare number is in
 * `bare_unit` ("ms" or "s"). Returns 0, or -1 with e set. */
int opt_parse_duration(const char *s, const char *bare_unit, uint64_t *ms, struct err *e);
/* Parses a size: "512", "16k", "4M", "1G" (powers of 1024). */
int opt_parse_size(const char *s, uint64_t *bytes, struct err *e);
/* Parses a whole number in [min, max] (for positional arguments); e names `what`. */
int opt_parse_int(const char *s, const char *what, long long min, long long max, long long *out,
                  struct err *e);
/* Parses a count as another program writes it: decimal digits only (no sign, no space),
 * within long long. Returns 0, or -1 without a message (the caller names the field). */
int opt_parse_digits(const char *s, long long *out);

#endif
