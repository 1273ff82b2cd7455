/* What the master learns about a process from /proc and from its exit: its start time
 * (which tells a live process from a reused pid), its parent, and how it ended. */
#ifndef BATON_SUPERVISE_PROC_H
#define BATON_SUPERVISE_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The start time of `pid` (clock ticks since boot, /proc/PID/stat field 22), or 0 if
 * the process does not exist or is a zombie. */
uint64_t proc_start_time(pid_t pid);

/* The parent pid of `pid` (/proc/PID/stat field 4), or 0 if unknown. */
pid_t proc_parent(pid_t pid);

/* Describes a waitid() status: "exited with status 3", "was killed by signal 6 (Aborted)". */
void proc_describe_exit(int code, int status, char *buf, size_t size);

#endif
