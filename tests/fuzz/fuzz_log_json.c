/* libFuzzer target: a JSON log line (core/log.c) of any message and event name is one
 * valid JSON object on one line, whatever the bytes (cuts, escapes, invalid UTF-8). */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char msg[1100], line[2048];
    size_t n = size < sizeof(msg) - 1 ? size : sizeof(msg) - 1;
    memcpy(msg, data, n);
    msg[n] = 0;
    const char *event = n > 8 ? msg + n - 8 : "message";
    size_t cap = 256 + (n ? data[0] : 0) * 7;
    size_t len =
        log_format_line(line, cap, LOG_JSON, 1795000000000, "master", 1, LOG_INFO, event, 3, msg);
    if (len >= cap || line[len - 1] != '\n' || memchr(line, '\n', len - 1))
        abort();
    json_t *j = json_loadb(line, len, 0, NULL);
    if (!json_is_object(j) || json_object_size(j) != 7)
        abort();
    json_decref(j);
    return 0;
}
