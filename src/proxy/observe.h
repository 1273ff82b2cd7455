/* What `baton proxy --metrics ADDR` shows: the admin listener (src/obs/admin.h) with the
 * proxy's metrics (per backend and pool: state, connections, requests by status class,
 * bytes, connect errors and retries, response times; accepted connections), the backend
 * table for the status page, and drain, enable and switch behind the admin token. */
#ifndef BATON_PROXY_OBSERVE_H
#define BATON_PROXY_OBSERVE_H

#include <stdint.h>

#include "core/err.h"
#include "obs/admin.h"
#include "proxy/pool.h"
#include "proxy/proxy.h"

/* Opens the admin listener on `addr` for p (token_file may be NULL: read-only). */
int proxy_observe_open(struct admin **out, struct proxy *p, const char *addr,
                       const char *token_file, struct err *e);

/* http: a response head from b with `status`, `ms` after its request began. */
void proxy_count_response(struct backend *b, int status, uint64_t ms);

/* Writes the proxy's metrics (exposed for the unit tests). */
void proxy_observe_metrics(void *proxy, struct expo *x);

#endif
