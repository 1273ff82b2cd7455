/* The `baton proxy` driver: its control socket (one JSON request line, one reply
 * line), reached over SSH when the proxy runs elsewhere. Drain and ready are
 * backend-drain / backend-enable; backend-list gives each backend's state, health,
 * connections, requests and failures. It has no 5xx counter or response times: the
 * bake's verification checks connection failures only (docs/deploy.md). */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "deploy/balancer.h"

enum { K_SET, K_LIST };

static json_t *reply_object(const char *reply, size_t len, struct err *e)
{
    json_error_t je;
    json_t *r = json_loadb(reply, len, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(r)) {
        json_decref(r);
        err_set(e, "malformed reply: %s", r ? "not an object" : je.text);
        return NULL;
    }
    if (!json_is_true(json_object_get(r, "ok"))) {
        const char *msg = json_string_value(json_object_get(r, "error"));
        err_set(e, "%s", msg ? msg : "refused without a reason");
        json_decref(r);
        return NULL;
    }
    return r;
}

/* One backend of backend-list into st. */
static int list_entry(json_t *b, struct bal_stats *st, struct err *e)
{
    const char *name = json_string_value(json_object_get(b, "name"));
    const char *state = json_string_value(json_object_get(b, "state"));
    json_t *conns = json_object_get(b, "connections"), *total = json_object_get(b, "total"),
           *failures = json_object_get(b, "failures");
    if (!name || !state || !json_is_integer(conns) || !json_is_integer(total) ||
        !json_is_integer(failures))
        return err_set(e, "malformed backend in backend-list");
    if (strlen(name) >= DF_NAME_MAX)
        return 0; /* not one of the deploy's servers */
    struct bal_server *s = bal_stats_get(st, name);
    if (!s)
        return err_set(e, "out of memory");
    int drained = strcmp(state, "draining") == 0 || strcmp(state, "drained") == 0;
    if (!s->found++)
        snprintf(s->status, sizeof(s->status), "%s", state);
    s->up += strcmp(state, "up") == 0 && json_is_true(json_object_get(b, "healthy"));
    s->drained += drained;
    s->cur += json_integer_value(conns);
    s->responses += json_integer_value(total);
    s->conn_errors += json_integer_value(failures);
    return 0;
}

static int parse(struct bal_call *c, int kind, const char *reply, size_t len, struct bal_stats *st,
                 struct err *e)
{
    (void)c;
    json_t *r = reply_object(reply, len, e);
    if (!r)
        return -1;
    int rc = 0;
    if (kind == K_LIST) {
        json_t *list = json_object_get(r, "backends"), *b;
        size_t i;
        if (!json_is_array(list))
            rc = err_set(e, "backend-list without \"backends\"");
        json_array_foreach(list, i, b) if (rc == 0 && list_entry(b, st, e) < 0) rc = -1;
    }
    json_decref(r);
    return rc;
}

static void describe(const struct balancer *b, const char *server, enum bal_admin st, char *out,
                     size_t cap)
{
    (void)b;
    snprintf(out, cap, "{\"cmd\":\"%s\",\"name\":\"%s\"}",
             st == BAL_READY ? "backend-enable" : "backend-drain", server);
}

static int set_state(struct balancer *b, const char *server, enum bal_admin st, bal_done_cb cb,
                     void *data, struct err *e)
{
    return bal_set_by_describe(b, parse, 1, K_SET, server, st, cb, data, e);
}

static int stats(struct balancer *b, bal_stats_cb cb, void *data, struct err *e)
{
    struct bal_call *c = bal_call_new(b, parse, NULL, cb, data);
    if (!c)
        return err_set(e, "out of memory");
    for (int i = 0; i < b->nendpoints; i++)
        bal_call_send(c, i, "{\"cmd\":\"backend-list\"}\n", 1, K_LIST);
    bal_call_end(c);
    return 0;
}

const struct balancer_driver balancer_baton_proxy_driver = {
    .name = "baton-proxy",
    .set_state = set_state,
    .stats = stats,
    .describe = describe,
};
