/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The one monotonic clock of the project, deadlines on it, and a bounded sleep for backoff loops.
 */
#pragma once

#include <stdint.h>

/* Milliseconds of CLOCK_MONOTONIC: for durations and deadlines, never for dates. */
uint64_t now_ms(void);

/* Milliseconds left until @deadline_ms (a now_ms() value), 0 when passed, capped to INT32_MAX so
 * that it fits poll()'s timeout. */
int deadline_left_ms(uint64_t deadline_ms);

/* Sleeps @ms milliseconds (restarted after a signal), but never past @deadline_ms (a now_ms()
 * value); returns at once when the deadline has passed. */
void sleep_until_ms(uint64_t deadline_ms, unsigned ms);
