/* The proxy's metrics, status and actions for its admin listener: a snapshot of the
 * backend table's and the listeners' counters, taken at scrape time (a worker's, or the
 * sum of every worker's), written as Prometheus text; actions go through the runtime
 * commands, the same path as the control socket's. */
#include "proxy/observe.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/log.h"
#include "proxy/buf.h"
#include "proxy/conn.h"

static const double rt_bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                   0.25,  0.5,    1,     2.5,  5,     10};
#define NRT_BOUNDS ((int)(sizeof(rt_bounds) / sizeof(rt_bounds[0])))

static const char *const resp_classes[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
static const char *const limit_names[LIMIT_N] = {"max_conns", "fds"};

void proxy_count_response(struct backend *b, int status, uint64_t ms)
{
    if (!b || status < 100 || status > 599)
        return;
    b->resp[status / 100 - 1]++;
    hist_observe(&b->rtime, rt_bounds, NRT_BOUNDS, (double)ms / 1000.0);
}

int proxy_backend_send(struct conn *c, struct buf *b)
{
    size_t before = buf_pending(b);
    int r = buf_write(c->bfd, b);
    if (r > 0)
        proxy_count_bytes(c->backend, 0, before - buf_pending(b));
    return r;
}

int proxy_backend_recv(struct conn *c, struct buf *b, int *drained)
{
    size_t before = buf_pending(b);
    int r = buf_read(c->bfd, b, drained);
    if (r > 0)
        proxy_count_bytes(c->backend, 1, buf_pending(b) - before);
    return r;
}

/* --- the snapshot ------------------------------------------------------------------ */

static json_t *u64(uint64_t v)
{
    return json_integer((json_int_t)v);
}

static json_t *backend_counters(const struct backend *b)
{
    json_t *resp = json_array(), *buckets = json_array();
    for (int i = 0; i < 5; i++)
        json_array_append_new(resp, u64(b->resp[i]));
    for (int i = 0; i <= NRT_BOUNDS; i++)
        json_array_append_new(buckets, u64(b->rtime.counts[i]));
    return json_pack("{s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:{s:o,s:o,s:f}}", "pool", b->pool,
                     "name", b->name, "state", backend_state_name(b->state), "connections",
                     u64(b->conns), "total", u64(b->total), "failures", u64(b->failures), "retries",
                     u64(b->retries), "sent_bytes", u64(b->bytes[0]), "received_bytes",
                     u64(b->bytes[1]), "responses", resp, "response_seconds", "buckets", buckets,
                     "count", u64(b->rtime.count), "sum", b->rtime.sum);
}

static json_t *listener_counters(const struct listener *l)
{
    json_t *o = json_pack("{s:s,s:o}", "name", l->name, "accepted", u64(l->accepted));
    json_t *limited = json_object();
    for (int i = 0; i < LIMIT_N; i++)
        json_object_set_new(limited, limit_names[i], u64(l->limited[i]));
    json_object_set_new(o, "limited", limited);
    struct tcp_info ti;
    socklen_t len = sizeof(ti);
    if (l->tcp && getsockopt(l->w.fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 &&
        ti.tcpi_state == TCP_LISTEN) {
        /* on a listening socket: the accept queue's length and its capacity */
        json_object_set_new(o, "queued", u64(ti.tcpi_unacked));
        json_object_set_new(o, "backlog", u64(ti.tcpi_sacked));
    }
    return o;
}

static void add_named(json_t *arr, json_t *entry);

json_t *proxy_observe_counters(struct proxy *p)
{
    json_t *backends = json_array(), *listeners = json_array();
    for (struct backend *b = pool_first(p->table); b; b = b->next)
        json_array_append_new(backends, backend_counters(b));
    for (struct listener *l = p->listeners; l; l = l->next) {
        json_t *one = listener_counters(l);
        add_named(listeners, one); /* two sockets on one address are one listener */
        json_decref(one);
    }
    return json_pack("{s:b,s:s,s:s,s:o,s:o,s:o}", "ok", 1, "mode",
                     p->cfg.mode == PROXY_HTTP ? "http" : "tcp", "active_pool",
                     pool_active(p->table), "connections", u64(p->nconns), "backends", backends,
                     "listeners", listeners);
}

/* --- adding snapshots up -------------------------------------------------------------- */

static void add_values(json_t *sum, json_t *in);

/* Adds entry into the array's entry of the same "name", or appends a copy. */
static void add_named(json_t *arr, json_t *entry)
{
    const char *name = json_string_value(json_object_get(entry, "name"));
    if (!name)
        return;
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
    {
        const char *n = json_string_value(json_object_get(e, "name"));
        if (n && strcmp(n, name) == 0) {
            add_values(e, entry);
            return;
        }
    }
    json_array_append_new(arr, json_deep_copy(entry));
}

/* One value of `in` into the one of `sum` under the same key: numbers add up, arrays of
 * numbers element by element, arrays of named objects by name, objects key by key. */
static json_t *add_value(const char *key, json_t *s, json_t *v)
{
    if (json_is_integer(s) && json_is_integer(v))
        return json_integer(json_integer_value(s) + json_integer_value(v));
    if (json_is_number(s) && json_is_number(v))
        return json_real(json_number_value(s) + json_number_value(v));
    if (json_is_object(s) && json_is_object(v)) {
        add_values(s, v);
    } else if (json_is_array(s) && json_is_array(v)) {
        size_t i;
        json_t *e;
        int numbers = json_array_size(s) == json_array_size(v);
        json_array_foreach(s, i, e) numbers &= json_is_number(e);
        json_array_foreach(v, i, e)
        {
            if (json_is_object(e))
                add_named(s, e);
            else if (numbers)
                json_array_set_new(s, i, add_value(NULL, json_array_get(s, i), e));
        }
    } else if (key && strcmp(key, "state") == 0 && json_is_string(v) &&
               strcmp(json_string_value(v), "draining") == 0) {
        return json_string("draining"); /* connections left in one worker */
    }
    return json_incref(s);
}

static void add_values(json_t *sum, json_t *in)
{
    const char *key;
    json_t *v;
    json_object_foreach(in, key, v)
    {
        json_t *s = json_object_get(sum, key);
        if (!s)
            json_object_set(sum, key, v);
        else
            json_object_set_new(sum, key, add_value(key, s, v));
    }
}

void proxy_observe_sum(json_t *sum, json_t *in)
{
    if (json_is_object(sum) && json_is_object(in))
        add_values(sum, in);
}

/* --- the exposition ------------------------------------------------------------------- */

/* A backend entry of a snapshot: its pool and name, or 0 (not well formed: skipped). */
static int backend_labels(json_t *b, const char **pool, const char **name)
{
    *pool = json_string_value(json_object_get(b, "pool"));
    *name = json_string_value(json_object_get(b, "name"));
    return *pool && *name;
}

/* One family with one sample per backend: its number under `key`. */
static void per_backend(struct expo *x, json_t *backends, const char *name, const char *type,
                        const char *help, const char *key)
{
    size_t i;
    json_t *b;
    const char *pool, *bname;
    expo_family(x, name, type, help);
    json_array_foreach(backends, i, b)
    {
        json_t *v = json_object_get(b, key);
        if (backend_labels(b, &pool, &bname) && json_is_number(v))
            expo_sample(x, name, (const char *[]){"pool", pool, "backend", bname, NULL},
                        json_number_value(v));
    }
}

static void write_states(struct expo *x, json_t *backends, const char *active)
{
    size_t i, j;
    json_t *b, *o;
    const char *pool, *name, *opool, *oname;
    expo_family(x, "baton_proxy_backend_state", "gauge",
                "1 for the state each backend is in (up, down, draining, drained).");
    json_array_foreach(backends, i, b)
    {
        const char *state = json_string_value(json_object_get(b, "state"));
        for (int s = 0; state && backend_labels(b, &pool, &name) && s < BACKEND_NSTATES; s++) {
            const char *sn = backend_state_name((enum backend_state)s);
            expo_sample(x, "baton_proxy_backend_state",
                        (const char *[]){"pool", pool, "backend", name, "state", sn, NULL},
                        strcmp(state, sn) == 0);
        }
    }
    expo_family(x, "baton_proxy_pool_active", "gauge", "1 for the pool that takes new traffic.");
    json_array_foreach(backends, i, b)
    {
        int first = backend_labels(b, &pool, &name); /* one sample per pool: its first backend */
        json_array_foreach(backends, j, o)
        {
            if (j >= i)
                break;
            first &= !backend_labels(o, &opool, &oname) || strcmp(opool, pool) != 0;
        }
        if (first)
            expo_sample(x, "baton_proxy_pool_active", (const char *[]){"pool", pool, NULL},
                        active && strcmp(pool, active) == 0);
    }
}

/* A histogram of a snapshot, if it has the shape of rt_bounds. */
static int read_hist(json_t *o, struct hist *h)
{
    json_t *buckets = json_object_get(o, "buckets"), *v;
    size_t i;
    memset(h, 0, sizeof(*h));
    if (json_array_size(buckets) != (size_t)NRT_BOUNDS + 1 ||
        !json_is_integer(json_object_get(o, "count")) || !json_is_number(json_object_get(o, "sum")))
        return 0;
    json_array_foreach(buckets, i, v)
    {
        if (!json_is_integer(v))
            return 0;
        h->counts[i] = (uint64_t)json_integer_value(v);
    }
    h->count = (uint64_t)json_integer_value(json_object_get(o, "count"));
    h->sum = json_number_value(json_object_get(o, "sum"));
    return 1;
}

static void write_http(struct expo *x, json_t *backends)
{
    size_t i;
    json_t *b;
    const char *pool, *name;
    expo_family(x, "baton_proxy_backend_responses_total", "counter",
                "Responses relayed from each backend, by status class.");
    json_array_foreach(backends, i, b)
    {
        json_t *resp = json_object_get(b, "responses");
        for (int c = 0; backend_labels(b, &pool, &name) && json_array_size(resp) == 5 && c < 5; c++)
            expo_sample(
                x, "baton_proxy_backend_responses_total",
                (const char *[]){"pool", pool, "backend", name, "code", resp_classes[c], NULL},
                json_number_value(json_array_get(resp, (size_t)c)));
    }
    expo_family(x, "baton_proxy_backend_response_seconds", "histogram",
                "From the first byte of a request to the backend's response head.");
    json_array_foreach(backends, i, b)
    {
        struct hist h;
        if (backend_labels(b, &pool, &name) &&
            read_hist(json_object_get(b, "response_seconds"), &h))
            expo_hist(x, "baton_proxy_backend_response_seconds",
                      (const char *[]){"pool", pool, "backend", name, NULL}, rt_bounds, NRT_BOUNDS,
                      &h);
    }
}

/* One family with one sample per listener: its number under `key` (listeners without
 * it, such as unix sockets for the queue, have no sample). */
static void per_listener(struct expo *x, json_t *listeners, const char *name, const char *type,
                         const char *help, const char *key)
{
    size_t i;
    json_t *l;
    expo_family(x, name, type, help);
    json_array_foreach(listeners, i, l)
    {
        const char *lname = json_string_value(json_object_get(l, "name"));
        json_t *v = json_object_get(l, key);
        if (lname && json_is_number(v))
            expo_sample(x, name, (const char *[]){"listener", lname, NULL}, json_number_value(v));
    }
}

static void write_listeners(struct expo *x, json_t *listeners)
{
    size_t i;
    json_t *l;
    per_listener(x, listeners, "baton_proxy_listener_accepted_total", "counter",
                 "Client connections accepted on each listener.", "accepted");
    expo_family(x, "baton_proxy_listener_limited_total", "counter",
                "Times accepting on a listener stopped at a limit while clients waited (they "
                "wait in the kernel's queue): max_conns (--max-conns open) or fds (out of file "
                "descriptors or memory).");
    json_array_foreach(listeners, i, l)
    {
        const char *lname = json_string_value(json_object_get(l, "name"));
        json_t *limited = json_object_get(l, "limited");
        for (int k = 0; lname && k < LIMIT_N; k++) {
            json_t *v = json_object_get(limited, limit_names[k]);
            if (json_is_number(v))
                expo_sample(x, "baton_proxy_listener_limited_total",
                            (const char *[]){"listener", lname, "limit", limit_names[k], NULL},
                            json_number_value(v));
        }
    }
    per_listener(x, listeners, "baton_proxy_listener_queued", "gauge",
                 "Clients waiting in the kernel's accept queue of each TCP listener.", "queued");
    per_listener(x, listeners, "baton_proxy_listener_backlog", "gauge",
                 "The capacity of each TCP listener's accept queue (summed over workers).",
                 "backlog");
}

int proxy_observe_write(json_t *counters, struct expo *x)
{
    if (!json_is_true(json_object_get(counters, "ok")))
        return -1;
    json_t *backends = json_object_get(counters, "backends");
    const char *mode = json_string_value(json_object_get(counters, "mode"));
    int http = mode && strcmp(mode, "http") == 0;
    write_states(x, backends, json_string_value(json_object_get(counters, "active_pool")));
    per_backend(x, backends, "baton_proxy_backend_connections", "gauge",
                "Connections open to each backend (http: busy with a request).", "connections");
    per_backend(
        x, backends,
        http ? "baton_proxy_backend_requests_total" : "baton_proxy_backend_connections_total",
        "counter", http ? "Requests sent to each backend." : "Connections relayed to each backend.",
        "total");
    per_backend(x, backends, "baton_proxy_backend_connect_errors_total", "counter",
                "Connects to each backend that failed or timed out.", "failures");
    per_backend(x, backends, "baton_proxy_backend_retries_total", "counter",
                "Failed tries of each backend that were retried on another.", "retries");
    per_backend(x, backends, "baton_proxy_backend_sent_bytes_total", "counter",
                http ? "Bytes sent to each backend (requests as forwarded, normalized)."
                     : "Bytes relayed from clients to each backend.",
                "sent_bytes");
    per_backend(x, backends, "baton_proxy_backend_received_bytes_total", "counter",
                http ? "Bytes received from each backend (responses as it sent them)."
                     : "Bytes relayed from each backend to clients.",
                "received_bytes");
    if (http)
        write_http(x, backends);
    json_t *conns = json_object_get(counters, "connections");
    expo_family(x, "baton_proxy_connections", "gauge", "Client connections open now.");
    expo_sample(x, "baton_proxy_connections", NULL, json_number_value(conns));
    write_listeners(x, json_object_get(counters, "listeners"));
    return 0;
}

/* --- the admin listener's hooks --------------------------------------------------------- */

struct observe_target {
    proxy_observe_cmd cmd;
    void *data;
};

static json_t *run_command(struct observe_target *t, const char *cmd, json_t *req)
{
    json_t *own = req ? NULL : json_pack("{s:s}", "cmd", cmd);
    if (req)
        json_object_set_new(req, "cmd", json_string(cmd));
    json_t *reply = t->cmd(t->data, req ? req : own);
    json_decref(own);
    return reply;
}

static void observe_metrics(void *target, struct expo *x)
{
    json_t *counters = run_command(target, "metrics", NULL);
    if (proxy_observe_write(counters, x) < 0) {
        const char *why = json_string_value(json_object_get(counters, "error"));
        log_warn("admin: no metrics to show: %s", why ? why : "malformed counters");
        x->failed = 1;
    }
    json_decref(counters);
}

static json_t *observe_status(void *target)
{
    json_t *reply = run_command(target, "backend-list", NULL);
    json_object_del(reply, "ok");
    return reply;
}

/* drain and enable {"backend":NAME[,"timeout_ms":N]}, switch {"pool":POOL}: the runtime
 * commands backend-drain, backend-enable and switch, checked there. */
static json_t *observe_action(void *target, const char *action, json_t *args, int *http_status)
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
    json_t *req = json_object();
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
    json_t *reply = run_command(target, cmd, req);
    json_decref(req);
    int ok = json_is_true(json_object_get(reply, "ok"));
    *http_status = ok ? 200 : 409;
    if (ok)
        log_info("admin: %s done", action);
    return reply;
}

int proxy_observe_open(struct admin **out, struct loop *loop, const char *addr,
                       const char *token_file, proxy_observe_cmd cmd, void *data, struct err *e)
{
    struct observe_target *t = malloc(sizeof(*t));
    if (!t)
        return err_set(e, "cannot open the admin listener: out of memory");
    *t = (struct observe_target){.cmd = cmd, .data = data};
    struct admin_hooks h = {.role = "proxy",
                            .metrics = observe_metrics,
                            .status = observe_status,
                            .action = observe_action,
                            .free_data = free,
                            .data = t};
    if (admin_open(out, loop, addr, token_file, &h, e) < 0) {
        free(t);
        return -1;
    }
    return 0;
}
