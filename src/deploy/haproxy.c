/* The HAProxy driver: the runtime API (stats socket, level admin) over unix: or tcp:,
 * one command per connection. Drain, ready and maint are `set server BE/SRV state X`;
 * what a server holds is read from `show stat` (scur, qcur, status, counters) and
 * `show servers conn` (server connections in use). */
#include <stdio.h>
#include <string.h>

#include "deploy/balancer.h"
#include "deploy/hapx.h"

enum { K_SET, K_STAT, K_CONN };

static int parse(struct bal_call *c, int kind, const char *reply, size_t len, struct bal_stats *st,
                 struct err *e)
{
    const char *backend = NULL;
    switch (kind) {
    case K_SET:
        return hapx_parse_set_reply(reply, len, e);
    case K_STAT:
    case K_CONN:
        backend = bal_call_balancer(c)->df->balancer.backend;
        return kind == K_STAT ? hapx_parse_stat(reply, len, backend, st, e)
                              : hapx_parse_servers_conn(reply, len, backend, st, e);
    }
    return err_set(e, "unknown request");
}

static void describe(const struct balancer *b, const char *server, enum bal_admin st, char *out,
                     size_t cap)
{
    snprintf(out, cap, "set server %s/%s state %s", b->df->balancer.backend, server,
             bal_admin_name(st));
}

static int set_state(struct balancer *b, const char *server, enum bal_admin st, bal_done_cb cb,
                     void *data, struct err *e)
{
    return bal_set_by_describe(b, parse, 0, K_SET, server, st, cb, data, e);
}

static int stats(struct balancer *b, bal_stats_cb cb, void *data, struct err *e)
{
    struct bal_call *c = bal_call_new(b, parse, NULL, cb, data);
    if (!c)
        return err_set(e, "out of memory");
    char stat[128], conn[128];
    snprintf(stat, sizeof(stat), "show stat %s 4 -1\n", b->df->balancer.backend);
    snprintf(conn, sizeof(conn), "show servers conn %s\n", b->df->balancer.backend);
    for (int i = 0; i < b->nendpoints; i++) {
        bal_call_send(c, i, stat, 0, K_STAT);
        bal_call_send(c, i, conn, 0, K_CONN);
    }
    bal_call_end(c);
    return 0;
}

const struct balancer_driver balancer_haproxy_driver = {
    .name = "haproxy",
    .set_state = set_state,
    .stats = stats,
    .describe = describe,
};
