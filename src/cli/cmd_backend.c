/* `baton backend list|add|drain|enable|remove|weight`: the runtime API of a running
 * `baton proxy`, one request over its control socket. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/ctlcli.h"
#include "cli/verbs.h"

static void usage(FILE *out, const char *verb)
{
    (void)verb;
    fprintf(out,
            "usage: baton backend list [--json]\n"
            "       baton backend add [POOL/]NAME=HOST:PORT[,weight=W]\n"
            "       baton backend drain NAME [--timeout S]\n"
            "       baton backend enable NAME\n"
            "       baton backend remove NAME\n"
            "       baton backend weight NAME W\n"
            "   (each also takes --name NAME / --control PATH to pick the proxy)\n\n"
            "Changes the backend table of a running 'baton proxy'. A drained backend takes no\n"
            "new connection; 'list' shows it as 'draining' while connections remain, then\n"
            "'drained' with 0 connections. --timeout cuts what is left after S seconds.\n\n"
            "exit codes: 0 done, 1 the proxy refused or is unreachable (reason on stderr),\n"
            "            2 usage error\n");
}

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

int cmd_backend(int argc, char **argv)
{
    static const struct ctlcli_spec spec = {
        .verb = "backend", .optstring = "h", .usage = usage, .seconds_opt = "timeout"};
    struct ctlcli o;
    int rc;
    if (ctlcli_parse(&spec, &o, argc, argv, &rc) < 0)
        return rc;
    int nargs = argc - o.first_arg;
    char **args = argv + o.first_arg;
    if (nargs < 1) {
        usage(stderr, NULL);
        return EXIT_USAGE;
    }
    const char *sub = args[0];
    json_t *req = NULL;
    int want = -1;
    if (strcmp(sub, "list") == 0) {
        want = 1;
        req = json_pack("{s:s}", "cmd", "backend-list");
    } else if (strcmp(sub, "add") == 0) {
        want = 2;
        if (nargs == 2)
            req = json_pack("{s:s,s:s}", "cmd", "backend-add", "spec", args[1]);
    } else if (strcmp(sub, "drain") == 0 || strcmp(sub, "enable") == 0 ||
               strcmp(sub, "remove") == 0) {
        want = 2;
        char cmd[32];
        snprintf(cmd, sizeof(cmd), "backend-%s", sub);
        if (nargs == 2)
            req = json_pack("{s:s,s:s}", "cmd", cmd, "name", args[1]);
        if (req && o.seconds_ms >= 0 && strcmp(sub, "drain") == 0)
            json_object_set_new(req, "timeout_ms", json_integer(o.seconds_ms));
    } else if (strcmp(sub, "weight") == 0) {
        want = 3;
        if (nargs == 3) {
            char *end;
            long w = strtol(args[2], &end, 10);
            if (!*args[2] || *end || w < 0 || w > 1000) {
                fprintf(stderr, "baton backend: invalid weight '%s': expected 0..1000\n", args[2]);
                return EXIT_USAGE;
            }
            req = json_pack("{s:s,s:s,s:i}", "cmd", "backend-weight", "name", args[1], "weight",
                            (int)w);
        }
    } else {
        fprintf(stderr,
                "baton backend: unknown action '%s' (list, add, drain, enable, remove, "
                "weight)\n",
                sub);
        return EXIT_USAGE;
    }
    if (nargs != want || !req) {
        fprintf(stderr, "baton backend %s: wrong number of arguments\n", sub);
        usage(stderr, NULL);
        json_decref(req);
        return EXIT_USAGE;
    }
    json_t *reply;
    rc = ctlcli_proxy_call(&o, "backend", sub, req, &reply);
    json_decref(req);
    if (rc != EXIT_OK)
        return rc;
    if (o.json) {
        /* ctlcli_proxy_call printed the reply */
    } else if (strcmp(sub, "list") == 0) {
        print_table(reply);
    } else if (strcmp(sub, "drain") == 0) {
        printf("backend '%s' %s (%lld connection%s)\n", args[1],
               json_string_value(json_object_get(reply, "state")),
               (long long)json_integer_value(json_object_get(reply, "connections")),
               json_integer_value(json_object_get(reply, "connections")) == 1 ? "" : "s");
    } else {
        printf("backend '%s': %s done\n", args[1], sub);
    }
    json_decref(reply);
    return EXIT_OK;
}
