// SPDX-License-Identifier: GPL-2.0-or-later
/* The one monotonic clock: its two units agree, deadlines convert to the absolute time that
 * clock_nanosleep() and a CLOCK_MONOTONIC condition variable take, and poll()'s cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "time-util.h"

static void test_units_agree(void **state)
{
	uint64_t ms0 = now_ms(), us = now_us(), ms1 = now_ms();

	(void)state;
	/* read in this order on one clock, the microseconds fall between the milliseconds */
	assert_true(ms0 <= us / 1000);
	assert_true(us / 1000 <= ms1);
	assert_true(now_us() >= us);
}

static void test_timespec_from_ms(void **state)
{
	struct timespec t = timespec_from_ms(1234);

	(void)state;
	assert_int_equal(t.tv_sec, 1);
	assert_int_equal(t.tv_nsec, 234000000L);
	t = timespec_from_ms(999);
	assert_int_equal(t.tv_sec, 0);
	assert_int_equal(t.tv_nsec, 999000000L);
	t = timespec_from_ms(86400000ULL * 365);
	assert_int_equal(t.tv_sec, 86400 * 365);
	assert_int_equal(t.tv_nsec, 0);
}

static void test_deadline_left(void **state)
{
	(void)state;
	assert_int_equal(deadline_left_ms(0), 0);
	assert_int_equal(deadline_left_ms(now_ms()), 0);
	assert_int_equal(deadline_left_ms(UINT64_MAX), INT32_MAX);
	assert_true(deadline_left_ms(now_ms() + 60000) > 0);
	assert_true(deadline_left_ms(now_ms() + 60000) <= 60000);
	/* a passed deadline: no sleep at all, whatever the pause asked */
	sleep_until_ms(0, 1000000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_units_agree),
		cmocka_unit_test(test_timespec_from_ms),
		cmocka_unit_test(test_deadline_left),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
