/* Common options of the control-socket verbs and their one request to a proxy
 * (cli/ctlcli.h). */
#include "cli/ctlcli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/verbs.h"
#include "core/err.h"
#include "proxy/client.h"

int ctlcli_parse(const struct ctlcli_spec *s, struct ctlcli *c, int argc, char **argv, int *rc)
{
    enum { O_NAME = 256, O_CONTROL, O_JSON, O_SECONDS, O_HELP };
    const struct option opts[] = {{"name", required_argument, 0, O_NAME},
                                  {"control", required_argument, 0, O_CONTROL},
                                  {"json", no_argument, 0, O_JSON},
                                  {"help", no_argument, 0, O_HELP},
                                  {s->seconds_opt, required_argument, 0, O_SECONDS},
                                  {0, 0, 0, 0}};
    /* without a seconds option its NULL name ends the table there */
    int ch;
    c->name = c->control = NULL;
    c->json = 0;
    c->seconds_ms = -1;
    optind = 1;
    while ((ch = getopt_long(argc, argv, s->optstring, opts, NULL)) != -1) {
        switch (ch) {
        case O_NAME:
            c->name = optarg;
            break;
        case O_CONTROL:
            if (s->control_max && strlen(optarg) >= s->control_max) {
                fprintf(stderr, "baton %s: --control path is too long\n", s->verb);
                *rc = EXIT_USAGE;
                return -1;
            }
            c->control = optarg;
            break;
        case O_JSON:
            c->json = 1;
            break;
        case O_SECONDS: {
            char *end;
            double sec = strtod(optarg, &end);
            if (!*optarg || *end || sec < 0 || sec > 7 * 86400) {
                fprintf(stderr, "baton %s: invalid --%s '%s': expected seconds\n", s->verb,
                        s->seconds_opt, optarg);
                *rc = EXIT_USAGE;
                return -1;
            }
            c->seconds_ms = (long long)(sec * 1000);
            break;
        }
        case O_HELP:
        case 'h':
            s->usage(stdout, s->verb);
            *rc = EXIT_OK;
            return -1;
        default:
            s->usage(stderr, s->verb);
            *rc = EXIT_USAGE;
            return -1;
        }
    }
    c->first_arg = optind;
    return 0;
}

int ctlcli_proxy_call(const struct ctlcli *c, const char *verb, const char *sub, json_t *req,
                      json_t **reply)
{
    struct err e;
    *reply = NULL;
    if (proxy_client_call(c->name, c->control, req, reply, &e) < 0) {
        fprintf(stderr, "baton %s%s%s: %s\n", verb, sub ? " " : "", sub ? sub : "", e.msg);
        return EXIT_FAIL;
    }
    if (c->json) {
        json_object_del(*reply, "ok");
        char *text = json_dumps(*reply, JSON_COMPACT);
        printf("%s\n", text ? text : "{}");
        free(text);
    }
    return EXIT_OK;
}
