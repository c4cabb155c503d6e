// SPDX-License-Identifier: GPL-2.0-or-later
/* The guards: circuit breaker, one reboot per boot, no reboot loop, budget reserved before
 * acting, no retry of an unknown outcome, and their state file (round trip, malformed). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ladder/guards.h"
#include "macro.h"

static struct gk_watch_config cfg;
static char why[256];

static int setup(void **state)
{
	return watch_config_init(&cfg, "/d");
}

static int teardown(void **state)
{
	watch_config_done(&cfg);
	return 0;
}

static enum gk_guard_verdict check(const struct gk_guard_state *s, int64_t now,
				   enum gk_ladder_rung rung, const char *fault, const char *boot)
{
	return guard_check(s, &cfg, now, rung, fault, boot, why, sizeof(why));
}

static void act(struct gk_guard_state *s, int64_t now, enum gk_ladder_rung rung, const char *fault,
		const char *boot)
{
	guard_reserve(s, now, rung, "0000:07:00", fault, boot);
	guard_finish(s, "ok");
}

static void test_breaker(void **state)
{
	struct gk_guard_state s = {};

	cfg.breaker_max_actions = 3;
	cfg.breaker_window_s = 3600;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(check(&s, 1000 + i, GK_LADDER_RESET, "f", "b1"), GK_GUARD_OK);
		act(&s, 1000 + i, GK_LADDER_RESET, "f", "b1");
	}
	/* the 4th action trips it */
	assert_int_equal(check(&s, 1010, GK_LADDER_RESET, "f", "b1"), GK_GUARD_TRIP);
	assert_non_null(strstr(why, "3 disruptive actions within 3600 s"));
	guard_trip(&s, 1010);
	assert_true(guard_breaker_open(&s, &cfg, 1011));
	assert_int_equal(check(&s, 1011, GK_LADDER_RESET, "f", "b1"), GK_GUARD_BREAKER);
	assert_non_null(strstr(why, "--reset-guard"));
	/* it stays open for the window, then closes, and the old actions have aged out */
	assert_int_equal(check(&s, 1010 + 3599, GK_LADDER_RESET, "f", "b1"), GK_GUARD_BREAKER);
	assert_false(guard_breaker_open(&s, &cfg, 1010 + 3600));
	assert_int_equal(check(&s, 1010 + 3600, GK_LADDER_RESET, "f", "b1"), GK_GUARD_OK);
}

static void test_reset_guard(void **state)
{
	struct gk_guard_state s = {};

	cfg.breaker_max_actions = 1;
	act(&s, 100, GK_LADDER_RESET, "f", "b1");
	assert_int_equal(check(&s, 101, GK_LADDER_RESET, "f", "b1"), GK_GUARD_TRIP);
	guard_trip(&s, 101);
	guard_clear(&s, 102);
	assert_false(guard_breaker_open(&s, &cfg, 103));
	assert_int_equal(guard_actions_in_window(&s, &cfg, 103), 0);
	assert_int_equal(check(&s, 103, GK_LADDER_RESET, "f", "b1"), GK_GUARD_OK);
	cfg.breaker_max_actions = 3;
}

static void test_zero_budget(void **state)
{
	struct gk_guard_state s = {};

	cfg.breaker_max_actions = 0;
	assert_int_equal(check(&s, 1, GK_LADDER_RESET, "f", "b1"), GK_GUARD_TRIP);
	cfg.breaker_max_actions = 3;
}

