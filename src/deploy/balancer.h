/* The load balancer as baton deploy sees it: one interface, one driver per engine
 * (HAProxy's runtime API, `baton proxy`'s control socket), in the shape of the migrate
 * driver table. A balancer has one or more endpoints (an HA pair: every change goes to
 * all of them, and a server is drained only when every one says so). */
#ifndef BATON_DEPLOY_BALANCER_H
#define BATON_DEPLOY_BALANCER_H

#include <stdint.h>
#include <stdio.h>

#include "core/addr.h"
#include "core/err.h"
#include "core/loop.h"
#include "deploy/dfile.h"

#define BAL_REPLY_MAX (1024 * 1024) /* bytes of one reply kept; more is an error */

enum bal_admin { BAL_READY, BAL_DRAIN, BAL_MAINT };

/* One server, as the endpoints report it (counters summed over the endpoints). */
struct bal_server {
    char name[DF_NAME_MAX];
    int found;             /* endpoints that know it */
    int up;                /* endpoints that send it traffic: health UP and admin ready */
    int drained;           /* endpoints where its admin state is drain or maint */
    long long cur;         /* connections now: sessions + queued + used server conns */
    long long responses;   /* answered requests since the balancer started */
    long long resp_5xx;    /* of which 5xx (HAProxy only) */
    long long conn_errors; /* failed connects + failed responses (econ + eresp) */
    long long rtime_ms;    /* average response time over recent requests (max of endpoints) */
    long long qtime_ms;    /* average queue time (max of endpoints) */
    char status[32];       /* the first endpoint's own word: UP, DRAIN, DOWN 1/2, ... */
};

struct bal_stats {
    struct bal_server *v;
    int n, cap;
};

void bal_stats_free(struct bal_stats *s);
/* The entry for `name`, added (zeroed, found 0) if missing; NULL when out of memory. */
struct bal_server *bal_stats_get(struct bal_stats *s, const char *name);
const struct bal_server *bal_stats_find(const struct bal_stats *s, const char *name);

enum { BAL_OK = 0, BAL_REFUSED = -1, BAL_UNREACHABLE = -2 };

/* rc: BAL_OK, BAL_REFUSED (an endpoint answered with an error: `error` says which and
 * what), or BAL_UNREACHABLE (an endpoint could not be reached in time). */
typedef void (*bal_done_cb)(int rc, const char *error, void *data);
typedef void (*bal_stats_cb)(int rc, const struct bal_stats *st, const char *error, void *data);

struct balancer;

struct balancer_driver {
    const char *name;
    /* Sets `server`'s admin state on every endpoint. */
    int (*set_state)(struct balancer *b, const char *server, enum bal_admin st, bal_done_cb cb,
                     void *data, struct err *e);
    /* Reads every endpoint's view of the backend's servers, merged. */
    int (*stats)(struct balancer *b, bal_stats_cb cb, void *data, struct err *e);
    /* The request set_state sends, as an operator would type it (for --dry-run). */
    void (*describe)(const struct balancer *b, const char *server, enum bal_admin st, char *out,
                     size_t cap);
};

#define BAL_ENDPOINTS_MAX DF_SOCKETS_MAX

struct balancer {
    const struct balancer_driver *drv;
    struct loop *loop;
    const struct dfile *df;
    struct addr endpoints[BAL_ENDPOINTS_MAX];
    char shown[BAL_ENDPOINTS_MAX][DF_PATH_MAX]; /* as the deploy file names them */
    int nendpoints;
    int pending; /* requests in flight (the deploy waits for none at exit) */
};

extern const struct balancer_driver balancer_haproxy_driver;
extern const struct balancer_driver balancer_baton_proxy_driver;

/* The driver of the deploy file's balancer type. */
const struct balancer_driver *balancer_driver_for(const struct dfile *df);
/* A balancer over `paths` (one per [balancer] socket, in order: the forwarded local
 * path of a remote unix socket, else the socket as written). */
int balancer_new(struct loop *loop, const struct dfile *df, const char *const *paths,
                 struct balancer **out, struct err *e);
void balancer_free(struct balancer *b);

const char *bal_admin_name(enum bal_admin st);

/* For the drivers: one operation over several endpoints, answered once all replied.
 * A driver starts a call, sends one or more requests (each reply goes to `parse` with
 * the request's `kind`), then ends it; the worst outcome wins (unreachable, then
 * refused). */
struct bal_call;
typedef int (*bal_parse_fn)(struct bal_call *c, int kind, const char *reply, size_t len,
                            struct bal_stats *st, struct err *e);
struct bal_call *bal_call_new(struct balancer *b, bal_parse_fn parse, bal_done_cb done,
                              bal_stats_cb stats_done, void *data);
/* Sends `request` to endpoint i (line: the reply is one line). */
void bal_call_send(struct bal_call *c, int endpoint, const char *request, int line, int kind);
struct balancer *bal_call_balancer(struct bal_call *c);
/* A driver's whole set_state when its request is its describe() text and a newline,
 * sent alike to every endpoint (`line`: the reply is one line), answered by `parse`
 * with request kind `kind`. */
int bal_set_by_describe(struct balancer *b, bal_parse_fn parse, int line, int kind,
                        const char *server, enum bal_admin st, bal_done_cb cb, void *data,
                        struct err *e);
/* No more requests: the callback runs once the replies are in (never from here). */
void bal_call_end(struct bal_call *c);

#endif
