/* Readiness of an app that binds its own private port (`baton run --mode proxy`): one
 * check of 127.0.0.1:PORT on the master's loop, either a TCP connect or an HTTP GET
 * whose answer must be 2xx or 3xx. Non-blocking; the answer read is capped. */
#ifndef BATON_SUPERVISE_PORTCHECK_H
#define BATON_SUPERVISE_PORTCHECK_H

#include <stdint.h>

#include "core/err.h"
#include "core/loop.h"

#define PORTCHECK_ANSWER_MAX 512 /* bytes of the answer read to find its status line */
#define PORTCHECK_WHAT_MAX   160

struct portcheck;

/* ok: the port accepted (and answered 2xx/3xx with an http path). `what` says what
 * happened ("connection refused", "answered 503", "timed out after 1000 ms"). */
typedef void (*portcheck_done)(int ok, const char *what, void *data);

/* Checks 127.0.0.1:port; http_path NULL means a plain connect. `done` runs once, from
 * the loop, unless the check is cancelled. */
int portcheck_start(struct portcheck **out, struct loop *loop, int port, const char *http_path,
                    uint64_t timeout_ms, portcheck_done done, void *data, struct err *e);
/* Stops the check; `done` will not be called. Safe on NULL. */
void portcheck_cancel(struct portcheck *c);

/* 1 if 127.0.0.1:port can be bound now (without SO_REUSEADDR, so a port that still
 * has connections in TIME_WAIT counts as taken), else 0. */
int portcheck_port_free(int port);

#endif
