/* Unit tests of the set-based sweep (src/lazy/sqlplan.c, sql_sqlite.c, sql_pg.c): which
 * chains compile and into what, and on SQLite the documents, moved parts and reports it
 * gives against the per-document path's, byte for byte; a chain mixing custom and
 * declarative steps; a document written at an old version during the last pass. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "baton/lazy.h"
#include "lazy/lazy_int.h"
#include "test_lazy_fixture.h"

static struct lazy_chain *chain_of(const char *text, const struct lazy_custom *customs)
{
    struct lazy_chain *c = NULL;
    struct lazy_error e;
    if (lazy_chain_parse(text, strlen(text), "c.json", customs, &c, &e) < 0)
        print_error("%s\n", e.msg);
    assert_non_null(c);
    return c;
}

/* The plan's first version for a chain on a table, with the dialect. */
static int plan_from(const char *text, const char *table, const struct lazy_sql_dialect *d)
{
    static const struct lazy_custom customs[] = {{"x", NULL, NULL}, {NULL, NULL, NULL}};
    struct lazy_chain *c = chain_of(text, customs);
    struct lazy_plan pl;
    struct err e;
    assert_int_equal(lazy_plan_build(&pl, c, table, d, &e), 0);
    int from = pl.from;
    lazy_plan_free(&pl);
    lazy_chain_free(c);
    return from;
}

#define V(n, steps)  "{\"version\": " #n ", \"steps\": [" steps "]}"
#define CHAIN(...)   "{\"versions\": [" __VA_ARGS__ "]}"
#define RENAME(a, b) "{\"step\": \"rename\", \"from\": \"" a "\", \"to\": \"" b "\"}"
#define CUSTOM       "{\"step\": \"custom\", \"name\": \"x\"}"

static void plan_covers_the_declarative_tail(void **state)
{
    const struct lazy_sql_dialect *sq = &lazy_sqlite_dialect, *pg = &lazy_pg_dialect;
    /* all declarative: every version; a custom step: only the versions after it */
    assert_int_equal(plan_from(CHAIN(V(2, RENAME("a", "b")) "," V(3, RENAME("c", "d"))), "t", sq),
                     1);
    assert_int_equal(plan_from(CHAIN(V(2, CUSTOM) "," V(3, RENAME("c", "d"))), "t", sq), 2);
    assert_int_equal(plan_from(CHAIN(V(2, RENAME("c", "d")) "," V(3, CUSTOM)), "t", pg), 3);
    /* a rename into or out of its own source goes one by one; onto itself it is planned */
    assert_int_equal(plan_from(CHAIN(V(2, RENAME("a", "a.b"))), "t", sq), 2);
    assert_int_equal(plan_from(CHAIN(V(2, RENAME("a.b", "a"))), "t", pg), 2);
    assert_int_equal(plan_from(CHAIN(V(2, RENAME("a", "a"))), "t", sq), 1);
    /* SQLite cannot name a key with a quote; PostgreSQL binds it */
    assert_int_equal(plan_from(CHAIN(V(2, RENAME("we\\\"ird", "b"))), "t", sq), 2);
    assert_int_equal(plan_from(CHAIN(V(2, RENAME("we\\\"ird", "b"))), "t", pg), 1);
    /* a move: not into the store's own table; nested fields on SQLite only */
    const char *move = CHAIN(V(2, "{\"step\": \"move\", \"fields\": [\"s\", \"g.c\"], \"to\": "
                                  "\"kids\"}"));
    assert_int_equal(plan_from(move, "t", sq), 1);
    assert_int_equal(plan_from(move, "kids", sq), 2);
    assert_int_equal(plan_from(move, "t", pg), 2);
    assert_int_equal(plan_from(CHAIN(V(2, "{\"step\": \"move\", \"fields\": [\"g\", \"g.c\"], "
                                          "\"to\": \"kids\"}")),
                               "t", sq),
                     2);
    /* at most LAZY_PLAN_MAX_STAGES steps: the older versions go one by one */
    char text[16384] = "{\"versions\": [";
    for (int v = 2; v <= LAZY_PLAN_MAX_STAGES + 6; v++)
        snprintf(text + strlen(text), sizeof(text) - strlen(text),
                 "%s{\"version\": %d, \"steps\": [{\"step\": \"add\", \"field\": \"f%d\", "
                 "\"default\": %d}]}",
                 v > 2 ? "," : "", v, v, v);
    strcat(text, "]}");
    assert_int_equal(plan_from(text, "t", sq), 6);
}

