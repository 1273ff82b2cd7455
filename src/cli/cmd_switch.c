/* `baton switch POOL`: makes POOL the active pool of a running `baton proxy`; new
 * connections (http: new requests) go to it, the old pool drains. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/verbs.h"
#include "proxy/client.h"

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: baton switch POOL [--drain-timeout S] [--json] [--name NAME | --control PATH]\n\n"
        "Sends new connections (in http mode: the next request of each keep-alive client)\n"
        "to the backends of POOL. Connections to the previous pool stay where they are\n"
        "until they end, or until --drain-timeout S seconds have passed (then they are\n"
        "cut). 'baton backend list' shows the old backends 'draining', then 'drained'.\n"
        "--json prints the reply, with switched_unix_ms (the proxy's clock at the switch).\n\n"
        "exit codes: 0 switched, 1 refused (unknown pool) or proxy unreachable,\n"
        "            2 usage error\n");
}

int cmd_switch(int argc, char **argv)
{
    enum { O_NAME = 256, O_CONTROL, O_JSON, O_TIMEOUT, O_HELP };
    static const struct option opts[] = {
        {"name", required_argument, 0, O_NAME}, {"control", required_argument, 0, O_CONTROL},
        {"json", no_argument, 0, O_JSON},       {"drain-timeout", required_argument, 0, O_TIMEOUT},
        {"help", no_argument, 0, O_HELP},       {0, 0, 0, 0}};
    const char *name = NULL, *control = NULL;
    int json_out = 0, c;
    long long timeout_ms = -1;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_NAME:
            name = optarg;
            break;
        case O_CONTROL:
            control = optarg;
            break;
        case O_JSON:
            json_out = 1;
            break;
        case O_TIMEOUT: {
            char *end;
            double s = strtod(optarg, &end);
            if (!*optarg || *end || s < 0 || s > 7 * 86400) {
                fprintf(stderr, "baton switch: invalid --drain-timeout '%s': expected seconds\n",
                        optarg);
                return EXIT_USAGE;
            }
            timeout_ms = (long long)(s * 1000);
            break;
        }
        case O_HELP:
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (argc - optind != 1) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *pool = argv[optind];
    json_t *req = json_pack("{s:s,s:s}", "cmd", "switch", "pool", pool);
    if (timeout_ms >= 0)
        json_object_set_new(req, "drain_timeout_ms", json_integer(timeout_ms));
    json_t *reply = NULL;
    struct err e;
    int rc = proxy_client_call(name, control, req, &reply, &e);
    json_decref(req);
    if (rc < 0) {
        fprintf(stderr, "baton switch: %s\n", e.msg);
        return EXIT_FAIL;
    }
    if (json_out) {
        json_object_del(reply, "ok");
        char *text = json_dumps(reply, JSON_COMPACT);
        printf("%s\n", text ? text : "{}");
        free(text);
    } else {
        printf("switched from pool '%s' to '%s' (%lld backend%s up)\n",
               json_string_value(json_object_get(reply, "previous")), pool,
               (long long)json_integer_value(json_object_get(reply, "backends_up")),
               json_integer_value(json_object_get(reply, "backends_up")) == 1 ? "" : "s");
    }
    json_decref(reply);
    return EXIT_OK;
}
