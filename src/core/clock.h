/* The two clocks baton reads: the monotonic clock for every duration and timeout, the
 * wall clock for times that leave the process (state files, replies, reports, logs).
 * Every reading of either clock in src/ goes through here. */
#ifndef BATON_CORE_CLOCK_H
#define BATON_CORE_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* The monotonic clock now, in microseconds and in milliseconds (uncached; the loop
 * caches one reading per iteration: loop_now_ms). Both are async-signal-safe (a child
 * may read them between fork and exec). */
uint64_t clock_now_us(void);
uint64_t clock_now_ms(void);

/* Milliseconds since the Unix epoch on the wall clock. */
int64_t clock_wall_ms(void);

/* Writes `unix_ms` as RFC 3339 UTC with milliseconds, "2026-11-18T11:06:40.123Z" (the
 * time of log lines and ledgers), into buf; cut at cap - 1 when cap < CLOCK_UTC_TEXT_MAX. */
#define CLOCK_UTC_TEXT_MAX 32
void clock_utc_text(int64_t unix_ms, char *buf, size_t cap);

#endif
