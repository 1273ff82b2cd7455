/* libFuzzer target: the lazy chain parser (src/lazy/chain.c, jsonpos.c) and, when a chain
 * loads, the upgrade engine on a few fixed documents and the set-based sweep's SQL plan
 * for both dialects (src/lazy/sqlplan.c, sql_sqlite.c, sql_pg.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "baton/lazy.h"
#include "lazy/lazy_int.h"

static int noop(json_t *doc, const char *id, void *arg, char *msg, size_t size)
{
    return 0;
}

static const struct lazy_custom customs[] = {{"noop", noop, NULL}, {NULL, NULL, NULL}};

static const char *const docs[] = {
    "{\"_version\": 1, \"a\": 1, \"b\": {\"c\": [1, 2]}, \"name\": \"x\", \"street\": \"s\"}",
    "{\"_version\": 0}",
    "{\"_version\": 2, \"a\": {\"b\": {\"c\": {}}}, \"x\": null}",
    "{\"a\": 1}",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct lazy_chain *c = NULL;
    struct lazy_error e;
    if (lazy_chain_parse((const char *)data, size, "fuzz.json", customs, &c, &e) < 0)
        return 0;
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        json_error_t je;
        json_t *d = json_loads(docs[i], 0, &je);
        json_t *moved = NULL;
        lazy_upgrade(c, "id1", d, &moved, &e);
        json_decref(moved);
        json_decref(d);
    }
    const struct lazy_sql_dialect *dialects[] = {&lazy_sqlite_dialect, &lazy_pg_dialect};
    for (int i = 0; i < 2; i++) {
        struct lazy_plan pl;
        struct err pe;
        if (lazy_plan_build(&pl, c, "users", dialects[i], &pe) == 0)
            lazy_plan_free(&pl);
    }
    lazy_chain_free(c);
    return 0;
}
