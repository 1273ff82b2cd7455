/* Private to src/supervise: the master's live structures (generations, workers,
 * upgrade operations) shared by master.c, worker.c, upgrade.c, control.c, handover.c. */
#ifndef BATON_SUPERVISE_MASTER_H
#define BATON_SUPERVISE_MASTER_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/ctl.h"
#include "core/loop.h"
#include "supervise/gen.h"
#include "supervise/portcheck.h"
#include "supervise/probe.h"
#include "supervise/run.h"

struct master;
struct gen;

struct worker {
    struct master *m;
    struct gen *g;
    int slot;
    pid_t pid;
    int pidfd;
    struct watcher w;
    uint64_t proc_start; /* /proc start time, for the state file */
    uint64_t started_ms; /* monotonic */
    int child;           /* 0 for a worker recovered from a killed master */
    int ready, stopping, killed;
    struct portcheck *check;             /* --mode proxy: readiness check in flight */
    char check_what[PORTCHECK_WHAT_MAX]; /* the last failed check, for the reason */
};

struct slot {
    struct gen *g;
    int index;
    struct worker *w; /* NULL while empty (exited, restart pending) */
    struct timer restart;
    unsigned fails; /* consecutive quick crashes, for the backoff */
    int port;       /* --mode proxy: the slot's private port ($PORT), kept across restarts */
};

struct gen {
    struct master *m;
    struct gen *next;
    unsigned id;
    enum gen_state state;
    int orphan; /* recovered after a master was killed: not our children, never restarted */
    int retired;
    char **argv;
    int nslots;
    struct slot *slots;
    int live; /* workers not yet exited */
    struct timer ready_timer, hold_timer, after_timer, probe_timer, drain_timer;
    struct probe *probe;
    unsigned restarts;
    uint64_t started_ms;
    int64_t started_unix_ms;
    int64_t drain_deadline_unix_ms;
    char reason[320];       /* why it failed */
    uint64_t unswitched_ms; /* --mode proxy: when the proxy switched away from it */
};

enum op_kind { OP_START, OP_UPGRADE, OP_ROLLBACK, OP_REEXEC };

/* One queued request that changes generations (or re-executes the master); they run one
 * at a time, in order. */
struct op {
    struct op *next;
    enum op_kind kind;
    char **argv;         /* the command for the new generation (NULL: the current one) */
    struct ctl_req *req; /* where to reply, or NULL (signal, startup) */
    struct gen *newg, *oldg;
    int promoted;
    char binary[PATH_MAX];    /* OP_REEXEC */
    struct probe *check;      /* OP_REEXEC: the binary's self-check */
    int switching;            /* --mode proxy: waiting for the proxy worker's switch */
    int64_t switched_unix_ms; /* --mode proxy: the proxy's clock at the switch */
    int64_t started_unix_ms;  /* when it left the queue and began */
};

/* --mode proxy: the proxy worker (`baton proxy` with the public sockets by LISTEN_FDS,
 * backends = the current generation's private ports, control socket NAME.proxy.sock). */
struct proxy_worker {
    pid_t pid; /* 0 while not running */
    int pidfd;
    struct watcher w;
    uint64_t proc_start;
    uint64_t started_ms;
    int64_t started_unix_ms;
    int ready, stopping, killed;
    unsigned restarts;
    unsigned fails;       /* consecutive quick crashes, for the backoff */
    struct timer restart; /* pending restart */
    struct timer poll;    /* watching old generations' backends drain */
    struct timer kill;    /* SIGKILL at the drain timeout after the stop signal */
    char ctl_path[108];
    struct pxcall *calls;     /* queued control calls, the first one in flight */
    struct ctlcall *inflight; /* the first call's request on the loop */
    int dispatching;
    int switching; /* a promotion's backend-add/switch calls are under way */
    unsigned switch_gen, switch_old;
    pid_t switch_pid; /* the proxy worker they go to */
};

