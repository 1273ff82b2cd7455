/* epoll + a min-heap of timers. The heap is 1-based so heap_index 0 means "not armed". */
#include "core/loop.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

struct loop {
    int epfd;
    int running;
    uint64_t now_ms;
    struct timer **heap; /* heap[1..count] */
    size_t count, cap;
    void **deferred; /* freed after each dispatch batch */
    size_t ndeferred, deferred_cap;
    loop_idle_cb idle;
    void *idle_data;
};

int loop_new(struct loop **out, struct err *e)
{
    struct loop *l = calloc(1, sizeof(*l));
    if (!l)
        return err_errno(e, ENOMEM, "cannot create event loop");
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l->epfd < 0) {
        int saved = errno;
        free(l);
        return err_errno(e, saved, "cannot create epoll instance");
    }
    l->now_ms = clock_now_ms();
    *out = l;
    return 0;
}

void loop_free(struct loop *loop)
{
    if (!loop)
        return;
    close(loop->epfd);
    for (size_t i = 0; i < loop->ndeferred; i++)
        free(loop->deferred[i]);
    free(loop->deferred);
    free(loop->heap);
    free(loop);
}

int loop_watch(struct loop *loop, struct watcher *w, int fd, uint32_t events, watcher_cb cb,
               void *data, struct err *e)
{
    w->fd = fd;
    w->events = events;
    w->cb = cb;
    w->data = data;
    struct epoll_event ev = {.events = events, .data.ptr = w};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
        return err_errno(e, errno, "cannot watch fd %d", fd);
    w->active = 1;
    return 0;
}

int loop_rewatch(struct loop *loop, struct watcher *w, uint32_t events, struct err *e)
{
    if (w->active && w->events == events)
        return 0;
    struct epoll_event ev = {.events = events, .data.ptr = w};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, w->fd, &ev) < 0)
        return err_errno(e, errno, "cannot change watch on fd %d", w->fd);
    w->events = events;
    return 0;
}

void loop_unwatch(struct loop *loop, struct watcher *w)
{
    if (!w->active)
        return;
    epoll_ctl(loop->epfd, EPOLL_CTL_DEL, w->fd, NULL);
    w->active = 0;
}

/* --- timers ------------------------------------------------------------------- */

static void heap_swap(struct loop *l, size_t a, size_t b)
{
    struct timer *t = l->heap[a];
    l->heap[a] = l->heap[b];
    l->heap[b] = t;
    l->heap[a]->heap_index = a;
    l->heap[b]->heap_index = b;
}

static void heap_up(struct loop *l, size_t i)
{
    while (i > 1 && l->heap[i / 2]->when_ms > l->heap[i]->when_ms) {
        heap_swap(l, i, i / 2);
        i /= 2;
    }
}

static void heap_down(struct loop *l, size_t i)
{
    for (;;) {
        size_t s = i, c = 2 * i;
        if (c <= l->count && l->heap[c]->when_ms < l->heap[s]->when_ms)
            s = c;
        if (c + 1 <= l->count && l->heap[c + 1]->when_ms < l->heap[s]->when_ms)
            s = c + 1;
        if (s == i)
            return;
        heap_swap(l, i, s);
        i = s;
    }
}

void timer_stop(struct loop *loop, struct timer *t)
{
    size_t i = t->heap_index;
    if (i == 0)
        return;
    size_t last = loop->count--;
    if (i != last) {
        loop->heap[i] = loop->heap[last];
        loop->heap[i]->heap_index = i;
        heap_up(loop, i);
        heap_down(loop, loop->heap[i]->heap_index);
    }
    t->heap_index = 0;
}

void timer_start(struct loop *loop, struct timer *t, uint64_t after_ms, timer_cb cb, void *data)
{
    timer_stop(loop, t);
    if (loop->count + 1 >= loop->cap) {
        size_t cap = loop->cap ? loop->cap * 2 : 64;
        struct timer **h = realloc(loop->heap, cap * sizeof(*h));
        if (!h)
            abort(); /* out of memory for a timer slot: nothing sane to do */
        loop->heap = h;
        loop->cap = cap;
    }
    t->when_ms = clock_now_ms() + after_ms;
    t->cb = cb;
    t->data = data;
    loop->heap[++loop->count] = t;
    t->heap_index = loop->count;
    heap_up(loop, loop->count);
}

static void run_due_timers(struct loop *l)
{
    l->now_ms = clock_now_ms();
    while (l->count > 0 && l->heap[1]->when_ms <= l->now_ms) {
        struct timer *t = l->heap[1];
        timer_stop(l, t);
        t->cb(l, t);
    }
}

/* --- running ------------------------------------------------------------------ */

uint64_t loop_now_ms(struct loop *loop)
{
    return loop->now_ms;
}

void loop_defer_free(struct loop *loop, void *ptr)
{
    if (loop->ndeferred == loop->deferred_cap) {
        size_t cap = loop->deferred_cap ? loop->deferred_cap * 2 : 32;
        void **d = realloc(loop->deferred, cap * sizeof(*d));
        if (!d)
            abort(); /* out of memory while freeing: nothing sane to do */
        loop->deferred = d;
        loop->deferred_cap = cap;
    }
    loop->deferred[loop->ndeferred++] = ptr;
}

static void free_deferred(struct loop *l)
{
    for (size_t i = 0; i < l->ndeferred; i++)
        free(l->deferred[i]);
    l->ndeferred = 0;
}

void loop_on_idle(struct loop *loop, loop_idle_cb cb, void *data)
{
    loop->idle = cb;
    loop->idle_data = data;
}

void loop_stop(struct loop *loop)
{
    loop->running = 0;
}

int loop_run(struct loop *loop, struct err *e)
{
    struct epoll_event events[64];
    loop->running = 1;
    while (loop->running) {
        if (loop->idle) {
            loop->idle(loop, loop->idle_data);
            free_deferred(loop);
            if (!loop->running)
                break;
        }
        int timeout = -1;
        if (loop->count > 0) {
            uint64_t now = clock_now_ms();
            uint64_t when = loop->heap[1]->when_ms;
            timeout = when <= now ? 0 : (int)(when - now > 60000 ? 60000 : when - now);
        }
        int n = epoll_wait(loop->epfd, events, 64, timeout);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return err_errno(e, errno, "epoll_wait failed");
        }
        loop->now_ms = clock_now_ms();
        for (int i = 0; i < n; i++) {
            struct watcher *w = events[i].data.ptr;
            if (w->active)
                w->cb(loop, w, events[i].events);
        }
        free_deferred(loop);
        run_due_timers(loop);
        free_deferred(loop);
    }
    return 0;
}

int loop_watch_signals(struct loop *loop, struct watcher *w, const int *signals, int nsignals,
                       watcher_cb cb, void *data, struct err *e)
{
    sigset_t set;
    sigemptyset(&set);
    for (int i = 0; i < nsignals; i++)
        sigaddset(&set, signals[i]);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
        return err_errno(e, errno, "cannot block signals");
    int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0)
        return err_errno(e, errno, "cannot create signalfd");
    if (loop_watch(loop, w, fd, EPOLLIN, cb, data, e) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int loop_watch_pid(struct loop *loop, struct watcher *w, pid_t pid, watcher_cb cb, void *data,
                   struct err *e)
{
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (fd < 0)
        return err_errno(e, errno, "cannot open pidfd for pid %d", (int)pid);
    if (loop_watch(loop, w, fd, EPOLLIN, cb, data, e) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}
