/* The proxy's metrics, status and actions for its admin listener: read from the backend
 * table and the engine's counters at scrape time; actions go through proxy_command, the
 * same path as the control socket's. */
#include "proxy/observe.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "proxy/conn.h"

static const double rt_bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                   0.25,  0.5,    1,     2.5,  5,     10};
#define NRT_BOUNDS ((int)(sizeof(rt_bounds) / sizeof(rt_bounds[0])))

void proxy_count_response(struct backend *b, int status, uint64_t ms)
{
    if (!b || status < 100 || status > 599)
        return;
    b->resp[status / 100 - 1]++;
    hist_observe(&b->rtime, rt_bounds, NRT_BOUNDS, (double)ms / 1000.0);
}

/* One counter or gauge family with one sample per backend, read by `get`. */
static void per_backend(struct expo *x, struct proxy *p, const char *name, const char *type,
                        const char *help, double (*get)(const struct backend *b))
{
    expo_family(x, name, type, help);
    for (struct backend *b = pool_first(p->table); b; b = b->next)
        expo_sample(x, name, (const char *[]){"pool", b->pool, "backend", b->name, NULL}, get(b));
}

static double get_conns(const struct backend *b)
{
    return (double)b->conns;
}
static double get_total(const struct backend *b)
{
    return (double)b->total;
}
static double get_failures(const struct backend *b)
{
    return (double)b->failures;
}
static double get_retries(const struct backend *b)
{
    return (double)b->retries;
}
static double get_sent(const struct backend *b)
{
    return (double)b->bytes[0];
}
static double get_received(const struct backend *b)
{
    return (double)b->bytes[1];
}

static void write_states(struct expo *x, struct proxy *p)
{
    expo_family(x, "baton_proxy_backend_state", "gauge",
                "1 for the state each backend is in (up, down, draining, drained).");
    for (struct backend *b = pool_first(p->table); b; b = b->next)
        for (int s = 0; s < BACKEND_NSTATES; s++)
            expo_sample(x, "baton_proxy_backend_state",
                        (const char *[]){"pool", b->pool, "backend", b->name, "state",
                                         backend_state_name((enum backend_state)s), NULL},
                        b->state == (enum backend_state)s);
    expo_family(x, "baton_proxy_pool_active", "gauge", "1 for the pool that takes new traffic.");
    for (struct backend *b = pool_first(p->table); b; b = b->next) {
        int first = 1; /* one sample per pool: at its first backend */
        for (struct backend *o = pool_first(p->table); o != b; o = o->next)
            first &= strcmp(o->pool, b->pool) != 0;
        if (first)
            expo_sample(x, "baton_proxy_pool_active", (const char *[]){"pool", b->pool, NULL},
                        strcmp(b->pool, pool_active(p->table)) == 0);
    }
}

