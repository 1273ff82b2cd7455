/* libFuzzer target: migration files (migrate/mfile.c), and for the ones that parse, the
 * planner and the linter for both databases; also the releases manifest parser. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "input.h"
#include "migrate/lint.h"
#include "migrate/mfile.h"
#include "migrate/plan.h"
#include "migrate/releases.h"

static int fixed_type(void *ctx, const char *table, const char *column, char *type, size_t cap)
{
    snprintf(type, cap, "TEXT");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mfile *m;
    struct err e;
    if (mfile_parse((const char *)data, size, "0001_fuzz", &m, &e) == 0) {
        for (int k = 0; k < 2; k++) {
            struct plan p;
            struct plan_lookup look = {fixed_type, NULL, NULL};
            if (plan_build(m, k ? DATABASE_POSTGRES : DATABASE_SQLITE, &look, &p, &e) == 0)
                plan_free(&p);
            struct lint_report r = {0};
            lint_mfile(m, k ? DATABASE_POSTGRES : DATABASE_SQLITE, NULL, &r);
            lint_report_free(&r);
        }
        mfile_free(m);
    }
    char *text = fuzz_text(data, size);
    if (!text)
        return 0;
    struct releases rel;
    if (releases_parse(text, "fuzz", &rel, &e) == 0)
        releases_free(&rel);
    free(text);
    return 0;
}
