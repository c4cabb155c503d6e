// SPDX-License-Identifier: GPL-2.0-or-later
/* The reload on a fake NVSwitch node: the fabric manager (a unit, or a plain process) stopped
 * after the GPU processes and before the unload, started after the restore, the wait for the
 * fabric with its countdown and deadline, the roll back, and the fabric manager's command line. */
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
#include "fake-node.h"
#include "node/nvswitch.h"
#include "nvml/nvml-api.h"
#include "procedure/fabric.h"
#include "procedure/reload.h"

#define FM_PID 777

static struct fake f;
static uint64_t clock_ms;
static bool fm_running, fm_unit, fm_will_not_start;
static unsigned fabric_polls, fabric_ready_after; /* ~0u: never */
static int fabric_status;			  /* the status once completed */

static uint64_t now(void *u)
{
	return clock_ms;
}

static void sleep_ms(void *u, unsigned ms)
{
	clock_ms += ms;
}

static int inventory(void *u, int rootfd, struct gk_inventory *ret)
{
	int r = fake_inventory(u, rootfd, ret);

	if (r < 0)
		return r;
	ret->switches = calloc(4, sizeof(*ret->switches));
	for (size_t i = 0; i < 4; i++) {
		struct gk_pcidev *d = &ret->switches[ret->n_switches++];

		d->kind = GK_PCI_NVSWITCH;
		snprintf(d->name, sizeof(d->name), "0000:0%zu:00.0", i + 5);
		d->driver = strdup(GK_NVSWITCH_DRIVER);
	}
	return 0;
}

/* The fake's holders, and the fabric manager while it runs. */
static int holders(void *u, int rootfd, struct gk_holders **ret)
{
	struct gk_holders *h;
	struct gk_holder *x, *n;
	int r = fake_holders(u, rootfd, &h);

	if (r < 0 || !fm_running) {
		*ret = h;
		return r;
	}
	n = realloc(h->holders, sizeof(*n) * (h->n + 1));
	assert_non_null(n);
	h->holders = n;
	x = &h->holders[h->n++];
	*x = (struct gk_holder){.pid = FM_PID, .comm = strdup("nv-fabricmanage"), .state = 'S'};
	x->devices = calloc(1, sizeof(*x->devices));
	x->devices[0].path = strdup("/dev/nvidia-nvswitchctl");
	x->n_devices = 1;
	if (fm_unit) {
		x->cgroup = strdup("/system.slice/nvidia-fabricmanager.service");
		x->unit = strdup("nvidia-fabricmanager.service");
	}
	*ret = h;
	return 0;
}

static int terminate(void *u, const pid_t *pids, size_t n, unsigned grace_ms,
		     gk_countdown_fn countdown, void *cu)
{
	for (size_t i = 0; i < n; i++)
		if (pids[i] == FM_PID)
			fm_running = false;
	return fake_terminate(u, pids, n, grace_ms, countdown, cu);
}

static int spawn(void *u, char *const argv[], unsigned flags, unsigned timeout_ms)
{
	bool fm = strstr(argv[0], "nv-fabricmanager") ||
		  (argv[1] && argv[2] && streq(argv[2], "nvidia-fabricmanager.service"));
	int r = fake_spawn(u, argv, flags, timeout_ms);

	if (!fm)
		return r;
	if (argv[1] && streq(argv[1], "stop") && r == 0)
		fm_running = false;
	else if (fm_will_not_start)
		return 1;
	else if (r == 0)
		fm_running = true;
	return r;
}

static int fabric_read(void *u, struct gk_fabric_gpu **ret, size_t *ret_n, char **ret_error)
{
	struct gk_fabric_gpu *g = calloc(8, sizeof(*g));
	bool done = fabric_polls++ >= fabric_ready_after;

	for (size_t i = 0; i < 8; i++) {
		snprintf(g[i].pci, sizeof(g[i].pci), "0000:%02zx:00.0", 0x18 + i);
		g[i].fabric.state = done    ? NVML_GPU_FABRIC_STATE_COMPLETED
				    : i < 3 ? NVML_GPU_FABRIC_STATE_COMPLETED
					    : NVML_GPU_FABRIC_STATE_IN_PROGRESS;
		g[i].fabric.status = done ? fabric_status : 0;
	}
	*ret = g;
	*ret_n = 8;
	return 0;
}

static const struct gk_fabric_ops fabric_fake = {.read = fabric_read};

