/* Unit tests of the proxy's backend table (src/proxy/pool.c): backend specs, the
 * backend state machine, weighted round robin, least connections, pool switches and
 * the state file round trip. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proxy/pool.h"

static struct pool_table *table_of(const char *const *specs, enum pool_balance bal)
{
    struct pool_table *t;
    struct err e;
    assert_int_equal(pool_table_new(&t, bal, &e), 0);
    for (const char *const *s = specs; *s; s++)
        assert_int_equal(pool_add_spec(t, *s, NULL, &e), 0);
    return t;
}

static void spec_parses_pool_name_weight(void **state)
{
    struct backend *b;
    struct err e;
    assert_int_equal(pool_parse_spec("green/g1=127.0.0.1:8081,weight=3", &b, &e), 0);
    assert_string_equal(b->pool, "green");
    assert_string_equal(b->name, "g1");
    assert_string_equal(b->addr.text, "127.0.0.1:8081");
    assert_int_equal(b->weight, 3);
    free(b);
    assert_int_equal(pool_parse_spec("web=[::1]:80", &b, &e), 0);
    assert_string_equal(b->pool, POOL_DEFAULT);
    assert_int_equal(b->weight, 1);
    free(b);
}

static void spec_rejects_bad(void **state)
{
    struct backend *b;
    struct err e;
    assert_refused(pool_parse_spec("127.0.0.1:80", &b, &e), e.msg,
                   "expected [POOL/]NAME=HOST:PORT");
    assert_int_equal(pool_parse_spec("a=127.0.0.1:80,weight=x", &b, &e), -1);
    assert_string_equal(e.msg, "invalid backend 'a=127.0.0.1:80,weight=x': weight must be 0..1000");
    assert_refused(pool_parse_spec("a=127.0.0.1:80,color=red", &b, &e), e.msg,
                   "unknown option 'color=red'");
    assert_refused(pool_parse_spec("b@d/a=127.0.0.1:80", &b, &e), e.msg, "pool name");
    assert_refused(pool_parse_spec("a=127.0.0.1:99999", &b, &e), e.msg, "port '99999'");
}

static void duplicate_names_refused(void **state)
{
    const char *specs[] = {"a=127.0.0.1:1", NULL};
    struct pool_table *t = table_of(specs, BALANCE_ROUNDROBIN);
    struct err e;
    assert_int_equal(pool_add_spec(t, "other/a=127.0.0.1:2", NULL, &e), -1);
    assert_string_equal(e.msg, "backend 'a' already exists");
    pool_table_free(t);
}

static void state_machine_follows_table(void **state)
{
    struct backend b = {.state = BACKEND_UP, .healthy = 1};
    assert_int_equal(backend_event(&b, BEV_HEALTH_FAIL), 1);
    assert_int_equal(b.state, BACKEND_DOWN);
    assert_int_equal(backend_event(&b, BEV_HEALTH_OK), 1);
    assert_int_equal(b.state, BACKEND_UP);
    b.conns = 2;
    backend_event(&b, BEV_DRAIN);
    assert_int_equal(b.state, BACKEND_DRAINING);
    backend_event(&b, BEV_HEALTH_FAIL); /* health moves, admin state stays */
    assert_int_equal(b.state, BACKEND_DRAINING);
    b.conns = 0;
    backend_event(&b, BEV_CONNS_ZERO);
    assert_int_equal(b.state, BACKEND_DRAINED);
    backend_event(&b, BEV_ENABLE); /* last check failed: enable lands on DOWN */
    assert_int_equal(b.state, BACKEND_DOWN);
    backend_event(&b, BEV_DRAIN); /* no connection: straight to DRAINED */
    assert_int_equal(b.state, BACKEND_DRAINED);
    backend_event(&b, BEV_HEALTH_OK);
    backend_event(&b, BEV_ENABLE);
    assert_int_equal(b.state, BACKEND_UP);
    assert_string_equal(backend_state_name(BACKEND_DRAINED), "drained");
}

static void roundrobin_honours_weights(void **state)
{
    const char *specs[] = {"a=127.0.0.1:1,weight=3", "b=127.0.0.1:2", "c=127.0.0.1:3,weight=0",
                           "other/d=127.0.0.1:4", NULL};
    struct pool_table *t = table_of(specs, BALANCE_ROUNDROBIN);
    pool_set_active(t, POOL_DEFAULT);
    int counts[4] = {0};
    char seq[9] = {0};
    for (int i = 0; i < 8; i++) {
        struct backend *b = pool_pick(t, NULL, 0);
        assert_non_null(b);
        counts[b->name[0] - 'a']++;
        seq[i] = b->name[0];
    }
    assert_int_equal(counts[0], 6);
    assert_int_equal(counts[1], 2);
    assert_int_equal(counts[2], 0);   /* weight 0 */
    assert_int_equal(counts[3], 0);   /* other pool */
    assert_null(strstr(seq, "aaaa")); /* smooth: spread out */
    struct backend *a = pool_find(t, "a");
    struct backend *skip[] = {a};
    for (int i = 0; i < 4; i++)
        assert_string_equal(pool_pick(t, skip, 1)->name, "b");
    pool_table_free(t);
}

