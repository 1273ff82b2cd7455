/* Unit tests of the proxy's metrics (src/proxy/observe.c): the snapshots of several
 * workers add up into one, and a snapshot is written as Prometheus text, skipping what
 * is not well formed. */
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#include "proxy/observe.h"

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    assert_non_null(j);
    return j;
}

static json_t *named(json_t *snap, const char *list, const char *name)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(snap, list), i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "name")), name) == 0)
            return e;
    }
    fail_msg("no %s entry '%s'", list, name);
    return NULL;
}

static long long num(json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

#define W0                                                                                         \
    "{\"ok\":true,\"mode\":\"http\",\"active_pool\":\"blue\",\"connections\":3,"                   \
    "\"backends\":["                                                                               \
    "{\"pool\":\"blue\",\"name\":\"b1\",\"state\":\"drained\",\"total\":7,\"sent_bytes\":100,"     \
    "\"responses\":[0,7,0,0,0],\"response_seconds\":{\"buckets\":[1,0,0,0,0,0,0,0,0,0,0,0,0,6],"   \
    "\"count\":7,\"sum\":0.5}},"                                                                   \
    "{\"pool\":\"green\",\"name\":\"g1\",\"state\":\"up\",\"total\":1}],"                          \
    "\"listeners\":[{\"name\":\"127.0.0.1:80\",\"accepted\":4,"                                    \
    "\"limited\":{\"max_conns\":1,\"fds\":0},\"queued\":2,\"backlog\":1024}]}"
#define W1                                                                                         \
    "{\"ok\":true,\"mode\":\"http\",\"active_pool\":\"blue\",\"connections\":2,"                   \
    "\"backends\":["                                                                               \
    "{\"pool\":\"green\",\"name\":\"g1\",\"state\":\"up\",\"total\":2},"                           \
    "{\"pool\":\"blue\",\"name\":\"b1\",\"state\":\"draining\",\"total\":5,\"sent_bytes\":50,"     \
    "\"responses\":[0,4,0,0,1],\"response_seconds\":{\"buckets\":[2,0,0,0,0,0,0,0,0,0,0,0,0,3],"   \
    "\"count\":5,\"sum\":0.25}},"                                                                  \
    "{\"pool\":\"green\",\"name\":\"g2\",\"state\":\"down\",\"total\":0}],"                        \
    "\"listeners\":[{\"name\":\"127.0.0.1:80\",\"accepted\":6,"                                    \
    "\"limited\":{\"max_conns\":2,\"fds\":1},\"queued\":1,\"backlog\":1024},"                      \
    "{\"name\":\"unix:/run/px\",\"accepted\":9,\"limited\":{\"max_conns\":0,\"fds\":0}}]}"

static void workers_add_up_by_name(void **state)
{
    json_t *sum = parse(W0), *w1 = parse(W1);
    proxy_observe_sum(sum, w1);
    json_decref(w1);
    assert_int_equal(num(sum, "connections"), 5);
    assert_string_equal(json_string_value(json_object_get(sum, "active_pool")), "blue");
    json_t *b1 = named(sum, "backends", "b1");
    assert_int_equal(num(b1, "total"), 12);
    assert_int_equal(num(b1, "sent_bytes"), 150);
    assert_string_equal(json_string_value(json_object_get(b1, "state")), "draining");
    json_t *resp = json_object_get(b1, "responses");
    assert_int_equal(json_integer_value(json_array_get(resp, 1)), 11);
    assert_int_equal(json_integer_value(json_array_get(resp, 4)), 1);
    json_t *rt = json_object_get(b1, "response_seconds");
    assert_int_equal(json_integer_value(json_array_get(json_object_get(rt, "buckets"), 0)), 3);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(rt, "buckets"), 13)), 9);
    assert_int_equal(num(rt, "count"), 12);
    assert_true(json_number_value(json_object_get(rt, "sum")) == 0.75);
    assert_int_equal(num(named(sum, "backends", "g1"), "total"), 3);
    assert_int_equal(num(named(sum, "backends", "g2"), "total"), 0); /* only in one worker */
    json_t *l = named(sum, "listeners", "127.0.0.1:80");
    assert_int_equal(num(l, "accepted"), 10);
    assert_int_equal(num(l, "queued"), 3);
    assert_int_equal(num(json_object_get(l, "limited"), "max_conns"), 3);
    assert_int_equal(num(json_object_get(l, "limited"), "fds"), 1);
    assert_int_equal(num(named(sum, "listeners", "unix:/run/px"), "accepted"), 9);
    json_decref(sum);
}

