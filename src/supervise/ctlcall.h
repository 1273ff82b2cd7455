/* One control request from the master to another baton process (its proxy worker) made
 * on the master's loop: connect, send one JSON line, read one reply line, every step
 * non-blocking and the whole under a timeout, so the master never waits on a peer. */
#ifndef BATON_SUPERVISE_CTLCALL_H
#define BATON_SUPERVISE_CTLCALL_H

#include <jansson.h>
#include <stdint.h>

#include "core/err.h"
#include "core/loop.h"

#define CTLCALL_REPLY_MAX (1 << 20) /* a longer reply is refused */

struct ctlcall;

/* Called once, from the loop: `reply` (borrowed) has "ok":true, or it is NULL and
 * `error` says why (the peer's own "error" text, a timeout, a malformed reply...). */
typedef void (*ctlcall_done)(json_t *reply, const char *error, void *data);

/* Starts sending `request` (not stolen) to the control socket at `path`. Returns -1
 * with e (and `done` is not called) when the call cannot even start. */
int ctlcall_start(struct ctlcall **out, struct loop *loop, const char *path, json_t *request,
                  uint64_t timeout_ms, ctlcall_done done, void *data, struct err *e);
/* Abandons the call; `done` will not be called. Safe on NULL. */
void ctlcall_cancel(struct ctlcall *c);

#endif
