/* Unit tests of libbaton-lazy: the chain parser's messages (with the line at fault),
 * each step's effect, malformed documents, and read/update/sweep on a SQLite store. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "baton/lazy.h"
#include "lazy/lazy_int.h"
#include "test_lazy_fixture.h"

#include "../integration/lazy/lower_email.h"

static const char good_chain[] =
    "{\n"                                                                             /* 1 */
    "  \"collection\": \"users\",\n"                                                  /* 2 */
    "  \"versions\": [\n"                                                             /* 3 */
    "    {\"version\": 2, \"steps\": [\n"                                             /* 4 */
    "      {\"step\": \"rename\", \"from\": \"name\", \"to\": \"full_name\"},\n"      /* 5 */
    "      {\"step\": \"add\", \"field\": \"prefs.theme\", \"default\": \"dark\"},\n" /* 6 */
    "      {\"step\": \"copy\", \"from\": \"email\", \"to\": \"contact.email\"}\n"    /* 7 */
    "    ]},\n"                                                                       /* 8 */
    "    {\"version\": 3, \"steps\": [\n"                                             /* 9 */
    "      {\"step\": \"remove\", \"fields\": [\"legacy\", \"tmp.x\"]},\n"            /* 10 */
    "      {\"step\": \"move\", \"fields\": [\"street\", \"geo.city\"], \"to\": \"addresses\"}\n"
    "    ]}\n"
    "  ]\n"
    "}\n";

static struct lazy_chain *load(const char *text, struct lazy_error *e)
{
    struct lazy_chain *c = NULL;
    lazy_chain_parse(text, strlen(text), "chain.json", NULL, &c, e);
    return c;
}

static void chain_loads(void **state)
{
    struct lazy_error e;
    struct lazy_chain *c = load(good_chain, &e);
    assert_non_null(c);
    assert_int_equal(lazy_chain_base(c), 1);
    assert_int_equal(lazy_chain_latest(c), 3);
    assert_int_equal(lazy_chain_steps(c), 5);
    lazy_chain_free(c);
}

/* Replaces the first occurrence of `from` in the good chain and expects `msg`. */
static void expect_error(const char *from, const char *to, const char *msg)
{
    char text[4096];
    const char *at = strstr(good_chain, from);
    assert_non_null(at);
    size_t pre = (size_t)(at - good_chain);
    snprintf(text, sizeof(text), "%.*s%s%s", (int)pre, good_chain, to, at + strlen(from));
    struct lazy_error e = {{0}};
    struct lazy_chain *c = load(text, &e);
    if (c || strcmp(e.msg, msg) != 0)
        print_error("got '%s'\nwanted '%s'\n", c ? "(loaded)" : e.msg, msg);
    assert_null(c);
    assert_string_equal(e.msg, msg);
}

static void chain_errors_name_the_line(void **state)
{
    expect_error("\"rename\", \"from\"", "\"frobnicate\", \"from\"",
                 "chain.json:5: step 'frobnicate' is unknown (known: add, rename, remove, copy, "
                 "move, custom)");
    expect_error("\"version\": 3", "\"version\": 4",
                 "chain.json:9: version 4 follows version 2: gap, version 3 is missing");
    expect_error("\"version\": 3", "\"version\": 2",
                 "chain.json:9: version 2 follows version 2: versions must go up by one");
    expect_error("\"to\": \"full_name\"", "\"too\": \"full_name\"",
                 "chain.json:5: step 'rename' has no option 'too' (options: from, to)");
    expect_error("\"default\": \"dark\"", "\"dflt\": \"dark\"",
                 "chain.json:6: step 'add' has no option 'dflt' (options: field, default)");
    expect_error("\"legacy\", \"tmp.x\"", "\"legacy\", \"tmp..x\"",
                 "chain.json:10: field 'tmp..x' has an empty part");
    expect_error("\"from\": \"email\"", "\"from\": \"_version\"",
                 "chain.json:7: field '_version' is managed by the chain and cannot be changed");
    expect_error("\"to\": \"addresses\"", "\"to\": \"bad-name\"",
                 "chain.json:11: 'to' must name a collection: letters, digits and '_', at most "
                 "63 characters");
    expect_error("\"collection\"", "\"colection\"",
                 "chain.json:2: unknown key 'colection' (keys: collection, base, versions)");
    expect_error("]},\n", "]},,\n", "chain.json:8: unexpected token near ','");
    expect_error("\"name\", \"to\"", "\"name\" \"to\"", "chain.json:5: '}' expected near '\"to\"'");
    expect_error("{\"step\": \"remove\"",
                 "{\"step\": \"custom\", \"name\": \"x\"}, {\"step\": \"remove\"",
                 "chain.json:10: custom step 'x' has no registered callback");
}

