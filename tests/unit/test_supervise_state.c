/* Unit tests of the master's state document, part by part as each object writes and
 * reads its own: the generations with their workers and private ports (gens.c, gen.c,
 * slot.c, worker.c), the listening sockets (state.c), the proxy worker (proxyworker.c);
 * round trips, and refusals of every malformed field with "malformed state". */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/loop.h"
#include "supervise/gens.h"
#include "supervise/proxyworker.h"
#include "supervise/state.h"

/* A supervisor context with nothing above it: notes are counted, nothing is spawned. */
struct fixture {
    struct run_opts o;
    struct run_ctx ctx;
    struct gens *gs;
    int notes;
};

static void count_note(void *data, enum run_note n, struct gen *g, struct gen *old)
{
    ((struct fixture *)data)->notes++;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct err e;
    f->o.workers = 2;
    f->o.drain_timeout_ms = 1000;
    snprintf(f->o.control, sizeof(f->o.control), "/nonexistent/baton-unit.sock");
    f->ctx.o = &f->o;
    f->ctx.note = count_note;
    f->ctx.note_data = f;
    f->ctx.private_ports = 1;
    assert_int_equal(loop_new(&f->ctx.loop, &e), 0);
    assert_int_equal(gens_new(&f->gs, &f->ctx, &e), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    gens_free(f->gs);
    loop_free(f->ctx.loop);
    free(f);
    return 0;
}

static const char *doc =
    "{\"format\":1,\"next_gen\":4,\"current_gen\":3,\"prev_command\":[\"app\",\"v2\"],"
    "\"generations\":[{\"id\":2,\"state\":3,\"orphan\":false,\"command\":[\"app\",\"v2\"],"
    "\"started_unix_ms\":1700000000000,\"drain_deadline_unix_ms\":1700000005000,\"restarts\":0,"
    "\"slots\":1,\"workers\":[],\"ports\":[20001]},"
    "{\"id\":3,\"state\":2,\"orphan\":false,\"command\":[\"app\",\"v3\"],"
    "\"started_unix_ms\":1700000001000,\"drain_deadline_unix_ms\":0,\"restarts\":1,\"slots\":2,"
    "\"workers\":[{\"pid\":99,\"start_time\":12345,\"slot\":1,\"ready\":true,\"stopping\":false},"
    "{\"pid\":98,\"start_time\":1,\"slot\":1,\"ready\":false,\"stopping\":false}],"
    "\"ports\":[20002,20003]}]}";

static json_t *load(const char *text)
{
    json_t *root;
    struct err e;
    assert_int_equal(state_load(text, strlen(text), &root, &e), 0);
    return root;
}

static void generations_round_trip(void **state)
{
    struct fixture *f = *state;
    struct err e;
    json_t *root = load(doc);
    assert_int_equal(gens_from_json(f->gs, root, &e), 0);
    json_decref(root);
    assert_int_equal(gens_count(f->gs), 2);
    struct gen *cur = gens_current(f->gs);
    assert_non_null(cur);
    assert_int_equal(gen_id(cur), 3);
    assert_int_equal(gen_state(cur), GEN_SERVING);
    assert_int_equal(gen_port(cur, 1), 20003);
    assert_true(gen_has_worker(cur, 99));
    assert_false(gen_has_worker(cur, 98)); /* a second record of slot 1: the first holds */
    assert_string_equal(gens_prev_argv(f->gs)[1], "v2");
    assert_true(gens_port_held(f->gs, 20001));
    /* Written back, the document says the same. */
    json_t *out = state_new();
    gens_to_json(f->gs, out);
    assert_int_equal(json_integer_value(json_object_get(out, "next_gen")), 4);
    assert_int_equal(json_integer_value(json_object_get(out, "current_gen")), 3);
    json_t *g3 = json_array_get(json_object_get(out, "generations"), 1);
    json_t *w = json_array_get(json_object_get(g3, "workers"), 0);
    assert_int_equal(json_array_size(json_object_get(g3, "workers")), 1);
    assert_int_equal(json_integer_value(json_object_get(w, "pid")), 99);
    assert_int_equal(json_integer_value(json_object_get(w, "start_time")), 12345);
    assert_int_equal(json_integer_value(json_object_get(w, "slot")), 1);
    assert_true(json_is_true(json_object_get(w, "ready")));
    assert_int_equal(json_integer_value(json_object_get(g3, "restarts")), 1);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(g3, "ports"), 0)), 20002);
    json_t *g2 = json_array_get(json_object_get(out, "generations"), 0);
    assert_int_equal(json_integer_value(json_object_get(g2, "drain_deadline_unix_ms")),
                     1700000005000);
    /* ... and reads back into an empty set. */
    char *text = json_dumps(out, JSON_COMPACT);
    json_decref(out);
    gens_clear(f->gs);
    assert_int_equal(gens_count(f->gs), 0);
    root = load(text);
    assert_int_equal(gens_from_json(f->gs, root, &e), 0);
    assert_int_equal(gens_count(f->gs), 2);
    json_decref(root);
    free(text);
}