static void leastconn_picks_least_loaded(void **state)
{
    const char *specs[] = {"a=127.0.0.1:1", "b=127.0.0.1:2,weight=2", NULL};
    struct pool_table *t = table_of(specs, BALANCE_LEASTCONN);
    struct backend *a = pool_find(t, "a"), *b = pool_find(t, "b");
    a->conns = 2;
    b->conns = 3; /* 3/2 < 2/1 */
    assert_ptr_equal(pool_pick(t, NULL, 0), b);
    b->conns = 5;
    assert_ptr_equal(pool_pick(t, NULL, 0), a);
    backend_event(a, BEV_HEALTH_FAIL);
    assert_ptr_equal(pool_pick(t, NULL, 0), b);
    backend_event(b, BEV_DRAIN);
    assert_null(pool_pick(t, NULL, 0));
    pool_table_free(t);
}

static void switch_drains_old_pool_and_back(void **state)
{
    const char *specs[] = {"blue/b1=127.0.0.1:1", "green/g1=127.0.0.1:2", NULL};
    struct pool_table *t = table_of(specs, BALANCE_ROUNDROBIN);
    pool_set_active(t, "blue");
    struct backend *b1 = pool_find(t, "b1"), *g1 = pool_find(t, "g1");
    pool_conn_opened(b1);
    struct err e;
    assert_int_equal(pool_switch(t, "nope", 0, &e), -1);
    assert_string_equal(e.msg, "unknown pool 'nope' (no backend is in it)");
    assert_int_equal(pool_switch(t, "green", 1234, &e), 0);
    assert_string_equal(pool_active(t), "green");
    assert_int_equal(b1->state, BACKEND_DRAINING);
    assert_int_equal(b1->drain_until, 1234);
    assert_ptr_equal(pool_pick(t, NULL, 0), g1);
    assert_int_equal(pool_conn_closed(b1), 1); /* last connection: now drained */
    assert_int_equal(b1->state, BACKEND_DRAINED);
    assert_int_equal(pool_switch(t, "blue", 0, &e), 0);
    assert_int_equal(b1->state, BACKEND_UP); /* drained by a switch: a switch back enables */
    assert_int_equal(g1->state, BACKEND_DRAINED);
    pool_table_free(t);
}

static void removed_backend_lives_while_referenced(void **state)
{
    const char *specs[] = {"a=127.0.0.1:1", NULL};
    struct pool_table *t = table_of(specs, BALANCE_ROUNDROBIN);
    struct backend *a = pool_find(t, "a");
    pool_backend_ref(a);
    pool_remove(t, a);
    assert_null(pool_find(t, "a"));
    assert_int_equal(a->removed, 1);
    assert_null(pool_pick(t, NULL, 0));
    pool_backend_unref(a); /* frees it; ASan reports a leak otherwise */
    pool_table_free(t);
}

static void state_file_round_trip(void **state)
{
    const char *specs[] = {"blue/b1=127.0.0.1:1,weight=5", "green/g1=127.0.0.1:2", NULL};
    struct pool_table *t = table_of(specs, BALANCE_ROUNDROBIN);
    struct err e;
    assert_int_equal(pool_switch(t, "green", 0, &e), 0);
    char path[] = "/tmp/baton-test-state-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(pool_save(t, path, &e), 0);
    struct pool_table *u;
    assert_int_equal(pool_table_new(&u, BALANCE_ROUNDROBIN, &e), 0);
    assert_int_equal(pool_add_spec(u, "x=127.0.0.1:9", NULL, &e), 0);
    assert_int_equal(pool_load(u, path, &e), 0);
    assert_null(pool_find(u, "x")); /* the file replaces the table */
    assert_string_equal(pool_active(u), "green");
    assert_int_equal(pool_find(u, "b1")->weight, 5);
    assert_int_equal(pool_find(u, "b1")->state, BACKEND_DRAINED);
    assert_int_equal(pool_find(u, "b1")->switch_drained, 1);
    assert_int_equal(pool_find(u, "g1")->state, BACKEND_UP);
    FILE *f = fopen(path, "w");
    fputs("{\"active_pool\":\"x\",\"backends\":[{\"name\":\"a\"}]}", f);
    fclose(f);
    assert_refused(pool_load(u, path, &e), e.msg, "malformed state file");
    assert_non_null(pool_find(u, "g1")); /* a bad file leaves the table alone */
    unlink(path);
    assert_int_equal(pool_load(u, path, &e), 1); /* missing: not an error */
    pool_table_free(t);
    pool_table_free(u);
}

UNIT_MAIN("proxy_pool", NULL, NULL, cmocka_unit_test(spec_parses_pool_name_weight),
          cmocka_unit_test(spec_rejects_bad), cmocka_unit_test(duplicate_names_refused),
          cmocka_unit_test(state_machine_follows_table),
          cmocka_unit_test(roundrobin_honours_weights),
          cmocka_unit_test(leastconn_picks_least_loaded),
          cmocka_unit_test(switch_drains_old_pool_and_back),
          cmocka_unit_test(removed_backend_lives_while_referenced),
          cmocka_unit_test(state_file_round_trip))
