/* libFuzzer target: the deploy file parser (deploy/dfile.c) and its command templates. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "input.h"
#include "deploy/dfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    if (!text)
        return 0;
    struct dfile df;
    struct err e;
    if (dfile_parse(text, "fuzz/deploy.ini", &df, &e) == 0) {
        char out[DF_CMD_MAX + 256];
        for (int i = 0; i < df.nhosts; i++) {
            dfile_expand(df.app.command, "v2", &df.hosts[i], out, sizeof(out), &e);
            dfile_expand(df.app.upgrade, "v2", &df.hosts[i], out, sizeof(out), &e);
            dfile_dest_text(&df, &df.hosts[i].ssh, out, sizeof(out));
        }
        dfile_free(&df);
    }
    dfile_release_ok(text, &e);
    free(text);
    return 0;
}
