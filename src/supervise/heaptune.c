/* The master's malloc without its per-thread cache: glibc reads the tunable only when a
 * process starts, so the master executes itself once with it and then restores the
 * environment its children inherit. */
#include "supervise/heaptune.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define HEAPTUNE_OWN_ALLOCATOR 1 /* the sanitizer's malloc ignores glibc's tunables */
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HEAPTUNE_OWN_ALLOCATOR 1
#endif
#endif
#ifndef HEAPTUNE_OWN_ALLOCATOR
#define HEAPTUNE_OWN_ALLOCATOR 0
#endif

int heaptune_env_set(void)
{
    const char *was = getenv("GLIBC_TUNABLES");
    if (was && strstr(was, "glibc.malloc.tcache_count"))
        return 0; /* the operator chose the cache's size: theirs stands */
    size_t n = (was ? strlen(was) + 1 : 0) + sizeof(HEAPTUNE_TUNABLE);
    char *value = malloc(n);
    if (!value)
        return -1;
    strcpy(value, was ? was : "");
    if (was)
        strcat(value, ":");
    strcat(value, HEAPTUNE_TUNABLE);
    /* the marker first: whatever was set after it, heaptune_env_restore() undoes */
    int rc = setenv(HEAPTUNE_MARK, "1", 1);
    if (rc == 0 && was)
        rc = setenv(HEAPTUNE_WAS, was, 1);
    if (rc == 0)
        rc = setenv("GLIBC_TUNABLES", value, 1);
    free(value);
    if (rc != 0) {
        heaptune_env_restore();
        return -1;
    }
    return 1;
}

void heaptune_env_restore(void)
{
    const char *was = getenv(HEAPTUNE_WAS);
    if (was)
        setenv("GLIBC_TUNABLES", was, 1);
    else if (getenv(HEAPTUNE_MARK))
        unsetenv("GLIBC_TUNABLES");
    unsetenv(HEAPTUNE_WAS);
    unsetenv(HEAPTUNE_MARK);
}

void heaptune_start(const char *argv0, char *const *argv)
{
    const char *mark = getenv(HEAPTUNE_MARK);
    if (mark) { /* this image has the tunable */
        if (strcmp(mark, "1") != 0) {
            char comm[16];
            snprintf(comm, sizeof(comm), "%s", mark);
            prctl(PR_SET_NAME, comm); /* the name ps and pgrep know, not "exe" */
        }
        heaptune_env_restore();
        return;
    }
    if (HEAPTUNE_OWN_ALLOCATOR || heaptune_env_set() != 1)
        return;
    char comm[17] = "";
    prctl(PR_GET_NAME, comm);
    size_t n = 0;
    while (argv[n])
        n++;
    char **args = calloc(n + 2, sizeof(*args));
    if (args && (!comm[0] || setenv(HEAPTUNE_MARK, comm, 1) == 0)) {
        args[0] = (char *)argv0;
        memcpy(args + 1, argv, n * sizeof(*args));
        execv("/proc/self/exe", args); /* returns only on failure: go on with the cache */
    }
    free(args);
    heaptune_env_restore();
}
