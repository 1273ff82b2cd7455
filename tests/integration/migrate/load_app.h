/* What the load helpers of the migrate tests (writer.c, probe.c) share: a stop flag that
 * SIGTERM and SIGINT set (a test ends a helper before its own bound), and a monotonic
 * clock in milliseconds for their latencies. */
#ifndef BATON_TEST_LOAD_APP_H
#define BATON_TEST_LOAD_APP_H

#include <signal.h>
#include <time.h>

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
    (void)sig;
    stop = 1;
}

/* stop becomes 1 on SIGTERM or SIGINT. */
static void stop_on_signals(void)
{
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

#endif
