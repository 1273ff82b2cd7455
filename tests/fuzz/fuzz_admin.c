/* libFuzzer target: requests to the admin listener (obs/admin_http.c), fed in pieces as
 * a peer would send them, then routed with and without an admin token. The first byte
 * picks the size of the pieces; the response must always be a whole HTTP message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "obs/admin_http.h"

static void metrics(void *data, struct expo *x)
{
    expo_family(x, "baton_fuzz", "gauge", "A gauge.");
    expo_sample(x, "baton_fuzz", NULL, 1);
}

static json_t *status(void *data)
{
    return json_object();
}

static json_t *action(void *data, const char *name, json_t *args, int *http_status)
{
    *http_status = 200;
    return strcmp(name, "drain") == 0 ? json_deep_copy(args) : NULL;
}

static const struct admin_hooks hooks = {
    .role = "proxy", .metrics = metrics, .status = status, .action = action};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t piece = (size_t)data[0] % 64 + 1;
    const char *in = (const char *)data + 1;
    size_t len = size - 1, off = 0;
    struct admin_parser ap;
    admin_parser_init(&ap);
    int rc = 0;
    while (rc == 0 && off < len) {
        size_t n = len - off < piece ? len - off : piece;
        rc = admin_parser_feed(&ap, in + off, n);
        off += n;
    }
    for (int t = 0; t < 2 && rc != 0; t++) {
        struct expo out;
        expo_init(&out);
        if (rc == 1)
            admin_respond(&hooks, t ? "0123456789abcdef" : "", &ap.req, &out);
        else
            admin_respond_error(rc, "refused", &out);
        if (!out.buf || strncmp(out.buf, "HTTP/1.1 ", 9) != 0 || !strstr(out.buf, "\r\n\r\n"))
            abort();
        expo_free(&out);
    }
    return 0;
}
