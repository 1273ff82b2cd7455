/* The master's state as data: what crosses a re-exec (in a memfd) and what a new
 * master reads back after the old one was killed (the state file next to the control
 * socket). JSON, parsed with caps on every count and string. */
#ifndef BATON_SUPERVISE_STATE_H
#define BATON_SUPERVISE_STATE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/err.h"

#define STATE_MAX_BYTES   (1 << 20)
#define STATE_MAX_LISTEN  32
#define STATE_MAX_GENS    64
#define STATE_MAX_WORKERS 1024 /* per generation */
#define STATE_MAX_ARGS    256
#define STATE_MAX_ARG     4096

struct state_listen {
    char name[64];
    char addr[128];
    int fd;        /* in the master (re-exec), or -1 */
    int worker_fd; /* the fd number the workers see (3, 4, ...) */
};

struct state_worker {
    pid_t pid;
    uint64_t start_time; /* field 22 of /proc/PID/stat: guards against pid reuse */
    int slot;
    int ready;
    int stopping;
};

struct state_gen {
    unsigned id;
    int state; /* enum gen_state */
    int orphan;
    char **argv; /* NULL-terminated */
    int64_t started_unix_ms;
    int64_t drain_deadline_unix_ms; /* 0 unless draining or failed */
    unsigned restarts;
    int nslots;
    int nworkers;
    struct state_worker *workers;
    int *ports; /* --mode proxy: each slot's private port (nslots entries), or NULL */
};

struct run_state {
    pid_t master_pid;
    int notify_fd;  /* re-exec only, else -1 */
    int control_fd; /* re-exec only, else -1 */
    unsigned next_gen;
    unsigned reexecs;
    int64_t started_unix_ms;
    unsigned current_gen; /* 0 = none */
    char **prev_argv;     /* the command `rollback` goes back to, or NULL */
    int nlisten;
    struct state_listen listen[STATE_MAX_LISTEN];
    int ngens;
    struct state_gen gens[STATE_MAX_GENS];
    int proxy_mode;  /* written by a master in --mode proxy */
    pid_t proxy_pid; /* its proxy worker, 0 = none */
    uint64_t proxy_start_time;
    unsigned proxy_restarts;
    int proxy_ready;
};

/* Serializes `s`; caller frees the returned string. NULL on out of memory. */
char *state_dump(const struct run_state *s);
/* Parses a state document of `len` bytes into *s (caller frees with state_free). */
int state_parse(const char *buf, size_t len, struct run_state *s, struct err *e);
void state_free(struct run_state *s);

/* Writes `text` to `path` atomically (temporary file, fsync-less rename), mode 0600. */
int state_write_file(const char *path, const char *text, struct err *e);
/* Reads the whole file (at most STATE_MAX_BYTES); caller frees. */
int state_read_file(const char *path, char **text, size_t *len, struct err *e);

/* The start time of `pid` (clock ticks since boot, /proc/PID/stat field 22), or 0 if
 * the process does not exist. */
uint64_t proc_start_time(pid_t pid);

/* The parent pid of `pid` (/proc/PID/stat field 4), or 0 if unknown. */
pid_t proc_parent(pid_t pid);

/* Copies a NULL-terminated argv (caller frees with argv_free). */
char **argv_dup(char *const *argv);
void argv_free(char **argv);

#endif
