/* What the master sets up once and every part of the supervisor below it reads: the
 * loop, the options, the listening sockets, what every child's environment carries,
 * and the two hooks through which the lower parts reach the upper ones (the mode's
 * worker set-up, and notes to the master). Written by master.c only. */
#ifndef BATON_SUPERVISE_CTX_H
#define BATON_SUPERVISE_CTX_H

#include <limits.h>
#include <stdint.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/loop.h"
#include "supervise/run.h"

struct gen;
struct gen_launch;

/* What a part of the supervisor tells the master; it routes each note to the parts
 * that care (the operation queue, the mode, the state file, the exit). */
enum run_note {
    NOTE_CHANGED,      /* something the state file records changed */
    NOTE_PROMOTED,     /* `g` became the current generation, replacing `old` (or NULL) */
    NOTE_FAILED,       /* `g` failed before it became current */
    NOTE_SWITCH_CHECK, /* the running upgrade may have finished switching */
    NOTE_RETIRED,      /* `g` is gone (freed once the loop regains control) */
    NOTE_MODE_GONE,    /* the mode's own processes ended (a stopping master may exit) */
    NOTE_FIRST_FAILED, /* the first generation failed: the master stops with exit code 1 */
};

struct run_ctx {
    struct loop *loop;
    const struct run_opts *o;
    const int *listen_fds; /* the master's listening sockets, o->nlisten of them */
    int nlisten;
    char notify_env[160]; /* "NOTIFY_SOCKET=PATH" */
    char *listen_env[3];  /* "LISTEN_FDS=N", "LISTEN_FDNAMES=A:B", NULL: with the sockets */
    char self_exe[PATH_MAX];
    int private_ports; /* the mode gives each slot a private port (state and status show it) */
    int stopping;      /* a graceful stop is under way */
    /* The mode fills how worker `slot` of generation `gen_id` starts; *port is the
     * slot's private port (0 until the mode picks one; kept across restarts). */
    int (*setup_worker)(void *data, unsigned gen_id, int slot, int *port, struct gen_launch *l,
                        struct err *e);
    void *setup_data;
    void (*note)(void *data, enum run_note n, struct gen *g, struct gen *old);
    void *note_data;
};

/* The variables baton sets for its children ("KEY="), dropped from what they inherit;
 * PORT and BATON_PORT are baton's only where the mode gives private ports. */
static inline const char *const *ctx_env_ours(int with_ports)
{
    static const char *const ours[] = {
        "PORT=",          "BATON_PORT=",       "LISTEN_PID=",     "LISTEN_FDS=", "LISTEN_FDNAMES=",
        "NOTIFY_SOCKET=", "BATON_GENERATION=", "BATON_STATE_FD=", NULL};
    return with_ports ? ours : ours + 2;
}

static inline void ctx_note(const struct run_ctx *c, enum run_note n, struct gen *g,
                            struct gen *old)
{
    c->note(c->note_data, n, g, old);
}

#endif
