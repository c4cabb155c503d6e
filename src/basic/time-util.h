/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The monotonic clock in milliseconds, for deadlines, and a bounded sleep for backoff loops. */
#pragma once

#include <stdint.h>

/* CLOCK_MONOTONIC in milliseconds. */
int64_t now_ms(void);

/* Sleeps @ms milliseconds (restarted after a signal), but never past @deadline_ms (now_ms()
 * time); returns at once when the deadline has passed. */
void sleep_until_ms(int64_t deadline_ms, unsigned ms);