/* The statements, and that the chain's names and values never enter their text. */
static void plan_binds_what_the_chain_says(void **state)
{
    const char *text =
        CHAIN(V(2, RENAME("it's'); DROP TABLE t; --",
                          "b") ",{\"step\": \"add\", \"field\": \"n\", \"default\": \"'; --\"}"));
    struct lazy_chain *c = chain_of(text, NULL);
    const struct lazy_sql_dialect *ds[] = {&lazy_sqlite_dialect, &lazy_pg_dialect};
    for (int i = 0; i < 2; i++) {
        struct lazy_plan pl;
        struct err e;
        assert_int_equal(lazy_plan_build(&pl, c, "t", ds[i], &e), 0);
        assert_int_equal(pl.nstmt, 1);
        assert_null(strstr(pl.stmt[0].text, "DROP"));
        assert_null(strstr(pl.stmt[0].text, "--"));
        /* one group, no stage: the UPDATE reads the row it writes */
        assert_null(strstr(pl.stmt[0].text, "MATERIALIZED"));
        lazy_plan_free(&pl);
    }
    lazy_chain_free(c);
    /* a rename read after another write of its source needs a stage; PostgreSQL's
     * UPDATE then compares rev, and a move is written by the same statement */
    c = chain_of(
        CHAIN(V(2, RENAME("a", "b")) "," V(3, RENAME("b", "c") ",{\"step\": \"move\", \"fields\": "
                                                               "[\"m\"], \"to\": \"kids\"}")),
        NULL);
    struct lazy_plan pl;
    struct err e;
    assert_int_equal(lazy_plan_build(&pl, c, "t", &lazy_pg_dialect, &e), 0);
    assert_int_equal(pl.nstmt, 1);
    assert_non_null(strstr(pl.stmt[0].text, "s1 AS MATERIALIZED"));
    assert_non_null(strstr(pl.stmt[0].text, "\"t\".rev = s1.rev"));
    assert_non_null(strstr(pl.stmt[0].text, "INSERT INTO \"kids\""));
    lazy_plan_free(&pl);
    assert_int_equal(lazy_plan_build(&pl, c, "t", &lazy_sqlite_dialect, &e), 0);
    assert_int_equal(pl.nstmt, 2); /* the parts, then the parents */
    assert_non_null(strstr(pl.stmt[0].text, "INSERT INTO \"kids\""));
    assert_non_null(strstr(pl.stmt[1].text, "\"t\".rev = s1.rev"));
    lazy_plan_free(&pl);
    lazy_chain_free(c);
}

/* ---- the set-based path against the per-document path, on SQLite ---- */

static struct lazy_store_ops per_doc_ops; /* the SQLite driver without its plan */

static void force_per_document(struct lazy_store *s)
{
    per_doc_ops = *s->ops;
    per_doc_ops.plan_build = NULL;
    s->ops = &per_doc_ops;
}

struct skips {
    char ids[64][32];
    char why[64][256];
    int n;
};

static void on_skip(const char *id, const char *why, void *arg)
{
    struct skips *k = arg;
    if (k->n < 64) {
        snprintf(k->ids[k->n], sizeof(k->ids[0]), "%s", id);
        snprintf(k->why[k->n++], sizeof(k->why[0]), "%s", why);
    }
}

struct dump {
    char text[65536];
};

static int dump_one(const char *id, const char *text, void *arg)
{
    struct dump *d = arg;
    snprintf(d->text + strlen(d->text), sizeof(d->text) - strlen(d->text), "%s\t%s\n", id, text);
    return 0;
}

static void dump(struct lazy_store *s, struct dump *d)
{
    struct lazy_error e;
    d->text[0] = 0;
    assert_int_equal(lazy_each(s, dump_one, d, &e), 0);
}

/* Every declarative step, nested paths, a nested move, over documents at each version,
 * values of every JSON type, fields absent or null, and documents a step cannot take. */
