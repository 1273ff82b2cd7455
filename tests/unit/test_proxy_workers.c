/* Unit tests of `baton proxy --workers` replies (src/proxy/workers.c): the replies of
 * every worker to one runtime command merge into the one a client sees. */
#include "unit.h"

#include <string.h>

#include "proxy/workers.h"

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    assert_non_null(j);
    return j;
}

static json_t *merge2(const char *a, const char *b)
{
    json_t *r[2] = {parse(a), parse(b)};
    json_t *m = workers_merge(r, 2);
    json_decref(r[0]);
    json_decref(r[1]);
    assert_non_null(m);
    return m;
}

static const char *backend_state(json_t *m, size_t i)
{
    return json_string_value(
        json_object_get(json_array_get(json_object_get(m, "backends"), i), "state"));
}

static void list_sums_counters_and_keeps_draining(void **state)
{
    json_t *m = merge2(
        "{\"ok\":true,\"active_pool\":\"green\",\"connections\":3,\"accepted\":10,"
        "\"max_conns_reached\":0,\"stopping\":false,\"backends\":["
        "{\"name\":\"b1\",\"state\":\"drained\",\"connections\":0,\"total\":7,\"failures\":1},"
        "{\"name\":\"g1\",\"state\":\"up\",\"connections\":3,\"total\":2,\"failures\":0}]}",
        "{\"ok\":true,\"active_pool\":\"green\",\"connections\":2,\"accepted\":5,"
        "\"max_conns_reached\":1,\"stopping\":true,\"backends\":["
        "{\"name\":\"b1\",\"state\":\"draining\",\"connections\":1,\"total\":4,\"failures\":0},"
        "{\"name\":\"g1\",\"state\":\"up\",\"connections\":1,\"total\":3,\"failures\":2}]}");
    assert_true(json_is_true(json_object_get(m, "ok")));
    assert_int_equal(json_integer_value(json_object_get(m, "connections")), 5);
    assert_int_equal(json_integer_value(json_object_get(m, "accepted")), 15);
    assert_int_equal(json_integer_value(json_object_get(m, "max_conns_reached")), 1);
    assert_true(json_is_true(json_object_get(m, "stopping")));
    assert_int_equal(json_integer_value(json_object_get(m, "workers")), 2);
    json_t *each = json_object_get(m, "per_worker");
    assert_int_equal(json_array_size(each), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(each, 1), "accepted")), 5);
    json_t *b1 = json_array_get(json_object_get(m, "backends"), 0);
    assert_string_equal(backend_state(m, 0), "draining"); /* a worker still has one */
    assert_int_equal(json_integer_value(json_object_get(b1, "connections")), 1);
    assert_int_equal(json_integer_value(json_object_get(b1, "total")), 11);
    assert_int_equal(json_integer_value(json_object_get(b1, "failures")), 1);
    assert_string_equal(backend_state(m, 1), "up");
    json_decref(m);
}

static void drained_only_when_every_worker_is(void **state)
{
    static const char drained[] =
        "{\"ok\":true,\"backends\":[{\"name\":\"b1\",\"state\":\"drained\",\"connections\":0}]}";
    json_t *m = merge2(drained, drained);
    assert_string_equal(backend_state(m, 0), "drained");
    json_decref(m);
}

static void switch_reports_the_last_worker_switched(void **state)
{
    json_t *m = merge2("{\"ok\":true,\"pool\":\"green\",\"previous\":\"blue\","
                       "\"switched_unix_ms\":1000,\"backends_up\":1}",
                       "{\"ok\":true,\"pool\":\"green\",\"previous\":\"blue\","
                       "\"switched_unix_ms\":1003,\"backends_up\":1}");
    assert_int_equal(json_integer_value(json_object_get(m, "switched_unix_ms")), 1003);
    assert_int_equal(json_integer_value(json_object_get(m, "backends_up")), 1);
    assert_null(json_object_get(m, "workers")); /* only tables say how many workers */
    json_decref(m);
}

static void errors_come_through(void **state)
{
    /* worker 0's own error is the reply as it is */
    json_t *m = merge2("{\"ok\":false,\"error\":\"unknown backend 'x'\"}",
                       "{\"ok\":false,\"error\":\"unknown backend 'x'\"}");
    assert_string_equal(json_string_value(json_object_get(m, "error")), "unknown backend 'x'");
    json_decref(m);
    /* a worker that disagrees with worker 0 is named */
    m = merge2("{\"ok\":true}", "{\"ok\":false,\"error\":\"did not answer within 10000 ms\"}");
    assert_false(json_is_true(json_object_get(m, "ok")));
    assert_string_equal(json_string_value(json_object_get(m, "error")),
                        "worker 1: did not answer within 10000 ms");
    json_decref(m);
}

static void different_tables_are_an_error(void **state)
{
    json_t *m = merge2("{\"ok\":true,\"backends\":[{\"name\":\"b1\",\"state\":\"up\"}]}",
                       "{\"ok\":true,\"backends\":[{\"name\":\"b2\",\"state\":\"up\"}]}");
    assert_string_equal(json_string_value(json_object_get(m, "error")),
                        "the workers' backend tables differ");
    json_decref(m);
    m = merge2("{\"ok\":true,\"backends\":[{\"name\":\"b1\",\"state\":\"up\"}]}",
               "{\"ok\":true,\"backends\":[]}");
    assert_false(json_is_true(json_object_get(m, "ok")));
    json_decref(m);
}

UNIT_MAIN("proxy_workers", NULL, NULL, cmocka_unit_test(list_sums_counters_and_keeps_draining),
          cmocka_unit_test(drained_only_when_every_worker_is),
          cmocka_unit_test(switch_reports_the_last_worker_switched),
          cmocka_unit_test(errors_come_through), cmocka_unit_test(different_tables_are_an_error))
