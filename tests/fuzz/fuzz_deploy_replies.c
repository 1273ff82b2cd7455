/* libFuzzer target: what baton deploy reads from other processes and files. The first
 * byte picks the reader: HAProxy's `show stat`, `show servers conn`, `set server`
 * replies (deploy/hapx.c), the lease's lock file (deploy/dlease.c), an HTTP health
 * reply (deploy/hcheck.c), `baton status --json` of a host (deploy/remote.c), the
 * progress file (deploy/dstate.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "input.h"
#include "deploy/dlease.h"
#include "deploy/dstate.h"
#include "deploy/hapx.h"
#include "deploy/hcheck.h"
#include "deploy/remote.h"

static const char fleet[] = "[service]\nname = s\n[host h]\nssh = h\n[balancer]\n"
                            "socket = unix:/x\nbackend = app\n[app]\ncommand = /srv/{release}/run "
                            "--x 'a b'\n[rollout]\nhealth = exec:true\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char *text = fuzz_text(data + 1, size - 1);
    if (!text)
        return 0;
    size_t len = size - 1;
    struct err e;
    struct bal_stats st = {0};
    switch (data[0] % 7) {
    case 0:
        hapx_parse_stat(text, len, "app", &st, &e);
        break;
    case 1:
        hapx_parse_servers_conn(text, len, "app", &st, &e);
        break;
    case 2:
        hapx_parse_set_reply(text, len, &e);
        break;
    case 3: {
        struct dlease_info info;
        int ok;
        dlease_parse_lock(text, &info, &ok, &e);
        break;
    }
    case 4: {
        int status;
        hcheck_http_ok(text, len, &status);
        break;
    }
    case 5: {
        struct dfile df;
        if (dfile_parse(fleet, "f.ini", &df, &e) == 0) {
            remote_runs(&df, &df.hosts[0], "v2", text, &e);
            dfile_free(&df);
        }
        break;
    }
    default: {
        json_error_t je;
        json_t *doc = json_loadb(text, len, 0, &je);
        struct dstate ds;
        if (doc && dstate_from_json(doc, "p.state", &ds, &e) == 0)
            dstate_free(&ds);
        json_decref(doc);
    }
    }
    bal_stats_free(&st);
    free(text);
    return 0;
}
