/* The Prometheus text exposition format (version 0.0.4), written into a growing
 * buffer: metric families with HELP and TYPE, samples with escaped labels, and
 * histograms with cumulative buckets. Used by every admin listener's /metrics. */
#ifndef BATON_OBS_EXPO_H
#define BATON_OBS_EXPO_H

#include <stddef.h>
#include <stdint.h>

#define EXPO_MAX_BYTES   (16u << 20) /* a page larger than this is refused */
#define HIST_MAX_BUCKETS 16

/* A histogram: counts per bucket (not cumulative; the last one is +Inf), count and
 * sum. Its bounds live with the caller (a static array), so a zeroed struct is empty. */
struct hist {
    uint64_t counts[HIST_MAX_BUCKETS + 1];
    uint64_t count;
    double sum;
};

/* Adds one observation `v` to h, bucketed by the nbounds ascending `bounds`. */
void hist_observe(struct hist *h, const double *bounds, int nbounds, double v);

struct expo {
    char *buf; /* NUL-terminated text so far (owned) */
    size_t len, cap;
    int failed; /* out of memory or over EXPO_MAX_BYTES: the text is incomplete */
};

void expo_init(struct expo *x);
/* Appends raw bytes (the admin listener builds its responses in the same buffer). */
void expo_append(struct expo *x, const char *s, size_t n);
void expo_free(struct expo *x);

/* Starts a family: "# HELP name help" and "# TYPE name type" (counter, gauge,
 * histogram). Samples of one family must follow it, before the next family. */
void expo_family(struct expo *x, const char *name, const char *type, const char *help);
/* One sample: name{k="v",...} value. `labels` is NULL or k, v, k, v, ..., NULL; values
 * are escaped (backslash, double quote, newline). */
void expo_sample(struct expo *x, const char *name, const char *const *labels, double value);
/* A histogram's samples: name_bucket{...,le="B"} for each bound and +Inf, name_sum and
 * name_count. */
void expo_hist(struct expo *x, const char *name, const char *const *labels, const double *bounds,
               int nbounds, const struct hist *h);

#endif
