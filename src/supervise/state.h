/* The master's state document: what crosses a re-exec (in a memfd) and what a new
 * master reads back after the old one was killed (NAME.state beside the control socket).
 * One JSON object in which each part of the supervisor writes and reads its own keys
 * (master.c, gen.c, worker.c, op.c, the mode); this module holds the caps and the
 * strict readers they share. Every count and string is capped, every field checked. */
#ifndef BATON_SUPERVISE_STATE_H
#define BATON_SUPERVISE_STATE_H

#include <jansson.h>
#include <stddef.h>

#include "core/err.h"

#define STATE_MAX_BYTES   (1 << 20)
#define STATE_MAX_LISTEN  32
#define STATE_MAX_GENS    64
#define STATE_MAX_WORKERS 1024 /* per generation */
#define STATE_MAX_ARGS    256
#define STATE_MAX_ARG     4096
#define STATE_MAX_ID      1000000000
#define STATE_MAX_PID     4194304

/* One integer field: `key` of the object must be an integer in [lo, hi]. */
struct state_int {
    const char *key;
    long long lo, hi;
    long long *out;
};

/* Reads every field of `f` from `obj` (`what` names the object in errors). */
int state_get_ints(json_t *obj, const struct state_int *f, size_t n, const char *what,
                   struct err *e);
/* A command: an array of 1..STATE_MAX_ARGS strings without NUL bytes (caller frees
 * with spawn_argv_free). */
int state_get_argv(json_t *v, char ***out, const char *what, struct err *e);
json_t *state_argv_json(char *const *argv);
/* A string field shorter than `cap` bytes, copied into dst. */
int state_get_str(json_t *obj, const char *key, char *dst, size_t cap, const char *what,
                  struct err *e);

/* A listening socket as the master records it: its address, its descriptor in the
 * master (handed over across a re-exec, else -1) and its number in the workers. */
struct state_listen {
    char name[64];
    char addr[128];
    int fd;
    int worker_fd;
};

/* The "listen" array of the master's part, at most STATE_MAX_LISTEN entries. */
json_t *state_listens_json(const struct state_listen *ls, int n);
int state_listens_from_json(json_t *a, struct state_listen *ls, int *n, struct err *e);

/* Parses a document of `len` bytes: a JSON object of format 1 (*root: new reference). */
int state_load(const char *text, size_t len, json_t **root, struct err *e);
/* A new empty document of format 1. */
json_t *state_new(void);

/* Writes `text` to `path` atomically (temporary file, fsync-less rename), mode 0600. */
int state_write_file(const char *path, const char *text, struct err *e);
/* Reads the whole file (at most STATE_MAX_BYTES); caller frees. */
int state_read_file(const char *path, char **text, size_t *len, struct err *e);
/* Reads `fd` to its end (at most STATE_MAX_BYTES) and closes it; caller frees. */
int state_read_fd(int fd, char **text, size_t *len, struct err *e);

#endif
