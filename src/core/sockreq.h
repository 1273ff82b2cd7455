/* One request over a stream socket on the event loop: connect (unix or TCP), write
 * the request, read the reply to EOF (or to its first newline), with a deadline and a
 * cap on what the peer may send. deploy's balancer drivers and health checks and the
 * master's calls to its proxy worker (supervise/ctlcall) speak through it. */
#ifndef BATON_CORE_SOCKREQ_H
#define BATON_CORE_SOCKREQ_H

#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"
#include "core/err.h"
#include "core/loop.h"

struct sockreq;

/* ok 1: `reply` holds `len` bytes (NUL-terminated, valid during the call). ok 0: the
 * endpoint could not be reached, broke off or ran out of time: `error` says which. */
typedef void (*sockreq_cb)(int ok, const char *reply, size_t len, const char *error, void *data);

/* Starts the request; the callback runs once, from the loop (never from here), also when
 * the connect fails at once. With `line`, the reply ends at its first '\n'. A unix
 * socket whose backlog is full is tried again every 10 ms until `timeout_ms`. The reply
 * buffer grows as the reply comes, up to `cap` bytes. */
int sockreq_start(struct loop *loop, const struct addr *to, const char *request, int line,
                  uint64_t timeout_ms, size_t cap, sockreq_cb cb, void *data, struct sockreq **out,
                  struct err *e);
/* Drops a request in flight; its callback is not called. */
void sockreq_cancel(struct sockreq *r);

#endif
