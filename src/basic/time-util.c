// SPDX-License-Identifier: GPL-2.0-or-later
/* Monotonic time: durations survive a clock change (NTP, an operator's date). */
#include <stdint.h>
#include <time.h>

#include "time-util.h"

uint64_t now_ms(void)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC cannot fail with a valid clock id and pointer */
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int deadline_left_ms(uint64_t deadline_ms)
{
	uint64_t now = now_ms();

	if (now >= deadline_ms)
		return 0;
	return deadline_ms - now > INT32_MAX ? INT32_MAX : (int)(deadline_ms - now);
}
