/* `baton load URL`: runs the HTTP load generator and reports what failed. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/verbs.h"
#include "load/load.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: baton load URL [--duration S] [--connections N] [--close]\n"
            "                      [--requests N] [--timeout-ms MS] [--json]\n\n"
            "Sends HTTP/1.1 GET requests to URL (http://HOST:PORT/PATH) over N connections\n"
            "and reports requests, failures by kind, latency and which version answered\n"
            "(X-Version header, else the body's first line), per 100 ms.\n\n"
            "  --duration S      run length in seconds (default 5)\n"
            "  --connections N   concurrent connections (default 8)\n"
            "  --close           a new connection per request (default: keep-alive)\n"
            "  --requests N      stop after N requests (default: no limit)\n"
            "  --timeout-ms MS   a request not answered in MS fails as timeout (default 5000)\n"
            "  --json            print the figures as one JSON object\n\n"
            "Exit codes: 0 no request failed, 1 some failed (or the run could not start),\n"
            "2 usage error.\n");
}

static int parse_num(const char *s, double min, double max, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int cmd_load(int argc, char **argv)
{
    static const struct option opts[] = {{"duration", required_argument, 0, 'd'},
                                         {"connections", required_argument, 0, 'c'},
                                         {"close", no_argument, 0, 'C'},
                                         {"requests", required_argument, 0, 'n'},
                                         {"timeout-ms", required_argument, 0, 't'},
                                         {"json", no_argument, 0, 'j'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    struct load_opts lo = {.connections = 8, .duration_s = 5, .timeout_ms = 5000};
    int json = 0, o;
    double v;
    optind = 1;
    while ((o = getopt_long(argc, argv, "d:c:n:j", opts, NULL)) != -1) {
        switch (o) {
        case 'd':
            if (parse_num(optarg, 0.1, 86400, &v) < 0)
                goto bad_value;
            lo.duration_s = v;
            break;
        case 'c':
            if (parse_num(optarg, 1, 10000, &v) < 0)
                goto bad_value;
            lo.connections = (int)v;
            break;
        case 'C':
            lo.close_each = 1;
            break;
        case 'n':
            if (parse_num(optarg, 1, 1e12, &v) < 0)
                goto bad_value;
            lo.max_requests = (uint64_t)v;
            break;
        case 't':
            if (parse_num(optarg, 1, 3600000, &v) < 0)
                goto bad_value;
            lo.timeout_ms = (int)v;
            break;
        case 'j':
            json = 1;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "baton load: expected one URL\n");
        usage(stderr);
        return EXIT_USAGE;
    }
    lo.url = argv[optind];
    struct load_result *res;
    struct err e;
    if (load_run(&lo, &res, &e) < 0) {
        fprintf(stderr, "baton load: %s\n", e.msg);
        return EXIT_FAIL;
    }
    if (json) {
        json_t *j = load_result_json(res);
        json_dumpf(j, stdout, JSON_COMPACT);
        fputc('\n', stdout);
        json_decref(j);
    } else {
        load_result_print(res, stdout);
    }
    int failed = load_result_failed(res) > 0;
    load_result_free(res);
    return failed ? EXIT_FAIL : EXIT_OK;
bad_value:
    fprintf(stderr, "baton load: invalid value '%s' for --%s\n", optarg,
            opts[o == 'd'   ? 0
                 : o == 'c' ? 1
                 : o == 'n' ? 3
                            : 4]
                .name);
    return EXIT_USAGE;
}
