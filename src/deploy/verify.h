/* The bake's verdict: the balancer's own counters of the canary servers, taken at the
 * start and the end of the bake, against those of the servers not upgraded yet over
 * the same window. Pure: numbers in, a verdict and its reasons out. */
#ifndef BATON_DEPLOY_VERIFY_H
#define BATON_DEPLOY_VERIFY_H

#include <stddef.h>

#include "deploy/balancer.h"
#include "deploy/dfile.h"

/* What one group of servers did during the bake. */
struct verify_group {
    long long responses, resp_5xx, conn_errors;
    long long rtime_ms; /* canary: the largest average; baseline: the mean of averages */
    int servers;
};

/* Sums the counters of `names` between `before` and `after` (a server missing from
 * either counts as nothing). `worst`: rtime is the largest, else the mean. */
void verify_group_sum(const struct bal_stats *before, const struct bal_stats *after,
                      const char *const *names, int n, int worst, struct verify_group *out);

/* 1 when the canary passes df's [rollout] verify-* thresholds, 0 when it does not;
 * `report` says what was measured and, on failure, which threshold was crossed. */
int verify_judge(const struct dfile *df, const struct verify_group *canary,
                 const struct verify_group *baseline, char *report, size_t cap);

#endif
