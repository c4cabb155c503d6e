// SPDX-License-Identifier: GPL-2.0-or-later
/* The reload on a fake NVSwitch node: the fabric manager (a unit, or a plain process) stopped
 * after the GPU processes and before the unload, started after the restore, the wait for the
 * fabric with its countdown and deadline, the units started only after it, the roll back, an
 * older journal resumed, and the fabric manager's command line. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/gk-exit.h"
#include "fake-procedure.h"
#include "node/nvswitch.h"
#include "nvml/nvml-api.h"
#include "procedure/fabric.h"
#include "procedure/reload.h"

#define FM_PID FAKE_FM_PID

static struct fake f;

static int setup(void **state)
{
	char path[128];
	int fd;

	fake_init(&f);
	fake_nvswitch(&f, false);
	f.holder_scans = 2;
	/* the fabric manager's command line, as /proc shows it (NUL-separated) */
	snprintf(path, sizeof(path), "%s/proc/%d", f.dir, FM_PID);
	assert_int_equal(mkdir(strcat(strcpy(path, f.dir), "/proc"), 0755), 0);
	snprintf(path, sizeof(path), "%s/proc/%d", f.dir, FM_PID);
	assert_int_equal(mkdir(path, 0755), 0);
	strcat(path, "/cmdline");
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd,
			       "nv-fabricmanager\0--delay-ms\0"
			       "500\0",
			       32),
			 32);
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	fake_done(&f);
	return 0;
}

static int reload(bool dry_run, struct gk_reload_result *ret)
{
	struct gk_reload_opts o = fake_reload_opts(&f, dry_run);

	o.kill = true;
	o.fabric_timeout_ms = 60000;
	o.fabric = &f.fabric;
	return fake_reload(&o, ret);
}

static void test_process(void **state)
{
	assert_int_equal(reload(false, NULL), GK_EXIT_OK);
	/* the GPU process first, then the fabric manager, then the driver */
	fake_expect_order(&f, "kill 4242", "kill 777");
	fake_expect_order(&f, "kill 777", "remove nvidia_drm");
	/* started again from its command line after the load and gpukeepd's re-acquire */
	fake_expect_order(&f, "load nvidia_drm", "nv-fabricmanager --delay-ms 500");
	fake_expect_order(&f, "acquire all", "nv-fabricmanager --delay-ms 500");
	assert_true(f.fm_running);
	expect_in(f.said, "step 4/12: fabric-stop: fabric manager stopped: pid 777 "
			  "(nv-fabricmanage): SIGTERM");
	expect_in(f.said, "step 8/12: fabric-start: fabric manager started: nv-fabricmanager "
			  "--delay-ms 500");
	expect_in(f.said, "step 9/12: fabric-wait: 8/8 GPU(s) completed with success after 6 s");
	assert_int_equal(f.fabric_polls, 4);
}

static void test_unit(void **state)
{
	f.fm_unit = true;
	assert_int_equal(reload(false, NULL), GK_EXIT_OK);
	fake_expect_order(&f, "systemctl stop nvidia-fabricmanager.service", "remove nvidia_drm");
	fake_expect_order(&f, "load nvidia_drm", "systemctl start nvidia-fabricmanager.service");
	assert_null(strstr(f.log, "kill 777"));
	/* the fabric manager is not among the units the restore starts */
	assert_null(strstr(f.log, "systemctl start nvidia-fabricmanager.service;systemctl start "
				  "nvidia-fabricmanager.service"));
}

static void test_never_completes(void **state)
{
	struct gk_reload_result r;

	f.fabric_ready_after = ~0u;
	assert_int_equal(reload(false, &r), GK_EXIT_NEEDS_PERSON);
	expect_in(r.run.error, "the NVLink fabric did not complete within 60 s: 3/8 GPU(s) ready; "
			       "not ready: 0000:1b:00.0 (in-progress)");
	expect_in(r.run.error, "and 1 more; is the fabric manager running? next rung: drain and "
			       "reboot");
	assert_int_equal(r.next_rung, GK_RUNG_REBOOT);
	/* the countdown, every 10 s */
	expect_in(f.said, "  waiting for the NVLink fabric: 3/8 GPU(s) completed, 60 s left");
	expect_in(f.said, "  waiting for the NVLink fabric: 3/8 GPU(s) completed, 50 s left");
	expect_in(f.said, "  waiting for the NVLink fabric: 3/8 GPU(s) completed, 10 s left");
	/* exit 4 ends the run: validation never ran and the journal is retired */
	assert_null(strstr(f.said, "step 11/12: validate: "));
	assert_false(fake_has_file(&f, GK_RELOAD_JOURNAL));
	reload_result_done(&r);
}