static char *write_text(const char *snapshot, int *rc)
{
    json_t *s = parse(snapshot);
    struct expo x;
    expo_init(&x);
    *rc = proxy_observe_write(s, &x);
    json_decref(s);
    return x.buf ? x.buf : strdup("");
}

static void snapshot_as_prometheus_text(void **state)
{
    int rc;
    char *t = write_text(W0, &rc);
    assert_int_equal(rc, 0);
    static const char *const want[] = {
        "# TYPE baton_proxy_backend_state gauge\n",
        "baton_proxy_backend_state{pool=\"blue\",backend=\"b1\",state=\"drained\"} 1\n",
        "baton_proxy_backend_state{pool=\"blue\",backend=\"b1\",state=\"up\"} 0\n",
        "baton_proxy_pool_active{pool=\"blue\"} 1\n",
        "baton_proxy_pool_active{pool=\"green\"} 0\n",
        "baton_proxy_backend_requests_total{pool=\"blue\",backend=\"b1\"} 7\n",
        "baton_proxy_backend_sent_bytes_total{pool=\"blue\",backend=\"b1\"} 100\n",
        "baton_proxy_backend_responses_total{pool=\"blue\",backend=\"b1\",code=\"2xx\"} 7\n",
        "baton_proxy_backend_response_seconds_bucket{pool=\"blue\",backend=\"b1\",le=\"+Inf\"} 7\n",
        "baton_proxy_backend_response_seconds_count{pool=\"blue\",backend=\"b1\"} 7\n",
        "baton_proxy_connections 3\n",
        "baton_proxy_listener_accepted_total{listener=\"127.0.0.1:80\"} 4\n",
        "baton_proxy_listener_limited_total{listener=\"127.0.0.1:80\",limit=\"max_conns\"} 1\n",
        "baton_proxy_listener_queued{listener=\"127.0.0.1:80\"} 2\n",
        "baton_proxy_listener_backlog{listener=\"127.0.0.1:80\"} 1024\n",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (!strstr(t, want[i]))
            fail_msg("missing: %s", want[i]);
    /* one pool_active sample per pool, g1 without counters gets no sample of them */
    assert_null(strstr(t, "baton_proxy_backend_sent_bytes_total{pool=\"green\""));
    const char *once = strstr(t, "pool_active{pool=\"blue\"}");
    assert_null(strstr(once + 1, "pool_active{pool=\"blue\"}"));
    free(t);
}

static void malformed_entries_are_skipped(void **state)
{
    int rc;
    char *t = write_text(
        "{\"ok\":true,\"mode\":\"http\",\"connections\":\"many\",\"backends\":["
        "{\"name\":\"nopool\",\"total\":1},{\"pool\":\"p\",\"name\":\"b\",\"total\":\"x\"},"
        "{\"pool\":\"p\",\"name\":\"h\",\"responses\":[1],"
        "\"response_seconds\":{\"buckets\":[1,2],\"count\":3,\"sum\":1}}],"
        "\"listeners\":[{\"accepted\":3},{\"name\":\"l\",\"limited\":[]}]}",
        &rc);
    assert_int_equal(rc, 0);
    assert_null(strstr(t, "nopool"));
    assert_null(strstr(t, "baton_proxy_backend_requests_total{pool=\"p\",backend=\"b\"}"));
    assert_null(strstr(t, "_bucket"));
    assert_null(strstr(t, "responses_total{pool=\"p\",backend=\"h\""));
    assert_non_null(strstr(t, "# TYPE baton_proxy_backend_response_seconds histogram\n"));
    assert_null(strstr(t, "listener_accepted_total{"));
    assert_null(strstr(t, "listener=\"l\",limit"));
    assert_non_null(strstr(t, "baton_proxy_connections 0\n"));
    free(t);
    t = write_text("{\"ok\":false,\"error\":\"worker 1 did not answer\"}", &rc);
    assert_int_equal(rc, -1);
    free(t);
}

UNIT_MAIN("proxy_observe", NULL, NULL, cmocka_unit_test(workers_add_up_by_name),
          cmocka_unit_test(snapshot_as_prometheus_text),
          cmocka_unit_test(malformed_entries_are_skipped))
