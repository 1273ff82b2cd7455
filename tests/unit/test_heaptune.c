/* Unit tests of supervise/heaptune.c: the master's own exec adds glibc's tunable and a
 * marker to the environment, keeps an operator's tunables beside it and leaves an
 * operator's choice of the cache alone; the restore gives children the environment as
 * it was given. */
#include "unit.h"

#include <stdlib.h>
#include <sys/prctl.h>

#include "supervise/heaptune.h"

static int clean_env(void **state)
{
    (void)state;
    unsetenv("GLIBC_TUNABLES");
    unsetenv(HEAPTUNE_MARK);
    unsetenv(HEAPTUNE_WAS);
    return 0;
}

static void sets_and_restores_without_tunables(void **state)
{
    (void)state;
    assert_int_equal(heaptune_env_set(), 1);
    assert_string_equal(getenv("GLIBC_TUNABLES"), HEAPTUNE_TUNABLE);
    assert_string_equal(getenv(HEAPTUNE_MARK), "1");
    assert_null(getenv(HEAPTUNE_WAS));
    heaptune_env_restore();
    assert_null(getenv("GLIBC_TUNABLES"));
    assert_null(getenv(HEAPTUNE_MARK));
}

static void keeps_the_operators_tunables(void **state)
{
    (void)state;
    setenv("GLIBC_TUNABLES", "glibc.malloc.arena_max=2", 1);
    assert_int_equal(heaptune_env_set(), 1);
    assert_string_equal(getenv("GLIBC_TUNABLES"), "glibc.malloc.arena_max=2:" HEAPTUNE_TUNABLE);
    assert_string_equal(getenv(HEAPTUNE_WAS), "glibc.malloc.arena_max=2");
    heaptune_env_restore();
    assert_string_equal(getenv("GLIBC_TUNABLES"), "glibc.malloc.arena_max=2");
    assert_null(getenv(HEAPTUNE_WAS));
    assert_null(getenv(HEAPTUNE_MARK));
}

static void leaves_the_operators_cache_alone(void **state)
{
    (void)state;
    setenv("GLIBC_TUNABLES", "glibc.malloc.tcache_count=3", 1);
    assert_int_equal(heaptune_env_set(), 0);
    assert_string_equal(getenv("GLIBC_TUNABLES"), "glibc.malloc.tcache_count=3");
    assert_null(getenv(HEAPTUNE_MARK));
    heaptune_env_restore(); /* without the marker: nothing of ours to undo */
    assert_string_equal(getenv("GLIBC_TUNABLES"), "glibc.malloc.tcache_count=3");
}

static void start_in_the_tuned_image_restores(void **state)
{
    (void)state;
    setenv("GLIBC_TUNABLES", "glibc.malloc.arena_max=2:" HEAPTUNE_TUNABLE, 1);
    setenv(HEAPTUNE_WAS, "glibc.malloc.arena_max=2", 1);
    setenv(HEAPTUNE_MARK, "1", 1);
    char *argv[] = {"run", NULL};
    heaptune_start("baton", argv); /* the marker: no exec, the environment as given */
    assert_string_equal(getenv("GLIBC_TUNABLES"), "glibc.malloc.arena_max=2");
    assert_null(getenv(HEAPTUNE_MARK));
    assert_null(getenv(HEAPTUNE_WAS));
}

static void start_in_the_tuned_image_takes_its_name_back(void **state)
{
    (void)state;
    char before[17] = "", after[17] = "";
    assert_int_equal(prctl(PR_GET_NAME, before), 0);
    setenv("GLIBC_TUNABLES", HEAPTUNE_TUNABLE, 1);
    setenv(HEAPTUNE_MARK, "baton-name-test", 1); /* 15 characters: the most a name holds */
    char *argv[] = {"run", NULL};
    heaptune_start("baton", argv);
    assert_int_equal(prctl(PR_GET_NAME, after), 0);
    prctl(PR_SET_NAME, before);
    assert_string_equal(after, "baton-name-test");
    assert_null(getenv("GLIBC_TUNABLES"));
    assert_null(getenv(HEAPTUNE_MARK));
}

UNIT_MAIN("heaptune", NULL, NULL,
          cmocka_unit_test_setup(sets_and_restores_without_tunables, clean_env),
          cmocka_unit_test_setup(keeps_the_operators_tunables, clean_env),
          cmocka_unit_test_setup(leaves_the_operators_cache_alone, clean_env),
          cmocka_unit_test_setup(start_in_the_tuned_image_restores, clean_env),
          cmocka_unit_test_setup(start_in_the_tuned_image_takes_its_name_back, clean_env))
