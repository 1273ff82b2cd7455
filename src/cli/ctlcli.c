/* The control verbs' common options and their one request to a master or a proxy
 * (cli/ctlcli.h). */
#include "cli/ctlcli.h"

#include <stdio.h>
#include <stdlib.h>

#include "cli/verbs.h"
#include "core/ctl.h"
#include "core/err.h"
#include "proxy/client.h"
#include "supervise/run.h"

void ctlcli_print_json(json_t *v)
{
    char *text = json_dumps(v, JSON_COMPACT);
    printf("%s\n", text ? text : "{}");
    free(text);
}

int ctlcli_proxy_call(const struct ctlcli_opts *c, const char *verb, json_t *req, json_t **reply)
{
    struct err e;
    *reply = NULL;
    if (proxy_client_call(c->name, c->control, req, reply, &e) < 0) {
        fprintf(stderr, "baton %s: %s\n", verb, e.msg);
        return EXIT_FAIL;
    }
    if (c->json) {
        json_object_del(*reply, "ok");
        ctlcli_print_json(*reply);
    }
    return EXIT_OK;
}

int ctlcli_master_call(const struct ctlcli_opts *c, const char *verb, const char *cmd,
                       json_t *extra, int print_json, json_t **reply)
{
    struct err e;
    char path[sizeof(c->control)];
    *reply = NULL;
    if (c->control[0])
        snprintf(path, sizeof(path), "%s", c->control);
    else if (ctl_default_path(c->name ? c->name : "baton", path, sizeof(path), &e) < 0) {
        json_decref(extra);
        fprintf(stderr, "baton %s: %s\n", verb, e.msg);
        return EXIT_USAGE;
    }
    if (run_ctl(path, cmd, extra, reply, &e) < 0)
        goto failed;
    if (c->json && print_json)
        ctlcli_print_json(*reply);
    if (ctl_reply_check(*reply, &e) < 0)
        goto failed;
    return EXIT_OK;
failed:
    fprintf(stderr, "baton %s: %s\n", verb, e.msg);
    return EXIT_FAIL;
}