struct master {
    struct run_opts *o;
    struct loop *loop;
    struct watcher sig_w;
    struct watcher notify_w;
    int notify_fd;
    char notify_path[108];
    char state_path[160];
    struct ctl_server *ctl;
    int nlisten;
    int listen_fds[RUN_MAX_LISTEN];
    struct gen *gens; /* oldest first */
    struct gen *current;
    unsigned next_gen;
    char **prev_argv; /* the command of the generation the current one replaced */
    struct op *op;    /* running */
    struct op *queue; /* waiting */
    int stopping;
    int exit_code;
    struct ctl_req *stop_reqs[8];
    int nstop_reqs;
    char self_exe[PATH_MAX];
    int64_t started_unix_ms;
    unsigned reexecs;
    char last_reexec_error[256];
    struct proxy_worker px;
    int next_port; /* --mode proxy: where the search for a private port resumes */
};

int64_t wall_ms(void);

/* worker.c: spawning, exits, readiness, restarts. */
/* Forks and execs argv (PATH searched) with the master's environment minus baton's own
 * variables, plus `extra` (NULL-terminated, may be NULL) and NOTIFY_SOCKET; with
 * pass_sockets, the listening sockets go to fds 3.. with LISTEN_FDS, LISTEN_PID and
 * LISTEN_FDNAMES (systemd socket activation). `what` names the child in errors.
 * Returns the child's pid, or -1. */
pid_t master_spawn(struct master *m, char **argv, char *const *extra, int pass_sockets,
                   const char *what, struct err *e);
int worker_spawn(struct gen *g, int slot, struct err *e);
int worker_adopt(struct gen *g, int slot, pid_t pid, int child, struct err *e);
void worker_signal(struct worker *w, int sig);
struct worker *worker_find(struct master *m, pid_t pid);
void gen_start_readiness(struct gen *g);
void gen_check_ready(struct gen *g);
int gen_stopped_accepting(const struct gen *g);

/* upgrade.c: generations and operations. */
struct gen *gen_create(struct master *m, char *const *argv, unsigned id, int nslots);
void gen_event(struct gen *g, enum gen_event ev, struct slot *slot);
void op_enqueue(struct master *m, enum op_kind kind, char **argv, struct ctl_req *req,
                const char *binary);
void op_check_switch(struct master *m);
/* --mode proxy: the proxy worker switched (at the proxy's clock `switched_unix_ms`). */
void pxw_switched(struct master *m, int64_t switched_unix_ms);
/* Ends the running operation `op` (its reply already sent) and starts the next one. */
void op_done(struct master *m, struct op *op);
void master_stop(struct master *m, struct ctl_req *req);

/* control.c: the control socket's handler. */
void control_handle(struct ctl_req *req, const char *cmd, json_t *msg, void *data);
json_t *master_status(struct master *m);

/* handover.c: state file, re-exec, recovery. */
void state_save(struct master *m);
int handover_restore(struct master *m, int state_fd, struct err *e);
int handover_recover(struct master *m, struct err *e);
void handover_reexec(struct master *m, struct op *op);
void master_fail_op_reexec(struct master *m, struct op *op, const char *why);

/* master.c */
void master_listen_watchers(struct master *m);
/* Ends the loop once a stopping master has no generation and no proxy worker left. */
void master_maybe_exit(struct master *m);

/* proxyworker.c: --mode proxy. */
/* A free private port for a worker slot (not held by a live slot), or -1. */
int pxw_pick_port(struct master *m, struct err *e);
/* `g` became current: starts the proxy worker (first generation) or switches it to
 * g's ports (calls on the loop); the previous generation is stopped once its backends
 * drained. pxw_switched() reports the moment of the switch, maybe before this returns. */
void pxw_promote(struct master *m, struct gen *g, struct gen *old);
/* Re-arms the drain poll and restarts a missing proxy (after a re-exec). */
void pxw_resume(struct master *m);
/* Adopts a proxy worker pid recorded in the re-exec state (our child). */
int pxw_adopt(struct master *m, pid_t pid, uint64_t proc_start, struct err *e);
/* The notify message of `pid` if it is the proxy worker: returns 1 (handled) or 0. */
int pxw_notify(struct master *m, pid_t pid, int ready, int stopping);
void pxw_stop(struct master *m);
json_t *pxw_status(struct master *m);
/* Readiness of a worker by its port (--ready connect|http:PATH). */
void pxw_check_worker(struct worker *w);

#endif