static const char every_step[] = CHAIN(
    V(2,
      RENAME(
          "name",
          "full_name") ",{\"step\": \"add\", \"field\": \"prefs.theme\", "
                       "\"default\": \"dark\"},{\"step\": \"copy\", \"from\": "
                       "\"email\", \"to\": \"contact.email\"}") "," V(3,
                                                                      "{\"step\": \"remove\", "
                                                                      "\"fields\": [\"legacy\", "
                                                                      "\"tmp.x\"]},{\"step\": "
                                                                      "\"move\", "
                                                                      "\"fields\": [\"street\", "
                                                                      "\"geo.city\"], \"to\": "
                                                                      "\"%s\", \"link\": "
                                                                      "\"owner\"}") "," V(4,
                                                                                          "{\"step"
                                                                                          "\": "
                                                                                          "\"add\","
                                                                                          " \"field"
                                                                                          "\": "
                                                                                          "\"tags\""
                                                                                          ", "
                                                                                          "\"defaul"
                                                                                          "t\": "
                                                                                          "[1, "
                                                                                          "{\"z\": "
                                                                                          "null}]},"
                                                                                          "{\"step"
                                                                                          "\": "
                                                                                          "\"rename"
                                                                                          "\", "
                                                                                          "\"from\""
                                                                                          ": "
                                                                                          "\"a.b\","
                                                                                          " \"to\":"
                                                                                          " \"c\"},"
                                                                                          "{\"step"
                                                                                          "\": "
                                                                                          "\"copy\""
                                                                                          ", "
                                                                                          "\"from\""
                                                                                          ": "
                                                                                          "\"full_"
                                                                                          "name\", "
                                                                                          "\"to\": "
                                                                                          "\"shown."
                                                                                          "name\"},"
                                                                                          "{\"step"
                                                                                          "\": "
                                                                                          "\"remove"
                                                                                          "\", "
                                                                                          "\"field"
                                                                                          "\": "
                                                                                          "\"email"
                                                                                          "\"}"));

static const char *const docs[][2] = {
    {"d01", "{\"_version\":1,\"name\":\"Ann\",\"email\":\"a@x\",\"legacy\":1,\"tmp\":{\"x\":1,"
            "\"y\":2},\"street\":\"Main\",\"geo\":{\"city\":\"Oslo\",\"lat\":5},\"a\":{\"b\":{"
            "\"deep\":[1,2]}}}"},
    {"d02", "{\"_version\":1}"},
    {"d03", "{\"_version\":1,\"prefs\":\"none\"}"},            /* add prefs.theme fails */
    {"d04", "{\"_version\":1,\"email\":\"e\",\"contact\":5}"}, /* copy into 5 fails */
    {"d05", "{\"_version\":1,\"contact\":5}"},                 /* nothing to copy */
    {"d06", "{\"_version\":2,\"name\":\"keep\",\"legacy\":true,\"street\":null}"},
    {"d07", "{\"_version\":3,\"a\":{\"b\":\"s\"},\"tags\":[\"x\"],\"c\":0}"},
    {"d08", "{\"_version\":4,\"anything\":\"as is\"}"},
    {"d09", "{\"_version\":1,\"name\":null,\"prefs\":{\"theme\":null},\"email\":null}"},
    {"d10", "{\"_version\":1,\"z\":1,\"full_name\":\"old\",\"name\":\"new\",\"y\":2}"},
    {"d11", "{\"_version\":1,\"name\":\"quo\\\"te\\\\back\\nline \xc3\xa9\"}"},
    {"d12", "{\"_version\":1,\"name\":[1,{\"x\":\"y\"},true,false,-3]}"},
    {"d13", "{\"_version\":1,\"geo\":5,\"tmp\":5,\"a\":5}"},
    {"d14",
     "{\"_version\":2,\"full_name\":\"f\",\"geo\":{\"city\":{\"n\":1}},\"shown\":[]}"}, /* copy into
                                                                                           [] */
    {"d15", "{\"_version\":1,\"\xd0\xba\":1,\"name\":\"x\"}"},
    {"d16", "{\"_version\":1,\"name\":\"a\\u0000b\"}"}, /* jansson refuses NUL */
    {"d17", "[1,2]"},
    {"d18", "{\"_version\":\"1\"}"},
    {"d19", "{\"_version\":9}"},
    {"d20", "{\"_version\":0}"},
    {"d21", "{\"_version\":1.0}"},
    {"d22", "not json"},
    {"d23", "{\"_version\":3,\"email\":\"kept until 4\"}"},
};

/* Sweeps the documents through one store (its parts into `kids`); dumps both. */
static void sweep_docs(const char *table, const char *kids, int per_document, struct dump *out,
                       struct dump *out_kids, struct skips *k)
{
    char text[4096];
    snprintf(text, sizeof(text), every_step, kids);
    struct lazy_chain *c = chain_of(text, NULL);
    struct lazy_store *s = open_store(table), *ks = open_store(kids);
    struct lazy_error e;
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
        assert_int_equal(lazy_put_text(s, docs[i][0], docs[i][1], &e), 0);
    if (per_document)
        force_per_document(s);
    struct lazy_sweep_report r;
    struct lazy_sweep_opts o = {.batch = 5, .on_skip = on_skip, .arg = k};
    if (lazy_sweep(s, c, &o, &r, &e) < 0)
        print_error("%s\n", e.msg);
    assert_true(r.complete);
    dump(s, out);
    dump(ks, out_kids);
    lazy_store_close(ks);
    lazy_store_close(s);
    lazy_chain_free(c);
}

