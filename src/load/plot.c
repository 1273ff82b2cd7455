/* Draws a load run with cairo: requests/s with failures marked in red, a band that shows
 * which version answered each 100 ms, latency p50/p99, and the upgrade's events as
 * vertical lines across all three; SVG or PNG by the file's extension. */
#include "load/plot.h"

#include <cairo-svg.h>
#include <cairo.h>
#include <errno.h>
#include <fontconfig/fontconfig.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

struct rgb {
    double r, g, b;
};

/* The failure colour is used for nothing else, so a reader (or a test) can tell whether
 * the picture shows any failure. */
static const struct rgb c_requests = {0.12, 0.47, 0.71}, c_failure = {0.84, 0.11, 0.11},
                        c_p50 = {0.17, 0.63, 0.17}, c_p99 = {1.0, 0.5, 0.05},
                        c_axis = {0.3, 0.3, 0.3}, c_grid = {0.9, 0.9, 0.9},
                        c_idle = {0.85, 0.85, 0.85}, c_text = {0.1, 0.1, 0.1};
/* Versions, in order of first answer (a colour-blind-safe palette, no red). */
static const struct rgb c_versions[] = {{0.27, 0.47, 0.67}, {0.93, 0.4, 0.47}, {0.13, 0.53, 0.2},
                                        {0.8, 0.73, 0.27},  {0.4, 0.8, 0.93},  {0.67, 0.2, 0.47},
                                        {0.6, 0.6, 0.2},    {0.4, 0.27, 0.6}};

/* Where things go: the x axis is shared; three panels stacked. */
struct frame {
    cairo_t *cr;
    const struct plot_data *d;
    double left, right, span_s;
    double req_top, req_bottom, band_top, band_bottom, lat_top, lat_bottom;
};

static void set_colour(cairo_t *cr, struct rgb c)
{
    cairo_set_source_rgb(cr, c.r, c.g, c.b);
}

static double x_of(const struct frame *f, double t_s)
{
    return f->left + (f->right - f->left) * t_s / f->span_s;
}

