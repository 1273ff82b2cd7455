/* The monotonic and the wall clock, read in one place (see clock.h). */
#include "core/clock.h"

#include <stdio.h>
#include <time.h>

uint64_t clock_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t clock_now_ms(void)
{
    return clock_now_us() / 1000u;
}

int64_t clock_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void clock_utc_text(int64_t unix_ms, char *buf, size_t cap)
{
    int64_t ms = unix_ms % 1000, s = unix_ms / 1000;
    if (ms < 0) { /* before 1970: the milliseconds still count forward from the second */
        ms += 1000;
        s -= 1;
    }
    time_t t = (time_t)s;
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)ms);
}
