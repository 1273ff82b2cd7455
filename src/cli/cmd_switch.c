/* `baton switch POOL`: makes POOL the active pool of a running `baton proxy`; new
 * connections (http: new requests) go to it, the old pool drains. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/ctlcli.h"
#include "cli/verbs.h"

static void usage(FILE *out, const char *verb)
{
    (void)verb;
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
    static const struct ctlcli_spec spec = {
        .verb = "switch", .optstring = "h", .usage = usage, .seconds_opt = "drain-timeout"};
    struct ctlcli o;
    int rc;
    if (ctlcli_parse(&spec, &o, argc, argv, &rc) < 0)
        return rc;
    if (argc - o.first_arg != 1) {
        usage(stderr, NULL);
        return EXIT_USAGE;
    }
    const char *pool = argv[o.first_arg];
    json_t *req = json_pack("{s:s,s:s}", "cmd", "switch", "pool", pool);
    if (o.seconds_ms >= 0)
        json_object_set_new(req, "drain_timeout_ms", json_integer(o.seconds_ms));
    json_t *reply;
    rc = ctlcli_proxy_call(&o, "switch", NULL, req, &reply);
    json_decref(req);
    if (rc != EXIT_OK)
        return rc;
    if (!o.json)
        printf("switched from pool '%s' to '%s' (%lld backend%s up)\n",
               json_string_value(json_object_get(reply, "previous")), pool,
               (long long)json_integer_value(json_object_get(reply, "backends_up")),
               json_integer_value(json_object_get(reply, "backends_up")) == 1 ? "" : "s");
    json_decref(reply);
    return EXIT_OK;
}