static void chain_refuses_non_objects(void **state)
{
    struct lazy_error e;
    assert_null(load("[]", &e));
    assert_string_equal(e.msg,
                        "chain.json:1: a chain must be a JSON object with a 'versions' list");
    assert_null(load("{}", &e));
    assert_string_equal(e.msg, "chain.json:1: chain has no 'versions' list");
    assert_null(load("{\"versions\": [{\"version\": 2}]}", &e));
    assert_string_equal(e.msg, "chain.json:1: version 2 has no 'steps' list");
    assert_null(load("{\"versions\": [{\"version\": 2, \"steps\": []}], \"versions\": []}", &e));
    assert_non_null(strstr(e.msg, "duplicate object key"));
    struct lazy_chain *c = NULL;
    assert_int_equal(lazy_chain_load("/nonexistent/chain.json", NULL, &c, &e), -1);
    assert_string_equal(e.msg, "cannot open chain '/nonexistent/chain.json': No such file or "
                               "directory");
}

static json_t *doc_of(const char *text)
{
    json_error_t je;
    json_t *d = json_loads(text, 0, &je);
    assert_non_null(d);
    return d;
}

static void assert_json(json_t *got, const char *want)
{
    json_t *w = doc_of(want);
    if (!json_equal(got, w)) {
        char *g = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT);
        print_error("got  %s\nwant %s\n", g, want);
        free(g);
    }
    assert_true(json_equal(got, w));
    json_decref(w);
}

/* Upgrading document ID, JSON, fails with CODE and the message MSG (NULL: any); WITH_PLACE
 * says whether the caller takes moved parts. */
static void assert_upgrade_refused(struct lazy_chain *c, const char *id, const char *json,
                                   int with_place, int code, const char *msg)
{
    struct lazy_error e;
    json_t *d = doc_of(json), *moved = NULL;
    assert_int_equal(lazy_upgrade(c, id, d, with_place ? &moved : NULL, &e), code);
    if (msg)
        assert_string_equal(e.msg, msg);
    assert_null(moved);
    json_decref(d);
}

static void upgrade_applies_every_step(void **state)
{
    struct lazy_error e;
    struct lazy_chain *c = load(good_chain, &e);
    json_t *d = doc_of("{\"_version\": 1, \"name\": \"Ann\", \"email\": \"a@x\", \"legacy\": 1,"
                       " \"tmp\": {\"x\": 1, \"y\": 2}, \"street\": \"Main\","
                       " \"geo\": {\"city\": \"Oslo\", \"lat\": 5}}");
    json_t *moved = NULL;
    assert_int_equal(lazy_upgrade(c, "u1", d, &moved, &e), 2);
    assert_json(d, "{\"_version\": 3, \"full_name\": \"Ann\", \"email\": \"a@x\","
                   " \"contact\": {\"email\": \"a@x\"}, \"prefs\": {\"theme\": \"dark\"},"
                   " \"tmp\": {\"y\": 2}, \"geo\": {\"lat\": 5}}");
    assert_non_null(moved);
    assert_json(moved, "{\"addresses\": {\"street\": \"Main\", \"geo\": {\"city\": \"Oslo\"},"
                       " \"parent_id\": \"u1\", \"_version\": 1}}");
    json_decref(moved);
    /* already current: nothing changes, nothing moves */
    json_t *before = json_deep_copy(d);
    assert_int_equal(lazy_upgrade(c, "u1", d, &moved, &e), 0);
    assert_null(moved);
    assert_true(json_equal(before, d));
    json_decref(before);
    json_decref(d);
    /* from version 2: only the second version's steps; nothing to move */
    d = doc_of("{\"_version\": 2, \"name\": \"kept\", \"legacy\": true}");
    assert_int_equal(lazy_upgrade(c, "u2", d, &moved, &e), 1);
    assert_null(moved);
    assert_json(d, "{\"_version\": 3, \"name\": \"kept\"}");
    json_decref(d);
    /* add keeps an existing value */
    d = doc_of("{\"_version\": 1, \"prefs\": {\"theme\": \"light\"}}");
    assert_int_equal(lazy_upgrade(c, "u3", d, &moved, &e), 2);
    assert_json(d, "{\"_version\": 3, \"prefs\": {\"theme\": \"light\"}}");
    json_decref(d);
    /* a chain with a move step needs a place for the moved parts */
    assert_upgrade_refused(
        c, "u4", "{\"_version\": 1}", 0, LAZY_EFAIL,
        "document 'u4': the chain moves fields to 'addresses': a place for them is "
        "needed");
    lazy_chain_free(c);
}

