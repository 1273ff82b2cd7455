/* What the libFuzzer targets of text parsers share: the input as a C string (a copy with
 * a NUL after it; the parsers stop at the first NUL the input holds). Included by the
 * fuzz_*.c files that need it. */
#ifndef BATON_FUZZ_INPUT_H
#define BATON_FUZZ_INPUT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A malloc'd copy of DATA with a NUL after SIZE bytes, or NULL when out of memory. */
static inline char *fuzz_text(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (text) {
        memcpy(text, data, size);
        text[size] = 0;
    }
    return text;
}

#endif
