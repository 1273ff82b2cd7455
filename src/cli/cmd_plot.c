/* `baton plot REPORT --out FILE.svg|FILE.png [--events LOG]`: draws a `baton load --json`
 * report (src/load/plot.h); `baton load --plot` runs it on the report it just made. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/verbs.h"
#include "load/plot.h"

struct plot_cli {
    const char *out, *events, *title;
    int width, height;
};

#define P(member) OPT_AT(struct plot_cli, member)
/* clang-format off */
static const struct opt plot_options[] = {
    {.name = "out", .kind = OPT_TEXT, P(out), .arg = "FILE", .flags = OPT_REQUIRED,
     .help = "the picture: FILE.svg or FILE.png"},
    {.name = "events", .kind = OPT_TEXT, P(events), .arg = "LOG",
     .help = "draw the upgrade's events from a 'baton run --log-format\njson' log"},
    {.name = "title", .kind = OPT_TEXT, P(title), .arg = "TEXT",
     .help = "the title (default 'baton load')"},
    {.name = "width", .kind = OPT_INT, P(width), .min = 320, .max = 8192, .def = "960",
     .arg = "N", .help = "pixels (PNG) or points (SVG)"},
    {.name = "height", .kind = OPT_INT, P(height), .min = 240, .max = 8192, .def = "540",
     .arg = "N", .help = "pixels (PNG) or points (SVG)"},
    {0}};
/* clang-format on */

const struct opt_verb plot_verb = {
    .name = "plot",
    .synopsis = "REPORT --out FILE",
    .summary = "draw a load run's timeline, with an upgrade's events, as SVG or PNG",
    .about = "Draws REPORT, the output of 'baton load --json' ('-' reads stdin): requests/s\n"
             "with failed requests marked in red, which version answered each 100 ms,\n"
             "latency p50 and p99, and the events of --events LOG as vertical lines.\n"
             "Prints what it drew.\n",
    .opts = plot_options,
    OPT_TAKES(1, 1),
    .footer = "exit codes: 0 drawn, 1 a bad report or events file, or the file could not be\n"
              "written (reason on stderr), 2 usage error.\n",
};

static int load_inputs(const struct plot_cli *c, const char *report, struct plot_data *d,
                       struct err *e)
{
    char *text = NULL;
    size_t len;
    if (plot_read_file(report, &text, &len, e) < 0)
        return -1;
    int rc = plot_data_from_report(d, text, len, e);
    free(text);
    if (rc < 0)
        return err_wrap(e, "report '%s'", report);
    if (!c->events)
        return 0;
    if (plot_read_file(c->events, &text, &len, e) < 0)
        return -1;
    rc = plot_data_add_events(d, text, len, c->events, e);
    free(text);
    return rc;
}

static int draw(const struct plot_cli *c, const char *report)
{
    struct plot_data d = {0};
    struct plot_style st = {.width = c->width, .height = c->height, .title = c->title};
    struct err e;
    enum plot_format format;
    size_t marks = 0, lines = 0;
    int rc = EXIT_FAIL;
    if (plot_format_of(c->out, &format, &e) < 0) {
        fprintf(stderr, "baton plot: %s\n", e.msg);
        return EXIT_USAGE;
    }
    if (load_inputs(c, report, &d, &e) < 0 ||
        plot_render(&d, c->out, &st, &marks, &lines, &e) < 0) {
        fprintf(stderr, "baton plot: %s\n", e.msg);
    } else {
        printf("%s: %dx%d %s, %zu buckets of %u ms, %zu with failures, %zu events", c->out,
               c->width, c->height, format == PLOT_SVG ? "SVG" : "PNG", d.nbuckets, d.bucket_ms,
               marks, lines);
        if (d.skipped_lines)
            printf(" (%zu lines of the log not JSON, skipped)", d.skipped_lines);
        putchar('\n');
        rc = EXIT_OK;
    }
    plot_data_free(&d);
    plot_cleanup();
    return rc;
}

int verb_plot(int argc, char **argv)
{
    struct plot_cli c = {0};
    struct opt_result r;
    int rc = opt_parse_cli(&plot_verb, argc, argv, &c, &r);
    rc = rc == OPT_RUN ? draw(&c, r.argv[0]) : VERB_PARSE_EXIT(rc);
    opt_result_free(&r);
    return rc;
}
