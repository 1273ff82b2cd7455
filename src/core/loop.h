/* The one event loop of a baton process: epoll for fds (sockets, signalfd, pidfds)
 * and a binary heap of timers. Everything that waits is a watcher here; no sleeps. */
#ifndef BATON_CORE_LOOP_H
#define BATON_CORE_LOOP_H

#include <stdint.h>
#include <sys/epoll.h>
#include <sys/types.h>

#include "core/clock.h"
#include "core/err.h"

struct loop;
struct watcher;
struct timer;

typedef void (*watcher_cb)(struct loop *loop, struct watcher *w, uint32_t revents);
typedef void (*timer_cb)(struct loop *loop, struct timer *t);

/* An fd watcher, usually embedded in the owner's struct; `data` is the owner's. */
struct watcher {
    int fd;
    uint32_t events; /* EPOLLIN | EPOLLOUT ... as registered */
    watcher_cb cb;
    void *data;
    int active;
};

/* A one-shot timer; re-arm from its callback for a periodic one. */
struct timer {
    uint64_t when_ms;
    timer_cb cb;
    void *data;
    size_t heap_index; /* 0 when not armed */
};

int loop_new(struct loop **out, struct err *e);
void loop_free(struct loop *loop);

/* Watches w->fd for `events`; w->cb gets the returned events. */
int loop_watch(struct loop *loop, struct watcher *w, int fd, uint32_t events, watcher_cb cb,
               void *data, struct err *e);
/* Changes the events of an active watcher. */
int loop_rewatch(struct loop *loop, struct watcher *w, uint32_t events, struct err *e);
/* Stops watching (does not close the fd). Safe on an inactive watcher. */
void loop_unwatch(struct loop *loop, struct watcher *w);

/* Arms t to fire after `after_ms` (re-arms if already armed). */
void timer_start(struct loop *loop, struct timer *t, uint64_t after_ms, timer_cb cb, void *data);
void timer_stop(struct loop *loop, struct timer *t);
static inline int timer_armed(const struct timer *t)
{
    return t->heap_index != 0;
}

/* Calls cb(loop, data) each time the loop is about to wait, after every event and due
 * timer of the iteration has been dispatched: work that may be coalesced (writing a
 * state file once for many changes) goes there, off the path of the events. One hook
 * per loop; cb NULL removes it. */
typedef void (*loop_idle_cb)(struct loop *loop, void *data);
void loop_on_idle(struct loop *loop, loop_idle_cb cb, void *data);

/* Runs until loop_stop() is called; returns 0, or -1 if epoll itself fails. */
int loop_run(struct loop *loop, struct err *e);
void loop_stop(struct loop *loop);

/* Frees `ptr` with free() once the current batch of events has been dispatched, so a
 * callback may drop an object whose watcher is still pending in the same batch
 * (the watcher must be unwatched first). */
void loop_defer_free(struct loop *loop, void *ptr);

/* Milliseconds on the monotonic clock, cached per loop iteration. */
uint64_t loop_now_ms(struct loop *loop);
/* The monotonic clock now, uncached: clock_now_ms, clock_now_us (core/clock.h). */

/* A signalfd for `signals` (they are blocked first) watched on the loop; the callback
 * reads struct signalfd_siginfo records from w->fd. Returns the fd or -1. */
int loop_watch_signals(struct loop *loop, struct watcher *w, const int *signals, int nsignals,
                       watcher_cb cb, void *data, struct err *e);

/* Opens a pidfd for `pid` and watches it; the callback fires (EPOLLIN) once the process
 * exits. Returns the pidfd or -1. The caller closes it after loop_unwatch(). */
int loop_watch_pid(struct loop *loop, struct watcher *w, pid_t pid, watcher_cb cb, void *data,
                   struct err *e);

#endif
