/* A slot of a generation: the place of one worker, which keeps its restart backoff and
 * its private port across the workers that fill it. Starting a worker into a slot asks
 * the mode how (sockets or port) through ctx->setup_worker. */
#ifndef BATON_SUPERVISE_SLOT_H
#define BATON_SUPERVISE_SLOT_H

#include <jansson.h>
#include <stdint.h>

#include "core/err.h"
#include "core/loop.h"
#include "supervise/ctx.h"
#include "supervise/worker.h"

#define GEN_LAUNCH_ENV_MAX 8

/* How one worker starts, filled by the mode: the sockets it gets at fds 3.., the
 * environment it adds (strings in `scratch` or owned by the mode), the variables it
 * removes, and its own command when the mode rewrites the generation's (containers).
 * The slot adds BATON_GENERATION and NOTIFY_SOCKET. */
struct gen_launch {
    const int *fds;
    int nfds;
    int listen_pid;
    const char *const *env_drop;
    char *env[GEN_LAUNCH_ENV_MAX + 1];
    int nenv;
    char scratch[4][64];
    char **argv; /* the mode's own command for this worker (freed after the spawn), or NULL */
};

struct slot {
    void *owner; /* the generation */
    int index;
    struct worker *w; /* NULL while empty (exited, restart pending) */
    struct timer restart;
    unsigned fails; /* consecutive quick crashes, for the backoff */
    int port;       /* the private port (ctx->private_ports), kept across restarts */
};

/* Starts a worker of generation `gen_id` running argv into the empty slot s. */
int slot_spawn(struct slot *s, struct run_ctx *ctx, unsigned gen_id, char *const *argv,
               worker_exit_cb cb, struct err *e);
/* Its worker ended after `lived_ms`: the slot is empty again. */
void slot_emptied(struct slot *s, uint64_t lived_ms);
/* Watches a recorded worker; drops the record when that fails. Returns 1 if watched. */
int slot_watch(struct slot *s, struct loop *loop, unsigned gen_id, worker_exit_cb cb);

/* The workers of slots[0..n) in `status`, in the state, and back (records only). */
json_t *slots_status(const struct slot *slots, int n, uint64_t now, int ports);
json_t *slots_to_json(const struct slot *slots, int n);
json_t *slots_ports(const struct slot *slots, int n);
int slots_from_json(struct slot *slots, int n, json_t *workers, json_t *ports, int child,
                    unsigned gen_id, struct err *e);

#endif