/* A step of 1, 2 or 5 times a power of ten that cuts [0, max] into about n parts. */
static double nice_step(double max, int n)
{
    double raw = max / n, p = pow(10, floor(log10(raw))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

static void text_at(cairo_t *cr, double x, double y, double align, const char *s)
{
    cairo_text_extents_t ext;
    cairo_text_extents(cr, s, &ext);
    cairo_move_to(cr, x - ext.x_advance * align, y);
    cairo_show_text(cr, s);
}

/* A panel's frame, horizontal grid lines and y labels from 0 to max (unit in the name). */
static void draw_y_axis(const struct frame *f, double top, double bottom, double max,
                        const char *name)
{
    cairo_t *cr = f->cr;
    double step = nice_step(max, 4);
    char label[32];
    cairo_set_line_width(cr, 1);
    for (double v = 0; v <= max * 1.0001; v += step) {
        double y = bottom - (bottom - top) * v / max;
        set_colour(cr, c_grid);
        cairo_move_to(cr, f->left, y);
        cairo_line_to(cr, f->right, y);
        cairo_stroke(cr);
        set_colour(cr, c_axis);
        snprintf(label, sizeof(label), "%g", v);
        text_at(cr, f->left - 4, y + 4, 1, label);
    }
    set_colour(cr, c_axis);
    cairo_rectangle(cr, f->left, top, f->right - f->left, bottom - top);
    cairo_stroke(cr);
    text_at(cr, f->left + 4, top + 12, 0, name);
}

static void draw_x_axis(const struct frame *f)
{
    cairo_t *cr = f->cr;
    double step = nice_step(f->span_s, 8);
    char label[32];
    set_colour(cr, c_axis);
    for (double t = 0; t <= f->span_s * 1.0001; t += step) {
        snprintf(label, sizeof(label), "%gs", t);
        text_at(cr, x_of(f, t), f->lat_bottom + 14, 0.5, label);
    }
}

/* requests/s as a line; each bucket with failures as a red bar up to its failures/s
 * and a red tick under the panel, so that a single failure is seen at any width. */
static size_t draw_requests(const struct frame *f, double max)
{
    cairo_t *cr = f->cr;
    const struct plot_data *d = f->d;
    double per_s = 1000.0 / d->bucket_ms, w = (f->right - f->left) / (double)d->nbuckets;
    double h = f->req_bottom - f->req_top;
    size_t marks = 0;
    draw_y_axis(f, f->req_top, f->req_bottom, max, "requests/s");
    set_colour(cr, c_failure);
    for (size_t i = 0; i < d->nbuckets; i++) {
        if (!d->buckets[i].failures)
            continue;
        double x = f->left + w * (double)i, fh = h * d->buckets[i].failures * per_s / max;
        cairo_rectangle(cr, x, f->req_bottom - fh, w > 1 ? w : 1, fh);
        cairo_rectangle(cr, x + w / 2 - 2, f->req_bottom + 1, 4, 5);
        cairo_fill(cr);
        marks++;
    }
    set_colour(cr, c_requests);
    cairo_set_line_width(cr, 1.5);
    for (size_t i = 0; i < d->nbuckets; i++) {
        double y = f->req_bottom - h * d->buckets[i].requests * per_s / max;
        if (i == 0)
            cairo_move_to(cr, f->left, y);
        cairo_line_to(cr, f->left + w * ((double)i + 0.5), y);
    }
    cairo_line_to(cr, f->right,
                  f->req_bottom - h * d->buckets[d->nbuckets - 1].requests * per_s / max);
    cairo_stroke(cr);
    return marks;
}

/* Each bucket's column split among the versions that answered in it, in proportion. */
static void draw_versions(const struct frame *f)
{
    cairo_t *cr = f->cr;
    const struct plot_data *d = f->d;
    double w = (f->right - f->left) / (double)d->nbuckets, h = f->band_bottom - f->band_top;
    for (size_t i = 0; i < d->nbuckets; i++) {
        const struct plot_bucket *b = &d->buckets[i];
        uint32_t answered = b->requests - b->failures;
        double x = f->left + w * (double)i, y = f->band_top;
        if (answered == 0) {
            set_colour(cr, c_idle);
            cairo_rectangle(cr, x, y, w + 0.5, h);
            cairo_fill(cr);
            continue;
        }
        for (int k = 0; k < d->nversions; k++) {
            if (!b->versions[k])
                continue;
            double vh = h * b->versions[k] / answered;
            set_colour(cr, c_versions[k % 8]);
            cairo_rectangle(cr, x, y, w + 0.5, vh);
            cairo_fill(cr);
            y += vh;
        }
    }
    set_colour(cr, c_axis);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, f->left, f->band_top, f->right - f->left, h);
    cairo_stroke(cr);
}

/* One latency series (p50 or p99); gaps where a bucket had no answer. */
static void draw_latency_line(const struct frame *f, double max, int p99, struct rgb c)
{
    cairo_t *cr = f->cr;
    const struct plot_data *d = f->d;
    double w = (f->right - f->left) / (double)d->nbuckets, h = f->lat_bottom - f->lat_top;
    int open = 0;
    set_colour(cr, c);
    cairo_set_line_width(cr, 1.5);
    for (size_t i = 0; i < d->nbuckets; i++) {
        const struct plot_bucket *b = &d->buckets[i];
        if (!b->has_latency) {
            open = 0;
            continue;
        }
        double v = p99 ? b->p99_ms : b->p50_ms;
        double x = f->left + w * ((double)i + 0.5),
               y = f->lat_bottom - h * (v < max ? v : max) / max;
        if (open)
            cairo_line_to(cr, x, y);
        else
            cairo_move_to(cr, x, y);
        open = 1;
    }
    cairo_stroke(cr);
}

/* An event's line style: switched solid, requests dashed, exits dotted. */
static void event_style(cairo_t *cr, const char *name)
{
    static const double dash[] = {5, 3}, dot[] = {1, 3};
    struct rgb c = {0.2, 0.2, 0.2};
    cairo_set_dash(cr, NULL, 0, 0);
    if (strcmp(name, "failed") == 0)
        c = (struct rgb){0.55, 0.0, 0.35};
    else if (strcmp(name, "reexec") == 0)
        c = (struct rgb){0.45, 0.25, 0.75};
    if (strstr(name, "-requested") || strcmp(name, "failed") == 0)
        cairo_set_dash(cr, dash, 2, 0);
    else if (strcmp(name, "exited") == 0)
        cairo_set_dash(cr, dot, 2, 0);
    set_colour(cr, c);
}

/* An event's label: short words, with its generation. */
static void event_label(const struct plot_event *ev, char *buf, size_t cap)
{
    const char *word = strcmp(ev->name, "upgrade-requested") == 0    ? "upgrade"
                       : strcmp(ev->name, "rollback-requested") == 0 ? "rollback"
                                                                     : ev->name;
    if (ev->generation)
        snprintf(buf, cap, "%s %u", word, ev->generation);
    else
        snprintf(buf, cap, "%s", word);
}

/* Vertical lines through the three panels, labelled above them on the first of three
 * rows where the label does not run into the one before. */
static size_t draw_events(const struct frame *f)
{
    cairo_t *cr = f->cr;
    const struct plot_data *d = f->d;
    double row_end[3] = {0, 0, 0};
    char label[48];
    cairo_set_line_width(cr, 1.2);
    for (size_t i = 0; i < d->nevents; i++) {
        const struct plot_event *ev = &d->events[i];
        double x = x_of(f, ev->t_s);
        event_style(cr, ev->name);
        event_label(ev, label, sizeof(label));
        cairo_text_extents_t ext;
        cairo_text_extents(cr, label, &ext);
        int row = 0;
        while (row < 2 && row_end[row] > x)
            row++;
        row_end[row] = x + ext.x_advance + 6;
        cairo_move_to(cr, x, f->req_top - 2 - 11 * (double)(2 - row));
        cairo_line_to(cr, x, f->lat_bottom);
        cairo_stroke(cr);
        /* near the right edge, the label goes left of its line */
        double tx = x + 2 + ext.x_advance > f->right + 12 ? x - 2 - ext.x_advance : x + 2;
        text_at(cr, tx, f->req_top - 4 - 11 * (double)(2 - row), 0, label);
    }
    cairo_set_dash(cr, NULL, 0, 0);
    return d->nevents;
}

static void swatch(cairo_t *cr, double *x, double y, struct rgb c, const char *name)
{
    cairo_text_extents_t ext;
    set_colour(cr, c);
    cairo_rectangle(cr, *x, y - 8, 10, 10);
    cairo_fill(cr);
    set_colour(cr, c_text);
    text_at(cr, *x + 14, y, 0, name);
    cairo_text_extents(cr, name, &ext);
    *x += 14 + ext.x_advance + 12;
}

/* The legend: series, then versions in order of first answer. No failure swatch on a
 * clean run: the words say so instead. */
static void draw_legend(const struct frame *f, double y)
{
    cairo_t *cr = f->cr;
    const struct plot_data *d = f->d;
    double x = f->left;
    swatch(cr, &x, y, c_requests, "requests/s");
    if (d->failed) {
        char text[48];
        snprintf(text, sizeof(text), "failures (%llu)", (unsigned long long)d->failed);
        swatch(cr, &x, y, c_failure, text);
    } else {
        set_colour(cr, c_axis);
        text_at(cr, x, y, 0, "no failed request");
        x += 110;
    }
    swatch(cr, &x, y, c_p50, "p50");
    swatch(cr, &x, y, c_p99, "p99");
    for (int k = 0; k < d->nversions && x < f->right - 40; k++) {
        char name[40];
        snprintf(name, sizeof(name), "%.24s", d->versions[k]);
        swatch(cr, &x, y, c_versions[k % 8], name);
    }
}

static void draw_title(const struct frame *f, const char *title)
{
    cairo_t *cr = f->cr;
    const struct plot_data *d = f->d;
    char sub[160];
    time_t start = (time_t)(d->start_unix_ms / 1000);
    struct tm tm;
    gmtime_r(&start, &tm);
    set_colour(cr, c_text);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
    cairo_set_font_size(cr, 14);
    text_at(cr, f->left, 18, 0, title);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, 11);
    snprintf(sub, sizeof(sub),
             "%llu requests, %llu failed; started %04d-%02d-%02d %02d:%02d:%02d UTC",
             (unsigned long long)d->requests, (unsigned long long)d->failed, tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    text_at(cr, f->left, 34, 0, sub);
}

/* The largest value of a series (a floor of 1 keeps an empty panel drawable). */
static void series_max(const struct plot_data *d, double *req_max, double *lat_max)
{
    *req_max = *lat_max = 0;
    for (size_t i = 0; i < d->nbuckets; i++) {
        double r = d->buckets[i].requests * 1000.0 / d->bucket_ms;
        *req_max = r > *req_max ? r : *req_max;
        if (d->buckets[i].has_latency && d->buckets[i].p99_ms > *lat_max)
            *lat_max = d->buckets[i].p99_ms;
    }
    *req_max = *req_max < 1 ? 1 : *req_max * 1.1;
    *lat_max = *lat_max <= 0 ? 1 : *lat_max * 1.1;
}

static void draw_all(cairo_t *cr, const struct plot_data *d, const struct plot_style *st,
                     size_t *marks, size_t *lines)
{
    struct frame f = {.cr = cr, .d = d, .left = 56, .right = st->width - 16};
    double top = 78, bottom = st->height - 40, avail = bottom - top - 46, req_max, lat_max;
    f.span_s = (double)d->nbuckets * d->bucket_ms / 1000.0;
    f.req_top = top;
    f.req_bottom = top + avail * 0.55;
    f.band_top = f.req_bottom + 10;
    f.band_bottom = f.band_top + 18;
    f.lat_top = f.band_bottom + 18;
    f.lat_bottom = bottom;
    series_max(d, &req_max, &lat_max);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    draw_title(&f, st->title ? st->title : "baton load");
    *marks = draw_requests(&f, req_max);
    draw_versions(&f);
    set_colour(cr, c_axis);
    text_at(cr, f.left - 4, f.band_bottom - 5, 1, "version");
    draw_y_axis(&f, f.lat_top, f.lat_bottom, lat_max, "latency ms");
    draw_latency_line(&f, lat_max, 0, c_p50);
    draw_latency_line(&f, lat_max, 1, c_p99);
    draw_x_axis(&f);
    *lines = draw_events(&f);
    draw_legend(&f, st->height - 10);
}

int plot_format_of(const char *path, enum plot_format *f, struct err *e)
{
    const char *dot = strrchr(path, '.');
    if (dot && strcasecmp(dot, ".svg") == 0)
        *f = PLOT_SVG;
    else if (dot && strcasecmp(dot, ".png") == 0)
        *f = PLOT_PNG;
    else
        return err_set(e, "cannot tell the format of '%s': name it FILE.svg or FILE.png", path);
    return 0;
}

/* Draws into a temporary file beside `path`, renamed over it once whole: a failed plot
 * leaves neither half a picture nor a damaged earlier one. */
int plot_render(const struct plot_data *d, const char *path, const struct plot_style *st,
                size_t *failure_marks, size_t *event_lines, struct err *e)
{
    enum plot_format format;
    char tmp[4096];
    if (plot_format_of(path, &format, e) < 0)
        return -1;
    if (d->nbuckets == 0)
        return err_set(e, "nothing to draw: the timeline is empty");
    if (snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid()) >= (int)sizeof(tmp))
        return err_set(e, "cannot draw '%.200s': the path is too long", path);
    cairo_surface_t *s =
        format == PLOT_SVG ? cairo_svg_surface_create(tmp, st->width, st->height)
                           : cairo_image_surface_create(CAIRO_FORMAT_RGB24, st->width, st->height);
    cairo_t *cr = cairo_create(s);
    draw_all(cr, d, st, failure_marks, event_lines);
    cairo_status_t status = cairo_status(cr);
    cairo_destroy(cr);
    if (status == CAIRO_STATUS_SUCCESS && format == PLOT_PNG)
        status = cairo_surface_write_to_png(s, tmp);
    cairo_surface_finish(s);
    if (status == CAIRO_STATUS_SUCCESS)
        status = cairo_surface_status(s);
    cairo_surface_destroy(s);
    if (status != CAIRO_STATUS_SUCCESS) {
        unlink(tmp);
        return err_set(e, "cannot draw '%s': %s", path, cairo_status_to_string(status));
    }
    if (rename(tmp, path) < 0) {
        int errnum = errno;
        unlink(tmp);
        return err_errno(e, errnum, "cannot write '%s'", path);
    }
    return 0;
}

void plot_cleanup(void)
{
    cairo_debug_reset_static_data();
    FcFini();
}