static void test_fabric_fails(void **state)
{
	struct gk_reload_result r;

	f.fabric_status = NVML_ERROR_UNKNOWN;
	assert_int_equal(reload(false, &r), GK_EXIT_NEEDS_PERSON);
	expect_in(r.run.error, "the NVLink fabric failed to train: 0000:18:00.0 (completed with "
			       "error: unknown NVML error)");
	reload_result_done(&r);
}

static void test_manager_will_not_start(void **state)
{
	struct gk_reload_result r;

	f.fm_will_not_start = true;
	assert_int_equal(reload(false, &r), GK_EXIT_NEEDS_PERSON);
	expect_in(r.run.error, "the driver is back but the fabric manager did not start: "
			       "'nv-fabricmanager --delay-ms 500' failed (exit 1)");
	assert_int_equal(r.next_rung, GK_RUNG_REBOOT);
	reload_result_done(&r);
}

/* The unload fails: the roll back loads the driver, starts the fabric manager, then the rest. */
static void test_rollback(void **state)
{
	f.busy = "nvidia";
	assert_int_equal(reload(false, NULL), GK_EXIT_FAILED);
	fake_expect_order(&f, "kill 777", "remove nvidia");
	fake_expect_order(&f, "load nvidia_drm", "nv-fabricmanager --delay-ms 500");
	fake_expect_order(&f, "nv-fabricmanager --delay-ms 500", "acquire all");
	assert_true(f.fm_running);
}

static void test_dry_run(void **state)
{
	assert_int_equal(reload(true, NULL), GK_EXIT_OK);
	expect_in(f.said, "step 4/12: fabric-stop: stop the fabric manager after every GPU process "
			  "(pid 777 (nv-fabricmanage)");
	expect_in(f.said, "step 9/12: fabric-wait: wait up to 60 s until every GPU's NVLink "
			  "fabric state is completed with success");
	assert_true(f.fm_running);
	assert_string_equal(f.log, "");
}

static void test_no_manager_no_fabric(void **state)
{
	f.fm_running = false;
	assert_int_equal(reload(false, NULL), GK_EXIT_OK);
	expect_in(f.said, "fabric-stop: no fabric manager runs on this NVSwitch node");
	/* the NVML helper saved no baseline fabric: nothing will train, nothing to wait for */
	expect_in(f.said, "fabric-wait: no fabric manager and no trained fabric before");
	assert_int_equal(f.fabric_polls, 0);
}

/* The units the stop stopped start only once the fabric completed (a CUDA service started
 * before it fails with "system not yet initialized"), after the fabric manager. */
static void test_units_after_fabric(void **state)
{
	f.holder_unit = true;
	assert_int_equal(reload(false, NULL), GK_EXIT_OK);
	fake_expect_order(&f, "systemctl stop dcgm.service", "kill 777");
	fake_expect_order(&f, "nv-fabricmanager --delay-ms 500", "fabric completed");
	fake_expect_order(&f, "fabric completed", "systemctl start dcgm.service");
	expect_in(f.said, "step 7/12: restore: gpukeepd holds 8/8 GPU(s) again, ");
	expect_in(f.said, "step 10/12: start-units: 1 unit(s) started");
}

/* A fabric that does not complete: the units stay stopped, and the error names them. */
static void test_units_left_on_timeout(void **state)
{
	struct gk_reload_result r;

	f.holder_unit = true;
	f.fabric_ready_after = ~0u;
	assert_int_equal(reload(false, &r), GK_EXIT_NEEDS_PERSON);
	assert_null(strstr(f.log, "systemctl start dcgm.service"));
	expect_in(r.run.error, "did not complete within 60 s");
	expect_in(r.run.error, "the stopped unit(s) are left stopped until the fabric completes: "
			       "dcgm.service (then 'systemctl start dcgm.service')");
	reload_result_done(&r);
}

