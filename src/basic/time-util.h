/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The one monotonic clock of the project, deadlines on it, and a bounded sleep for backoff loops.
 */
#pragma once

#include <stdint.h>
#include <time.h>

/* Milliseconds of CLOCK_MONOTONIC: for durations and deadlines, never for dates. */
uint64_t now_ms(void);

/* The same clock in microseconds, for the daemon's finer deadlines and backoff. */
uint64_t now_us(void);

/* @ms (a now_ms() value) as an absolute CLOCK_MONOTONIC time, for clock_nanosleep() and a
 * condition variable on that clock (pthread_condattr_setclock). */
struct timespec timespec_from_ms(uint64_t ms);

/* Milliseconds left until @deadline_ms (a now_ms() value), 0 when passed, capped to INT32_MAX so
 * that it fits poll()'s timeout. */
int deadline_left_ms(uint64_t deadline_ms);

/* Sleeps @ms milliseconds (restarted after a signal), but never past @deadline_ms (a now_ms()
 * value); returns at once when the deadline has passed. */
void sleep_until_ms(uint64_t deadline_ms, unsigned ms);