static int setup(void **state)
{
	char path[128];
	int fd;

	fake_init(&f);
	f.ops.inventory = inventory;
	f.ops.holders = holders;
	f.ops.terminate = terminate;
	f.ops.spawn = spawn;
	f.ops.sleep_ms = sleep_ms;
	f.eops.now_ms = now;
	f.holder_scans = 2;
	clock_ms = 1000;
	fm_running = true;
	fm_unit = fm_will_not_start = false;
	fabric_polls = 0;
	fabric_ready_after = 3;
	fabric_status = 0;
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
	struct gk_reload_opts o = {
		.root = f.dir,
		.socket = "/run/gpukeep/socket",
		.systemctl = "systemctl",
		.nvml = true,
		.kill = true,
		.grace_ms = 1000,
		.fabric_timeout_ms = 60000,
		.fabric = &fabric_fake,
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

/* @a comes before @b in the event log. */
static void expect_order(const char *a, const char *b)
{
	const char *x = strstr(f.log, a), *y = strstr(f.log, b);

	if (!x || !y || x > y)
		fail_msg("'%s' not before '%s' in '%s'", a, b, f.log);
}

static void test_process(void **state)
{
	assert_int_equal(reload(false, NULL), GK_EXIT_OK);
	/* the GPU process first, then the fabric manager, then the driver */
	expect_order("kill 4242", "kill 777");
	expect_order("kill 777", "remove nvidia_drm");
	/* started again from its command line after the load and gpukeepd's re-acquire */
	expect_order("load nvidia_drm", "nv-fabricmanager --delay-ms 500");
	expect_order("acquire all", "nv-fabricmanager --delay-ms 500");
	assert_true(fm_running);
	expect_in(f.said, "step 4/11: fabric-stop: fabric manager stopped: pid 777 "
			  "(nv-fabricmanage): SIGTERM");
	expect_in(f.said, "step 8/11: fabric-start: fabric manager started: nv-fabricmanager "
			  "--delay-ms 500");
	expect_in(f.said, "step 9/11: fabric-wait: 8/8 GPU(s) completed with success after 6 s");
	assert_int_equal(fabric_polls, 4);
}

static void test_unit(void **state)
{
	fm_unit = true;
	assert_int_equal(reload(false, NULL), GK_EXIT_OK);
	expect_order("systemctl stop nvidia-fabricmanager.service", "remove nvidia_drm");
	expect_order("load nvidia_drm", "systemctl start nvidia-fabricmanager.service");
	assert_null(strstr(f.log, "kill 777"));
	/* the fabric manager is not among the units the restore starts */
	assert_null(strstr(f.log, "systemctl start nvidia-fabricmanager.service;systemctl start "
				  "nvidia-fabricmanager.service"));
}

static void test_never_completes(void **state)
{
	struct gk_reload_result r;

	fabric_ready_after = ~0u;
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
	assert_null(strstr(f.said, "step 10/11: validate: "));
	assert_false(fake_has_file(&f, GK_RELOAD_JOURNAL));
	reload_result_done(&r);
}

static void test_fabric_fails(void **state)
{
	struct gk_reload_result r;

	fabric_status = NVML_ERROR_UNKNOWN;
	assert_int_equal(reload(false, &r), GK_EXIT_NEEDS_PERSON);
	expect_in(r.run.error, "the NVLink fabric failed to train: 0000:18:00.0 (completed with "
			       "error: unknown NVML error)");
	reload_result_done(&r);
}

static void test_manager_will_not_start(void **state)
{
	struct gk_reload_result r;

	fm_will_not_start = true;
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
	expect_order("kill 777", "remove nvidia");
	expect_order("load nvidia_drm", "nv-fabricmanager --delay-ms 500");
	expect_order("nv-fabricmanager --delay-ms 500", "acquire all");
	assert_true(fm_running);
}

static void test_dry_run(void **state)
{
	assert_int_equal(reload(true, NULL), GK_EXIT_OK);
	expect_in(f.said, "step 4/11: fabric-stop: stop the fabric manager after every GPU process "
			  "(pid 777 (nv-fabricmanage)");
	expect_in(f.said, "step 9/11: fabric-wait: wait up to 60 s until every GPU's NVLink "
			  "fabric state is completed with success");
	assert_true(fm_running);
	assert_string_equal(f.log, "");
}

static void test_no_manager_no_fabric(void **state)
{
	fm_running = false;
	assert_int_equal(reload(false, NULL), GK_EXIT_OK);
	expect_in(f.said, "fabric-stop: no fabric manager runs on this NVSwitch node");
	/* the NVML helper saved no baseline fabric: nothing will train, nothing to wait for */
	expect_in(f.said, "fabric-wait: no fabric manager and no trained fabric before");
	assert_int_equal(fabric_polls, 0);
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
		cmocka_unit_test(test_argv_parse),
		cmocka_unit_test(test_record_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
