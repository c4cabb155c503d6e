// SPDX-License-Identifier: GPL-2.0-or-later
/* The monotonic clock in milliseconds and a bounded sleep. */
#include <errno.h>
#include <time.h>

#include "time-util.h"

int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sleep_until_ms(int64_t deadline_ms, unsigned ms)
{
	int64_t until = now_ms() + ms;
	struct timespec ts;

	if (until > deadline_ms)
		until = deadline_ms;
	if (until <= now_ms())
		return;
	ts = (struct timespec){.tv_sec = until / 1000, .tv_nsec = (until % 1000) * 1000000};
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}
