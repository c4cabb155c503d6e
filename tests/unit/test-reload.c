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

#include "baseline/baseline.h"
#include "core/gk-exit.h"
#include "fake-procedure.h"
#include "lockfile.h"
#include "nvpd/nvpd-client.h"
#include "procedure/keeper.h"
#include "procedure/reload-steps.h"
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
	struct gk_reload_opts o = fake_reload_opts(&f, dry_run);

	o.kill = kill;
	return fake_reload(&o, ret);
}

static void test_happy(void **state)
{
	struct gk_reload_result r;

	f.holder_unit = true;
	assert_int_equal(reload(true, false, &r), GK_EXIT_OK);
	fake_expect_all_done(&r.run, &reload_procedure);
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

/* gpukeepd settles holding fewer GPUs than before: exit 4, and the error names the first one
 * it does not hold with its state */
static void test_daemon_holds_fewer(void **state)
{
	struct gk_reload_result r;

	f.settle_short = 1;
	assert_int_equal(reload(true, false, &r), GK_EXIT_NEEDS_PERSON);
	expect_in(r.run.error, "the driver is back but gpukeepd holds 7 of 8 GPU(s), not "
			       "0000:02:00.0 (retrying); see 'gpukeep status'");
	reload_result_done(&r);
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
	struct gk_reload_result r;

	fake_journal_unfinished(&f, "reset.journal", "reset", 2);
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
	struct gk_reload_result r;

	fake_journal_unfinished(&f, GK_RELOAD_JOURNAL, "reload", 9);
	assert_int_equal(reload(true, false, &r), GK_EXIT_PRECONDITION);
	expect_in(r.run.error, "(reload.journal in the state directory");
	expect_in(r.run.error, "cannot be resumed by this gpukeep");
	expect_in(r.run.error, "written by a newer gpukeep (journal format 9");
	expect_in(r.run.error, "nothing was changed");
	assert_string_equal(f.log, "");
	reload_result_done(&r);
}

/* nvidia-persistenced instead of gpukeepd: GPU 1 enabled, GPU 2 disabled by its operator */
static void nvpd_node(void)
{
	fake_nvpd(&f, 1);
	f.n_gpus = 2;
}

static void test_nvpd_happy(void **state)
{
	struct gk_reload_result r;
	_cleanup_free_ char *last = NULL;
	struct json_object *o, *rec = NULL, *gpus = NULL;

	nvpd_node();
	assert_int_equal(reload(true, false, &r), GK_EXIT_OK);
	/* asked, never stopped: set disabled before the unload, enabled after the load, only the
	 * GPU it kept */
	expect_in(f.log, "nvpd get 0000:01:00.0;nvpd get 0000:02:00.0;nvpd set 0000:01:00.0 0;kill "
			 "4242;remove nvidia_drm;");
	expect_in(f.log, "load nvidia_drm;nvpd set 0000:01:00.0 1;nvpd get 0000:01:00.0;");
	assert_null(strstr(f.log, "kill 77"));
	assert_null(strstr(f.log, "nvpd set 0000:02:00.0"));
	assert_null(strstr(f.log, "release all"));
	assert_null(strstr(f.log, "reenumerate"));
	assert_true(f.nvpd_on[0]);
	assert_false(f.nvpd_on[1]);
	assert_string_equal(r.daemon, "nvidia-persistenced");
	expect_in(f.said, "preflight: 2 holder(s): 0 unit(s) to stop, 0 container(s) to stop, 1 "
			  "process(es) to stop, nvidia-persistenced running");
	expect_in(f.said, "stop: nvidia-persistenced set its GPU(s) disabled");
	expect_in(f.said, "restore: nvidia-persistenced holds 1/1 GPU(s) again");
	/* the journal names the daemon and the GPUs it kept */
	assert_int_equal(read_full_file_at(f.dirfd, GK_RELOAD_JOURNAL_LAST, 1 << 20, &last, NULL),
			 0);
	expect_in(last, "\"daemon_kind\":\"nvidia-persistenced\"");
	o = fake_journal_record(&f, GK_RELOAD_JOURNAL_LAST, &rec);
	assert_true(json_object_object_get_ex(rec, "daemon_gpus", &gpus));
	assert_int_equal(json_object_array_length(gpus), 1);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(gpus, 0)),
			    "0000:01:00.0");
	json_object_put(o);
	expect_in(last, "\"daemon_socket\":\"" NVPD_SOCKET_PATH "\"");
	reload_result_done(&r);
}

