/* `baton switch POOL`: makes POOL the active pool of a running `baton proxy`; new
 * connections (http: new requests) go to it, the old pool drains. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/ctlcli.h"
#include "cli/verbs.h"

struct switch_cli {
    struct ctlcli_opts ctl;
    uint64_t drain_timeout_ms;
};

/* clang-format off */
static const struct opt switch_options[] = {
    {.name = "drain-timeout", .kind = OPT_DURATION, OPT_AT(struct switch_cli, drain_timeout_ms),
     .unit = "s", .max = 7 * 86400000LL,
     .help = "cut the previous pool's connections after this long\n"
             "(default: never; they end by themselves)"},
    CTLCLI_OPTIONS(struct switch_cli, ctl, "proxy's", "proxy"),
    {0}};
/* clang-format on */

const struct opt_verb switch_verb = {
    .name = "switch",
    .synopsis = "POOL",
    .summary = "send a proxy's new connections to another pool; drain the old",
    .about = "Sends new connections (in http mode: the next request of each keep-alive client)\n"
             "to the backends of POOL. Connections to the previous pool stay where they are\n"
             "until they end, or until --drain-timeout has passed (then they are cut).\n"
             "'baton backend list' shows the old backends 'draining', then 'drained'.\n"
             "--json prints the reply, with switched_unix_ms (the proxy's clock at the switch).\n",
    .opts = switch_options,
    OPT_TAKES(1, 1),
    .footer = "exit codes: 0 switched, 1 refused (unknown pool) or proxy unreachable,\n"
              "            2 usage error\n",
};

int verb_switch(int argc, char **argv)
{
    struct switch_cli c = {0};
    struct opt_result r;
    int rc = opt_parse_cli(&switch_verb, argc, argv, &c, &r);
    if (rc != OPT_RUN) {
        opt_result_free(&r);
        return VERB_PARSE_EXIT(rc);
    }
    const char *pool = r.argv[0];
    json_t *req = json_pack("{s:s,s:s}", "cmd", "switch", "pool", pool);
    if (opt_given(&switch_verb, &r, "drain-timeout"))
        json_object_set_new(req, "drain_timeout_ms", json_integer((json_int_t)c.drain_timeout_ms));
    json_t *reply;
    rc = ctlcli_proxy_call(&c.ctl, "switch", req, &reply);
    json_decref(req);
    if (rc == EXIT_OK && !c.ctl.json)
        printf("switched from pool '%s' to '%s' (%lld backend%s up)\n",
               json_string_value(json_object_get(reply, "previous")), pool,
               (long long)json_integer_value(json_object_get(reply, "backends_up")),
               json_integer_value(json_object_get(reply, "backends_up")) == 1 ? "" : "s");
    json_decref(reply);
    opt_result_free(&r);
    return rc;
}
