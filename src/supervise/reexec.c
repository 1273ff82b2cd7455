/* Re-exec: the state in a memfd, descriptors kept open, the same pid. */
#include "supervise/reexec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/fdpass.h"
#include "supervise/heaptune.h"
#include "supervise/state.h"

static int state_memfd(const char *state, struct err *e)
{
    int fd = memfd_create("baton-state", 0);
    if (fd < 0)
        return err_set(e, "cannot hand the state over: no memory for a memfd");
    size_t len = strlen(state), off = 0;
    while (off < len) {
        ssize_t w = write(fd, state + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    if (off < len || lseek(fd, 0, SEEK_SET) < 0) {
        close(fd);
        return err_set(e, "cannot write the state to a memfd");
    }
    return fd;
}

static int set_cloexec(const int *fds, int nfds, int on)
{
    int rc = 0;
    for (int i = 0; i < nfds; i++)
        rc |= fd_set_cloexec(fds[i], on, NULL);
    return rc;
}

/* argv: binary, self_argv...; envp: ours with BATON_STATE_FD=fd. Caller frees both. */
static int build(const char *binary, char *const *self_argv, int fd, char ***argv, char ***envp,
                 char *fd_env, size_t fd_env_size)
{
    extern char **environ;
    size_t n = 0, ne = 0;
    while (self_argv[n])
        n++;
    while (environ[ne])
        ne++;
    *argv = calloc(n + 2, sizeof(**argv));
    *envp = calloc(ne + 2, sizeof(**envp));
    if (!*argv || !*envp)
        return -1;
    (*argv)[0] = (char *)binary;
    memcpy(*argv + 1, self_argv, n * sizeof(**argv));
    size_t k = 0;
    for (size_t i = 0; i < ne; i++)
        if (strncmp(environ[i], "BATON_STATE_FD=", 15) != 0)
            (*envp)[k++] = environ[i];
    snprintf(fd_env, fd_env_size, "BATON_STATE_FD=%d", fd);
    (*envp)[k++] = fd_env;
    return 0;
}

int reexec_exec(const char *binary, char *const *self_argv, const char *state, const int *fds,
                int nfds, void (*before_exec)(void *), void *data, struct err *e)
{
    char fd_env[48];
    char **argv = NULL, **envp = NULL;
    int fd = state_memfd(state, e);
    if (fd < 0)
        return -1;
    int tuned = heaptune_env_set() == 1; /* the new image starts with it, as the first */
    if (build(binary, self_argv, fd, &argv, &envp, fd_env, sizeof(fd_env)) < 0) {
        err_set(e, "cannot re-exec: out of memory");
        goto out;
    }
    if (set_cloexec(fds, nfds, 0) < 0) {
        set_cloexec(fds, nfds, 1);
        err_set(e, "cannot prepare descriptors for re-exec");
        goto out;
    }
    before_exec(data);
    execve(binary, argv, envp);
    err_errno(e, errno, "cannot execute '%s'", binary);
    set_cloexec(fds, nfds, 1);
out:
    if (tuned)
        heaptune_env_restore();
    close(fd);
    free(argv);
    free(envp);
    return -1;
}

int reexec_take_state(char **text, size_t *len, struct err *e)
{
    *text = NULL;
    *len = 0;
    const char *s = getenv("BATON_STATE_FD");
    if (!s || !*s)
        return 0;
    char *end;
    long fd = strtol(s, &end, 10);
    int ok = *end == 0 && fd >= 0 && fd < (1 << 20);
    unsetenv("BATON_STATE_FD");
    if (!ok)
        return err_set(e, "cannot take over after re-exec: BATON_STATE_FD is not a descriptor");
    if (state_read_fd((int)fd, text, len, e) < 0)
        return err_wrap(e, "cannot take over after re-exec");
    return 0;
}