static void upgrade_refuses_malformed(void **state)
{
    struct lazy_error e;
    struct lazy_chain *c = load(good_chain, &e);
    assert_upgrade_refused(c, "a", "{\"name\": \"x\"}", 1, LAZY_EMALFORMED,
                           "document 'a': '_version' is missing");
    assert_upgrade_refused(c, "b", "{\"_version\": 7}", 1, LAZY_EMALFORMED,
                           "document 'b': '_version' 7 is newer than the chain's latest version 3");
    assert_upgrade_refused(c, "c", "{\"_version\": \"2\"}", 1, LAZY_EMALFORMED,
                           "document 'c': '_version' is not an integer");
    assert_upgrade_refused(c, "d", "{\"_version\": 0}", 1, LAZY_EMALFORMED, NULL);
    /* a step that cannot apply: 'prefs' is a string, so prefs.theme cannot be added */
    assert_upgrade_refused(
        c, "e", "{\"_version\": 1, \"prefs\": \"none\"}", 1, LAZY_EMALFORMED,
        "document 'e': step 2 of version 2 (chain.json:6): cannot add 'prefs.theme': "
        "a part of it is not an object");
    lazy_chain_free(c);
}

/* The plugin's own callback (t_lazy_plugin.sh loads it built as a shared object),
 * counted through the argument the chain hands it. */
static int counted_lower_email(json_t *doc, const char *id, void *arg, char *msg, size_t size)
{
    (*(int *)arg)++;
    return lower_email(doc, id, NULL, msg, size);
}

static void custom_steps_run_callbacks(void **state)
{
    int calls = 0;
    struct lazy_custom customs[] = {{"lower_email", counted_lower_email, &calls},
                                    {NULL, NULL, NULL}};
    const char *text = "{\"versions\": [{\"version\": 2, \"steps\": [\n"
                       "  {\"step\": \"custom\", \"name\": \"lower_email\"}]}]}";
    struct lazy_chain *c = NULL;
    struct lazy_error e;
    assert_int_equal(lazy_chain_parse(text, strlen(text), "c.json", customs, &c, &e), 0);
    json_t *d = doc_of("{\"_version\": 1, \"email\": \"A@X.ORG\"}");
    assert_int_equal(lazy_upgrade(c, "x", d, NULL, &e), 1);
    assert_json(d, "{\"_version\": 2, \"email\": \"a@x.org\"}");
    assert_int_equal(calls, 1);
    json_decref(d);
    assert_upgrade_refused(
        c, "y", "{\"_version\": 1, \"email\": 5}", 0, LAZY_EMALFORMED,
        "document 'y': step 1 of version 2 (c.json:2): custom step 'lower_email': "
        "'email' is not a string");
    lazy_chain_free(c);
}

/* ---- SQLite store ---- */

static int bump(json_t *doc, void *arg, char *msg, size_t size)
{
    json_int_t n = json_integer_value(json_object_get(doc, "n"));
    return json_object_set_new(doc, "n", json_integer(n + 1));
}

static void store_reads_upgrades_and_writes_back(void **state)
{
    struct lazy_error e;
    struct lazy_chain *c = load(good_chain, &e);
    struct lazy_store *s = open_store("users");
    assert_int_equal(lazy_put_text(s, "u1", "{\"_version\":1,\"name\":\"A\",\"street\":\"S\"}", &e),
                     0);
    json_t *d = NULL;
    assert_int_equal(lazy_get(s, c, "u1", &d, &e), 0);
    assert_json(d, "{\"_version\":3,\"full_name\":\"A\",\"prefs\":{\"theme\":\"dark\"}}");
    json_decref(d);
    char *text = NULL;
    assert_int_equal(lazy_get_text(s, "u1", &text, &e), 0);
    assert_non_null(strstr(text, "\"_version\":3"));
    free(text);
    struct lazy_store *kids = open_store("addresses");
    assert_int_equal(lazy_get_text(kids, "u1", &text, &e), 0);
    d = doc_of(text);
    assert_json(d, "{\"street\":\"S\",\"parent_id\":\"u1\",\"_version\":1}");
    json_decref(d);
    free(text);
    assert_int_equal(lazy_update(s, c, "u1", bump, NULL, &e), 0);
    assert_int_equal(lazy_update(s, c, "u1", bump, NULL, &e), 0);
    assert_int_equal(lazy_get(s, c, "u1", &d, &e), 0);
    assert_int_equal(json_integer_value(json_object_get(d, "n")), 2);
    json_decref(d);
    assert_int_equal(lazy_get(s, c, "nope", &d, &e), LAZY_ENOTFOUND);
    assert_string_equal(e.msg, "document 'nope' not found in 'users'");
    assert_int_equal(lazy_put_text(s, "bad", "{oops", &e), 0);
    assert_int_equal(lazy_get(s, c, "bad", &d, &e), LAZY_EMALFORMED);
    assert_string_equal(e.msg, "document 'bad' in 'users': not JSON (column 5: string or '}' "
                               "expected near 'oops')");
    lazy_store_close(kids);
    lazy_store_close(s);
    lazy_chain_free(c);
}

