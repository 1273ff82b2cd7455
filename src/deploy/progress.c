/* The three displays of a deploy. The tty one keeps the table as the last lines of the
 * terminal: to print a log line it moves up over the table, clears to the end of the
 * screen, writes the line and draws the table again (no curses needed). */
#include "deploy/progress.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"

#define PG_DETAIL_MAX 120
#define PG_REFRESH_MS 250

struct progress {
    enum pg_mode mode;
    FILE *out;
    struct loop *loop;
    const struct dfile *df;
    const struct dstate *st;
    char (*detail)[PG_DETAIL_MAX];
    uint64_t *since_ms; /* when each host entered its current step */
    uint64_t start_ms;
    int drawn; /* lines of the table on screen */
    int ended; /* the table stays as it was drawn last; lines go below it */
    struct timer refresh;
};

static void clock_text(char *buf, size_t cap)
{
    int64_t ms = clock_wall_ms();
    time_t sec = (time_t)(ms / 1000);
    struct tm tm;
    localtime_r(&sec, &tm);
    snprintf(buf, cap, "%02d:%02d:%02d.%03d", tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

static void json_event(struct progress *pg, json_t *o)
{
    json_object_set_new(o, "t_unix_ms", json_integer(clock_wall_ms()));
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (s)
        fprintf(pg->out, "%s\n", s);
    free(s);
    json_decref(o);
    fflush(pg->out);
}

static int hosts_done(const struct progress *pg)
{
    int n = 0;
    for (int i = 0; i < pg->st->nhosts; i++)
        n += pg->st->hosts[i].state == HS_DONE || pg->st->hosts[i].state == HS_REVERTED;
    return n;
}

static void undraw(struct progress *pg)
{
    if (pg->drawn)
        fprintf(pg->out, "\033[%dA\033[J", pg->drawn);
    pg->drawn = 0;
}

static void draw(struct progress *pg)
{
    const struct dstate *st = pg->st;
    uint64_t now = clock_now_ms();
    int done = hosts_done(pg), width = 30, fill = st->nhosts ? done * width / st->nhosts : 0;
    char bar[64];
    memset(bar, '#', (size_t)fill);
    memset(bar + fill, '.', (size_t)(width - fill));
    bar[width] = 0;
    fprintf(pg->out, "%s %s %s  [%s] %d/%d hosts  %s  %.1fs\n",
            st->phase == DP_REVERT ? "revert" : "deploy", st->service, st->release, bar, done,
            st->nhosts, dstate_phase_name(st->phase), (double)(now - pg->start_ms) / 1000.0);
    fprintf(pg->out, "  %-16s %-16s %8s  %s\n", "HOST", "STEP", "ELAPSED", "DETAIL");
    for (int i = 0; i < st->nhosts; i++) {
        const struct dstate_host *h = &st->hosts[i];
        char el[32] = "";
        if (!hsm_is_at_rest(h->state))
            snprintf(el, sizeof(el), "%.1fs", (double)(now - pg->since_ms[i]) / 1000.0);
        fprintf(pg->out, "  %-16s %-16s %8s  %.60s\n", h->name, hsm_state_name(h->state), el,
                pg->detail[i]);
    }
    pg->drawn = st->nhosts + 2;
    fflush(pg->out);
}

static void on_refresh(struct loop *loop, struct timer *t)
{
    struct progress *pg = t->data;
    undraw(pg);
    draw(pg);
    timer_start(loop, t, PG_REFRESH_MS, on_refresh, pg);
}

/* A log line: above the table on a tty, timestamped otherwise. */
static void line(struct progress *pg, const char *text)
{
    char now[32];
    clock_text(now, sizeof(now));
    int table = pg->mode == PG_TTY && !pg->ended;
    if (table)
        undraw(pg);
    fprintf(pg->out, "%s %s\n", now, text);
    if (table)
        draw(pg);
    fflush(pg->out);
}

int progress_new(enum pg_mode mode, FILE *out, struct loop *loop, const struct dfile *df,
                 const struct dstate *st, struct progress **res, struct err *e)
{
    struct progress *pg = calloc(1, sizeof(*pg));
    if (!pg)
        return err_errno(e, ENOMEM, "progress display");
    *pg = (struct progress){.mode = mode, .out = out, .loop = loop, .df = df, .st = st};
    pg->detail = calloc((size_t)df->nhosts, sizeof(*pg->detail));
    pg->since_ms = calloc((size_t)df->nhosts, sizeof(*pg->since_ms));
    if (!pg->detail || !pg->since_ms) {
        progress_free(pg);
        return err_errno(e, ENOMEM, "progress display");
    }
    pg->start_ms = clock_now_ms();
    for (int i = 0; i < df->nhosts; i++)
        pg->since_ms[i] = pg->start_ms;
    if (mode == PG_TTY) {
        draw(pg);
        timer_start(loop, &pg->refresh, PG_REFRESH_MS, on_refresh, pg);
    }
    *res = pg;
    return 0;
}

void progress_free(struct progress *pg)
{
    if (!pg)
        return;
    timer_stop(pg->loop, &pg->refresh);
    free(pg->detail);
    free(pg->since_ms);
    free(pg);
}

void progress_host(struct progress *pg, int i, const char *detail)
{
    const struct dstate_host *h = &pg->st->hosts[i];
    pg->since_ms[i] = clock_now_ms();
    snprintf(pg->detail[i], PG_DETAIL_MAX, "%s", detail ? detail : "");
    if (pg->mode == PG_JSON) {
        json_event(pg, json_pack("{s:s,s:s,s:s,s:s}", "event", "host", "host", h->name, "state",
                                 hsm_state_name(h->state), "detail", pg->detail[i]));
        return;
    }
    char text[PG_DETAIL_MAX + 128];
    snprintf(text, sizeof(text), "%s %s%s%s", h->name, hsm_state_name(h->state),
             pg->detail[i][0] ? ": " : "", pg->detail[i]);
    line(pg, text);
}

void progress_note(struct progress *pg, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (pg->mode == PG_JSON)
        json_event(pg, json_pack("{s:s,s:s}", "event", "note", "text", text));
    else
        line(pg, text);
}

/* What a command printed, as text JSON can hold: printable ASCII and newlines. */
static void ascii(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    for (; *in && n + 1 < cap; in++)
        out[n++] = (*in >= ' ' && *in < 0x7f) || *in == '\n' ? *in : '?';
    out[n] = 0;
}

void progress_command(struct progress *pg, const char *label, const char *command,
                      const struct child_result *r)
{
    char what[64];
    child_result_text(r, what, sizeof(what));
    if (pg->mode == PG_JSON) {
        /* the first 256 bytes of stdout: what the command said about itself */
        char out[257], err[1024], cmd[1024];
        ascii(r->out, out, sizeof(out));
        ascii(r->err, err, sizeof(err));
        ascii(command, cmd, sizeof(cmd));
        json_event(pg, json_pack("{s:s,s:s,s:s,s:i,s:b,s:I,s:s,s:s}", "event", "command", "host",
                                 label, "command", cmd, "exit", r->exited ? r->status : -1,
                                 "timed_out", r->timed_out, "duration_ms",
                                 (json_int_t)r->duration_ms, "stderr", err, "stdout", out));
        return;
    }
    char text[1024];
    /* the command's first line only: lock scripts are several */
    snprintf(text, sizeof(text), "%s $ %.*s: %s in %.2fs%s%.200s", label,
             (int)strcspn(command, "\n"), command, what, (double)r->duration_ms / 1000.0,
             r->err[0] && !(r->exited && r->status == 0) ? ": " : "",
             r->exited && r->status == 0 ? "" : r->err);
    line(pg, text);
}

void progress_end(struct progress *pg, int ok, const char *summary)
{
    timer_stop(pg->loop, &pg->refresh);
    if (pg->mode == PG_JSON) {
        json_event(pg, json_pack("{s:s,s:b,s:s,s:s}", "event", "end", "ok", ok, "phase",
                                 dstate_phase_name(pg->st->phase), "summary", summary));
        return;
    }
    line(pg, summary);
    pg->ended = 1;
}
