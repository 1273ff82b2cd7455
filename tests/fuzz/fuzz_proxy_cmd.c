/* libFuzzer target: the proxy's runtime API (src/proxy/cmd.c) and backend specs
 * (src/proxy/pool.c). Each input line is a control request run against a live engine
 * (no sockets), so sequences of add/drain/switch/remove/weight are explored too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "proxy/proxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int quiet;
    if (!quiet) {
        log_setup(LOG_ALERT, "fuzz");
        quiet = 1;
    }
    struct err e;
    struct loop *loop;
    struct pool_table *t;
    struct proxy *p;
    if (loop_new(&loop, &e) < 0)
        return 0;
    if (pool_table_new(&t, size % 2 ? BALANCE_LEASTCONN : BALANCE_ROUNDROBIN, &e) < 0) {
        loop_free(loop);
        return 0;
    }
    pool_add_spec(t, "blue/b1=127.0.0.1:1", NULL, &e);
    pool_add_spec(t, "green/g1=127.0.0.1:2,weight=3", NULL, &e);
    pool_set_active(t, "blue");
    struct proxy_config cfg;
    proxy_config_defaults(&cfg);
    cfg.health = HEALTH_NONE; /* no timers, no sockets */
    if (proxy_new(&p, loop, &cfg, t, &e) < 0) {
        pool_table_free(t);
        loop_free(loop);
        return 0;
    }
    const char *s = (const char *)data, *end = s + size;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);
        json_error_t je;
        json_t *req = json_loadb(s, n, 0, &je);
        const char *spec = json_string_value(json_object_get(req, "spec"));
        const char *host = spec ? strchr(spec, '=') : NULL;
        if (host && strpbrk(host, "ghijklmnopqrstuvwxyzGHIJKLMNOPQRSTUVWXYZ")) {
            json_decref(req); /* a host name would make the fuzzer resolve it */
            s += n + 1;
            continue;
        }
        json_t *reply = proxy_command(p, req);
        json_decref(reply);
        json_decref(req);
        if (n < 300) {
            char spec[301];
            memcpy(spec, s, n);
            spec[n] = 0;
            struct backend *b;
            /* numeric hosts only: a name would make the fuzzer resolve it */
            if (!strpbrk(spec, "ghijklmnopqrstuvwxyzGHIJKLMNOPQRSTUVWXYZ") &&
                pool_parse_spec(spec, &b, &e) == 0)
                free(b);
        }
        s += n + 1;
    }
    json_t *req = json_pack("{s:s}", "cmd", "backend-list");
    json_decref(proxy_command(p, req));
    json_decref(req);
    proxy_free(p);
    loop_free(loop);
    return 0;
}