static void write_http(struct expo *x, struct proxy *p)
{
    static const char *const classes[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
    expo_family(x, "baton_proxy_backend_responses_total", "counter",
                "Responses relayed from each backend, by status class.");
    for (struct backend *b = pool_first(p->table); b; b = b->next)
        for (int i = 0; i < 5; i++)
            expo_sample(
                x, "baton_proxy_backend_responses_total",
                (const char *[]){"pool", b->pool, "backend", b->name, "code", classes[i], NULL},
                (double)b->resp[i]);
    expo_family(x, "baton_proxy_backend_response_seconds", "histogram",
                "From the first byte of a request to the backend's response head.");
    for (struct backend *b = pool_first(p->table); b; b = b->next)
        expo_hist(x, "baton_proxy_backend_response_seconds",
                  (const char *[]){"pool", b->pool, "backend", b->name, NULL}, rt_bounds,
                  NRT_BOUNDS, &b->rtime);
}

void proxy_observe_metrics(void *proxy, struct expo *x)
{
    struct proxy *p = proxy;
    int http = p->cfg.mode == PROXY_HTTP;
    write_states(x, p);
    per_backend(x, p, "baton_proxy_backend_connections", "gauge",
                "Connections open to each backend (http: busy with a request).", get_conns);
    per_backend(
        x, p, http ? "baton_proxy_backend_requests_total" : "baton_proxy_backend_connections_total",
        "counter", http ? "Requests sent to each backend." : "Connections relayed to each backend.",
        get_total);
    per_backend(x, p, "baton_proxy_backend_connect_errors_total", "counter",
                "Connects to each backend that failed or timed out.", get_failures);
    per_backend(x, p, "baton_proxy_backend_retries_total", "counter",
                "Failed tries of each backend that were retried on another.", get_retries);
    if (http) {
        write_http(x, p);
    } else {
        per_backend(x, p, "baton_proxy_backend_sent_bytes_total", "counter",
                    "Bytes relayed from clients to each backend.", get_sent);
        per_backend(x, p, "baton_proxy_backend_received_bytes_total", "counter",
                    "Bytes relayed from each backend to clients.", get_received);
    }
    expo_family(x, "baton_proxy_connections", "gauge", "Client connections open now.");
    expo_sample(x, "baton_proxy_connections", NULL, (double)p->nconns);
    expo_family(x, "baton_proxy_connections_accepted_total", "counter",
                "Client connections accepted on every listener.");
    expo_sample(x, "baton_proxy_connections_accepted_total", NULL, (double)p->accepted);
    expo_family(x, "baton_proxy_accept_paused_total", "counter",
                "Times --max-conns was reached and accepting paused.");
    expo_sample(x, "baton_proxy_accept_paused_total", NULL, (double)p->refused_full);
}

static json_t *observe_status(void *proxy)
{
    json_t *req = json_pack("{s:s}", "cmd", "backend-list");
    json_t *reply = proxy_command(proxy, req);
    json_decref(req);
    json_object_del(reply, "ok");
    return reply;
}

/* drain and enable {"backend":NAME[,"timeout_ms":N]}, switch {"pool":POOL}: the runtime
 * commands backend-drain, backend-enable and switch, checked there. */
static json_t *observe_action(void *proxy, const char *action, json_t *args, int *http_status)
{
    const char *cmd = strcmp(action, "drain") == 0    ? "backend-drain"
                      : strcmp(action, "enable") == 0 ? "backend-enable"
                      : strcmp(action, "switch") == 0 ? "switch"
                                                      : NULL;
    if (!cmd)
        return NULL;
    static const char *const keys[][2] = {{"backend", "name"},
                                          {"pool", "pool"},
                                          {"timeout_ms", "timeout_ms"},
                                          {"drain_timeout_ms", "drain_timeout_ms"}};
    json_t *req = json_pack("{s:s}", "cmd", cmd);
    const char *key;
    json_t *v;
    json_object_foreach(args, key, v)
    {
        int known = 0;
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
            if (strcmp(key, keys[i][0]) == 0) {
                json_object_set(req, keys[i][1], v);
                known = 1;
            }
        if (!known) {
            json_decref(req);
            *http_status = 400;
            return json_pack(
                "{s:b,s:s}", "ok", 0, "error",
                "unknown field; expected backend, pool, timeout_ms or drain_timeout_ms");
        }
    }
    json_t *reply = proxy_command(proxy, req);
    json_decref(req);
    int ok = json_is_true(json_object_get(reply, "ok"));
    *http_status = ok ? 200 : 409;
    if (ok)
        log_info("admin: %s done", action);
    return reply;
}

int proxy_observe_open(struct admin **out, struct proxy *p, const char *addr,
                       const char *token_file, struct err *e)
{
    struct admin_hooks h = {.role = "proxy",
                            .metrics = proxy_observe_metrics,
                            .status = observe_status,
                            .action = observe_action,
                            .data = p};
    return admin_open(out, p->loop, addr, token_file, &h, e);
}