/* gpukeepd's JSON socket wins where both answer (gpukeepd in its compat mode serves both) */
static void test_gpukeepd_first(void **state)
{
	struct gk_reload_result r;

	nvpd_node();
	f.daemon = 100;
	assert_int_equal(reload(true, false, &r), GK_EXIT_OK);
	expect_in(f.log, "release all;");
	assert_null(strstr(f.log, "nvpd"));
	assert_string_equal(r.daemon, "gpukeepd");
	reload_result_done(&r);
}

static void test_nvpd_release_refused(void **state)
{
	f.holder_scans = 0;
	nvpd_node();
	f.nvpd_on[1] = true;
	f.nvpd_off_r = -EPERM;
	f.nvpd_fail_gpu = 1;
	rolled_back("nvidia-persistenced did not set persistence disabled for 0000:02:00.0: "
		    "Operation not permitted",
		    "nvpd set 0000:01:00.0 0;nvpd set 0000:02:00.0 0;nvpd set 0000:01:00.0 "
		    "1;nvpd set 0000:02:00.0 1;");
	/* nothing changed: the driver untouched, both GPUs as they were */
	assert_null(strstr(f.log, "remove"));
	assert_true(f.nvpd_on[0] && f.nvpd_on[1]);
}

/* A failed set enabled after the load ends as gpukeepd's failed re-acquire does. */
static void test_nvpd_acquire_fails(void **state)
{
	struct gk_reload_result r, g;

	f.acquire_r = -EIO;
	assert_int_equal(reload(true, false, &g), GK_EXIT_NEEDS_PERSON);
	expect_in(g.run.error, "the driver is back but could not restore: gpukeepd (re-acquire)");
	fake_done(&f);
	fake_init(&f);
	nvpd_node();
	f.nvpd_on_r = -EIO;
	assert_int_equal(reload(true, false, &r), GK_EXIT_NEEDS_PERSON);
	expect_in(r.run.error, "the driver is back but could not restore: nvidia-persistenced "
			       "(set enabled: 0000:01:00.0: Input/output error)");
	assert_int_equal(r.next_rung, g.next_rung);
	assert_string_equal(r.daemon, "nvidia-persistenced");
	assert_true(fake_has_file(&f, GK_RELOAD_JOURNAL)); /* a rerun retries it */
	reload_result_done(&r);
	reload_result_done(&g);
}

/* Where nvidia-persistenced still holds a device file with every GPU disabled, the plan stops
 * it (its unit) and starts it again, and re-acquires through it after that. */
static void test_nvpd_keeps_ctl(void **state)
{
	nvpd_node();
	f.nvpd_keeps_ctl = true;
	assert_int_equal(reload(true, false, NULL), GK_EXIT_OK);
	expect_in(f.log, "nvpd set 0000:01:00.0 0;kill 4242;systemctl stop "
			 "nvidia-persistenced.service;remove nvidia_drm;");
	expect_in(f.log, "load nvidia_drm;systemctl start nvidia-persistenced.service;nvpd set "
			 "0000:01:00.0 1;");
	assert_null(strstr(f.log, "kill 77"));
}

/* The record of a reload killed after the load, from its journal (freed by the caller). */
static struct json_object *killed_after_load(void)
{
	struct json_object *rec;

	nvpd_node();
	f.no_load = "nvidia_drm";
	assert_int_equal(reload(true, false, NULL), GK_EXIT_NEEDS_PERSON);
	assert_false(f.nvpd_on[0]);
	return fake_journal_record(&f, GK_RELOAD_JOURNAL, &rec);
}

/* A resumed reload re-acquires through the daemon its journal names. */
static void test_nvpd_resume(void **state)
{
	struct json_object *o = killed_after_load();
	struct gk_reload_result r;

	json_object_put(o);
	f.no_load = NULL;
	f.log[0] = 0;
	assert_int_equal(reload(false, false, &r), GK_EXIT_OK);
	assert_true(r.run.resumed);
	expect_in(f.log, "load nvidia_drm;nvpd set 0000:01:00.0 1;");
	assert_null(strstr(f.log, "acquire"));
	assert_true(f.nvpd_on[0]);
	assert_string_equal(r.daemon, "nvidia-persistenced");
	reload_result_done(&r);
}

