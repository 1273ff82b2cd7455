/* `baton run` as a systemd service (Type=notify): the master tells its own supervisor,
 * on the NOTIFY_SOCKET of its environment, READY=1 once a generation serves,
 * RELOADING=1 with MONOTONIC_USEC while an upgrade or a re-exec runs and READY=1 after
 * it, MAINPID after a re-exec, STOPPING=1, a STATUS= line each time, and WATCHDOG=1 from
 * its loop when WATCHDOG_USEC asks. Without NOTIFY_SOCKET every call does nothing.
 * (notify.c is the other side: the master receiving its workers' READY=1.) */
#ifndef BATON_SUPERVISE_SDNOTIFY_H
#define BATON_SUPERVISE_SDNOTIFY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/types.h>

#include "core/err.h"
#include "core/loop.h"

/* Reads NOTIFY_SOCKET (an absolute path, or "@name" for an abstract socket) into *un
 * and its length; 0 when it is unset or empty, 1 when set, -1 (e) when malformed. */
int sdnotify_address(const char *value, struct sockaddr_un *un, socklen_t *len, struct err *e);
/* The watchdog's period from WATCHDOG_USEC and WATCHDOG_PID for process `self`: half
 * the timeout in ms (at least 1), 0 when no watchdog is asked of this process, -1 (e)
 * when malformed. */
int64_t sdnotify_watchdog_ms(const char *usec, const char *pid, pid_t self, struct err *e);

/* Reads the environment (a malformed variable is logged once and turns the feature off)
 * and arms the watchdog on `loop`. After a re-exec, call sdnotify_took_over as well. */
void sdnotify_start(struct loop *loop);

/* The messages; `status` is printf-like and becomes the STATUS= line (one line). */
void sdnotify_ready(const char *status, ...) __attribute__((format(printf, 1, 2)));
void sdnotify_reloading(const char *status, ...) __attribute__((format(printf, 1, 2)));
void sdnotify_status(const char *status, ...) __attribute__((format(printf, 1, 2)));
void sdnotify_stopping(const char *status, ...) __attribute__((format(printf, 1, 2)));
/* MAINPID=<this pid>, READY=1 and STATUS: the new image took over the same process. */
void sdnotify_took_over(const char *status, ...) __attribute__((format(printf, 1, 2)));

/* The datagram for `fields` ("READY=1\n", may be "") and a status, with newlines in it
 * made spaces; returns its length (cut at cap - 1). For the unit tests. */
size_t sdnotify_format(char *buf, size_t cap, const char *fields, const char *status);

#endif
