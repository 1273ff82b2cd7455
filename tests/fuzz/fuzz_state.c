/* libFuzzer target: the master state document (re-exec memfd and state file), read part
 * by part as the master reads it (supervise/state.c, gens.c, gen.c, slot.c, worker.c,
 * proxyworker.c); a part that reads must be written and read again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/loop.h"
#include "supervise/gens.h"
#include "supervise/proxyworker.h"
#include "supervise/state.h"

static void no_note(void *data, enum run_note n, struct gen *g, struct gen *old)
{
}

/* Writes the generations read into gs, and reads them back into an empty gs. */
static void generations_again(struct gens *gs)
{
    struct err e;
    json_t *out = state_new(), *again = NULL;
    gens_to_json(gs, out);
    char *text = json_dumps(out, JSON_COMPACT);
    json_decref(out);
    gens_clear(gs);
    if (!text || state_load(text, strlen(text), &again, &e) < 0 ||
        gens_from_json(gs, again, &e) < 0)
        abort(); /* what we write we must read back */
    json_decref(again);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *root;
    struct err e;
    if (state_load((const char *)data, size, &root, &e) < 0)
        return 0;
    struct run_opts o = {.workers = 1, .control = "/nonexistent/baton-fuzz.sock"};
    struct run_ctx ctx = {.o = &o, .note = no_note, .private_ports = 1};
    struct gens *gs = NULL;
    struct proxyworker *pw = NULL;
    struct state_listen ls[STATE_MAX_LISTEN];
    int n;
    if (loop_new(&ctx.loop, &e) < 0 || gens_new(&gs, &ctx, &e) < 0 ||
        proxyworker_new(&pw, &ctx, gs, "/nonexistent/baton-fuzz.proxy.sock", &e) < 0)
        abort();
    state_listens_from_json(json_object_get(root, "listen"), ls, &n, &e);
    if (gens_from_json(gs, root, &e) == 0)
        generations_again(gs);
    json_t *jp = json_object_get(root, "proxy");
    if (jp && proxyworker_from_json(pw, jp, &e) == 0) {
        /* the round trip loads into a fresh proxy worker, as a restarted master does (a
           second load into the same one leaked the first record when a pid was alive) */
        struct proxyworker *again = NULL;
        json_t *back = proxyworker_to_json(pw);
        if (proxyworker_new(&again, &ctx, gs, "/nonexistent/baton-fuzz.proxy.sock", &e) < 0 ||
            proxyworker_from_json(again, back, &e) < 0)
            abort();
        json_decref(back);
        proxyworker_free(again);
    }
    proxyworker_free(pw);
    gens_free(gs);
    loop_free(ctx.loop);
    json_decref(root);
    return 0;
}
