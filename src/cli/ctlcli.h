/* The part the control-socket verbs share (`baton backend`, `switch`, `upgrade`,
 * `status`, ...): their common options, and one request to a proxy with its reply. */
#ifndef BATON_CLI_CTLCLI_H
#define BATON_CLI_CTLCLI_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

/* What differs between the verbs that share the options. */
struct ctlcli_spec {
    const char *verb;      /* messages read "baton VERB: ..." */
    const char *optstring; /* getopt's: "h" (-h is --help) or "+" (stop at the first argument) */
    void (*usage)(FILE *out, const char *verb);
    const char *seconds_opt; /* name of an extra option taking seconds (0..7 days), or NULL */
    size_t control_max;      /* --control must be shorter, checked as given; 0: not checked */
};

/* The options as given. */
struct ctlcli {
    const char *name;     /* --name, or NULL */
    const char *control;  /* --control, or NULL */
    int json;             /* --json */
    long long seconds_ms; /* the seconds option in ms, -1 if not given */
    int first_arg;        /* index of the first non-option argument */
};

/* Parses --name, --control, --json, --help (and the seconds option) into c. Returns 0,
 * or -1 with the exit code in *rc (--help printed, or a usage error reported). */
int ctlcli_parse(const struct ctlcli_spec *s, struct ctlcli *c, int argc, char **argv, int *rc);

/* Sends req (not stolen) to the proxy picked by --name/--control. On failure prints
 * "baton VERB[ SUB]: reason" and returns EXIT_FAIL; else *reply holds the reply (caller
 * frees), printed as JSON without its "ok" when --json, and it returns EXIT_OK. */
int ctlcli_proxy_call(const struct ctlcli *c, const char *verb, const char *sub, json_t *req,
                      json_t **reply);

#endif
