/* What `baton proxy --metrics ADDR` shows: the admin listener (src/obs/admin.h) with the
 * proxy's metrics (per backend and pool: state, connections, requests by status class,
 * bytes, connect errors and retries, response times; per listener: accepted clients and
 * the limits that held them back), the backend table for the status page, and drain,
 * enable and switch behind the admin token.
 *
 * The metrics go through a JSON snapshot of the counters (the runtime command
 * "metrics"), so that the parent of `--workers N` can ask each worker for its snapshot
 * over the channel it already has, add them up (proxy_observe_sum) and write the sum. */
#ifndef BATON_PROXY_OBSERVE_H
#define BATON_PROXY_OBSERVE_H

#include <jansson.h>
#include <stdint.h>

#include "core/err.h"
#include "obs/admin.h"
#include "proxy/pool.h"
#include "proxy/proxy.h"

struct conn;
struct buf;

/* How the admin listener reaches the proxy: one runtime command in, its reply out (a
 * new reference), as proxy_command answers it. */
typedef json_t *(*proxy_observe_cmd)(void *data, json_t *req);

/* Opens the admin listener on `addr` (token_file may be NULL: read-only); its requests
 * become commands through cmd(data, ...). */
int proxy_observe_open(struct admin **out, struct loop *loop, const char *addr,
                       const char *token_file, proxy_observe_cmd cmd, void *data, struct err *e);

/* http: a response head from b with `status`, `ms` after its request began. */
void proxy_count_response(struct backend *b, int status, uint64_t ms);
/* http: buf_write and buf_read on c's backend socket (same results), counting the bytes
 * that moved in its backend's sent and received totals. */
int proxy_backend_send(struct conn *c, struct buf *b);
int proxy_backend_recv(struct conn *c, struct buf *b, int *drained);
/* Bytes that moved to (dir 0) or from (dir 1) backend b (NULL: none). */
static inline void proxy_count_bytes(struct backend *b, int dir, uint64_t n)
{
    if (b)
        b->bytes[dir] += n;
}

/* The counters of p: {"ok":true,"mode":..,"active_pool":..,"connections":N,
 * "backends":[{"pool","name","state",counters..}],"listeners":[{"name",counters..}]}
 * (new reference; the reply of the runtime command "metrics"). */
json_t *proxy_observe_counters(struct proxy *p);
/* Adds the counters `in` (another worker's snapshot) into `sum`: numbers add up (gauges
 * of open connections and queues too), backends and listeners are matched by name, and
 * a backend draining in any worker is draining. */
void proxy_observe_sum(json_t *sum, json_t *in);
/* Writes a snapshot as Prometheus text; entries that are not well formed are skipped.
 * -1 if `counters` is not a successful snapshot. */
int proxy_observe_write(json_t *counters, struct expo *x);

#endif
