/* A short-lived helper process watched on the loop: a readiness probe (`--ready
 * exec:CMD`) or the self-check of a binary before re-exec. Reaped through its pidfd,
 * killed at its timeout; its stdout is captured up to PROBE_OUT_MAX bytes. */
#ifndef BATON_SUPERVISE_PROBE_H
#define BATON_SUPERVISE_PROBE_H

#include <stdint.h>

#include "core/err.h"
#include "core/loop.h"

#define PROBE_OUT_MAX 256

struct probe;

/* ok: exited with status 0 in time. `what` describes the outcome ("exited with status
 * 1", "timed out after 5000 ms"); out holds the captured stdout (NUL-terminated). */
typedef void (*probe_done)(struct probe *p, int ok, const char *what, const char *out, void *data);

/* Runs argv (execvp) with `extra_env` ("K=V" strings, NULL-terminated, may be NULL)
 * added to the environment. `done` is called once, from the loop. */
int probe_start(struct probe **out, struct loop *loop, char *const *argv, char *const *extra_env,
                uint64_t timeout_ms, probe_done done, void *data, struct err *e);
/* Kills the probe; `done` will not be called. The probe frees itself once reaped. */
void probe_cancel(struct probe *p);

#endif
