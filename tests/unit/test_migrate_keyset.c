/* Unit tests of the keyset walk of src/migrate/keyset.c: key specs, the SQL of each walk
 * step on both dialects, the substitution of position literals, and the literal check. */
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#include "migrate/keyset.h"
#include "migrate/mfile.h"

static void parses_key_specs(void **state)
{
    struct keyset ks;
    struct err e;
    assert_int_equal(keyset_parse("id", &ks, &e), 0);
    assert_int_equal(ks.n, 1);
    assert_int_equal(keyset_parse("tenant,id", &ks, &e), 0);
    assert_int_equal(ks.n, 2);
    assert_string_equal(ks.col[1], "id");
    char buf[64];
    keyset_expr(&ks, buf, sizeof(buf));
    assert_string_equal(buf, "(tenant, id)");
    assert_int_equal(keyset_parse("a,,b", &ks, &e), -1);
    assert_string_equal(e.msg, "key 'a,,b': a column name is empty or too long");
    assert_int_equal(keyset_parse("a,b c", &ks, &e), -1);
    assert_string_equal(e.msg, "key 'a,b c': invalid column name 'b c'");
    assert_int_equal(keyset_parse("a,b,c,d,e,f,g,h,i", &ks, &e), -1);
    assert_int_equal(mfile_key_ok("tenant,id"), 1);
    assert_int_equal(mfile_key_ok("tenant,"), 0);
    assert_int_equal(mfile_key_ok("a;b"), 0);
}

static void builds_walk_sql(void **state)
{
    struct keyset ks;
    struct err e;
    assert_int_equal(keyset_parse("tenant,id", &ks, &e), 0);
    char *s = keyset_next_sql(DATABASE_POSTGRES, "docs", &ks, "('t1'::text, 'x'::uuid)", NULL, 500);
    assert_string_equal(
        s, "SELECT '(' || quote_literal(tenant) || '::' || pg_typeof(tenant)::text || ', ' || "
           "quote_literal(id) || '::' || pg_typeof(id)::text || ')' FROM (SELECT tenant, id FROM "
           "docs WHERE tenant IS NOT NULL AND id IS NOT NULL AND (tenant, id) > ('t1'::text, "
           "'x'::uuid) ORDER BY tenant, id LIMIT 500) b ORDER BY tenant DESC, id DESC LIMIT 1");
    free(s);
    assert_int_equal(keyset_parse("code", &ks, &e), 0);
    s = keyset_next_sql(DATABASE_SQLITE, "tags", &ks, NULL, NULL, 10);
    assert_string_equal(s, "SELECT quote(code) FROM (SELECT code FROM tags WHERE code IS NOT NULL "
                           "ORDER BY code LIMIT 10) b ORDER BY code DESC LIMIT 1");
    free(s);
    s = keyset_first_sql(DATABASE_SQLITE, "tags", &ks);
    assert_string_equal(
        s, "SELECT quote(code) FROM tags WHERE code IS NOT NULL ORDER BY code LIMIT 1");
    free(s);
}

/* The walk stops at the largest key it found when it started: rows the app inserts
   later are left to the sync triggers. */
static void bounds_the_walk(void **state)
{
    struct keyset ks;
    struct err e;
    assert_int_equal(keyset_parse("tenant,id", &ks, &e), 0);
    char *s = keyset_last_sql(DATABASE_SQLITE, "docs", &ks);
    assert_string_equal(s, "SELECT '(' || quote(tenant) || ', ' || quote(id) || ')' FROM docs "
                           "WHERE tenant IS NOT NULL AND id IS NOT NULL ORDER BY tenant DESC, id "
                           "DESC LIMIT 1");
    free(s);
    s = keyset_next_sql(DATABASE_SQLITE, "docs", &ks, "('a', 'b')", "('t9', 'z')", 100);
    assert_string_equal(s, "SELECT '(' || quote(tenant) || ', ' || quote(id) || ')' FROM (SELECT "
                           "tenant, id FROM docs WHERE tenant IS NOT NULL AND id IS NOT NULL AND "
                           "(tenant, id) > ('a', 'b') AND (tenant, id) <= ('t9', 'z') ORDER BY "
                           "tenant, id LIMIT 100) b ORDER BY tenant DESC, id DESC LIMIT 1");
    free(s);
    s = keyset_next_sql(DATABASE_SQLITE, "docs", &ks, NULL, "('t9', 'z')", 100);
    assert_non_null(strstr(s, "id IS NOT NULL AND (tenant, id) <= ('t9', 'z') ORDER BY"));
    free(s);
}

static void substitutes_positions(void **state)
{
    struct err e;
    const char *t = "UPDATE d SET x = 1 WHERE (a, b) > :lo AND (a, b) <= :hi AND :lox = 1";
    char *s = keyset_subst(t, "('a', 1)", "('b', 2)", 0, &e);
    assert_string_equal(s, "UPDATE d SET x = 1 WHERE (a, b) > ('a', 1) AND (a, b) <= ('b', 2) AND "
                           ":lox = 1");
    free(s);
    s = keyset_subst(t, "('a', 1)", "('b', 2)", 1, &e);
    assert_string_equal(s, "UPDATE d SET x = 1 WHERE (a, b) >= ('a', 1) AND (a, b) <= ('b', 2) "
                           "AND :lox = 1");
    free(s);
    s = keyset_subst("x>:lo", "'a'", "'b'", 1, &e);
    assert_string_equal(s, "x>= 'a'");
    free(s);
    assert_null(keyset_subst("WHERE :lo < k AND k <= :hi", "'a'", "'b'", 1, &e));
    assert_string_equal(e.msg, "the batch statement uses :lo other than in 'KEY > :lo', which a "
                               "key that is not an integer needs");
    assert_null(keyset_subst("WHERE k >> :lo", "'a'", "'b'", 1, &e));
}

static void checks_literals(void **state)
{
    assert_true(keyset_literal_ok("'o''brien'"));
    assert_true(keyset_literal_ok("12"));
    assert_true(keyset_literal_ok("-1.5e+10"));
    assert_true(keyset_literal_ok("X'00ff'"));
    assert_true(keyset_literal_ok("('t1'::text, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid)"));
    assert_true(keyset_literal_ok("'x'::character varying"));
    assert_true(keyset_literal_ok("('a', 1, X'01')"));
    assert_false(keyset_literal_ok(""));
    assert_false(keyset_literal_ok("'a'; DROP TABLE t"));
    assert_false(keyset_literal_ok("'a''"));
    assert_false(keyset_literal_ok("('a', 1"));
    assert_false(keyset_literal_ok("('a',1)"));
    assert_false(keyset_literal_ok("('a', 1))"));
    assert_false(keyset_literal_ok("'a'::text; x"));
    assert_false(keyset_literal_ok("'a'::"));
    assert_false(keyset_literal_ok("NULL"));
    assert_false(keyset_literal_ok("(select 1)"));
}

UNIT_MAIN("migrate_keyset", NULL, NULL, cmocka_unit_test(parses_key_specs),
          cmocka_unit_test(builds_walk_sql), cmocka_unit_test(bounds_the_walk),
          cmocka_unit_test(substitutes_positions), cmocka_unit_test(checks_literals))