static void test_units_left_manager_fails(void **state)
{
	struct gk_reload_result r;

	f.holder_unit = true;
	f.fm_will_not_start = true;
	assert_int_equal(reload(false, &r), GK_EXIT_NEEDS_PERSON);
	assert_null(strstr(f.log, "systemctl start dcgm.service"));
	expect_in(r.run.error, "left stopped until the fabric completes: dcgm.service");
	reload_result_done(&r);
}

/* The roll back (before the load is done) still starts the units again. */
static void test_units_rollback(void **state)
{
	f.holder_unit = true;
	f.busy = "nvidia";
	assert_int_equal(reload(false, NULL), GK_EXIT_FAILED);
	fake_expect_order(&f, "systemctl stop dcgm.service", "remove nvidia");
	expect_in(f.log, "systemctl start dcgm.service");
}

/* A journal of the version before start-units (its restore started the units), killed after the
 * load: it loads, and the resume finishes it with the new step. */
static void test_old_journal_resumes(void **state)
{
	const char *const drop[] = {"start-units", NULL};
	struct gk_reload_result r;

	f.holder_unit = true;
	assert_int_equal(reload(false, NULL), GK_EXIT_OK);
	fake_journal_write(&f, GK_RELOAD_JOURNAL,
			   fake_journal_older(&f, GK_RELOAD_JOURNAL_LAST, drop, 6));

	f.log[0] = f.said[0] = 0;
	f.fabric_polls = 0;
	fake_expect_exit(reload(false, &r), GK_EXIT_OK, &r.run);
	assert_true(r.run.resumed);
	expect_in(f.said, "step 6/12: load: done by an earlier run");
	fake_expect_order(&f, "fabric completed", "systemctl start dcgm.service");
	expect_in(f.said, "step 10/12: start-units: 1 unit(s) started");
	reload_result_done(&r);
}

static void test_argv_parse(void **state)
{
	char **l = NULL;

	assert_int_equal(fabric_argv_parse("nv-fabricmanager\0-c\0/etc/fm.cfg\0", 32,
					   "/usr/bin/nv-fabricmanager", &l),
			 0);
	assert_int_equal(strv_length(l), 3);
	assert_string_equal(l[0], "/usr/bin/nv-fabricmanager");
	assert_string_equal(l[2], "/etc/fm.cfg");
	strv_free(l);
	assert_int_equal(fabric_argv_parse("fm\0a b\0", 7, NULL, &l), 0);
	assert_string_equal(l[0], "fm");
	assert_string_equal(l[1], "a b");
	strv_free(l);
	assert_int_equal(fabric_argv_parse("", 0, "/x", &l), -EINVAL);
}

static void test_record_json(void **state)
{
	struct gk_fabric_record r = {.nvswitches = true, .stopped = true, .wait = true};
	struct gk_fabric_record back = {};
	struct json_object *o;
	char *error = NULL;

	assert_int_equal(fabric_argv_parse("fm\0-x\0", 6, NULL, &r.argv), 0);
	o = fabric_record_to_json(&r);
	assert_int_equal(fabric_record_from_json(o, &back, &error), 0);
	assert_true(back.stopped && back.wait && back.nvswitches && !back.unit);
	assert_string_equal(back.argv[1], "-x");
	fabric_record_done(&back);
	/* stopped with no way to start it again: refused */
	json_object_object_add(o, "argv", NULL);
	assert_int_equal(fabric_record_from_json(o, &back, &error), -EBADMSG);
	expect_in(error, "neither a unit nor a command");
	free(error);
	json_object_put(o);
	/* a journal from before: an empty record */
	assert_int_equal(fabric_record_from_json(NULL, &back, NULL), 0);
	assert_false(back.stopped);
	fabric_record_done(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_process, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_never_completes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fabric_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_manager_will_not_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rollback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dry_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_manager_no_fabric, setup, teardown),
		cmocka_unit_test_setup_teardown(test_units_after_fabric, setup, teardown),
		cmocka_unit_test_setup_teardown(test_units_left_on_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_units_left_manager_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_units_rollback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_old_journal_resumes, setup, teardown),
		cmocka_unit_test(test_argv_parse),
		cmocka_unit_test(test_record_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
