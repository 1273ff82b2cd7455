/* Child processes on the loop: fork + exec, two pipes and a pidfd as watchers, a timer
 * for the deadline. The result is delivered when the process has exited, without
 * waiting for EOF: a grandchild that keeps a pipe open cannot stall the deploy. */
#include "deploy/child.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHILD_ERR_CAP (16 * 1024)

struct stream {
    struct watcher w;
    int fd;
    char *buf;
    size_t len, cap;
    int truncated;
};

struct child {
    struct loop *loop;
    pid_t pid;
    int pidfd;
    struct watcher pw;
    struct timer deadline;
    struct stream out, err;
    uint64_t started_ms;
    int timed_out;
    child_done_cb cb;
    void *data;
};

pid_t child_pid(const struct child *c)
{
    return c->pid;
}

/* Reads what is available; returns 1 at EOF or error (the stream is then closed). */
static int stream_read(struct loop *loop, struct stream *s)
{
    char tmp[16384];
    for (;;) {
        ssize_t n = read(s->fd, tmp, sizeof(tmp));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return 0;
        if (n <= 0)
            break;
        size_t keep = (size_t)n;
        if (s->len + keep > s->cap) {
            keep = s->cap - s->len;
            s->truncated = 1;
        }
        memcpy(s->buf + s->len, tmp, keep);
        s->len += keep;
    }
    loop_unwatch(loop, &s->w);
    close(s->fd);
    s->fd = -1;
    return 1;
}

static void on_stream(struct loop *loop, struct watcher *w, uint32_t revents)
{
    (void)revents;
    stream_read(loop, w->data);
}

static void stream_close(struct loop *loop, struct stream *s)
{
    if (s->fd >= 0) {
        loop_unwatch(loop, &s->w);
        close(s->fd);
        s->fd = -1;
    }
}

static void child_free(struct child *c)
{
    timer_stop(c->loop, &c->deadline);
    stream_close(c->loop, &c->out);
    stream_close(c->loop, &c->err);
    if (c->pidfd >= 0) {
        loop_unwatch(c->loop, &c->pw);
        close(c->pidfd);
    }
    free(c->out.buf);
    free(c->err.buf);
    loop_defer_free(c->loop, c); /* its watchers may have events pending in this batch */
}

static void on_exit_fd(struct loop *loop, struct watcher *w, uint32_t revents)
{
    (void)revents;
    struct child *c = w->data;
    int status = 0;
    pid_t r;
    do
        r = waitpid(c->pid, &status, WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r == 0)
        return; /* not yet (spurious wake-up) */
    /* what the process wrote before exiting is in the pipes now */
    if (c->out.fd >= 0)
        stream_read(loop, &c->out);
    if (c->err.fd >= 0)
        stream_read(loop, &c->err);
    while (c->err.len > 0 &&
           (c->err.buf[c->err.len - 1] == '\n' || c->err.buf[c->err.len - 1] == '\r'))
        c->err.len--;
    c->out.buf[c->out.len] = 0;
    c->err.buf[c->err.len] = 0;
    struct child_result res = {
        .exited = r > 0 && WIFEXITED(status),
        .status = r > 0 ? (WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status)) : -1,
        .timed_out = c->timed_out,
        .duration_ms = clock_now_ms() - c->started_ms,
        .out = c->out.buf,
        .out_len = c->out.len,
        .out_truncated = c->out.truncated,
        .err = c->err.buf,
    };
    child_done_cb cb = c->cb;
    void *data = c->data;
    char *out = c->out.buf, *err = c->err.buf; /* kept for the callback */
    c->out.buf = c->err.buf = NULL;
    child_free(c);
    cb(&res, data);
    free(out);
    free(err);
}

static void on_deadline(struct loop *loop, struct timer *t)
{
    (void)loop;
    struct child *c = t->data;
    c->timed_out = 1;
    kill(-c->pid, SIGKILL);
    kill(c->pid, SIGKILL);
}

/* In the forked child: stdio, process group, signals, then exec. Never returns. */
static void exec_child(char *const *argv, int out_fd, int err_fd)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int s = 1; s < 32; s++)
        if (s != SIGKILL && s != SIGSTOP)
            signal(s, SIG_DFL);
    setpgid(0, 0);
    int null = open("/dev/null", O_RDONLY);
    if (null < 0 || dup2(null, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
        _exit(126);
    execvp(argv[0], argv);
    dprintf(2, "cannot run '%s': %s\n", argv[0], strerror(errno));
    _exit(127);
}

static int stream_init(struct stream *s, size_t cap)
{
    s->fd = -1;
    s->cap = cap;
    s->buf = malloc(cap + 1);
    return s->buf ? 0 : -1;
}

int child_start(struct loop *loop, char *const *argv, uint64_t timeout_ms, child_done_cb cb,
                void *data, struct child **out, struct err *e)
{
    int po[2] = {-1, -1}, pe[2] = {-1, -1};
    struct child *c = calloc(1, sizeof(*c));
    if (!c)
        return err_errno(e, ENOMEM, "cannot start '%s'", argv[0]);
    c->loop = loop;
    c->pidfd = c->out.fd = c->err.fd = -1;
    if (stream_init(&c->out, CHILD_OUT_CAP) < 0 || stream_init(&c->err, CHILD_ERR_CAP) < 0) {
        child_free(c);
        return err_errno(e, ENOMEM, "cannot start '%s'", argv[0]);
    }
    c->cb = cb;
    c->data = data;
    if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0) {
        err_errno(e, errno, "cannot start '%s': pipe", argv[0]);
        goto fail;
    }
    c->started_ms = clock_now_ms();
    c->pid = fork();
    if (c->pid < 0) {
        err_errno(e, errno, "cannot start '%s': fork", argv[0]);
        goto fail;
    }
    if (c->pid == 0)
        exec_child(argv, po[1], pe[1]);
    setpgid(c->pid, c->pid); /* also here: no race with a kill before the child ran */
    close(po[1]);
    close(pe[1]);
    c->out.fd = po[0];
    c->err.fd = pe[0];
    po[0] = pe[0] = -1;
    fcntl(c->out.fd, F_SETFL, O_NONBLOCK);
    fcntl(c->err.fd, F_SETFL, O_NONBLOCK);
    c->pidfd = loop_watch_pid(loop, &c->pw, c->pid, on_exit_fd, c, e);
    if (c->pidfd < 0 ||
        loop_watch(loop, &c->out.w, c->out.fd, EPOLLIN, on_stream, &c->out, e) < 0 ||
        loop_watch(loop, &c->err.w, c->err.fd, EPOLLIN, on_stream, &c->err, e) < 0) {
        child_cancel(c);
        return -1;
    }
    if (timeout_ms)
        timer_start(loop, &c->deadline, timeout_ms, on_deadline, c);
    if (out)
        *out = c;
    return 0;
fail:
    for (int i = 0; i < 2; i++) {
        if (po[i] >= 0)
            close(po[i]);
        if (pe[i] >= 0)
            close(pe[i]);
    }
    child_free(c);
    return -1;
}

void child_cancel(struct child *c)
{
    if (!c)
        return;
    if (c->pid > 0) {
        kill(-c->pid, SIGKILL);
        kill(c->pid, SIGKILL);
        while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    child_free(c);
}

void child_result_text(const struct child_result *r, char *buf, size_t cap)
{
    if (r->timed_out)
        snprintf(buf, cap, "timed out after %.1fs", (double)r->duration_ms / 1000.0);
    else if (r->exited)
        snprintf(buf, cap, "exit %d", r->status);
    else
        snprintf(buf, cap, "killed by signal %d", r->status);
}
