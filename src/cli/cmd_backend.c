/* `baton backend list|add|drain|enable|remove|weight`: the runtime API of a running
 * `baton proxy`, one request over its control socket; a table per sub-command. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/ctlcli.h"
#include "cli/verbs.h"

struct backend_cli {
    struct ctlcli_opts ctl;
    uint64_t timeout_ms;
};

static const struct opt backend_options[] = {
    CTLCLI_OPTIONS(struct backend_cli, ctl, "proxy's", "proxy"),
    {0},
};

/* clang-format off */
static const struct opt drain_options[] = {
    {.name = "timeout", .kind = OPT_DURATION, OPT_AT(struct backend_cli, timeout_ms), .unit = "s",
     .max = 7 * 86400000LL, .help = "cut the connections left after this long (default: never)"},
    CTLCLI_OPTIONS(struct backend_cli, ctl, "proxy's", "proxy"),
    {0}};
/* clang-format on */

#define BACKEND_FOOTER                                                                             \
    "exit codes: 0 done, 1 the proxy refused or is unreachable (reason on stderr),\n"              \
    "            2 usage error\n"

/* A sub-command taking n arguments. */
#define BACKEND_SUB(verb, syn, what, table, n)                                                     \
    {                                                                                              \
        .name = "backend " verb, .synopsis = syn, .summary = what, .opts = table, OPT_TAKES(n, n), \
        .footer = BACKEND_FOOTER                                                                   \
    }

static const struct opt_verb backend_list = BACKEND_SUB(
    "list", NULL, "print the backend table: state, connections, failures", backend_options, 0);
static const struct opt_verb backend_add =
    BACKEND_SUB("add", "[POOL/]NAME=HOST:PORT[,weight=W]",
                "add a backend (to pool 'default' when no POOL/ is given)", backend_options, 1);
static const struct opt_verb backend_drain = BACKEND_SUB(
    "drain", "NAME", "send a backend no new connection; 'list' shows 'draining', then 'drained'",
    drain_options, 1);
static const struct opt_verb backend_enable =
    BACKEND_SUB("enable", "NAME", "take a drained backend back", backend_options, 1);
static const struct opt_verb backend_remove =
    BACKEND_SUB("remove", "NAME", "remove a backend (its connections finish)", backend_options, 1);
static const struct opt_verb backend_weight =
    BACKEND_SUB("weight", "NAME W", "set a backend's weight, 0..1000", backend_options, 2);

static const struct opt_verb *const backend_subs[] = {
    &backend_list,   &backend_add,    &backend_drain, &backend_enable,
    &backend_remove, &backend_weight, NULL,
};

const struct opt_verb backend_verb = {
    .name = "backend",
    .synopsis = "COMMAND [ARGS]",
    .summary = "list, add, drain, enable, remove or weight a proxy's backends",
    .about = "Changes the backend table of a running 'baton proxy'. A drained backend takes no\n"
             "new connection; 'list' shows it as 'draining' while connections remain, then\n"
             "'drained' with 0 connections.\n",
    .opts = backend_options,
    .subs = backend_subs,
    .footer = BACKEND_FOOTER,
};

static void print_table(json_t *r)
{
    printf("mode %s, active pool '%s', balance %s, %lld client connection%s\n",
           json_string_value(json_object_get(r, "mode")),
           json_string_value(json_object_get(r, "active_pool")),
           json_string_value(json_object_get(r, "balance")),
           (long long)json_integer_value(json_object_get(r, "connections")),
           json_integer_value(json_object_get(r, "connections")) == 1 ? "" : "s");
    printf("%-16s %-10s %-24s %6s %-9s %6s %11s %8s %8s\n", "NAME", "POOL", "ADDRESS", "WEIGHT",
           "STATE", "ACTIVE", "CONNECTIONS", "TOTAL", "FAILURES");
    size_t i;
    json_t *b;
    json_array_foreach(json_object_get(r, "backends"), i, b)
    {
        printf("%-16s %-10s %-24s %6lld %-9s %6s %11lld %8lld %8lld\n",
               json_string_value(json_object_get(b, "name")),
               json_string_value(json_object_get(b, "pool")),
               json_string_value(json_object_get(b, "address")),
               (long long)json_integer_value(json_object_get(b, "weight")),
               json_string_value(json_object_get(b, "state")),
               json_is_true(json_object_get(b, "active")) ? "yes" : "no",
               (long long)json_integer_value(json_object_get(b, "connections")),
               (long long)json_integer_value(json_object_get(b, "total")),
               (long long)json_integer_value(json_object_get(b, "failures")));
    }
}

/* The request of sub-command `sub` ("backend drain") with its arguments; NULL after
 * printing a usage error. */
static json_t *backend_request(const struct opt_verb *sub, const struct backend_cli *c,
                               const struct opt_result *r)
{
    char cmd[32];
    snprintf(cmd, sizeof(cmd), "%s", sub->name);
    cmd[strcspn(cmd, " ")] = '-'; /* "backend-drain" */
    if (sub == &backend_list)
        return json_pack("{s:s}", "cmd", cmd);
    if (sub == &backend_add)
        return json_pack("{s:s,s:s}", "cmd", cmd, "spec", r->argv[0]);
    json_t *req = json_pack("{s:s,s:s}", "cmd", cmd, "name", r->argv[0]);
    if (sub == &backend_drain && opt_given(sub, r, "timeout"))
        json_object_set_new(req, "timeout_ms", json_integer((json_int_t)c->timeout_ms));
    long long w;
    struct err e;
    if (sub != &backend_weight)
        return req;
    if (opt_parse_int(r->argv[1], "weight", 0, 1000, &w, &e) < 0) {
        fprintf(stderr, "baton backend: %s\n", e.msg);
        json_decref(req);
        return NULL;
    }
    json_object_set_new(req, "weight", json_integer(w));
    return req;
}

static void print_done(const struct opt_verb *sub, const struct opt_result *r, json_t *reply)
{
    const char *action = sub->name + strlen("backend ");
    if (sub == &backend_list)
        print_table(reply);
    else if (sub == &backend_drain)
        printf("backend '%s' %s (%lld connection%s)\n", r->argv[0],
               json_string_value(json_object_get(reply, "state")),
               (long long)json_integer_value(json_object_get(reply, "connections")),
               json_integer_value(json_object_get(reply, "connections")) == 1 ? "" : "s");
    else
        printf("backend '%s': %s done\n", r->argv[0], action);
}

int verb_backend(int argc, char **argv)
{
    struct backend_cli c = {0};
    struct opt_result r;
    const struct opt_verb *sub;
    int rc = opt_parse_sub_cli(&backend_verb, argc, argv, &sub, &c, &r);
    json_t *req = rc == OPT_RUN ? backend_request(sub, &c, &r) : NULL, *reply = NULL;
    if (!req) {
        opt_result_free(&r);
        return rc == OPT_RUN ? EXIT_USAGE : VERB_PARSE_EXIT(rc);
    }
    rc = ctlcli_proxy_call(&c.ctl, sub->name, req, &reply);
    json_decref(req);
    if (rc == EXIT_OK && !c.ctl.json)
        print_done(sub, &r, reply);
    json_decref(reply);
    opt_result_free(&r);
    return rc;
}
