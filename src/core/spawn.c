/* clone (vfork-style) + exec with descriptors moved into place, the environment
 * filtered and exec failures reported back through the memory the child shares. */
#include "core/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/clock.h"

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

/* The child runs in the parent's memory (CLONE_VM) on a stack of its own until it
 * executes, like posix_spawn's: no instrumentation there, nothing allocated. */
#define SPAWN_NO_SAN __attribute__((no_sanitize("address", "undefined")))

/* "LISTEN_PID=" followed by our pid, without stdio (we are between clone and exec). */
SPAWN_NO_SAN static void write_pid(char *buf, size_t size)
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

struct child_args {
    const struct spawn *s;
    char **envp;
    char *listen_pid;
    volatile int exec_errno; /* written by the child when its exec failed */
};

/* In the child: never returns. Handlers go back to their defaults before any signal is
 * unblocked (a handler must not run in the parent's memory). Every descriptor that
 * must survive first leaves the target range 3..3+nfds-1 (the copies are
 * close-on-exec), then the passed ones are dup2'ed into place, which leaves the targets
 * without FD_CLOEXEC. */
SPAWN_NO_SAN static int child(void *arg)
{
    struct child_args *a = arg;
    const struct spawn *s = a->s;
    for (int sig = 1; sig < NSIG; sig++) {
        struct sigaction sa;
        if (sigaction(sig, NULL, &sa) == 0 && sa.sa_handler != SIG_DFL &&
            (sa.sa_handler != SIG_IGN || sig == SIGPIPE)) {
            sa.sa_handler = SIG_DFL;
            sa.sa_flags = 0;
            sigaction(sig, &sa, NULL);
        }
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int top = 3 + s->nfds, tmp[SPAWN_MAX_FDS], out = s->stdout_fd > 0 ? s->stdout_fd : -1;
    if (out >= 0 && out < top)
        out = fcntl(out, F_DUPFD_CLOEXEC, top);
    if (s->stdout_fd > 0 && out < 0)
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
        write_pid(a->listen_pid, 32);
    if (s->exec_us)
        *s->exec_us = clock_now_us();
    execvpe(s->argv[0], s->argv, a->envp);
    a->exec_errno = errno ? errno : ENOEXEC;
    _exit(127);
}

/* The child's stack: what execvpe may put there (a PATH entry plus the name; argv again
 * for a script) and room for the calls before it. */
static size_t child_stack_size(const struct spawn *s)
{
    size_t n = 0, page = (size_t)sysconf(_SC_PAGESIZE);
    while (s->argv[n])
        n++;
    const char *path = getenv("PATH");
    size_t size =
        128 * 1024 + (n + 2) * sizeof(char *) + (path ? strlen(path) : 0) + strlen(s->argv[0]);
    return (size + page - 1) / page * page;
}

/* clone(CLONE_VM | CLONE_VFORK): the parent sleeps until the child executed (or gave
 * up), with no page tables to copy; on a busy machine this gets the child to its exec
 * several times sooner than fork, which leaves it queued behind every runnable task
 * while the parent waits. Every signal is blocked around it so that none reaches the
 * child before its handlers are reset. */
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
    if (s->exec_us)
        *s->exec_us = 0;
    struct child_args a = {.s = s, .envp = build_env(s, listen_pid), .listen_pid = listen_pid};
    size_t size = child_stack_size(s);
    void *stack = a.envp ? mmap(NULL, size, PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0)
                         : MAP_FAILED;
    if (stack == MAP_FAILED) {
        int saved = a.envp ? errno : ENOMEM;
        free(a.envp);
        return err_errno(e, saved, "cannot start '%s'", s->argv[0]);
    }
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t pid = clone(child, (char *)stack + size, CLONE_VM | CLONE_VFORK | SIGCHLD, &a);
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    munmap(stack, size);
    free(a.envp);
    if (pid < 0)
        return err_errno(e, saved, "cannot start '%s'", s->argv[0]);
    if (a.exec_errno && exec_errno)
        *exec_errno = a.exec_errno;
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
