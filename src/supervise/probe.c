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

#include "core/spawn.h"
#include "supervise/proc.h"

struct probe {
    struct loop *loop;
    pid_t pid;
    int pidfd;
    int out_fd;
    struct watcher w;
    struct timer timeout;
    uint64_t timeout_ms;
    int timed_out;
    int exec_errno;  /* why the exec failed, or 0 */
    char name[64];   /* argv[0], for that message */
    probe_done done; /* NULL once cancelled */
    void *data;
};

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
    char what[192], out[PROBE_OUT_MAX + 1];
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
    else if (p->exec_errno)
        snprintf(what, sizeof(what), "exited with status 127 (cannot run '%s': %s)", p->name,
                 strerror(p->exec_errno));
    else
        proc_describe_exit(si.si_code, si.si_status, what, sizeof(what));
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
    struct probe *p = calloc(1, sizeof(*p));
    int pipefd[2] = {-1, -1};
    if (!p || pipe2(pipefd, O_CLOEXEC) < 0) {
        int saved = p ? errno : ENOMEM;
        free(p);
        return err_errno(e, saved, "cannot start '%s'", argv[0]);
    }
    fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
    struct spawn sp = {.argv = argv, .env_add = extra_env, .stdout_fd = pipefd[1]};
    pid_t pid = spawn_start(&sp, &p->exec_errno, e);
    close(pipefd[1]);
    if (pid < 0) {
        free(p);
        close(pipefd[0]);
        return -1;
    }
    snprintf(p->name, sizeof(p->name), "%s", argv[0]);
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