static void test_journal_daemon_kind(void **state)
{
	struct json_object *o = killed_after_load(), *rec = NULL;
	_cleanup_free_ char *error = NULL;
	struct gk_reload_result r;
	struct reload_record x;

	json_object_object_get_ex(o, "record", &rec);
	/* the round trip */
	assert_int_equal(reload_record_from_json(rec, &x, &error), 0);
	assert_int_equal(x.daemon_kind, GK_KEEPER_NVPD);
	assert_true(x.daemon_released);
	assert_int_equal(strv_length(x.daemon_gpus), 1);
	assert_string_equal(x.daemon_gpus[0], "0000:01:00.0");
	assert_string_equal(x.daemon_socket, NVPD_SOCKET_PATH);
	reload_record_done(&x);

	/* a journal naming a daemon this gpukeep does not know is refused, the file named */
	json_object_object_add(rec, "daemon_kind", json_object_new_string("nvidia-fooed"));
	assert_int_equal(reload_record_from_json(rec, &x, &error), -EBADMSG);
	expect_in(error, "record: daemon_kind: unknown daemon 'nvidia-fooed'");
	fake_journal_write(&f, GK_RELOAD_JOURNAL, json_object_get(o));
	f.log[0] = 0;
	f.no_load = NULL;
	assert_int_equal(reload(true, false, &r), GK_EXIT_PRECONDITION);
	expect_in(r.run.error, "(reload.journal in the state directory");
	expect_in(r.run.error, "unknown daemon 'nvidia-fooed'");
	expect_in(r.run.error, "nothing was changed");
	assert_string_equal(f.log, "");
	reload_result_done(&r);

	/* an old journal, without the field, released through gpukeepd: it re-acquires there */
	json_object_object_del(rec, "daemon_kind");
	json_object_object_del(rec, "daemon_gpus");
	assert_int_equal(reload_record_from_json(rec, &x, &error), 0);
	assert_int_equal(x.daemon_kind, GK_KEEPER_GPUKEEPD);
	assert_int_equal(strv_length(x.daemon_gpus), 0);
	reload_record_done(&x);
	json_object_object_add(rec, "daemon_socket", json_object_new_string("/run/gpukeep/socket"));
	fake_journal_write(&f, GK_RELOAD_JOURNAL, json_object_get(o));
	f.daemon = 100;
	assert_int_equal(reload(false, false, &r), GK_EXIT_OK);
	expect_in(f.log, "load nvidia_drm;reenumerate;acquire all;");
	assert_null(strstr(f.log, "nvpd set"));
	assert_string_equal(r.daemon, "gpukeepd");
	reload_result_done(&r);
	json_object_put(o);
}

static void test_keeper_kind(void **state)
{
	enum gk_keeper_kind k = _GK_KEEPER_MAX;

	for (int i = 0; i < _GK_KEEPER_MAX; i++) {
		assert_int_equal(keeper_kind_from_string(keeper_kind_to_string(i), &k), 0);
		assert_int_equal(k, i);
	}
	assert_int_equal(keeper_kind_from_string("nvidia-persistenced ", &k), -EINVAL);
	assert_int_equal(keeper_kind_from_string(NULL, &k), -EINVAL);
	/* neither daemon: none, reported as gpukeepd's absence */
	f.daemon = 0;
	assert_int_equal(keeper_detect(&f.ops, "a", "b", 100, &k), 0);
	assert_int_equal(k, GK_KEEPER_GPUKEEPD);
	f.nvpd = 77;
	assert_int_equal(keeper_detect(&f.ops, "a", "b", 100, &k), 77);
	assert_int_equal(k, GK_KEEPER_NVPD);
	assert_int_equal(keeper_detect(&f.ops, "a", NULL, 100, &k), 0);
}

/* The daemon that released in an earlier run is the one that re-acquires. */
static void test_keeper_adopt(void **state)
{
	enum gk_keeper_kind k = GK_KEEPER_GPUKEEPD;
	char *socket = strdup("/run/gpukeep/socket");

	assert_int_equal(keeper_adopt(GK_KEEPER_NVPD, NVPD_SOCKET_PATH, false, &k, &socket), 0);
	assert_int_equal(k, GK_KEEPER_NVPD);
	assert_string_equal(socket, NVPD_SOCKET_PATH);
	/* released through it: gpukeepd answering now cannot take its place */
	assert_int_equal(keeper_adopt(GK_KEEPER_GPUKEEPD, "/run/gpukeep/socket", true, &k, &socket),
			 -EXDEV);
	assert_int_equal(k, GK_KEEPER_NVPD);
	assert_string_equal(socket, NVPD_SOCKET_PATH);
	assert_int_equal(keeper_adopt(GK_KEEPER_NVPD, "/elsewhere", true, &k, &socket), -EXDEV);
	assert_int_equal(keeper_adopt(GK_KEEPER_NVPD, NVPD_SOCKET_PATH, true, &k, &socket), 0);
	free(socket);
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
		cmocka_unit_test_setup_teardown(test_daemon_holds_fewer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_write_fails_after_load, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_load_fails_then_resume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_reset_blocks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_busy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_of_another_kind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dry_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nvpd_happy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gpukeepd_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nvpd_release_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nvpd_acquire_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nvpd_keeps_ctl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nvpd_resume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_daemon_kind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keeper_kind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keeper_adopt, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
