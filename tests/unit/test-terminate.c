// SPDX-License-Identifier: GPL-2.0-or-later
/* Termination by pidfd on real processes: one that obeys SIGTERM, one that ignores it, one gone. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "node/terminate.h"

extern char **environ;

static pid_t spawn_sh(const char *script)
{
	char *argv[] = {"sh", "-c", (char *)script, NULL};
	pid_t pid;

	assert_int_equal(posix_spawnp(&pid, "sh", NULL, NULL, argv, environ), 0);
	return pid;
}

static unsigned ticks;
static void countdown(unsigned left, size_t alive, void *userdata)
{
	ticks++;
	assert_true(left >= 1);
	assert_true(alive >= 1);
}

static void test_term_then_kill(void **state)
{
	/* the shell must have installed its trap before SIGTERM arrives: it touches a file then */
	pid_t obeys = spawn_sh("exec sleep 30");
	pid_t stubborn =
		spawn_sh("trap '' TERM; touch /tmp/gk-term-ready.$$; while :; do sleep 0.05; done");
	pid_t gone = spawn_sh("exit 0");
	char ready[64];
	struct gk_victims v;
	struct timespec t0, t1;
	pid_t pids[3];
	int status;

	snprintf(ready, sizeof(ready), "/tmp/gk-term-ready.%d", (int)stubborn);
	for (int i = 0; i < 200 && access(ready, F_OK) < 0; i++)
		usleep(10000);
	unlink(ready);
	assert_int_equal(waitpid(gone, &status, 0), gone); /* reaped: the pid no longer exists */

	pids[0] = obeys;
	pids[1] = stubborn;
	pids[2] = gone;
	assert_int_equal(victims_open(pids, 3, &v), 0);
	assert_true(v.v[2].exited);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(victims_terminate(&v, 1500, 2000, countdown, NULL), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(v.v[0].exited && !v.v[0].killed);
	assert_true(v.v[1].exited && v.v[1].killed);
	assert_false(v.v[1].survived);
	/* the stubborn one used the whole grace period, and the countdown was shown */
	assert_true((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 >= 1400);
	assert_true(ticks >= 1);
	assert_int_equal(waitpid(obeys, &status, 0), obeys);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
	assert_int_equal(waitpid(stubborn, &status, 0), stubborn);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	victims_done(&v);
}

static void test_nothing_to_do(void **state)
{
	struct gk_victims v;

	assert_int_equal(victims_open(NULL, 0, &v), 0);
	assert_int_equal(victims_terminate(&v, 100, 100, NULL, NULL), 0);
	victims_done(&v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_term_then_kill),
		cmocka_unit_test(test_nothing_to_do),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
