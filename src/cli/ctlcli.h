/* The part the control-socket verbs share (`baton upgrade`, `status`, ... speak to a
 * `baton run` master; `baton backend`, `switch` to a proxy): the options that pick the
 * process and --json, as lines of their option tables, and one request with its reply. */
#ifndef BATON_CLI_CTLCLI_H
#define BATON_CLI_CTLCLI_H

#include <jansson.h>
#include <stddef.h>

#include "core/addr.h"
#include "core/opt.h"

/* Which process a control verb speaks to, and how it prints the reply. */
struct ctlcli_opts {
    const char *name;                  /* --name: the master's or proxy's instance name */
    char control[ADDR_UNIX_PATH_SIZE]; /* --control: its socket path; "" when not given */
    int json;                          /* --json */
};

/* The table lines of --name (default `defname`), --control and --json, for the struct
 * ctlcli_opts at `member` of `type`; `whose` is "master's" or "proxy's". */
/* clang-format off */
#define CTLCLI_OPTIONS(type, member, whose, defname)                                         \
    {.name = "name", .kind = OPT_TEXT, OPT_AT(type, member.name), .arg = "NAME",             \
     .def = defname, .help = "the " whose " instance name"},                                 \
    {.name = "control", .kind = OPT_STRING, OPT_AT(type, member.control), .arg = "PATH",     \
     .help = "its control socket (default from --name)"},                                    \
    {.name = "json", .kind = OPT_FLAG, OPT_AT(type, member.json),                            \
     .help = "print the " whose " reply as one JSON object"}
/* clang-format on */

/* Sends req (not stolen) to the proxy picked by c. On failure prints "baton VERB:
 * reason" and returns EXIT_FAIL; else *reply holds the reply (caller frees), printed as
 * JSON without its "ok" when --json, and it returns EXIT_OK. */
int ctlcli_proxy_call(const struct ctlcli_opts *c, const char *verb, json_t *req, json_t **reply);

/* Sends {"cmd": cmd, ...extra} (extra stolen, may be NULL) to the master picked by c
 * (default: the master named baton). On failure prints "baton VERB: reason" and returns
 * EXIT_FAIL (EXIT_USAGE when no socket path follows from --name); else *reply holds the reply
 * (caller frees), printed as JSON when --json and `print_json`, and it returns EXIT_OK. */
int ctlcli_master_call(const struct ctlcli_opts *c, const char *verb, const char *cmd,
                       json_t *extra, int print_json, json_t **reply);

/* Prints v as one line of compact JSON. */
void ctlcli_print_json(json_t *v);

#endif