static void set_based_equals_per_document(void **state)
{
    static struct dump a, b, ak, bk;
    struct skips ka = {0}, kb = {0};
    sweep_docs("set_based", "set_kids", 0, &a, &ak, &ka);
    sweep_docs("per_doc", "per_kids", 1, &b, &bk, &kb);
    if (strcmp(a.text, b.text) != 0)
        print_error("set-based:\n%s\nper-document:\n%s\n", a.text, b.text);
    assert_string_equal(a.text, b.text);
    assert_string_equal(ak.text, bk.text);
    assert_int_equal(ka.n, kb.n);
    for (int i = 0; i < ka.n; i++) {
        assert_string_equal(ka.ids[i], kb.ids[i]);
        assert_string_equal(ka.why[i], kb.why[i]);
    }
    /* what the chain promises, for a few of them */
    assert_non_null(strstr(a.text, "d01\t{\"_version\":4,\"tmp\":{\"y\":2},\"geo\":{\"lat\":5},"
                                   "\"a\":{},\"full_name\":\"Ann\",\"prefs\":{\"theme\":\"dark\"},"
                                   "\"contact\":{\"email\":\"a@x\"},\"tags\":[1,{\"z\":null}],"
                                   "\"c\":{\"deep\":[1,2]},\"shown\":{\"name\":\"Ann\"}}\n"));
    assert_non_null(strstr(a.text, "d10\t{\"_version\":4,\"z\":1,\"full_name\":\"new\",\"y\":2,"));
    assert_non_null(strstr(ak.text, "d01\t{\"street\":\"Main\",\"geo\":{\"city\":\"Oslo\"},"
                                    "\"owner\":\"d01\",\"_version\":1}\n"));
    assert_non_null(strstr(ak.text, "d06\t{\"street\":null,\"owner\":\"d06\",\"_version\":1}\n"));
    assert_int_equal(ka.n, 10); /* d03 d04 d14 d16 .. d22 */
}

/* Numbers keep the text they were written with through SQL (1.50), while the
 * per-document path writes them back as jansson prints them (1.5): which path a document
 * took shows. */
static void set_based_keeps_the_text_of_values(void **state)
{
    struct lazy_chain *c = chain_of(CHAIN(V(2, RENAME("a", "b"))), NULL);
    struct lazy_store *s = open_store("texts"), *p = open_store("texts_pd");
    struct lazy_error e;
    struct lazy_sweep_report r;
    char *t = NULL;
    assert_int_equal(lazy_put_text(s, "x", "{\"_version\":1,\"a\":1.50,\"n\":\"\\u00e9\"}", &e), 0);
    assert_int_equal(lazy_put_text(p, "x", "{\"_version\":1,\"a\":1.50,\"n\":\"\\u00e9\"}", &e), 0);
    force_per_document(p);
    assert_int_equal(lazy_sweep(s, c, NULL, &r, &e), 0);
    assert_int_equal(lazy_sweep(p, c, NULL, &r, &e), 0);
    assert_int_equal(lazy_get_text(s, "x", &t, &e), 0);
    assert_string_equal(t, "{\"_version\":2,\"n\":\"\\u00e9\",\"b\":1.50}");
    free(t);
    assert_int_equal(lazy_get_text(p, "x", &t, &e), 0);
    assert_string_equal(t, "{\"_version\":2,\"n\":\"\xc3\xa9\",\"b\":1.5}");
    free(t);
    lazy_store_close(s);
    lazy_store_close(p);
    lazy_chain_free(c);
}

static int tag(json_t *doc, const char *id, void *arg, char *msg, size_t size)
{
    (*(int *)arg)++;
    return json_object_set_new(doc, "tagged", json_true());
}

/* Version 2 is a custom step, 3 declarative: documents at 1 go one by one (the callback
 * runs for them only), those at 2 through SQL; the result is the per-document one. */
