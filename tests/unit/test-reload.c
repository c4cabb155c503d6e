// SPDX-License-Identifier: GPL-2.0-or-later
/* The reload on the engine, on a fake node: the happy path, every refusal, every path that ends
 * rolled back (exit 1) or not (exit 4), the resume and the dry run of a pending journal. */
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

#include "core/gk-exit.h"
#include "fake-node.h"
#include "lockfile.h"
#include "procedure/reload.h"

static struct fake f;

static int setup(void **state)
{
	fake_init(&f);
	return 0;
}

static int teardown(void **state)
{
	fake_done(&f);
	return 0;
}

/* Runs a reload on the fake node; the result's exit is returned, *ret kept when given. */
static int reload(bool kill, bool dry_run, struct gk_reload_result *ret)
{
	struct gk_reload_opts o = {
		.root = f.dir,
		.socket = "/run/gpukeep/socket",
		.systemctl = "systemctl",
		.nvml = true,
		.kill = kill,
		.grace_ms = 1000,
		.ops = &f.ops,
		.engine = {.state_dirfd = f.dirfd,
			   .state_dir = f.dir,
			   .dry_run = dry_run,
			   .ops = &f.eops},
	};
	struct gk_reload_result res;
	int exit;

	assert_int_equal(reload_run(&o, &res), 0);
	exit = res.run.exit;
	if (ret)
		*ret = res;
	else
		reload_result_done(&res);
	return exit;
}

static void test_happy(void **state)
{
	struct gk_reload_result r;

	f.holder_unit = true;
	assert_int_equal(reload(true, false, &r), GK_EXIT_OK);
	assert_int_equal(r.run.journal.n_steps, reload_procedure.n_steps);
	for (size_t i = 0; i < r.run.journal.n_steps; i++)
		assert_int_equal(r.run.journal.steps[i].status, GK_STEP_DONE);
	/* in order: release, stop the unit, unload leaves first, load, start, re-acquire */
	expect_in(
		f.log,
		"release all;systemctl stop dcgm.service;remove nvidia_drm;remove "
		"nvidia_modeset;remove nvidia_uvm;remove nvidia;load nvidia;load "
		"nvidia_uvm;load nvidia_modeset;load nvidia_drm;reenumerate;acquire all;systemctl "
		"start dcgm.service;");
	expect_in(f.said, "step 5/12: unload: 4 module(s) unloaded");
	/* the node is read once before the unload, once after the load, once to validate; the
	 * holders once for the preflight and the first stop round, once to see them gone */
	assert_int_equal(f.inventories, 3);
	assert_int_equal(f.scans, 2);
	expect_in(f.said, "step 12/12: report: the node matches its state before the reload");
	assert_false(fake_has_file(&f, GK_RELOAD_JOURNAL));
	assert_true(fake_has_file(&f, GK_RELOAD_JOURNAL_LAST));
	reload_result_done(&r);
}

static void test_refusals(void **state)
{
	assert_int_equal(reload(false, false, NULL), GK_EXIT_PRECONDITION);
	expect_in(f.said, "step 2/12: preflight: FAILED");
	assert_false(fake_has_file(&f, GK_RELOAD_JOURNAL)); /* nothing changed: no journal */
	assert_null(strstr(f.log, "release"));

	f.scans = 0;
	f.holder_d = true;
	assert_int_equal(reload(true, false, NULL), GK_EXIT_PRECONDITION);
	assert_null(strstr(f.log, "release"));
	assert_false(fake_has_file(&f, GK_RELOAD_JOURNAL));

	f.modules = NULL;
	assert_int_equal(reload(true, false, NULL), GK_EXIT_PRECONDITION);
	assert_false(fake_has_file(&f, GK_RELOAD_JOURNAL));
}

