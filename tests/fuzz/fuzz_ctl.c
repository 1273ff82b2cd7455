/* libFuzzer target: control protocol requests (core/ctl.c) and listen addresses. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/addr.h"
#include "core/ctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *msg;
    struct err e;
    if (ctl_parse_request((const char *)data, size, &msg, &e) == 0)
        json_decref(msg);
    if (size < 200) {
        char spec[201];
        memcpy(spec, data, size);
        spec[size] = 0;
        struct addr a;
        /* numeric forms only: a host name would make the fuzzer do DNS lookups */
        if (!strpbrk(spec, "ghijklmnopqrstuvwxyzGHIJKLMNOPQRSTUVWXYZ") ||
            strncmp(spec, "unix:", 5) == 0)
            addr_parse(spec, 1, &a, &e);
    }
    return 0;
}
