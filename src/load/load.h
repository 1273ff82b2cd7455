/* `baton load`: an HTTP/1.1 load generator that verifies zero downtime. It keeps N
 * connections busy (keep-alive, or a new connection per request), classifies every
 * failure, and records which version answered, per 100 ms, until the run ends: at its
 * duration, or when the caller's scenario says so (a file appears, a signal). */
#ifndef BATON_LOAD_LOAD_H
#define BATON_LOAD_LOAD_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "core/err.h"
#include "load/response.h"

struct load_opts {
    const char *url;       /* http://HOST:PORT/PATH */
    int connections;       /* concurrent connections (default 8) */
    int close_each;        /* a new connection per request */
    double duration_s;     /* run length (default 5), unless until_file is set */
    uint64_t max_requests; /* stop after this many requests (0 = no limit) */
    int timeout_ms;        /* per request (default 5000) */
    /* The run ends once this path exists (polled every 10 ms), or at max_duration_s,
     * whichever comes first; duration_s is then unused. NULL: the run lasts duration_s. */
    const char *until_file;
    double max_duration_s; /* the hard cap of an until_file run (must be > 0 with it) */
    /* SIGINT and SIGTERM end the run early, with its figures: in-flight requests are
     * finished first; a second signal ends it at once. The signals stay blocked after
     * load_run returns (the caller is expected to report and exit). */
    int stop_on_signal;
    /* When set, each 100 ms bucket of the timeline is written here as one JSON line (the
     * object of the report's "timeline" array) once it is over, and flushed. */
    FILE *live;
};

/* Why a run ended (load_result_json's "ended"). */
enum load_end {
    LOAD_END_DURATION,     /* duration_s elapsed */
    LOAD_END_REQUESTS,     /* max_requests were sent and answered */
    LOAD_END_FILE,         /* until_file appeared */
    LOAD_END_MAX_DURATION, /* max_duration_s elapsed before until_file appeared */
    LOAD_END_SIGNAL,       /* SIGINT or SIGTERM */
};

enum load_failure {
    LOAD_FAIL_CONNECT,
    LOAD_FAIL_RESET,
    LOAD_FAIL_TIMEOUT,
    LOAD_FAIL_PREMATURE_CLOSE,
    LOAD_FAIL_BAD_STATUS,
    LOAD_FAIL_KINDS
};

struct load_result;

/* Runs the load to its end. *out (caller frees with load_result_free) holds the figures. */
int load_run(const struct load_opts *opts, struct load_result **out, struct err *e);

uint64_t load_result_failed(const struct load_result *r);
enum load_end load_result_end(const struct load_result *r);
const char *load_end_name(enum load_end end);
/* The figures as JSON (new reference); the layout is documented in docs/load.md. */
json_t *load_result_json(const struct load_result *r);
/* A human-readable report. */
void load_result_print(const struct load_result *r, FILE *out);
void load_result_free(struct load_result *r);

/* Splits an http:// URL; fills host_port ("HOST:PORT", port 80 if absent) and path. */
int load_parse_url(const char *url, char *host_port, size_t hp_size, char *path, size_t path_size,
                   struct err *e);

#endif