/* exit 1: failed, and the node put back as it was */
static void rolled_back(const char *why, const char *undone)
{
	struct gk_reload_result r;

	assert_int_equal(reload(true, false, &r), GK_EXIT_FAILED);
	expect_in(r.run.error, why);
	expect_in(r.run.error, "rolled back: the driver, gpukeepd and the stopped units are as "
			       "they were");
	expect_in(f.log, undone);
	/* the journal is a record now, not a plan */
	assert_false(fake_has_file(&f, GK_RELOAD_JOURNAL));
	assert_true(fake_has_file(&f, GK_RELOAD_JOURNAL_LAST));
	reload_result_done(&r);
}

static void test_unit_will_not_stop(void **state)
{
	f.holder_unit = true;
	f.stop_r = 1;
	rolled_back("cannot stop dcgm.service: 'systemctl stop dcgm.service' failed (exit 1)",
		    "release all;systemctl stop dcgm.service;acquire all;systemctl start "
		    "dcgm.service;");
}

static void test_unit_stop_deadline(void **state)
{
	f.holder_unit = true;
	f.stop_r = -ETIMEDOUT;
	rolled_back("did not finish within its deadline of 120 s and was killed", "acquire all;");
}

static void test_holders_remain(void **state)
{
	f.holder_scans = ~0u;
	rolled_back("the GPUs are still held after 3 rounds of stopping their users: pid 4242 "
		    "(python3)",
		    "kill 4242;kill 4242;kill 4242;acquire all;");
}

static void test_unload_busy(void **state)
{
	f.busy = "nvidia";
	rolled_back("nvidia is still in use after 0 ms",
		    "remove nvidia;load nvidia;load nvidia_uvm;load nvidia_modeset;load "
		    "nvidia_drm;acquire all;");
}

static void test_daemon_refuses(void **state)
{
	f.release_r = -EPERM;
	rolled_back("gpukeepd did not release its devices: Operation not permitted",
		    "release all;acquire all;");
	assert_null(strstr(f.log, "remove"));
}

static void test_journal_write_fails(void **state)
{
	/* writes: lock running, lock done, preflight running, preflight done, stop running,
	 * daemon released (the 6th): the daemon is re-acquired */
	f.write_fail_at = 6;
	rolled_back("cannot write the journal", "acquire all;");
	assert_null(strstr(f.log, "release"));
}

/* exit 4: failed, and the node not as it was */
static void not_rolled_back(const char *why)
{
	struct gk_reload_result r;

	assert_int_equal(reload(true, false, &r), GK_EXIT_NEEDS_PERSON);
	expect_in(r.run.error, why);
	reload_result_done(&r);
}

static void test_unload_busy_reload_fails(void **state)
{
	f.busy = "nvidia";
	f.no_load = "nvidia_uvm";
	not_rolled_back("the roll back failed too (modules not loaded again (nvidia_uvm: Exec "
			"format error)): the node needs a person");
	/* the journal stays: the next run resumes */
	assert_true(fake_has_file(&f, GK_RELOAD_JOURNAL));
}

static void test_undo_of_stop_fails(void **state)
{
	f.holder_unit = true;
	f.busy = "nvidia_drm";
	f.start_r = 5;
	not_rolled_back("the roll back failed too ('systemctl start dcgm.service' failed (exit "
			"5))");
}

static void test_journal_write_fails_after_load(void **state)
{
	/* 2 writes per step (before, after), one more in the stop for the release: the 13th is
	 * after the load; a load has no undo */
	f.write_fail_at = 13;
	not_rolled_back("the roll back failed too (load)");
}

