/* Supervised processes: spawn, pidfd watch, exit status, signals, state records. */
#include "supervise/worker.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/log.h"
#include "supervise/proc.h"
#include "supervise/state.h"

struct worker *worker_record(pid_t pid, uint64_t proc_start, int child)
{
    struct worker *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    w->pid = pid;
    w->proc_start = proc_start;
    w->child = child;
    w->pidfd = -1;
    return w;
}

static void on_exit_event(struct loop *loop, struct watcher *watcher, uint32_t revents)
{
    struct worker *w = watcher->data;
    char what[128] = "exited";
    if (w->child) {
        siginfo_t si = {0};
        if (waitid((idtype_t)P_PIDFD, (id_t)w->pidfd, &si, WEXITED | WNOHANG) < 0) {
            if (errno != ECHILD)
                return;
        } else if (si.si_pid == 0) {
            return; /* not yet */
        } else {
            proc_describe_exit(si.si_code, si.si_status, what, sizeof(what));
        }
    }
    loop_unwatch(loop, &w->w);
    close(w->pidfd);
    w->pidfd = -1;
    if (w->on_exit)
        w->on_exit(w, what, w->data);
    loop_defer_free(loop, w);
}

int worker_watch(struct worker *w, struct loop *loop, worker_exit_cb cb, void *data, struct err *e)
{
    w->loop = loop;
    w->on_exit = cb;
    w->data = data;
    w->started_ms = loop_now_ms(loop);
    w->pidfd = loop_watch_pid(loop, &w->w, w->pid, on_exit_event, w, e);
    return w->pidfd < 0 ? -1 : 0;
}

int worker_start(struct worker **out, struct loop *loop, const struct spawn *sp, const char *what,
                 worker_exit_cb cb, void *data, struct err *e)
{
    int exec_errno;
    pid_t pid = spawn_start(sp, &exec_errno, e);
    if (pid < 0)
        return err_wrap(e, "cannot start %s", what);
    if (exec_errno)
        log_error("%s: cannot run '%s': %s", what, sp->argv[0], strerror(exec_errno));
    struct worker *w = worker_record(pid, 0, 1);
    if (!w || worker_watch(w, loop, cb, data, e) < 0) {
        if (!w)
            err_errno(e, ENOMEM, "cannot track %s (pid %d)", what, (int)pid);
        free(w);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0); /* just killed: returns at once */
        return -1;
    }
    w->proc_start = proc_start_time(pid);
    *out = w;
    return 0;
}

int worker_alive(const struct worker *w)
{
    return w->proc_start && proc_start_time(w->pid) == w->proc_start;
}

void worker_signal(struct worker *w, int sig)
{
    if (sig == SIGKILL)
        w->killed = 1;
    if (w->pidfd >= 0 && syscall(SYS_pidfd_send_signal, w->pidfd, sig, NULL, 0) < 0 &&
        errno != ESRCH)
        log_warn("cannot send signal %d to %d: %s", sig, (int)w->pid, strerror(errno));
}

void worker_free(struct worker *w)
{
    if (!w)
        return;
    if (w->pidfd >= 0) {
        loop_unwatch(w->loop, &w->w);
        close(w->pidfd);
        w->pidfd = -1;
    }
    if (w->loop)
        loop_defer_free(w->loop, w);
    else
        free(w);
}

uint64_t worker_backoff_ms(unsigned *fails)
{
    unsigned shift = *fails < 7 ? *fails : 7;
    uint64_t delay = 100u << shift; /* 100 ms .. 12.8 s */
    (*fails)++;
    return delay > 10000 ? 10000 : delay;
}

json_t *worker_to_json(const struct worker *w)
{
    return json_pack("{s:i,s:I,s:b,s:b}", "pid", (int)w->pid, "start_time",
                     (json_int_t)w->proc_start, "ready", w->ready, "stopping", w->stopping);
}

int worker_from_json(json_t *jw, struct worker **out, int child, struct err *e)
{
    long long pid, start;
    struct state_int f[] = {{"pid", 1, STATE_MAX_PID, &pid}, {"start_time", 0, INT64_MAX, &start}};
    if (!json_is_object(jw))
        return err_set(e, "malformed state: a worker is not an object");
    if (state_get_ints(jw, f, 2, "worker", e) < 0)
        return -1;
    struct worker *w = worker_record((pid_t)pid, (uint64_t)start, child);
    if (!w)
        return err_errno(e, ENOMEM, "cannot read state");
    w->ready = json_is_true(json_object_get(jw, "ready"));
    w->stopping = json_is_true(json_object_get(jw, "stopping"));
    *out = w;
    return 0;
}
