/* The admin listener of `baton run` and `baton proxy` (--metrics ADDR): a small HTTP
 * server on the process's own event loop that serves /metrics, the status page and
 * its JSON, and state changes behind the admin token (see obs/admin_http.h). One
 * request per connection, a deadline on each, a cap on how many are open. */
#ifndef BATON_OBS_ADMIN_H
#define BATON_OBS_ADMIN_H

#include "core/err.h"
#include "core/loop.h"
#include "obs/admin_http.h"

#define ADMIN_CONNS_MAX   64
#define ADMIN_DEADLINE_MS 10000 /* a whole exchange: request read, response written */
#define ADMIN_LINGER_MS   2000  /* after the response: the peer's leftover bytes, read */

struct admin;

/* Binds `addr` (HOST:PORT, [IPv6]:PORT or unix:PATH) and serves `hooks` (copied) on
 * loop. token_file NULL or "": read-only. hooks->data passes to the listener once it
 * is open (admin_close frees it by hooks->free_data); on failure it stays the caller's. */
int admin_open(struct admin **out, struct loop *loop, const char *addr, const char *token_file,
               const struct admin_hooks *hooks, struct err *e);
/* Closes the listener and every open connection. Safe on NULL. */
void admin_close(struct admin *a);

#endif
