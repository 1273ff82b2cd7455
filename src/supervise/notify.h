/* The sd_notify protocol as a master receives it: one SOCK_DGRAM socket with
 * SO_PASSCRED (the kernel stamps each datagram with its sender's pid), and a
 * length-checked parser for the "KEY=VALUE\n..." messages. */
#ifndef BATON_SUPERVISE_NOTIFY_H
#define BATON_SUPERVISE_NOTIFY_H

#include <stddef.h>
#include <sys/types.h>

#include "core/err.h"

#define NOTIFY_MSG_MAX    4096 /* longer datagrams are refused whole */
#define NOTIFY_STATUS_MAX 128

struct notify_msg {
    int ready;    /* READY=1 */
    int stopping; /* STOPPING=1: no longer accepting */
    int reloading;
    int has_status;
    char status[NOTIFY_STATUS_MAX]; /* STATUS=..., truncated to fit */
};

/* Parses one datagram of `len` bytes. Assignments are separated by '\n'; unknown keys
 * are ignored as sd_notify(3) asks. Refuses NUL bytes, lines without '=', keys that
 * are not [A-Z0-9_]+, and messages longer than NOTIFY_MSG_MAX. */
int notify_parse(const char *buf, size_t len, struct notify_msg *m, struct err *e);

/* Creates the master's notify socket bound at `path` (a stale file is replaced), with
 * SO_PASSCRED, non-blocking, close-on-exec, mode 0600. Returns the fd or -1. */
int notify_open(const char *path, struct err *e);

/* Reads one datagram: *pid is the sender (from SCM_CREDENTIALS). Returns the byte count,
 * 0 when nothing is waiting, or -1 (e.g. the datagram was truncated). Descriptors sent
 * along (FDSTORE) are closed. */
ssize_t notify_recv(int fd, char *buf, size_t cap, pid_t *pid, struct err *e);

#endif
