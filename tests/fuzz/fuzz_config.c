/* libFuzzer target: INI config files (core/config.c) and word splitting. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "input.h"
#include "core/config.h"

static const char *const keys[] = {"listen", "workers", "ready", "drain-timeout", NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    if (!text)
        return 0;
    struct config_args c;
    struct err e;
    if (config_parse(text, "fuzz.ini", "run", keys, &c, &e) == 0)
        config_args_free(&c);
    char **w;
    int n = split_words(text, &w, &e);
    if (n >= 0) {
        for (int i = 0; i < n; i++)
            free(w[i]);
        free(w);
    }
    free(text);
    return 0;
}
