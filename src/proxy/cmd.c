/* The proxy's runtime API: one JSON request in, one JSON reply out. Every request is
 * checked field by field; a bad one gets {"ok":false,"error":...} naming what was
 * wrong, and the proxy keeps serving. Changes are written to the state file. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "proxy/conn.h"
#include "proxy/observe.h"
#include "proxy/proxy.h"

static json_t *reply_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *reply_error(const char *fmt, ...)
{
    char msg[ERR_MSG_MAX + 64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return json_pack("{s:b,s:s}", "ok", 0, "error", msg);
}

static json_t *reply_ok(json_t *extra)
{
    json_t *r = json_pack("{s:b}", "ok", 1);
    if (extra) {
        json_object_update(r, extra);
        json_decref(extra);
    }
    return r;
}

/* The backend named by the request's "name", or NULL with *err set. */
static struct backend *named(struct proxy *p, json_t *req, json_t **err)
{
    const char *name = json_string_value(json_object_get(req, "name"));
    if (!name || !*name) {
        *err = reply_error("missing string field \"name\" (the backend)");
        return NULL;
    }
    struct backend *b = pool_find(p->table, name);
    if (!b)
        *err = reply_error("unknown backend '%.100s'", name);
    return b;
}

/* A non-negative integer field in seconds or milliseconds; -1 if absent, -2 if bad. */
static long long ms_field(json_t *req, const char *key)
{
    json_t *v = json_object_get(req, key);
    if (!v)
        return -1;
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        json_integer_value(v) > 7LL * 24 * 3600 * 1000)
        return -2;
    return json_integer_value(v);
}

static json_t *cmd_list(struct proxy *p, json_t *req)
{
    json_t *t = pool_to_json(p->table, 0);
    json_object_del(t, "version");
    json_object_set_new(t, "mode", json_string(p->cfg.mode == PROXY_HTTP ? "http" : "tcp"));
    json_object_set_new(t, "connections", json_integer((json_int_t)p->nconns));
    json_object_set_new(t, "accepted", json_integer((json_int_t)p->accepted));
    json_object_set_new(t, "max_conns_reached", json_integer((json_int_t)p->refused_full));
    json_object_set_new(t, "stopping", json_boolean(p->stopping));
    return reply_ok(t);
}

static json_t *cmd_add(struct proxy *p, json_t *req)
{
    const char *spec = json_string_value(json_object_get(req, "spec"));
    if (!spec)
        return reply_error("missing string field \"spec\" ([POOL/]NAME=HOST:PORT[,weight=W])");
    struct backend *b;
    struct err e;
    if (pool_add_spec(p->table, spec, &b, &e) < 0)
        return reply_error("%s", e.msg);
    health_track(p, b);
    log_info("proxy: backend '%s' added to pool '%s' (%s, weight %d)", b->name, b->pool,
             b->addr.text, b->weight);
    proxy_state_changed(p);
    return reply_ok(json_pack("{s:s,s:s}", "name", b->name, "pool", b->pool));
}

static json_t *cmd_drain(struct proxy *p, json_t *req)
{
    json_t *err = NULL;
    struct backend *b = named(p, req, &err);
    if (!b)
        return err;
    long long timeout = ms_field(req, "timeout_ms");
    if (timeout == -2)
        return reply_error("\"timeout_ms\" must be a non-negative integer (milliseconds)");
    backend_event(b, BEV_DRAIN);
    b->switch_drained = 0;
    if (timeout >= 0)
        b->drain_until = clock_now_ms() + (uint64_t)timeout;
    log_info("proxy: backend '%s' draining (%llu connection%s)", b->name,
             (unsigned long long)b->conns, b->conns == 1 ? "" : "s");
    proxy_backend_drained(p, b);
    proxy_state_changed(p);
    return reply_ok(json_pack("{s:s,s:s,s:I}", "name", b->name, "state",
                              backend_state_name(b->state), "connections", (json_int_t)b->conns));
}

static json_t *cmd_enable(struct proxy *p, json_t *req)
{
    json_t *err = NULL;
    struct backend *b = named(p, req, &err);
    if (!b)
        return err;
    backend_event(b, BEV_ENABLE);
    b->switch_drained = 0;
    log_info("proxy: backend '%s' enabled (%s)", b->name, backend_state_name(b->state));
    proxy_state_changed(p);
    return reply_ok(json_pack("{s:s,s:s}", "name", b->name, "state", backend_state_name(b->state)));
}

