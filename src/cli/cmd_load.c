/* `baton load URL`: its option table, then the HTTP load generator, and a report of what
 * failed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli/verbs.h"
#include "load/load.h"

struct load_cli {
    struct load_opts lo;
    uint64_t duration_ms, max_duration_ms;
    int json, live;
    const char *plot, *events;
};

#define L(member) OPT_AT(struct load_cli, lo.member)
/* clang-format off */
static const struct opt load_options[] = {
    {.name = "duration", .kind = OPT_DURATION, OPT_AT(struct load_cli, duration_ms), .unit = "s",
     .min = 100, .max = 86400000, .help = "run length (default 5s)"},
    {.name = "until-file", .kind = OPT_TEXT, L(until_file), .arg = "PATH",
     .help = "run until PATH exists, however long that takes (a script\n"
             "creates it when its scenario is over)"},
    {.name = "max-duration", .kind = OPT_DURATION, OPT_AT(struct load_cli, max_duration_ms),
     .unit = "s", .min = 100, .max = 86400000,
     .help = "hard cap of an --until-file run (default 10m); reaching it\nfails the run"},
    {.name = "connections", .kind = OPT_INT, L(connections), .min = 1, .max = 10000, .def = "8",
     .arg = "N", .help = "concurrent connections"},
    {.name = "close", .kind = OPT_FLAG, L(close_each),
     .help = "a new connection per request (default: keep-alive)"},
    {.name = "requests", .kind = OPT_INT, L(max_requests), .min = 1, .max = 1000000000000LL,
     .arg = "N", .help = "stop after N requests (default: no limit)"},
    {.name = "timeout", .kind = OPT_DURATION, L(timeout_ms), .min = 1, .max = 3600000,
     .def = "5s", .help = "a request not answered by then fails as timeout"},
    {.name = "live", .kind = OPT_FLAG, OPT_AT(struct load_cli, live),
     .help = "write each 100 ms of the timeline to stderr as one JSON\nline, as the run goes"},
    {.name = "json", .kind = OPT_FLAG, OPT_AT(struct load_cli, json),
     .help = "print the figures as one JSON object"},
    {.name = "plot", .kind = OPT_TEXT, OPT_AT(struct load_cli, plot), .arg = "FILE",
     .help = "draw the timeline into FILE.svg or FILE.png (by baton-plot;\n"
             "see 'baton plot')"},
    {.name = "events", .kind = OPT_TEXT, OPT_AT(struct load_cli, events), .arg = "LOG",
     .help = "--plot: draw the events of a 'baton run --log-format json'\nlog as lines"},
    {.name = "timeout-ms", .kind = OPT_DURATION, L(timeout_ms), .min = 1, .max = 3600000,
     .flags = OPT_HIDDEN},
    {0}};
/* clang-format on */

const struct opt_verb load_verb = {
    .name = "load",
    .synopsis = "URL",
    .summary = "send HTTP load and report every failed request",
    .about = "Sends HTTP/1.1 GET requests to URL (http://HOST:PORT/PATH) over N connections\n"
             "and reports requests, failures by kind, latency and which version answered\n"
             "(X-Version header, else the body's first line), per 100 ms. SIGINT or SIGTERM\n"
             "ends the run early with its report (a second one ends it at once).\n",
    .opts = load_options,
    OPT_TAKES(1, 1),
    .footer = "exit codes: 0 no request failed, 1 some failed (or the run could not start, or\n"
              "--max-duration passed before --until-file's PATH appeared, or --plot could not\n"
              "draw), 2 usage error.\n",
};

/* A run lasts --duration, or until --until-file's file appears, capped by --max-duration
 * (default 10 minutes); the two ways exclude each other. */
static int check_run_length(struct load_cli *c)
{
    struct load_opts *lo = &c->lo;
    if (lo->until_file ? c->duration_ms > 0 : c->max_duration_ms > 0) {
        fprintf(stderr, "baton load: %s\n",
                c->duration_ms > 0
                    ? "--duration and --until-file exclude each other"
                    : "--max-duration caps an --until-file run; use --duration alone");
        return -1;
    }
    lo->duration_s = c->duration_ms > 0 ? (double)c->duration_ms / 1000.0 : 5.0;
    if (lo->until_file)
        lo->max_duration_s = c->max_duration_ms > 0 ? (double)c->max_duration_ms / 1000.0 : 600.0;
    const char *dot = c->plot ? strrchr(c->plot, '.') : NULL;
    if (c->plot && (!dot || (strcasecmp(dot, ".svg") != 0 && strcasecmp(dot, ".png") != 0))) {
        fprintf(stderr, "baton load: --plot '%s': name it FILE.svg or FILE.png\n", c->plot);
        return -1;
    }
    char tool[4096];
    if (c->plot && tool_path("plot", tool, sizeof(tool)) < 0) {
        fprintf(stderr,
                "baton load: --plot needs the executable baton-plot, not found (last "
                "looked at %s)\n",
                tool);
        return -1;
    }
    if (c->events && !c->plot) {
        fprintf(stderr, "baton load: --events is what --plot draws; give --plot FILE too\n");
        return -1;
    }
    lo->live = c->live ? stderr : NULL;
    lo->stop_on_signal = 1;
    return 0;
}

/* Hands the report to baton-plot, which draws it into c->plot (its line goes to stderr:
 * stdout is the report's). */
static int plot(const struct load_cli *c, const struct load_result *res)
{
    json_t *j = load_result_json(res);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text) {
        fprintf(stderr, "baton load: cannot plot: out of memory\n");
        return EXIT_FAIL;
    }
    char *argv[] = {"plot", "-", "--out", (char *)c->plot, "--events", (char *)c->events, NULL};
    if (!c->events)
        argv[4] = NULL;
    int rc = tool_run_input("plot", argv, text, strlen(text), STDERR_FILENO);
    free(text);
    return rc;
}

/* Runs the load and prints its report; returns the verb's exit code. */
static int run_and_report(const struct load_cli *c)
{
    const struct load_opts *lo = &c->lo;
    int json = c->json;
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
    if (c->plot && plot(c, res) != EXIT_OK)
        failed = 1;
    load_result_free(res);
    return failed ? EXIT_FAIL : EXIT_OK;
}

int verb_load(int argc, char **argv)
{
    struct load_cli c = {0};
    struct opt_result r;
    int rc = opt_parse_cli(&load_verb, argc, argv, &c, &r);
    if (rc == OPT_RUN) {
        c.lo.url = r.argv[0];
        rc = check_run_length(&c) < 0 ? EXIT_USAGE : run_and_report(&c);
    } else {
        rc = VERB_PARSE_EXIT(rc);
    }
    opt_result_free(&r);
    return rc;
}