static void skipped(const char *id, const char *why, void *arg)
{
    (*(int *)arg)++;
}

static void sweep_resumes_and_skips_malformed(void **state)
{
    struct lazy_error e;
    struct lazy_chain *c = load(good_chain, &e);
    struct lazy_store *s = open_store("sweepme");
    char id[16], text[128];
    for (int i = 0; i < 50; i++) {
        snprintf(id, sizeof(id), "d%03d", i);
        snprintf(text, sizeof(text), "{\"_version\":%d,\"name\":\"n%d\",\"legacy\":1}", 1 + i % 3,
                 i);
        assert_int_equal(lazy_put_text(s, id, text, &e), 0);
    }
    assert_int_equal(lazy_put_text(s, "x-bad", "[1,2]", &e), 0);
    assert_int_equal(lazy_put_text(s, "x-new", "{\"_version\":4}", &e), 0);
    int skips = 0;
    struct lazy_sweep_report r;
    struct lazy_sweep_opts o = {.batch = 7, .max_docs = 20, .on_skip = skipped, .arg = &skips};
    assert_int_equal(lazy_sweep(s, c, &o, &r, &e), 0);
    assert_false(r.complete);
    assert_int_equal(r.examined, 21);
    /* a new run continues from the saved position */
    o.max_docs = 0;
    assert_int_equal(lazy_sweep(s, c, &o, &r, &e), 0);
    assert_true(r.resumed);
    assert_true(r.complete);
    assert_int_equal(r.malformed, 2);
    assert_int_equal(skips, 2);
    json_t *st = NULL;
    assert_int_equal(lazy_status(s, c, &st, &e), 0);
    assert_json(st, "{\"collection\":\"sweepme\",\"base\":1,\"latest\":3,\"total\":52,"
                    "\"versions\":{\"1\":0,\"2\":0,\"3\":50},\"malformed\":{\"not_json\":1,"
                    "\"no_version\":0,\"older\":0,\"newer\":1}}");
    json_decref(st);
    char *t = NULL;
    assert_int_equal(lazy_get_text(s, "x-bad", &t, &e), 0);
    assert_string_equal(t, "[1,2]");
    free(t);
    assert_int_equal(lazy_get_text(s, "d004", &t, &e), 0);
    json_t *d = doc_of(t);
    assert_json(d, "{\"_version\":3,\"name\":\"n4\"}"); /* was at version 2 */
    json_decref(d);
    free(t);
    /* nothing left: a third sweep writes nothing */
    assert_int_equal(lazy_sweep(s, c, &o, &r, &e), 0);
    assert_false(r.resumed);
    assert_int_equal(r.upgraded, 0);
    lazy_store_close(s);
    lazy_chain_free(c);
}

/* A scan that returns every document of a batch twice, as a Redis SCAN may. */
static struct lazy_store_ops dup_ops;
static const struct lazy_store_ops *real_ops;

static int dup_scan(struct lazy_store *s, const char *pos, size_t batch, struct lazy_batch *out,
                    struct err *e)
{
    if (real_ops->scan(s, pos, batch, out, e) < 0)
        return -1;
    size_t n = out->n;
    for (size_t i = 0; i < n; i++)
        if (lazy_batch_push(out, out->items[i].id, out->items[i].text, out->items[i].rev, e) < 0)
            return -1;
    return 0;
}