static json_t *cmd_remove(struct proxy *p, json_t *req)
{
    json_t *err = NULL;
    struct backend *b = named(p, req, &err);
    if (!b)
        return err;
    json_t *r =
        reply_ok(json_pack("{s:s,s:I}", "name", b->name, "connections", (json_int_t)b->conns));
    log_info("proxy: backend '%s' removed (%llu connection%s left to finish)", b->name,
             (unsigned long long)b->conns, b->conns == 1 ? "" : "s");
    health_untrack(p, b);
    proxy_idle_flush(p, b);
    pool_remove(p->table, b);
    proxy_state_changed(p);
    return r;
}

static json_t *cmd_weight(struct proxy *p, json_t *req)
{
    json_t *err = NULL;
    struct backend *b = named(p, req, &err);
    if (!b)
        return err;
    json_t *w = json_object_get(req, "weight");
    if (!json_is_integer(w) || json_integer_value(w) < 0 || json_integer_value(w) > POOL_WEIGHT_MAX)
        return reply_error("\"weight\" must be an integer in 0..%d", POOL_WEIGHT_MAX);
    struct err e;
    if (pool_set_weight(p->table, b->name, (int)json_integer_value(w), &e) < 0)
        return reply_error("%s", e.msg);
    log_info("proxy: backend '%s' weight %d", b->name, b->weight);
    proxy_state_changed(p);
    return reply_ok(json_pack("{s:s,s:i}", "name", b->name, "weight", b->weight));
}

static json_t *cmd_switch(struct proxy *p, json_t *req)
{
    const char *pool = json_string_value(json_object_get(req, "pool"));
    if (!pool || !*pool)
        return reply_error("missing string field \"pool\"");
    long long timeout = ms_field(req, "drain_timeout_ms");
    if (timeout == -2)
        return reply_error("\"drain_timeout_ms\" must be a non-negative integer (milliseconds)");
    char previous[POOL_NAME_MAX];
    snprintf(previous, sizeof(previous), "%s", pool_active(p->table));
    struct err e;
    uint64_t until = timeout > 0 ? clock_now_ms() + (uint64_t)timeout : 0;
    if (pool_switch(p->table, pool, until, &e) < 0)
        return reply_error("%s", e.msg);
    uint64_t when = (uint64_t)clock_wall_ms();
    int up = 0;
    for (struct backend *b = pool_first(p->table); b; b = b->next) {
        if (strcmp(b->pool, pool) == 0)
            up += pool_eligible(p->table, b);
        else if (b->state == BACKEND_DRAINING || b->state == BACKEND_DRAINED)
            proxy_backend_drained(p, b);
    }
    log_info("proxy: switched from pool '%s' to '%s' (%d backend%s up)", previous, pool, up,
             up == 1 ? "" : "s");
    if (up == 0)
        log_warn("proxy: pool '%s' has no backend up; new connections will fail", pool);
    proxy_state_changed(p);
    return reply_ok(json_pack("{s:s,s:s,s:I,s:i}", "pool", pool, "previous", previous,
                              "switched_unix_ms", (json_int_t)when, "backends_up", up));
}

struct command {
    const char *name;
    json_t *(*run)(struct proxy *p, json_t *req);
};

static json_t *cmd_metrics(struct proxy *p, json_t *req)
{
    return proxy_observe_counters(p);
}

static const struct command commands[] = {
    {"backend-list", cmd_list},     {"status", cmd_list},           {"backend-add", cmd_add},
    {"backend-drain", cmd_drain},   {"backend-enable", cmd_enable}, {"backend-remove", cmd_remove},
    {"backend-weight", cmd_weight}, {"switch", cmd_switch},         {"metrics", cmd_metrics},
};

json_t *proxy_command(struct proxy *p, json_t *req)
{
    const char *cmd = json_is_object(req) ? json_string_value(json_object_get(req, "cmd")) : NULL;
    if (!cmd)
        return reply_error("malformed control request: missing string field \"cmd\"");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(commands[i].name, cmd) == 0)
            return commands[i].run(p, req);
    return reply_error("unknown command '%.64s' (known: backend-list, backend-add, "
                       "backend-drain, backend-enable, backend-remove, backend-weight, "
                       "switch, status, metrics)",
                       cmd);
}