static void test_load_fails_then_resume(void **state)
{
	struct gk_reload_result r;

	f.no_load = "nvidia_drm";
	assert_int_equal(reload(true, false, &r), GK_EXIT_NEEDS_PERSON);
	assert_int_equal(r.next_rung, GK_RUNG_REBOOT);
	expect_in(r.run.error, "cannot load nvidia_drm");
	assert_true(fake_has_file(&f, GK_RELOAD_JOURNAL));
	reload_result_done(&r);

	/* the dry run shows the resume a real run would do */
	f.said[0] = 0;
	assert_int_equal(reload(false, true, NULL), GK_EXIT_OK);
	expect_in(f.said, "a real run would resume the reload last run by pid");
	expect_in(f.said, "step 5/12: unload: done by an earlier run");
	expect_in(f.said, "step 6/12: load: the same modules");

	f.no_load = NULL;
	f.log[0] = f.said[0] = 0;
	assert_int_equal(reload(false, false, &r), GK_EXIT_OK);
	assert_true(r.run.resumed);
	expect_in(f.said, "resuming the reload");
	expect_in(f.said, "step 5/12: unload: done by an earlier run");
	assert_null(strstr(f.log, "remove"));
	expect_in(f.log, "load nvidia;");
	reload_result_done(&r);
}

static void test_pending_reset_blocks(void **state)
{
	static const char j[] = "{\"schema\": \"gpukeep.journal\", \"version\": 2, \"kind\": "
				"\"reset\", \"finished\": false}";
	struct gk_reload_result r;

	assert_int_equal(write_file_atomic_at(f.dirfd, "reset.journal", j, strlen(j), 0600), 0);
	assert_int_equal(reload(true, false, &r), GK_EXIT_PRECONDITION);
	expect_in(r.run.error, "an interrupted reset must be finished first");
	expect_in(r.run.error, "run 'gpukeep reset' to finish it");
	assert_null(strstr(f.log, "release"));
	reload_result_done(&r);
}

static void test_lock_busy(void **state)
{
	struct gk_reload_result r;
	pid_t holder = 0;
	int fd;

	assert_int_equal(lockfile_take(f.dirfd, GK_NODE_LOCK, &fd, &holder), 0);
	assert_int_equal(reload(true, false, &r), GK_EXIT_PRECONDITION);
	expect_in(r.run.error, "is running (pid");
	assert_string_equal(f.log, "");
	reload_result_done(&r);
	close(fd);
}

static void test_journal_of_another_kind(void **state)
{
	static const char j[] = "{\"schema\": \"gpukeep.journal\", \"version\": 9, \"kind\": "
				"\"reload\", \"finished\": false}";
	struct gk_reload_result r;

	assert_int_equal(write_file_atomic_at(f.dirfd, GK_RELOAD_JOURNAL, j, strlen(j), 0600), 0);
	assert_int_equal(reload(true, false, &r), GK_EXIT_PRECONDITION);
	expect_in(r.run.error, "(reload.journal in the state directory");
	expect_in(r.run.error, "cannot be resumed by this gpukeep");
	expect_in(r.run.error, "written by a newer gpukeep (journal format 9");
	expect_in(r.run.error, "nothing was changed");
	assert_string_equal(f.log, "");
	reload_result_done(&r);
}

static void test_dry_run(void **state)
{
	assert_int_equal(reload(true, true, NULL), GK_EXIT_OK);
	expect_in(f.said, "plan (dry run, nothing is changed):");
	expect_in(f.said, "step 5/12: unload, leaves first: nvidia_drm, nvidia_modeset, "
			  "nvidia_uvm, nvidia");
	expect_in(f.said, "step 6/12: load, in dependency order: nvidia, nvidia_uvm, "
			  "nvidia_modeset, nvidia_drm");
	assert_null(strstr(f.log, "release"));
	assert_null(strstr(f.log, "remove"));
	assert_false(fake_has_file(&f, GK_RELOAD_JOURNAL));

	/* one inventory and one holder scan for the whole plan */
	assert_int_equal(f.scans, 1);
	f.said[0] = 0;
	f.scans = 0;
	assert_int_equal(reload(false, true, NULL), GK_EXIT_PRECONDITION);
	expect_in(f.said, "would refuse: the GPUs are in use: pid 4242 (python3)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_happy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unit_will_not_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unit_stop_deadline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_holders_remain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unload_busy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_daemon_refuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_write_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unload_busy_reload_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_undo_of_stop_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_write_fails_after_load, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_load_fails_then_resume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_reset_blocks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_busy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_of_another_kind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dry_run, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
