/* What the unit tests of libbaton-lazy share: a temporary directory for their SQLite
 * stores (the group's setup and teardown) and opening a store of a table in it. Included
 * by test_lazy.c and test_lazy_sql.c after cmocka.h. */
#ifndef BATON_TEST_LAZY_FIXTURE_H
#define BATON_TEST_LAZY_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "baton/lazy.h"

static char db_dir[64];

static int setup_db(void **state)
{
    snprintf(db_dir, sizeof(db_dir), "/tmp/test_lazy.XXXXXX");
    assert_non_null(mkdtemp(db_dir));
    return 0;
}

static int teardown_db(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", db_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* A store of `table` in the directory's one SQLite database. */
static struct lazy_store *open_store(const char *table)
{
    char url[128];
    struct lazy_error e;
    struct lazy_store *s = NULL;
    snprintf(url, sizeof(url), "sqlite:%s/db.sqlite#%s", db_dir, table);
    if (lazy_store_open(url, &s, &e) < 0)
        print_error("%s\n", e.msg);
    assert_non_null(s);
    return s;
}

#endif