static void mixed_chain_splits_by_version(void **state)
{
    int calls = 0;
    struct lazy_custom customs[] = {{"tag", tag, &calls}, {NULL, NULL, NULL}};
    const char *text = CHAIN(V(2, "{\"step\": \"custom\", \"name\": \"tag\"}") "," V(
        3, RENAME("n", "m") ",{\"step\": \"add\", \"field\": \"k\", "
                            "\"default\": 0}"));
    struct lazy_chain *c = chain_of(text, customs);
    struct lazy_store *s = open_store("mixed"), *p = open_store("mixed_pd");
    struct lazy_error e;
    struct lazy_sweep_report r;
    for (int i = 0; i < 20; i++) {
        char id[8], doc[96];
        snprintf(id, sizeof(id), "m%02d", i);
        snprintf(doc, sizeof(doc), "{\"_version\":%d,\"n\":1.50,\"i\":%d%s}", 1 + i % 2, i,
                 i % 2 ? ",\"tagged\":false" : "");
        assert_int_equal(lazy_put_text(s, id, doc, &e), 0);
        assert_int_equal(lazy_put_text(p, id, doc, &e), 0);
    }
    assert_int_equal(lazy_sweep(s, c, &(struct lazy_sweep_opts){.batch = 7}, &r, &e), 0);
    assert_int_equal(r.upgraded, 20);
    assert_int_equal(calls, 10);
    struct dump a, b;
    dump(s, &a);
    assert_non_null(
        strstr(a.text, "m00\t{\"_version\":3,\"i\":0,\"tagged\":true,\"m\":1.5,\"k\":0}"));
    assert_non_null(strstr(a.text, "m01\t{\"_version\":3,\"i\":1,\"tagged\":false,\"m\":1.50,"));
    force_per_document(p);
    assert_int_equal(lazy_sweep(p, c, NULL, &r, &e), 0);
    assert_int_equal(calls, 20);
    dump(p, &b);
    /* the same documents but for how 1.50 is written */
    char *w = a.text;
    while ((w = strstr(w, "1.50")))
        memmove(w + 3, w + 4, strlen(w + 4) + 1);
    assert_string_equal(a.text, b.text);
    lazy_store_close(s);
    lazy_store_close(p);
    lazy_chain_free(c);
}

/* A version-1 document written by another connection behind the cursor while the only
 * pass runs (after its first batch) is upgraded: the check after the pass finds it. */
struct late {
    struct lazy_store *other;
    int batches;
};

static void write_late(const struct lazy_sweep_report *r, void *arg)
{
    struct late *l = arg;
    struct lazy_error e;
    if (++l->batches == 2)
        assert_int_equal(lazy_put_text(l->other, "a-late", "{\"_version\":1,\"a\":7}", &e), 0);
}

static void document_written_during_the_last_pass(void **state)
{
    struct lazy_chain *c = chain_of(CHAIN(V(2, RENAME("a", "b"))), NULL);
    struct lazy_store *s = open_store("late");
    struct late l = {open_store("late"), 0};
    struct lazy_error e;
    struct lazy_sweep_report r;
    for (int i = 0; i < 30; i++) {
        char id[8];
        snprintf(id, sizeof(id), "k%02d", i);
        assert_int_equal(lazy_put_text(s, id, "{\"_version\":2}", &e), 0);
    }
    struct lazy_sweep_opts o = {.batch = 10, .on_batch = write_late, .arg = &l};
    assert_int_equal(lazy_sweep(s, c, &o, &r, &e), 0);
    assert_true(r.complete);
    assert_int_equal(r.upgraded, 1);
    assert_int_equal(r.passes, 2);
    char *t = NULL;
    assert_int_equal(lazy_get_text(s, "a-late", &t, &e), 0);
    assert_string_equal(t, "{\"_version\":2,\"b\":7}");
    free(t);
    /* nobody else writes: one pass, no check */
    assert_int_equal(lazy_put_text(s, "a-late2", "{\"_version\":1,\"a\":8}", &e), 0);
    assert_int_equal(lazy_sweep(s, c, NULL, &r, &e), 0);
    assert_int_equal(r.passes, 1);
    assert_int_equal(r.upgraded, 1);
    lazy_store_close(l.other);
    lazy_store_close(s);
    lazy_chain_free(c);
}

UNIT_MAIN("lazy_sql", setup_db, teardown_db, cmocka_unit_test(plan_covers_the_declarative_tail),
          cmocka_unit_test(plan_binds_what_the_chain_says),
          cmocka_unit_test(set_based_equals_per_document),
          cmocka_unit_test(set_based_keeps_the_text_of_values),
          cmocka_unit_test(mixed_chain_splits_by_version),
          cmocka_unit_test(document_written_during_the_last_pass))
