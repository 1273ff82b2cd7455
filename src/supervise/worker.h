/* One supervised process of the master: an app worker in a generation's slot, or the
 * proxy worker. Started through core/spawn, watched through its pidfd, signalled with
 * pidfd_send_signal, recorded in the state (pid and /proc start time) so that a new
 * master image can watch it again. */
#ifndef BATON_SUPERVISE_WORKER_H
#define BATON_SUPERVISE_WORKER_H

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/err.h"
#include "core/loop.h"
#include "core/spawn.h"

struct worker;

/* The process ended (`what`: "exited with status 3"...). Called once, from the loop;
 * the worker is freed when the callback returns. */
typedef void (*worker_exit_cb)(struct worker *w, const char *what, void *data);

/* Fields the owner reads; ready and stopping are the owner's to set (from notify
 * messages, probes or the state), the rest belong to worker.c. */
struct worker {
    pid_t pid;
    uint64_t proc_start; /* /proc start time: tells the process from a reused pid */
    uint64_t started_ms; /* monotonic, when started or taken over */
    uint64_t exec_us;    /* clock_now_us() as it executed its command (0: not known) */
    int ready, stopping;
    int killed; /* SIGKILL sent */
    int child;  /* ours to reap; 0 for a process recovered from a killed master */
    struct loop *loop;
    int pidfd; /* -1 while only recorded, not watched */
    struct watcher w;
    worker_exit_cb on_exit;
    void *data;
};

/* Starts `sp` and watches it. `what` names it in errors ("a worker of generation 3");
 * a failed exec is logged with its cause (the child then exits with status 127). */
int worker_start(struct worker **out, struct loop *loop, const struct spawn *sp, const char *what,
                 worker_exit_cb cb, void *data, struct err *e);
/* A worker known by pid only (from the state); not watched until worker_watch. */
struct worker *worker_record(pid_t pid, uint64_t proc_start, int child);
/* Watches a recorded worker. Fails when its pid is gone. */
int worker_watch(struct worker *w, struct loop *loop, worker_exit_cb cb, void *data, struct err *e);
/* Whether the recorded process still runs (its start time matches). */
int worker_alive(const struct worker *w);
/* Sends `sig` (SIGKILL marks it killed); a process already gone is no error. */
void worker_signal(struct worker *w, int sig);
/* Forgets the worker without signalling it (it keeps running). Safe on NULL. */
void worker_free(struct worker *w);

/* The delay before restarting a process after *fails consecutive quick crashes: 100 ms,
 * doubling, at most 10 s; counts this one. */
uint64_t worker_backoff_ms(unsigned *fails);

/* The worker's record in the state: pid, start_time, ready, stopping. */
json_t *worker_to_json(const struct worker *w);
/* Reads a record written by worker_to_json (other keys are the owner's). */
int worker_from_json(json_t *jw, struct worker **out, int child, struct err *e);

#endif
