/* The proxy's backend table: backends grouped in pools (one pool active at a time),
 * their admin and health state, balancing (weighted round robin, least connections),
 * and the table as JSON (for `backend list` and the state file).
 *
 * Backend state machine (admin drain/enable, health checks, connections ending):
 *
 *           health_fail               drain (conns > 0)
 *     UP --------------> DOWN      UP/DOWN -----------> DRAINING
 *      ^ <--------------               |                   | last conn ends
 *      |   health_ok                   | drain (conns==0)  v
 *      |                               +-------------> DRAINED
 *      +---- enable (health up) ---- DRAINING/DRAINED  (enable with health down -> DOWN)
 *
 * Transition -> function: every event goes through backend_event(), which reads
 * backend_next[state][event]; health is kept as a separate bit so that `enable`
 * lands on UP or DOWN according to the last check. */
#ifndef BATON_PROXY_POOL_H
#define BATON_PROXY_POOL_H

#include <jansson.h>
#include <stdint.h>

#include "core/addr.h"
#include "core/err.h"
#include "obs/expo.h"

#define POOL_NAME_MAX     64
#define POOL_DEFAULT      "default"
#define POOL_BACKENDS_MAX 1024
#define POOL_WEIGHT_MAX   1000

enum backend_state { BACKEND_UP, BACKEND_DOWN, BACKEND_DRAINING, BACKEND_DRAINED, BACKEND_NSTATES };
enum backend_event {
    BEV_HEALTH_OK,
    BEV_HEALTH_FAIL,
    BEV_DRAIN,
    BEV_ENABLE,
    BEV_CONNS_ZERO,
    BEV_NEVENTS
};
enum pool_balance { BALANCE_ROUNDROBIN, BALANCE_LEASTCONN };

struct backend {
    char name[ADDR_NAME_MAX];
    char pool[POOL_NAME_MAX];
    struct addr addr;
    int weight;
    enum backend_state state;
    int healthy;          /* last health verdict (1 until a check or a refused connect) */
    int switch_drained;   /* drained by a pool switch (a switch back enables it) */
    int removed;          /* gone from the table; freed when its last connection ends */
    int refs;             /* connections and checks holding a pointer to it */
    uint64_t conns;       /* live client connections relayed to it (tcp) / backend
                             connections held open for clients (http) */
    uint64_t total;       /* connections (tcp) or requests (http) sent to it, ever */
    uint64_t failures;    /* connects that failed */
    uint64_t retries;     /* failed tries of it retried on another backend */
    uint64_t bytes[2];    /* tcp: relayed to it [0] and from it [1] */
    uint64_t resp[5];     /* http: responses by status class 1xx..5xx */
    struct hist rtime;    /* http: request begun -> response head (s) */
    int64_t rr_current;   /* smooth weighted round robin */
    uint64_t drain_until; /* monotonic ms deadline that cuts its connections, 0 = none */
    void *conn_list;      /* owned by the proxy engine: its connections to this backend */
    void *idle_list;      /* http: idle keep-alive connections to it, for any client */
    int nidle;
    struct backend *next;
    void *health; /* owned by the health checker */
};

struct pool_table;

int pool_table_new(struct pool_table **out, enum pool_balance balance, struct err *e);
/* Frees the table and every backend not referenced any more (referenced ones are freed
 * by pool_backend_unref). */
void pool_table_free(struct pool_table *t);

/* Parses "[POOL/]NAME=HOST:PORT[,weight=W]" into the fields of a new backend (not
 * added). Caller frees. */
int pool_parse_spec(const char *spec, struct backend **out, struct err *e);
/* Adds b (ownership passes to the table). Fails on a duplicate name or a full table. */
int pool_add(struct pool_table *t, struct backend *b, struct err *e);
/* Adds from a spec string; *out (may be NULL) is the new backend. */
int pool_add_spec(struct pool_table *t, const char *spec, struct backend **out, struct err *e);
struct backend *pool_find(struct pool_table *t, const char *name);
/* Takes b out of the table (its connections keep it alive until they end). */
void pool_remove(struct pool_table *t, struct backend *b);
int pool_set_weight(struct pool_table *t, const char *name, int weight, struct err *e);

/* Feeds an event to b's state machine; returns 1 if the state changed. */
int backend_event(struct backend *b, enum backend_event ev);
const char *backend_state_name(enum backend_state s);
/* Whether new connections may go to b: in the active pool, UP, weight > 0. */
int pool_eligible(const struct pool_table *t, const struct backend *b);

/* Picks a backend for a new connection, skipping the `nskip` ones in `skip`. NULL when
 * no backend is eligible. */
struct backend *pool_pick(struct pool_table *t, struct backend *const *skip, int nskip);

/* Connection accounting: a connection holds a reference while it uses b. */
void pool_backend_ref(struct backend *b);
/* Drops a reference; frees a removed backend when the last one goes. */
void pool_backend_unref(struct backend *b);
void pool_conn_opened(struct backend *b);
/* Returns 1 if b just became DRAINED. */
int pool_conn_closed(struct backend *b);

const char *pool_active(const struct pool_table *t);
int pool_exists(const struct pool_table *t, const char *pool);
/* Makes `pool` the active one: its backends that a previous switch drained are enabled,
 * every backend of the other pools is drained with deadline drain_until (0 = none). */
int pool_switch(struct pool_table *t, const char *pool, uint64_t drain_until, struct err *e);
void pool_set_active(struct pool_table *t, const char *pool);
enum pool_balance pool_balance_mode(const struct pool_table *t);

/* Iteration over the table (in insertion order). */
struct backend *pool_first(struct pool_table *t);

/* The table as {"active_pool":..,"balance":..,"backends":[..]} (new reference). With
 * persist, only what the state file keeps (no counters). */
json_t *pool_to_json(struct pool_table *t, int persist);
/* Replaces the table's backends with those of a state-file document. */
int pool_from_json(struct pool_table *t, json_t *doc, struct err *e);

/* Writes the table to `path` atomically (temporary file, fsync, rename). */
int pool_save(struct pool_table *t, const char *path, struct err *e);
/* Loads `path` into t; returns 0 if loaded, 1 if the file does not exist, -1 on error. */
int pool_load(struct pool_table *t, const char *path, struct err *e);

#endif
