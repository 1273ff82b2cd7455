/* fork + exec with descriptors moved into place, the environment filtered and exec
 * failures reported back through a close-on-exec pipe. */
#include "core/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Whether "KEY=..." entry `kv` has the key of "KEY=VALUE" entry `set`. */
static int same_key(const char *kv, const char *set)
{
    const char *eq = strchr(set, '=');
    size_t n = eq ? (size_t)(eq - set) + 1 : strlen(set);
    return strncmp(kv, set, n) == 0;
}

static int dropped(const char *kv, const struct spawn *s)
{
    for (const char *const *d = s->env_drop; d && *d; d++)
        if (strncmp(kv, *d, strlen(*d)) == 0)
            return 1;
    for (char *const *a = s->env_add; a && *a; a++)
        if (same_key(kv, *a))
            return 1;
    return s->listen_pid && strncmp(kv, "LISTEN_PID=", 11) == 0;
}

/* The child's environment: pointers into environ and env_add, plus `listen_pid`. */
static char **build_env(const struct spawn *s, char *listen_pid)
{
    extern char **environ;
    size_t n = 0, nadd = 0;
    while (environ[n])
        n++;
    while (s->env_add && s->env_add[nadd])
        nadd++;
    char **envp = calloc(n + nadd + 2, sizeof(*envp));
    if (!envp)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!dropped(environ[i], s))
            envp[k++] = environ[i];
    for (size_t i = 0; i < nadd; i++)
        envp[k++] = s->env_add[i];
    if (s->listen_pid)
        envp[k++] = listen_pid;
    envp[k] = NULL;
    return envp;
}

/* "LISTEN_PID=" followed by our pid, without stdio (we are between fork and exec). */
static void write_pid(char *buf, size_t size)
{
    char digits[24];
    int n = 0;
    for (unsigned long v = (unsigned long)getpid(); n == 0 || v; v /= 10)
        digits[n++] = (char)('0' + v % 10);
    size_t off = strlen("LISTEN_PID=");
    while (n > 0 && off + 1 < size)
        buf[off++] = digits[--n];
    buf[off] = 0;
}

/* In the child: never returns. Every descriptor that must survive first leaves the
 * target range 3..3+nfds-1 (the copies are close-on-exec), then the passed ones are
 * dup2'ed into place, which leaves the targets without FD_CLOEXEC. */
static void child(const struct spawn *s, char **envp, char *listen_pid, int errfd)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    int top = 3 + s->nfds, tmp[SPAWN_MAX_FDS], out = s->stdout_fd > 0 ? s->stdout_fd : -1;
    if (errfd < top)
        errfd = fcntl(errfd, F_DUPFD_CLOEXEC, top);
    if (out >= 0 && out < top)
        out = fcntl(out, F_DUPFD_CLOEXEC, top);
    if (errfd < 0 || (s->stdout_fd > 0 && out < 0))
        _exit(126);
    for (int i = 0; i < s->nfds; i++) {
        tmp[i] = fcntl(s->fds[i], F_DUPFD_CLOEXEC, top);
        if (tmp[i] < 0)
            _exit(126);
    }
    for (int i = 0; i < s->nfds; i++)
        if (dup2(tmp[i], 3 + i) < 0)
            _exit(126);
    if (out >= 0 && dup2(out, 1) < 0)
        _exit(126);
    if (s->listen_pid)
        write_pid(listen_pid, 32);
    execvpe(s->argv[0], s->argv, envp);
    int err = errno;
    ssize_t w = write(errfd, &err, sizeof(err));
    (void)w;
    _exit(127);
}

pid_t spawn_start(const struct spawn *s, int *exec_errno, struct err *e)
{
    if (exec_errno)
        *exec_errno = 0;
    if (!s->argv || !s->argv[0])
        return err_set(e, "cannot start a process without a command");
    if (s->nfds < 0 || s->nfds > SPAWN_MAX_FDS)
        return err_set(e, "cannot start '%s' with %d descriptors (at most %d)", s->argv[0], s->nfds,
                       SPAWN_MAX_FDS);
    char listen_pid[32] = "LISTEN_PID=0";
    int pfd[2] = {-1, -1};
    char **envp = build_env(s, listen_pid);
    if (!envp || pipe2(pfd, O_CLOEXEC) < 0) {
        int saved = envp ? errno : ENOMEM;
        free(envp);
        return err_errno(e, saved, "cannot start '%s'", s->argv[0]);
    }
    pid_t pid = fork();
    if (pid == 0)
        child(s, envp, listen_pid, pfd[1]);
    int saved = errno;
    close(pfd[1]);
    free(envp);
    if (pid < 0) {
        close(pfd[0]);
        return err_errno(e, saved, "cannot fork for '%s'", s->argv[0]);
    }
    int err = 0;
    ssize_t n;
    do
        n = read(pfd[0], &err, sizeof(err));
    while (n < 0 && errno == EINTR);
    close(pfd[0]);
    if (n == (ssize_t)sizeof(err) && exec_errno)
        *exec_errno = err ? err : ENOEXEC;
    return pid;
}

char **spawn_argv_dup(char *const *argv)
{
    size_t n = 0;
    while (argv && argv[n])
        n++;
    char **out = calloc(n + 1, sizeof(*out));
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        out[i] = strdup(argv[i]);
        if (!out[i]) {
            spawn_argv_free(out);
            return NULL;
        }
    }
    return out;
}

void spawn_argv_free(char **argv)
{
    if (!argv)
        return;
    for (char **p = argv; *p; p++)
        free(*p);
    free(argv);
}
