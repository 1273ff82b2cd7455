/* The data of a `baton load` picture: the 100 ms timeline of a `baton load --json` report
 * and the upgrade's events from a `baton run --log-format json` log, read strictly (both
 * come from files). plot_data.c reads; plot.h draws what it read. */
#ifndef BATON_LOAD_PLOT_DATA_H
#define BATON_LOAD_PLOT_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define PLOT_MAX_VERSIONS 32          /* as many as `baton load` tells apart */
#define PLOT_MAX_BUCKETS  864000      /* a day of 100 ms buckets */
#define PLOT_MAX_EVENTS   10000       /* events drawn */
#define PLOT_MAX_INPUT    (256 << 20) /* bytes of a report or an events file */

struct plot_bucket {
    uint32_t requests, failures;
    int has_latency; /* p50_ms and p99_ms are set (the bucket had answers) */
    double p50_ms, p99_ms;
    uint32_t versions[PLOT_MAX_VERSIONS]; /* answers per version, by index */
};

/* Events drawn: upgrade-requested, rollback-requested, switched, failed, exited, reexec
 * (docs/run.md#logs); others in the file are skipped. */
struct plot_event {
    double t_s; /* since the run's start */
    char name[24];
    unsigned generation; /* 0: none */
};

struct plot_data {
    int64_t start_unix_ms;
    uint32_t bucket_ms; /* 100 */
    struct plot_bucket *buckets;
    size_t nbuckets;
    char versions[PLOT_MAX_VERSIONS][32];
    int nversions;
    uint64_t requests, failed;
    struct plot_event *events;
    size_t nevents;
    size_t skipped_lines; /* lines of the events file that are not JSON (the app's own) */
};

/* Reads the JSON report of `baton load --json` (docs/load.md) from text[0..len): every
 * field the plot uses must be there with its type and range, or e names the field and
 * the bucket. d is overwritten (free it with plot_data_free even after an error). */
int plot_data_from_report(struct plot_data *d, const char *text, size_t len, struct err *e);
/* Adds the events of a JSON-lines log (`baton run --log-format json`) named `name` (for
 * messages): each line that starts with '{' must be a JSON object with a string "time"
 * (RFC 3339, UTC, as the log writes it) and a string "event"; "generation" is a number or
 * null when present. Other lines (the app's own stderr, which shares the master's) are
 * counted in skipped_lines. Events outside the run's time are left out. */
int plot_data_add_events(struct plot_data *d, const char *text, size_t len, const char *name,
                         struct err *e);
void plot_data_free(struct plot_data *d);

/* Parses "2026-12-02T01:36:46.999Z" (milliseconds optional) into Unix milliseconds. */
int plot_parse_time(const char *s, int64_t *unix_ms);

/* Reads a whole file (or stdin for "-") of at most PLOT_MAX_INPUT bytes; caller frees. */
int plot_read_file(const char *path, char **text, size_t *len, struct err *e);

#endif
