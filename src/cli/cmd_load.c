/* `baton load URL`: runs the HTTP load generator and reports what failed. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/verbs.h"
#include "core/opt.h"
#include "load/load.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: baton load URL [--duration D | --until-file PATH [--max-duration D]]\n"
            "                      [--connections N] [--close] [--requests N]\n"
            "                      [--timeout-ms MS] [--live] [--json]\n\n"
            "Sends HTTP/1.1 GET requests to URL (http://HOST:PORT/PATH) over N connections\n"
            "and reports requests, failures by kind, latency and which version answered\n"
            "(X-Version header, else the body's first line), per 100 ms. SIGINT or SIGTERM\n"
            "ends the run early with its report (a second one ends it at once).\n\n"
            "  --duration D      run length: 500ms, 10s, 1.5m; a bare number is seconds\n"
            "                    (default 5s)\n"
            "  --until-file PATH run until PATH exists, however long that takes (a script\n"
            "                    creates it when its scenario is over)\n"
            "  --max-duration D  hard cap of an --until-file run (default 10m); reaching it\n"
            "                    fails the run\n"
            "  --connections N   concurrent connections (default 8)\n"
            "  --close           a new connection per request (default: keep-alive)\n"
            "  --requests N      stop after N requests (default: no limit)\n"
            "  --timeout-ms MS   a request not answered in MS fails as timeout (default 5000)\n"
            "  --live            write each 100 ms of the timeline to stderr as one JSON\n"
            "                    line, as the run goes\n"
            "  --json            print the figures as one JSON object\n\n"
            "Exit codes: 0 no request failed, 1 some failed (or the run could not start, or\n"
            "--max-duration passed before --until-file's PATH appeared), 2 usage error.\n");
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

/* A duration in seconds within [min_s, max_s]: "250ms", "2s", "1.5m"; a bare number
 * is seconds. */
static int parse_duration(const char *s, double min_s, double max_s, double *out)
{
    uint64_t ms;
    struct err e;
    if (opt_parse_duration(s, "s", &ms, &e) < 0 || ms < min_s * 1000 || ms > max_s * 1000)
        return -1;
    *out = (double)ms / 1000;
    return 0;
}

/* A run lasts --duration, or until --until-file's file appears, capped by --max-duration
 * (default 10 minutes); the two ways exclude each other. */
static int check_run_length(struct load_opts *lo, int have_duration)
{
    if (lo->until_file ? have_duration : lo->max_duration_s > 0) {
        fprintf(stderr, "baton load: %s\n",
                have_duration ? "--duration and --until-file exclude each other"
                              : "--max-duration caps an --until-file run; use --duration alone");
        return -1;
    }
    if (lo->until_file && lo->max_duration_s == 0)
        lo->max_duration_s = 600;
    return 0;
}

/* Runs the load and prints its report; returns the verb's exit code. */
static int run_and_report(const struct load_opts *lo, int json)
{
    struct load_result *res;
    struct err e;
    if (load_run(lo, &res, &e) < 0) {
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
    if (load_result_end(res) == LOAD_END_MAX_DURATION) {
        fprintf(stderr, "baton load: '%s' did not appear within --max-duration %gs\n",
                lo->until_file, lo->max_duration_s);
        failed = 1;
    }
    load_result_free(res);
    return failed ? EXIT_FAIL : EXIT_OK;
}

int cmd_load(int argc, char **argv)
{
    static const struct option opts[] = {{"duration", required_argument, 0, 'd'},
                                         {"connections", required_argument, 0, 'c'},
                                         {"close", no_argument, 0, 'C'},
                                         {"requests", required_argument, 0, 'n'},
                                         {"timeout-ms", required_argument, 0, 't'},
                                         {"json", no_argument, 0, 'j'},
                                         {"until-file", required_argument, 0, 'u'},
                                         {"max-duration", required_argument, 0, 'M'},
                                         {"live", no_argument, 0, 'L'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    struct load_opts lo = {
        .connections = 8, .duration_s = 5, .timeout_ms = 5000, .stop_on_signal = 1};
    int json = 0, o, have_duration = 0;
    double v;
    optind = 1;
    while ((o = getopt_long(argc, argv, "d:c:n:j", opts, NULL)) != -1) {
        switch (o) {
        case 'd':
        case 'M':
            if (parse_duration(optarg, 0.1, 86400, &v) < 0)
                goto bad_value;
            *(o == 'd' ? &lo.duration_s : &lo.max_duration_s) = v;
            have_duration |= o == 'd';
            break;
        case 'u':
            lo.until_file = optarg;
            break;
        case 'L':
            lo.live = stderr;
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
    if (check_run_length(&lo, have_duration) < 0)
        return EXIT_USAGE;
    return run_and_report(&lo, json);
bad_value:
    for (int i = 0; opts[i].name; i++)
        if (opts[i].val == o)
            fprintf(stderr, "baton load: invalid value '%s' for --%s\n", optarg, opts[i].name);
    return EXIT_USAGE;
}
