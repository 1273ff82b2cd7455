/* libFuzzer target: the master state document (re-exec memfd and state file), parsed by
 * supervise/state.c; a document that parses must dump and parse again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "supervise/state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct run_state s;
    struct err e;
    if (state_parse((const char *)data, size, &s, &e) < 0)
        return 0;
    char *text = state_dump(&s);
    state_free(&s);
    if (text) {
        struct run_state t;
        if (state_parse(text, strlen(text), &t, &e) < 0)
            abort(); /* what we write we must read back */
        state_free(&t);
        free(text);
    }
    return 0;
}
