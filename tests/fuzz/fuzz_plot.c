/* libFuzzer target: what `baton plot` reads (load/plot_data.c). The first byte picks the
 * parser: a load report, an events log (after a valid report), or one time stamp. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "load/plot_data.h"

static const char report[] =
    "{\"start_unix_ms\":1795000000000,\"requests\":10,\"failed\":0,\"timeline\":["
    "{\"t_ms\":0,\"requests\":10,\"failures\":0,\"versions\":{\"v1\":10},\"p50_ms\":0.5,"
    "\"p99_ms\":2}]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct plot_data d;
    struct err e;
    if (size == 0)
        return 0;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    if (data[0] % 3 == 0) {
        plot_data_from_report(&d, text, len, &e);
    } else if (data[0] % 3 == 1) {
        if (plot_data_from_report(&d, report, strlen(report), &e) < 0)
            abort();
        plot_data_add_events(&d, text, len, "fuzz", &e);
        if (d.nevents > PLOT_MAX_EVENTS)
            abort();
    } else {
        char *s = strndup(text, len);
        int64_t ms;
        if (s)
            plot_parse_time(s, &ms);
        free(s);
        return 0;
    }
    plot_data_free(&d);
    return 0;
}
