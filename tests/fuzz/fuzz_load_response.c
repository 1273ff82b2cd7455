/* libFuzzer target: the load generator's HTTP response reader (src/load/response.c),
 * fed in two pieces split at a point taken from the input. */
#include <stdint.h>
#include <string.h>

#include "load/load.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t split = data[0] % (size);
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    if (split > len)
        split = len;
    struct load_response r = {0};
    if (load_response_init(&r) < 0)
        return 0;
    size_t used;
    int rc = load_response_feed(&r, text, split, &used);
    if (rc == 0)
        rc = load_response_feed(&r, text + split, len - split, &used);
    if (rc == 0)
        load_response_eof(&r);
    if (strlen(r.version) >= sizeof(r.version))
        __builtin_trap();
    load_response_free(&r);
    return 0;
}