static void sweep_survives_repeated_keys(void **state)
{
    struct lazy_error e;
    struct lazy_chain *c = load(good_chain, &e);
    struct lazy_store *s = open_store("dups");
    real_ops = s->ops;
    dup_ops = *s->ops;
    dup_ops.scan = dup_scan;
    dup_ops.scan_repeats = 1;
    s->ops = &dup_ops;
    char id[16], text[128];
    for (int i = 0; i < 30; i++) {
        snprintf(id, sizeof(id), "k%02d", i);
        snprintf(text, sizeof(text), "{\"_version\":1,\"name\":\"n%d\",\"street\":\"s%d\"}", i, i);
        assert_int_equal(lazy_put_text(s, id, text, &e), 0);
    }
    assert_int_equal(lazy_put_text(s, "zz-bad", "{\"_version\":99}", &e), 0);
    int skips = 0;
    struct lazy_sweep_report r;
    struct lazy_sweep_opts o = {.batch = 8, .on_skip = skipped, .arg = &skips};
    assert_int_equal(lazy_sweep(s, c, &o, &r, &e), 0);
    assert_true(r.complete);
    assert_int_equal(r.upgraded, 30); /* each once, though each was read twice */
    assert_int_equal(r.malformed, 1);
    assert_int_equal(skips, 1);
    json_t *st = NULL;
    assert_int_equal(lazy_status(s, c, &st, &e), 0); /* each key counted once */
    assert_int_equal(json_integer_value(json_object_get(st, "total")), 31);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(st, "versions"), "3")), 30);
    json_decref(st);
    char *t = NULL;
    assert_int_equal(lazy_get_text(s, "k07", &t, &e), 0);
    json_t *d = doc_of(t);
    assert_json(d, "{\"_version\":3,\"full_name\":\"n7\",\"prefs\":{\"theme\":\"dark\"}}");
    json_decref(d);
    free(t);
    s->ops = real_ops;
    lazy_store_close(s);
    lazy_chain_free(c);
}

static void json_line_lookup(void **state)
{
    const char *t =
        "{\n \"a\": \"x}\\\"]\",\n \"b\": [1,\n  {\"c\":\n   true}, [\"[\"]\n ],\n \"d\": 5}";
    assert_int_equal(lazy_json_line(t, strlen(t), ""), 1);
    assert_int_equal(lazy_json_line(t, strlen(t), "a"), 2);
    assert_int_equal(lazy_json_line(t, strlen(t), "b"), 3);
    assert_int_equal(lazy_json_line(t, strlen(t), "b/1"), 4);
    assert_int_equal(lazy_json_line(t, strlen(t), "b/1/c"), 5);
    assert_int_equal(lazy_json_line(t, strlen(t), "b/2"), 5);
    assert_int_equal(lazy_json_line(t, strlen(t), "d"), 7);
    assert_int_equal(lazy_json_line(t, strlen(t), "e"), 0);
    assert_int_equal(lazy_json_line(t, strlen(t), "b/9"), 0);
    assert_int_equal(lazy_json_line(t, 5, "b"), 0); /* cut short */
}

static void store_urls_are_checked(void **state)
{
    struct lazy_store *s = NULL;
    struct lazy_error e;
    assert_int_equal(lazy_store_open("sqlite:/tmp/x.db", &s, &e), -1);
    assert_string_equal(e.msg, "store URL 'sqlite:/tmp/x.db' names no table (expected ...#TABLE)");
    assert_int_equal(lazy_store_open("sqlite:/tmp/x.db#a-b", &s, &e), -1);
    assert_string_equal(e.msg, "store URL 'sqlite:/tmp/x.db#a-b': table 'a-b' must be letters, "
                               "digits and '_' (at most 63)");
    assert_refused(lazy_store_open("mongodb://x", &s, &e), e.msg, "is not sqlite:PATH#TABLE");
    assert_int_equal(lazy_store_open("redis://127.0.0.1:1", &s, &e), -1);
    assert_string_equal(e.msg, "store URL 'redis://127.0.0.1:1' names no key prefix (expected "
                               "redis://HOST:PORT/PREFIX)");
    assert_int_equal(lazy_store_open("redis://127.0.0.1:99999/p", &s, &e), -1);
    assert_string_equal(e.msg, "store URL 'redis://127.0.0.1:99999/p': bad port '99999'");
    assert_refused(lazy_store_open("redis://127.0.0.1:1/p", &s, &e), e.msg,
                   "cannot connect to redis '127.0.0.1:1'");
    assert_null(s);
}

UNIT_MAIN("lazy", setup_db, teardown_db, cmocka_unit_test(chain_loads),
          cmocka_unit_test(chain_errors_name_the_line), cmocka_unit_test(chain_refuses_non_objects),
          cmocka_unit_test(upgrade_applies_every_step), cmocka_unit_test(upgrade_refuses_malformed),
          cmocka_unit_test(custom_steps_run_callbacks),
          cmocka_unit_test(store_reads_upgrades_and_writes_back),
          cmocka_unit_test(sweep_resumes_and_skips_malformed),
          cmocka_unit_test(sweep_survives_repeated_keys), cmocka_unit_test(json_line_lookup),
          cmocka_unit_test(store_urls_are_checked))
