/* The master runs with glibc's per-thread malloc cache off, and hands its children the
 * environment it was given (docs/internals/master-memory.md). */
#ifndef BATON_SUPERVISE_HEAPTUNE_H
#define BATON_SUPERVISE_HEAPTUNE_H

/* The tunable glibc reads when a process starts; our marker that this image has it
 * (its value: "1", or the process name to take back after the exec of /proc/self/exe,
 * which would name the process "exe"). */
#define HEAPTUNE_TUNABLE "glibc.malloc.tcache_count=0"
#define HEAPTUNE_MARK    "BATON_TCACHE_OFF"
#define HEAPTUNE_WAS     "BATON_GLIBC_TUNABLES_WAS"

/* At the start of `baton run`, before anything is opened: in the image started with the
 * tunable (HEAPTUNE_MARK set), puts the environment back as it was given and returns;
 * otherwise executes /proc/self/exe with `argv0`, `argv` and the tunable, and returns
 * only when it is not wanted (GLIBC_TUNABLES already sets the cache, a sanitizer's
 * allocator) or the exec failed, with the environment as it was. */
void heaptune_start(const char *argv0, char *const *argv);

/* Adds the tunable and the marker to our environment for an exec of our own: returns 1
 * when set (heaptune_env_restore() after a failed exec), 0 when GLIBC_TUNABLES already
 * sets the cache, -1 when out of memory (nothing changed). */
int heaptune_env_set(void);

/* Puts GLIBC_TUNABLES back as it was before heaptune_env_set() and removes the markers. */
void heaptune_env_restore(void);

#endif
