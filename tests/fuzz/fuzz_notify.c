/* libFuzzer target: sd_notify datagrams as the master parses them (supervise/notify.c). */
#include <stdint.h>
#include <stdlib.h>

#include "supervise/notify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct notify_msg m;
    struct err e;
    notify_parse((const char *)data, size, &m, &e);
    return 0;
}
