/* Helper processes of the master (readiness probes, re-exec self-checks). */
#include "supervise/probe.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

struct probe {
    struct loop *loop;
    pid_t pid;
    int pidfd;
    int out_fd;
    struct watcher w;
    struct timer timeout;
    uint64_t timeout_ms;
    int timed_out;
    probe_done done; /* NULL once cancelled */
    void *data;
};

void describe_status(int code, int status, char *buf, size_t size)
{
    if (code == CLD_EXITED)
        snprintf(buf, size, "exited with status %d", status);
    else if (code == CLD_KILLED || code == CLD_DUMPED)
        snprintf(buf, size, "was killed by signal %d (%s)", status, strsignal(status));
    else
        snprintf(buf, size, "ended (code %d, status %d)", code, status);
}

static void probe_free(struct probe *p)
{
    timer_stop(p->loop, &p->timeout);
    loop_unwatch(p->loop, &p->w);
    close(p->pidfd);
    if (p->out_fd >= 0)
        close(p->out_fd);
    loop_defer_free(p->loop, p);
}

static void on_exit_cb(struct loop *loop, struct watcher *w, uint32_t revents)
{
    struct probe *p = w->data;
    siginfo_t si = {0};
    if (waitid((idtype_t)P_PIDFD, (id_t)p->pidfd, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0)
        return;
    char what[128], out[PROBE_OUT_MAX + 1];
    size_t n = 0;
    while (p->out_fd >= 0 && n < PROBE_OUT_MAX) {
        ssize_t r = read(p->out_fd, out + n, PROBE_OUT_MAX - n);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    out[n] = 0;
    if (p->timed_out)
        snprintf(what, sizeof(what), "timed out after %llu ms", (unsigned long long)p->timeout_ms);
    else
        describe_status(si.si_code, si.si_status, what, sizeof(what));
    int ok = !p->timed_out && si.si_code == CLD_EXITED && si.si_status == 0;
    probe_done done = p->done;
    void *data = p->data;
    probe_free(p);
    if (done)
        done(p, ok, what, out, data);
}

static void on_timeout(struct loop *loop, struct timer *t)
{
    struct probe *p = t->data;
    p->timed_out = 1;
    syscall(SYS_pidfd_send_signal, p->pidfd, SIGKILL, NULL, 0);
}

int probe_start(struct probe **out, struct loop *loop, char *const *argv, char *const *extra_env,
                uint64_t timeout_ms, probe_done done, void *data, struct err *e)
{
    extern char **environ;
    size_t n = 0, k = 0;
    while (environ[n])
        n++;
    while (extra_env && extra_env[k])
        k++;
    char **envp = calloc(n + k + 1, sizeof(*envp));
    struct probe *p = calloc(1, sizeof(*p));
    int pipefd[2] = {-1, -1};
    if (!envp || !p || pipe2(pipefd, O_CLOEXEC) < 0) {
        int saved = errno ? errno : ENOMEM;
        free(envp);
        free(p);
        return err_errno(e, saved, "cannot start '%s'", argv[0]);
    }
    memcpy(envp, environ, n * sizeof(*envp));
    if (k)
        memcpy(envp + n, extra_env, k * sizeof(*envp));
    fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
    pid_t pid = fork();
    if (pid < 0) {
        int saved = errno;
        free(envp);
        free(p);
        close(pipefd[0]);
        close(pipefd[1]);
        return err_errno(e, saved, "cannot fork for '%s'", argv[0]);
    }
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        dup2(pipefd[1], 1);
        execvpe(argv[0], argv, envp);
        dprintf(2, "baton: cannot run '%s': %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    free(envp);
    close(pipefd[1]);
    p->loop = loop;
    p->pid = pid;
    p->out_fd = pipefd[0];
    p->done = done;
    p->data = data;
    p->timeout_ms = timeout_ms;
    p->pidfd = loop_watch_pid(loop, &p->w, pid, on_exit_cb, p, e);
    if (p->pidfd < 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0); /* just killed: returns at once */
        close(p->out_fd);
        free(p);
        return -1;
    }
    if (timeout_ms)
        timer_start(loop, &p->timeout, timeout_ms, on_timeout, p);
    *out = p;
    return 0;
}

void probe_cancel(struct probe *p)
{
    if (!p)
        return;
    p->done = NULL;
    timer_stop(p->loop, &p->timeout);
    syscall(SYS_pidfd_send_signal, p->pidfd, SIGKILL, NULL, 0);
}
