/* Pictures of a `baton load` run: its 100 ms timeline (requests/s, failures, latency
 * p50/p99, which version answered) with the upgrade's events from a `baton run
 * --log-format json` log drawn as vertical lines, rendered by cairo as SVG or PNG.
 * plot_data.h reads the report and the events; plot.c draws. Only the companion
 * executable baton-plot links this module (and cairo). */
#ifndef BATON_LOAD_PLOT_H
#define BATON_LOAD_PLOT_H

#include <stddef.h>

#include "core/err.h"
#include "load/plot_data.h"

enum plot_format { PLOT_SVG, PLOT_PNG };
/* The format named by the path's extension: .svg or .png (any case); else an error. */
int plot_format_of(const char *path, enum plot_format *f, struct err *e);

struct plot_style {
    int width, height; /* pixels (PNG) or points (SVG) */
    const char *title; /* NULL: "baton load" */
};

/* Draws d into `path` (format from its extension). Fills the counts drawn: buckets with a
 * failure marked, and event lines. On an error (the title is not UTF-8, the file cannot
 * be written) path is left as it was. */
int plot_render(const struct plot_data *d, const char *path, const struct plot_style *st,
                size_t *failure_marks, size_t *event_lines, struct err *e);

/* Frees what cairo and fontconfig keep for the process (font caches), before exit, so
 * that a leak checker sees only real leaks. */
void plot_cleanup(void);

#endif
