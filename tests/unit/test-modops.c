// SPDX-License-Identifier: GPL-2.0-or-later
/* The unload retry policy against a fake kernel: busy then free, never free, gone, refused. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "node/modops.h"

struct fake {
	int busy_calls; /* calls answered EAGAIN before the module goes */
	int final;	/* answer after that */
	unsigned calls;
	unsigned slept_ms;
};

static int fake_remove(void *userdata, const char *name)
{
	struct fake *f = userdata;

	f->calls++;
	if (f->busy_calls > 0) {
		f->busy_calls--;
		return -EAGAIN;
	}
	return f->final;
}

static void fake_sleep(void *userdata, unsigned ms)
{
	((struct fake *)userdata)->slept_ms += ms;
}

static struct gk_modops ops_for(struct fake *f)
{
	return (struct gk_modops){.userdata = f, .remove = fake_remove, .sleep_ms = fake_sleep};
}

static void test_busy_then_gone(void **state)
{
	struct fake f = {.busy_calls = 3, .final = 0};
	struct gk_modops ops = ops_for(&f);
	struct gk_unload_result res;

	assert_int_equal(modops_unload(&ops, "nvidia_uvm", 5000, &res), 0);
	assert_int_equal(res.attempts, 4);
	assert_true(res.was_loaded);
	assert_int_equal(f.slept_ms, 20 + 40 + 80); /* backoff doubles */
	assert_int_equal(res.waited_ms, f.slept_ms);
}

static void test_never_free(void **state)
{
	struct fake f = {.busy_calls = 1000, .final = 0};
	struct gk_modops ops = ops_for(&f);
	struct gk_unload_result res;

	assert_int_equal(modops_unload(&ops, "nvidia", 3000, &res), -EBUSY);
	/* bounded: exactly the budget was waited, with backoff capped at 1 s */
	assert_int_equal(f.slept_ms, 3000);
	assert_int_equal(res.attempts, f.calls);
	assert_true(res.attempts >= 6 && res.attempts <= 10);
}

static void test_not_loaded_and_errors(void **state)
{
	struct fake gone = {.final = -ENOENT}, perm = {.final = -EPERM};
	struct gk_modops ops = ops_for(&gone);
	struct gk_unload_result res;

	assert_int_equal(modops_unload(&ops, "nvidia_peermem", 1000, &res), 0);
	assert_false(res.was_loaded);
	ops = ops_for(&perm);
	assert_int_equal(modops_unload(&ops, "nvidia", 1000, &res), -EPERM);
	assert_int_equal(res.attempts, 1); /* not retried */
	assert_int_equal(perm.slept_ms, 0);
}

static void test_zero_budget(void **state)
{
	struct fake f = {.busy_calls = 5, .final = 0};
	struct gk_modops ops = ops_for(&f);

	assert_int_equal(modops_unload(&ops, "nvidia", 0, NULL), -EBUSY);
	assert_int_equal(f.calls, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_busy_then_gone),
		cmocka_unit_test(test_never_free),
		cmocka_unit_test(test_not_loaded_and_errors),
		cmocka_unit_test(test_zero_budget),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