static void generations_refuse_bad_input(void **state)
{
    struct fixture *f = *state;
    const char *head = "{\"format\":1,\"next_gen\":2,\"current_gen\":1,\"generations\":[";
    const char *gen = "{\"id\":1,\"state\":2,\"started_unix_ms\":0,\"drain_deadline_unix_ms\":0,"
                      "\"restarts\":0,\"slots\":1,\"command\":[\"a\"],";
    const char *bad[] = {
        "{\"id\":1,\"state\":9}]}",
        "{\"id\":0,\"state\":2}]}",
        "7]}",
        "@\"workers\":[]},@\"workers\":[]}]}", /* the same id twice */
        "@\"workers\":{}}]}",
        "@\"workers\":[{\"pid\":0,\"start_time\":1,\"slot\":0}]}]}",
        "@\"workers\":[{\"pid\":5,\"start_time\":1,\"slot\":1}]}]}",
        "@\"workers\":[],\"ports\":[70000]}]}",
        "@\"workers\":[],\"ports\":[1,2]}]}",
        "{\"id\":1,\"state\":2,\"started_unix_ms\":0,\"drain_deadline_unix_ms\":0,"
        "\"restarts\":0,\"slots\":1,\"command\":[],\"workers\":[]}]}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[2048];
        size_t k = (size_t)snprintf(text, sizeof(text), "%s", head);
        for (const char *c = bad[i]; *c && k < sizeof(text) - 200; c++) {
            if (*c == '@') {
                k += (size_t)snprintf(text + k, sizeof(text) - k, "%s", gen);
            } else {
                text[k++] = *c;
                text[k] = 0;
            }
        }
        json_t *root = load(text);
        struct err e;
        assert_refused(gens_from_json(f->gs, root, &e), e.msg, "malformed state");
        assert_int_equal(gens_count(f->gs), 0); /* nothing half-read is kept */
        json_decref(root);
    }
}

static void documents_are_checked_first(void **state)
{
    const char *bad[] = {"", "[]", "{\"format\":2}", "{\"a\":1,\"a\":2}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *root;
        struct err e;
        assert_refused(state_load(bad[i], strlen(bad[i]), &root, &e), e.msg, "malformed state");
    }
}

static void listening_sockets_round_trip(void **state)
{
    struct state_listen ls[2] = {{"web", "127.0.0.1:8080", 7, 3}, {"", "unix:/tmp/a.sock", -1, 4}};
    json_t *a = state_listens_json(ls, 2);
    struct state_listen back[STATE_MAX_LISTEN];
    int n;
    struct err e;
    assert_int_equal(state_listens_from_json(a, back, &n, &e), 0);
    json_decref(a);
    assert_int_equal(n, 2);
    assert_string_equal(back[0].name, "web");
    assert_string_equal(back[1].addr, "unix:/tmp/a.sock");
    assert_int_equal(back[0].fd, 7);
    assert_int_equal(back[1].worker_fd, 4);
    const char *bad[] = {"{}", "[1]", "[{\"name\":\"\",\"addr\":\"x\",\"fd\":-1,\"worker_fd\":2}]",
                         "[{\"name\":\"\",\"addr\":7,\"fd\":-1,\"worker_fd\":3}]"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *j = json_loads(bad[i], 0, NULL);
        assert_refused(state_listens_from_json(j, back, &n, &e), e.msg, "malformed state");
        json_decref(j);
    }
}

static void proxy_worker_record(void **state)
{
    struct fixture *f = *state;
    struct proxyworker *p;
    struct err e;
    assert_int_equal(proxyworker_new(&p, &f->ctx, f->gs, "/nonexistent/x.proxy.sock", &e), 0);
    /* A proxy worker that is gone is not taken over; its restarts are kept. */
    json_t *jp = json_pack("{s:i,s:I,s:i,s:b}", "pid", 4194303, "start_time", (json_int_t)555,
                           "restarts", 4, "ready", 1);
    assert_int_equal(proxyworker_from_json(p, jp, &e), 0);
    json_decref(jp);
    assert_int_equal(proxyworker_pid(p), 0);
    json_t *out = proxyworker_to_json(p);
    assert_int_equal(json_integer_value(json_object_get(out, "restarts")), 4);
    assert_int_equal(json_integer_value(json_object_get(out, "pid")), 0);
    json_decref(out);
    const char *bad[] = {"[]", "{\"pid\":-3,\"start_time\":0,\"restarts\":0}",
                         "{\"pid\":1,\"restarts\":0}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *j = json_loads(bad[i], 0, NULL);
        assert_refused(proxyworker_from_json(p, j, &e), e.msg, "malformed state");
        json_decref(j);
    }
    proxyworker_free(p);
}

UNIT_MAIN("supervise_state", NULL, NULL,
          cmocka_unit_test_setup_teardown(generations_round_trip, setup, teardown),
          cmocka_unit_test_setup_teardown(generations_refuse_bad_input, setup, teardown),
          cmocka_unit_test(documents_are_checked_first),
          cmocka_unit_test(listening_sockets_round_trip),
          cmocka_unit_test_setup_teardown(proxy_worker_record, setup, teardown))
