/* The two clocks baton reads: the monotonic clock for every duration and timeout, the
 * wall clock for times that leave the process (state files, replies, reports). */
#ifndef BATON_CORE_CLOCK_H
#define BATON_CORE_CLOCK_H

#include <stdint.h>

/* The monotonic clock now, in microseconds and in milliseconds (uncached; the loop
 * caches one reading per iteration: loop_now_ms). */
uint64_t clock_now_us(void);
uint64_t clock_now_ms(void);

/* Milliseconds since the Unix epoch on the wall clock. */
int64_t clock_wall_ms(void);

#endif
