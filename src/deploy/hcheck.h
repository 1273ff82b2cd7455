/* Health checks of one host after a step: `http:/PATH` (GET on the host's address and
 * the app's port, from here) or `exec:COMMAND` (run on the host over the transport),
 * repeated every health-interval until health-passes in a row or the progress deadline. */
#ifndef BATON_DEPLOY_HCHECK_H
#define BATON_DEPLOY_HCHECK_H

#include "core/err.h"
#include "core/loop.h"
#include "deploy/dfile.h"
#include "deploy/transport.h"

struct hcheck;

/* ok 1: healthy. ok 0: not by the deadline; `lost` when the host could not be reached
 * at the last attempts (exec: over ssh); `detail` is the last failure. */
typedef void (*hcheck_cb)(int ok, int lost, const char *detail, void *data);

int hcheck_start(struct loop *loop, const struct dfile *df, struct transport *tr,
                 const struct df_host *h, const char *release, hcheck_cb cb, void *data,
                 struct hcheck **out, struct err *e);
/* Stops the checks; the callback is not called. */
void hcheck_cancel(struct hcheck *hc);

/* 1 when an HTTP reply's status line says 2xx or 3xx, 0 otherwise (*status set). */
int hcheck_http_ok(const char *reply, size_t len, int *status);

#endif
