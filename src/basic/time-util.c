// SPDX-License-Identifier: GPL-2.0-or-later
/* Monotonic time: durations survive a clock change (NTP, an operator's date). */
#include <errno.h>
#include <stdint.h>
#include <time.h>

#include "time-util.h"

uint64_t now_us(void)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC cannot fail with a valid clock id and pointer */
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t now_ms(void)
{
	return now_us() / 1000;
}

struct timespec timespec_from_ms(uint64_t ms)
{
	return (struct timespec){.tv_sec = (time_t)(ms / 1000),
				 .tv_nsec = (long)(ms % 1000) * 1000000L};
}

int deadline_left_ms(uint64_t deadline_ms)
{
	uint64_t now = now_ms();

	if (now >= deadline_ms)
		return 0;
	return deadline_ms - now > INT32_MAX ? INT32_MAX : (int)(deadline_ms - now);
}

void sleep_until_ms(uint64_t deadline_ms, unsigned ms)
{
	uint64_t until = now_ms() + ms;
	struct timespec ts;

	if (until > deadline_ms)
		until = deadline_ms;
	if (until <= now_ms())
		return;
	ts = timespec_from_ms(until);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}
