/* The bake's verdict from balancer counters: 5xx share, connection errors and response
 * time of the canary against the baseline (servers still on the previous release). */
#include "deploy/verify.h"

#include <stdio.h>
#include <string.h>

/* Response-time differences below this are noise, not a regression. */
#define VERIFY_RTIME_FLOOR_MS 5

void verify_group_sum(const struct bal_stats *before, const struct bal_stats *after,
                      const char *const *names, int n, int worst, struct verify_group *out)
{
    memset(out, 0, sizeof(*out));
    long long rtime_sum = 0;
    for (int i = 0; i < n; i++) {
        const struct bal_server *a = bal_stats_find(after, names[i]);
        const struct bal_server *b = bal_stats_find(before, names[i]);
        if (!a)
            continue;
        long long resp = a->responses - (b ? b->responses : 0);
        long long r5 = a->resp_5xx - (b ? b->resp_5xx : 0);
        long long ce = a->conn_errors - (b ? b->conn_errors : 0);
        /* a balancer restarted during the bake resets its counters: count from zero */
        out->responses += resp < 0 ? a->responses : resp;
        out->resp_5xx += r5 < 0 ? a->resp_5xx : r5;
        out->conn_errors += ce < 0 ? a->conn_errors : ce;
        out->servers++;
        rtime_sum += a->rtime_ms;
        if (a->rtime_ms > out->rtime_ms && worst)
            out->rtime_ms = a->rtime_ms;
    }
    if (!worst && out->servers)
        out->rtime_ms = rtime_sum / out->servers;
}

static double rate(long long part, long long whole)
{
    return whole > 0 ? (double)part / (double)whole : 0.0;
}

int verify_judge(const struct dfile *df, const struct verify_group *canary,
                 const struct verify_group *baseline, char *report, size_t cap)
{
    double c5 = rate(canary->resp_5xx, canary->responses);
    double b5 = rate(baseline->resp_5xx, baseline->responses);
    int n = snprintf(report, cap,
                     "canary: %lld requests, %.2f%% 5xx, %lld connection errors, rtime %lldms; "
                     "baseline: %lld requests, %.2f%% 5xx, rtime %lldms",
                     canary->responses, c5 * 100, canary->conn_errors, canary->rtime_ms,
                     baseline->responses, b5 * 100, baseline->rtime_ms);
    char *why = report + (n > 0 && (size_t)n < cap ? n : 0);
    size_t left = cap - (size_t)(why - report);
    if (canary->responses < df->rollout.verify_min_requests) {
        snprintf(why, left, " -- fewer requests than verify-min-requests %ld",
                 df->rollout.verify_min_requests);
        return 0;
    }
    if (c5 > b5 + df->rollout.verify_5xx_rate) {
        snprintf(why, left,
                 " -- 5xx share above the baseline's by more than verify-5xx-rate %.2f%%",
                 df->rollout.verify_5xx_rate * 100);
        return 0;
    }
    if (canary->conn_errors > df->rollout.verify_conn_errors) {
        snprintf(why, left, " -- more connection errors than verify-conn-errors %ld",
                 df->rollout.verify_conn_errors);
        return 0;
    }
    double ratio = df->rollout.verify_rtime_ratio;
    long long base =
        baseline->rtime_ms > VERIFY_RTIME_FLOOR_MS ? baseline->rtime_ms : VERIFY_RTIME_FLOOR_MS;
    if (ratio > 0 && (double)canary->rtime_ms > ratio * (double)base) {
        snprintf(why, left, " -- response time above verify-rtime-ratio %.2fx the baseline's",
                 ratio);
        return 0;
    }
    return 1;
}
