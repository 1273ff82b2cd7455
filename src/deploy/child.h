/* A child process watched on the event loop: stdout and stderr read into capped
 * buffers, the exit seen through a pidfd, the whole process group killed at a deadline.
 * Everything baton deploy runs (ssh, baton-migrate, exec: checks) goes through here. */
#ifndef BATON_DEPLOY_CHILD_H
#define BATON_DEPLOY_CHILD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/err.h"
#include "core/loop.h"

#define CHILD_OUT_CAP (256 * 1024) /* bytes of stdout kept; stderr keeps 16 KiB */

struct child;

struct child_result {
    int exited; /* 1: exited with `status`; 0: killed by signal `status` */
    int status;
    int timed_out; /* killed at the deadline */
    uint64_t duration_ms;
    const char *out; /* NUL-terminated; valid during the callback only */
    size_t out_len;
    int out_truncated;
    const char *err; /* stderr, NUL-terminated, trailing newlines removed */
};

/* Called once, after the process exited and its pipes were read; the child is freed
 * right after the callback returns. */
typedef void (*child_done_cb)(const struct child_result *r, void *data);

/* Starts argv (argv[0] looked up in PATH) with stdin on /dev/null, in a process group
 * of its own, with the signal mask and dispositions reset. timeout_ms 0: no deadline. */
int child_start(struct loop *loop, char *const *argv, uint64_t timeout_ms, child_done_cb cb,
                void *data, struct child **out, struct err *e);
/* Kills the process group (SIGKILL), reaps it, frees; the callback is not called. */
void child_cancel(struct child *c);
pid_t child_pid(const struct child *c);

/* "exit 3", "killed by signal 9", "timed out after 2.0s": for messages. */
void child_result_text(const struct child_result *r, char *buf, size_t cap);

#endif