static void test_one_reboot_per_boot(void **state)
{
	struct gk_guard_state s = {};

	assert_int_equal(check(&s, 100, GK_LADDER_REBOOT, "xid-79@0000:07:00", "b1"), GK_GUARD_OK);
	act(&s, 100, GK_LADDER_REBOOT, "xid-79@0000:07:00", "b1");
	/* still the same boot: the reboot did not happen; never ask twice */
	assert_int_equal(check(&s, 200, GK_LADDER_REBOOT, "xid-79@0000:08:00", "b1"),
			 GK_GUARD_REBOOT_DONE);
	/* the next boot: the same fault back is a loop, another fault may reboot */
	assert_int_equal(check(&s, 300, GK_LADDER_REBOOT, "xid-79@0000:07:00", "b2"),
			 GK_GUARD_REBOOT_LOOP);
	assert_non_null(strstr(why, "reboot loop"));
	assert_int_equal(check(&s, 300, GK_LADDER_REBOOT, "xid-79@0000:08:00", "b2"), GK_GUARD_OK);
	/* a day later it is no loop any more */
	assert_int_equal(check(&s, 100 + 86400, GK_LADDER_REBOOT, "xid-79@0000:07:00", "b3"),
			 GK_GUARD_OK);
	/* resets are not reboots */
	assert_int_equal(check(&s, 200, GK_LADDER_RESET, "xid-79@0000:07:00", "b1"), GK_GUARD_OK);
}

static void test_pending_is_never_retried(void **state)
{
	struct gk_guard_state s = {};
	struct gk_guard_action *a;

	a = guard_reserve(&s, 100, GK_LADDER_RELOAD, NULL, "xid-13@pattern", "b1");
	assert_int_equal(a->id, 1);
	assert_string_equal(a->outcome, "pending");
	assert_ptr_equal(guard_pending(&s), a);
	/* the budget is used the moment it is reserved */
	assert_int_equal(guard_actions_in_window(&s, &cfg, 100), 1);
	assert_int_equal(check(&s, 101, GK_LADDER_RESET, "other", "b1"), GK_GUARD_PENDING);
	assert_non_null(strstr(why, "unknown"));
	guard_finish(&s, "ok");
	assert_null(guard_pending(&s));
	assert_string_equal(s.actions[0].outcome, "ok");
	assert_int_equal(check(&s, 101, GK_LADDER_RESET, "other", "b1"), GK_GUARD_OK);
}

static void test_state_round_trip(void **state)
{
	char dir[] = "/tmp/gk-guards-XXXXXX";
	struct gk_guard_state s = {}, t;
	_cleanup_free_ char *err = NULL;
	int fd;

	assert_non_null(mkdtemp(dir));
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(guard_state_load(fd, &t, &err), -ENOENT);
	assert_false(t.have_seq);
	snprintf(s.boot_id, sizeof(s.boot_id), "0b1d");
	s.have_seq = true;
	s.last_seq = 123456789012ULL;
	act(&s, 100, GK_LADDER_RESET, "xid-119@0000:07:00", "0b1d");
	guard_reserve(&s, 200, GK_LADDER_RELOAD, NULL, "xid-119@0000:07:00", "0b1d");
	guard_trip(&s, 150);
	assert_int_equal(guard_state_save(fd, &s), 0);
	assert_int_equal(guard_state_load(fd, &t, &err), 0);
	assert_string_equal(t.boot_id, "0b1d");
	assert_true(t.have_seq);
	assert_int_equal(t.last_seq, 123456789012ULL);
	assert_int_equal(t.n_actions, 2);
	assert_true(t.pending);
	assert_int_equal(guard_pending(&t)->rung, GK_LADDER_RELOAD);
	assert_int_equal(t.actions[0].rung, GK_LADDER_RESET);
	assert_string_equal(t.actions[0].gpu, "0000:07:00");
	assert_int_equal(t.breaker_tripped_at, 150);
	assert_int_equal(t.next_id, 2);

	/* malformed: refused with the field named, never reset to an empty budget */
	assert_int_equal(write(openat(fd, GK_GUARD_STATE_FILE, O_WRONLY | O_TRUNC | O_CLOEXEC),
			       "{\"schema\":\"gpukeep.watch-state\",\"version\":1}", 44),
			 44);
	assert_int_equal(guard_state_load(fd, &t, &err), -EBADMSG);
	assert_non_null(strstr(err, "missing field"));
	unlinkat(fd, GK_GUARD_STATE_FILE, 0);
	close(fd);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_breaker),
		cmocka_unit_test(test_reset_guard),
		cmocka_unit_test(test_zero_budget),
		cmocka_unit_test(test_one_reboot_per_boot),
		cmocka_unit_test(test_pending_is_never_retried),
		cmocka_unit_test(test_state_round_trip),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
