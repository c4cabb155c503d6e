// SPDX-License-Identifier: GPL-2.0-or-later
/* The GPU reset on the engine, on a fake node: the decisions (which GPUs, the NVLink rule,
 * whose holders block), the happy path, refusals, the roll back and the paths to exit 4. */
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
#include "nvpd/nvpd-client.h"
#include "procedure/reset-plan.h"
#include "procedure/reset-steps.h"
#include "procedure/reset.h"

static struct fake f;

static int setup(void **state)
{
	fake_init(&f);
	fake_gpus(&f, 4);
	f.holder_gpu = 1;
	return 0;
}

static int teardown(void **state)
{
	fake_done(&f);
	return 0;
}

static int reset(const char *gpu, bool kill, bool dry_run, struct gk_reset_result *ret)
{
	struct gk_reset_opts o = fake_reset_opts(&f, dry_run);

	o.kill = kill;
	return fake_reset(&o, gpu, ret);
}

static void test_select(void **state)
{
	struct gk_inventory inv;
	struct gk_gpusel s[2];
	char **l = NULL;
	size_t bad = 0;

	assert_int_equal(fake_inventory(&f, -1, &inv), 0);
	assert_int_equal(gpusel_parse("2", &s[0]), 0);
	assert_int_equal(gpusel_parse("0000:01:00.0", &s[1]), 0);
	assert_int_equal(reset_select(&inv, s, 2, &l, &bad), 0);
	assert_int_equal(strv_length(l), 2);
	assert_string_equal(l[0], "0000:01:00.0"); /* PCI order */
	assert_string_equal(l[1], "0000:03:00.0");
	strv_free(l);
	assert_int_equal(reset_select(&inv, s, 0, &l, &bad), 0);
	assert_int_equal(strv_length(l), 4); /* none named: every GPU */
	strv_free(l);
	assert_int_equal(gpusel_parse("9", &s[1]), 0);
	assert_int_equal(reset_select(&inv, s, 2, &l, &bad), -ENODEV);
	assert_int_equal(bad, 1);
	inventory_done(&inv);
}

static void test_nvlink_rule(void **state)
{
	struct gk_baseline_nvlink links[] = {
		{"0000:01:00.0", 0, "0000:02:00.0"},
		{"0000:02:00.0", 0, "0000:01:00.0"},
		{"0000:02:00.0", 1, "0000:03:00.0"},
	};
	struct gk_baseline_nvml b = {.available = true, .links = links, .n_links = 3};
	struct gk_inventory inv;
	char **t = calloc(1, sizeof(char *));

	assert_int_equal(strv_extend(&t, "0000:01:00.0"), 0);
	/* Hopper: one by one */
	assert_int_equal(fake_inventory(&f, -1, &inv), 0);
	assert_int_equal(reset_nvlink_group(&inv, &b, &t), 0);
	assert_int_equal(strv_length(t), 1);
	assert_int_equal(reset_nvlink_group(&inv, NULL, &t), 0);
	inventory_done(&inv);
	/* Ampere (A100): the NVLink-connected component together, in PCI order */
	f.gpu_device = 0x20b0;
	assert_int_equal(fake_inventory(&f, -1, &inv), 0);
	assert_int_equal(reset_nvlink_group(&inv, &b, &t), 2);
	assert_int_equal(strv_length(t), 3);
	assert_string_equal(t[1], "0000:02:00.0");
	assert_string_equal(t[2], "0000:03:00.0");
	inventory_done(&inv);
	strv_free(t);
}

static void test_filter_holders(void **state)
{
	struct gk_holders *h = NULL;
	char *nodes[] = {"/dev/nvidia1", NULL};

	f.holder_gpu = 2;
	assert_int_equal(fake_holders(&f, -1, &h), 0);
	assert_int_equal(h->n, 2); /* the process on GPU 2, gpukeepd on all */
	reset_filter_holders(h, nodes);
	assert_int_equal(h->n, 1);
	assert_int_equal(h->holders[0].pid, 100);
	holders_free(h);
}

static void test_happy(void **state)
{
	struct gk_reset_result r;

	/* GPU 2 has no holder but gpukeepd; the process on GPU 1 is left alone */
	assert_int_equal(reset("2", false, false, &r), GK_EXIT_OK);
	fake_expect_all_done(&r.run, &reset_procedure);
	/* held by gpukeepd again: no probe */
	assert_string_equal(f.log, "release 0000:03:00.0;nvidia-smi -r -i 0000:03:00.0;acquire "
				   "0000:03:00.0;");
	assert_null(strstr(f.log, "kill"));
	assert_int_equal(r.n_gpus, 1);
	assert_string_equal(r.gpus[0].method, "nvidia-smi");
	assert_true(r.gpus[0].back);
	expect_in(f.said, "step 4/9: reset: 0000:03:00.0: reset by nvidia-smi");
	/* read once before the reset, once after it (restore), once to validate */
	assert_int_equal(f.inventories, 3);
	assert_int_equal(f.scans, 2);
	assert_true(fake_has_file(&f, GK_RESET_JOURNAL_LAST));
	reset_result_done(&r);
}

static void test_function_reset(void **state)
{
	f.spawn_r = -ENOENT; /* no nvidia-smi */
	assert_int_equal(reset("0000:03:00.0", false, false, NULL), GK_EXIT_OK);
	/* not installed: not even tried */
	expect_in(f.log, "release 0000:03:00.0;write /sys/bus/pci/devices/0000:03:00.0/reset 1;");
}

/* a reset the kernel refuses while the driver is bound: unbind, reset, bind */
static void test_unbind_reset_bind(void **state)
{
	struct gk_reset_result r;

	f.spawn_r = -ENOENT;
	f.sysfs_fail = "/reset";
	f.sysfs_r = -ENOTTY;
	f.sysfs_fails = 1;
	assert_int_equal(reset("2", false, false, &r), GK_EXIT_OK);
	expect_in(f.log, "write /sys/bus/pci/devices/0000:03:00.0/reset 1;write "
			 "/sys/bus/pci/drivers/nvidia/unbind 0000:03:00.0;write "
			 "/sys/bus/pci/devices/0000:03:00.0/reset 1;write "
			 "/sys/bus/pci/drivers/nvidia/bind 0000:03:00.0;");
	assert_string_equal(r.gpus[0].method, "unbind-reset-bind");
	reset_result_done(&r);
}

/* the reset refused bound and unbound: bound again, exit 4 */
static void test_unbound_reset_fails(void **state)
{
	struct gk_reset_result r;

	f.spawn_r = -ENOENT;
	f.sysfs_fail = "/reset";
	f.sysfs_r = -ENOTTY;
	assert_int_equal(reset("2", false, false, &r), GK_EXIT_NEEDS_PERSON);
	expect_in(f.log, "write /sys/bus/pci/drivers/nvidia/bind 0000:03:00.0;");
	assert_int_equal(r.next_rung, GK_RESET_NEXT_RELOAD);
	reset_result_done(&r);
}

/* A journal as a run killed right after its unbind leaves it: the next run resets and binds,
 * and does not unbind, release or record again. */
static void test_resume_after_unbind(void **state)
{
	struct json_object *j, *rec;
	struct gk_reset_result r;

	f.spawn_r = -ENOENT;
	assert_int_equal(reset("2", false, false, NULL), GK_EXIT_OK);
	j = fake_journal_older(&f, GK_RESET_JOURNAL_LAST, NULL, 3);
	json_object_object_add(json_object_array_get_idx(json_object_object_get(j, "steps"), 3),
			       "status", json_object_new_string("running"));
	rec = json_object_object_get(j, "record");
	json_object_array_put_idx(json_object_object_get(rec, "phases"), 0,
				  json_object_new_string("unbound"));
	json_object_array_put_idx(json_object_object_get(rec, "methods"), 0,
				  json_object_new_string("unbind-reset-bind"));
	json_object_object_add(rec, "daemon_released", json_object_new_boolean(true));
	fake_journal_write(&f, GK_RESET_JOURNAL, j);

	f.log[0] = f.said[0] = 0;
	fake_expect_exit(reset(NULL, false, false, &r), GK_EXIT_OK, &r.run);
	assert_true(r.run.resumed);
	expect_in(f.said, "step 3/9: release: done by an earlier run");
	assert_string_equal(f.log, "write /sys/bus/pci/devices/0000:03:00.0/reset 1;write "
				   "/sys/bus/pci/drivers/nvidia/bind 0000:03:00.0;acquire "
				   "0000:03:00.0;");
	reset_result_done(&r);
}

static void test_lost_gpu(void **state)
{
	f.spawn_r = -ENOENT;
	f.daemon = 0;
	f.probe_r = -EIO;
	/* the probe fails before (lost) and after: exit 4, next rung reload */
	struct gk_reset_result r;

	assert_int_equal(reset("2", false, false, &r), GK_EXIT_NEEDS_PERSON);
	expect_in(f.log, "probe /dev/nvidia2;write /sys/bus/pci/devices/0000:03:00.0/remove 1;"
			 "write /sys/bus/pci/rescan 1;");
	assert_string_equal(r.gpus[0].method, "remove-rescan");
	assert_int_equal(r.next_rung, GK_RESET_NEXT_RELOAD);
	expect_in(r.run.error, "next rung: gpukeep reload");
	assert_false(fake_has_file(&f, GK_RESET_JOURNAL)); /* the verdict is final */
	reset_result_done(&r);
}

static void test_refusals(void **state)
{
	struct gk_reset_result r;

	assert_int_equal(reset("1", false, false, &r), GK_EXIT_PRECONDITION);
	expect_in(r.run.error, "0000:02:00.0 is in use: pid 4242 (python3)");
	assert_null(strstr(f.log, "release"));
	assert_false(fake_has_file(&f, GK_RESET_JOURNAL));
	reset_result_done(&r);

	f.scans = 0;
	f.holder_d = true;
	assert_int_equal(reset("1", true, false, &r), GK_EXIT_PRECONDITION);
	assert_int_equal(r.next_rung, GK_RESET_NEXT_REBOOT);
	expect_in(r.run.error, "uninterruptible sleep");
	reset_result_done(&r);

	assert_int_equal(reset("7", true, false, &r), GK_EXIT_PRECONDITION);
	expect_in(r.run.error, "no GPU matches \"7\"");
	reset_result_done(&r);
}

static void test_kill(void **state)
{
	assert_int_equal(reset("1", true, false, NULL), GK_EXIT_OK);
	expect_in(f.log, "release 0000:02:00.0;kill 4242;nvidia-smi -r -i 0000:02:00.0;");
}

static void test_daemon_refuses(void **state)
{
	struct gk_reset_result r;

	f.release_r = -EPERM;
	assert_int_equal(reset("2", false, false, &r), GK_EXIT_FAILED);
	expect_in(r.run.error, "gpukeepd did not release 0000:03:00.0: Operation not permitted; "
			       "rolled back");
	assert_string_equal(f.log, "release 0000:03:00.0;acquire 0000:03:00.0;");
	reset_result_done(&r);
}

/* nvidia-persistenced instead of gpukeepd, every GPU enabled (fake_nvpd()), below. */

/* One GPU through the RPC: set disabled, reset, set enabled; the others untouched. */
static void test_nvpd_one_gpu(void **state)
{
	struct gk_reset_result r;

	fake_nvpd(&f, 4);
	assert_int_equal(reset("2", false, true, NULL), GK_EXIT_OK);
	expect_in(f.said, "nvidia-persistenced releases just these GPUs");
	assert_null(strstr(f.log, "nvpd set"));
	f.log[0] = f.said[0] = 0;
	assert_int_equal(reset("2", false, false, &r), GK_EXIT_OK);
	expect_in(f.log, "nvpd get 0000:03:00.0;nvpd set 0000:03:00.0 0;nvidia-smi -r -i "
			 "0000:03:00.0;nvpd set 0000:03:00.0 1;nvpd get 0000:03:00.0;");
	assert_null(strstr(f.log, "nvpd set 0000:01"));
	assert_null(strstr(f.log, "nvpd set 0000:02"));
	assert_null(strstr(f.log, "nvpd set 0000:04"));
	assert_null(strstr(f.log, "kill"));
	assert_null(strstr(f.log, "probe")); /* held again: it opened */
	assert_null(strstr(f.log, "release"));
	for (unsigned i = 0; i < 4; i++)
		assert_true(f.nvpd_on[i]);
	assert_string_equal(r.daemon, "nvidia-persistenced");
	assert_true(r.gpus[0].back);
	expect_in(f.said, "release: nvidia-persistenced set these GPUs disabled");
	expect_in(f.said, "nvidia-persistenced holds these GPUs again");
	expect_in(f.said, "opening, held by nvidia-persistenced");
	reset_result_done(&r);
}

/* A GPU the daemon had disabled is not enabled by the reset. */
static void test_nvpd_gpu_disabled(void **state)
{
	fake_nvpd(&f, 4);
	f.nvpd_on[2] = false;
	assert_int_equal(reset("2", false, false, NULL), GK_EXIT_OK);
	assert_null(strstr(f.log, "nvpd set"));
	expect_in(f.log, "probe /dev/nvidia2"); /* not held: it must open */
	assert_false(f.nvpd_on[2]);
}

static void test_nvpd_refuses(void **state)
{
	struct gk_reset_result r;

	fake_nvpd(&f, 4);
	f.nvpd_off_r = -EPERM;
	assert_int_equal(reset("2", false, false, &r), GK_EXIT_FAILED);
	expect_in(r.run.error, "nvidia-persistenced did not set persistence disabled for "
			       "0000:03:00.0: Operation not permitted; rolled back");
	assert_null(strstr(f.log, "nvidia-smi"));
	expect_in(f.log, "nvpd set 0000:03:00.0 0;nvpd set 0000:03:00.0 1;");
	assert_true(f.nvpd_on[2]);
	reset_result_done(&r);
}

static void test_nvpd_acquire_fails(void **state)
{
	struct gk_reset_result r;

	fake_nvpd(&f, 4);
	f.nvpd_on_r = -EIO;
	assert_int_equal(reset("2", false, false, &r), GK_EXIT_NEEDS_PERSON);
	expect_in(r.run.error, "could not restore: nvidia-persistenced (set enabled: "
			       "0000:03:00.0: Input/output error); next rung: gpukeep reload");
	assert_int_equal(r.next_rung, GK_RESET_NEXT_RELOAD);
	reset_result_done(&r);
}

static void test_journal_daemon_kind(void **state)
{
	struct json_object *o, *rec = NULL;
	_cleanup_free_ char *error = NULL;
	struct reset_record x;

	fake_nvpd(&f, 4);
	assert_int_equal(reset("2", false, false, NULL), GK_EXIT_OK);
	o = fake_journal_record(&f, GK_RESET_JOURNAL_LAST, &rec);
	assert_int_equal(reset_record_from_json(rec, &x, &error), 0);
	assert_int_equal(x.daemon_kind, GK_KEEPER_NVPD);
	assert_string_equal(x.daemon_socket, NVPD_SOCKET_PATH);
	assert_int_equal(strv_length(x.daemon_held), 1);
	reset_record_done(&x);
	json_object_object_add(rec, "daemon_kind", json_object_new_string("nvidia-fooed"));
	assert_int_equal(reset_record_from_json(rec, &x, &error), -EBADMSG);
	expect_in(error, "record: daemon_kind: unknown daemon 'nvidia-fooed'");
	json_object_object_add(rec, "daemon_kind", json_object_new_int(1));
	free(error);
	error = NULL;
	assert_int_equal(reset_record_from_json(rec, &x, &error), -EBADMSG);
	expect_in(error, "daemon_kind");
	json_object_object_del(rec, "daemon_kind");
	assert_int_equal(reset_record_from_json(rec, &x, &error), 0);
	assert_int_equal(x.daemon_kind, GK_KEEPER_GPUKEEPD);
	reset_record_done(&x);
	json_object_put(o);
}

static void test_reset_fails(void **state)
{
	struct gk_reset_result r;

	f.spawn_r = 15; /* nvidia-smi: the GPU fell off the bus */
	assert_int_equal(reset("2", false, false, &r), GK_EXIT_NEEDS_PERSON);
	expect_in(r.run.error, "did not bring the GPU(s) back");
	assert_int_equal(r.differences.n, 1);
	expect_in(r.differences.items[0].message, "'nvidia-smi -r -i 0000:03:00.0' failed (exit "
						  "15)");
	/* restored all the same: gpukeepd was asked to take it again */
	expect_in(f.log, "acquire 0000:03:00.0;");
	reset_result_done(&r);
}

static void test_pending_reload_blocks(void **state)
{
	struct gk_reset_result r;

	fake_journal_unfinished(&f, "reload.journal", "reload", 2);
	assert_int_equal(reset("2", false, false, &r), GK_EXIT_PRECONDITION);
	expect_in(r.run.error, "an interrupted reload must be finished first");
	reset_result_done(&r);
}

static void test_dry_run(void **state)
{
	assert_int_equal(reset("1", false, true, NULL), GK_EXIT_PRECONDITION);
	expect_in(f.said, "step 1/9: lock: take the node lock; reset 1 GPU(s): 0000:02:00.0; "
			  "NVLink topology not known");
	expect_in(f.said, "would refuse: 0000:02:00.0 is in use");
	assert_string_equal(f.log, "");
	assert_int_equal(f.writes, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_select, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nvlink_rule, setup, teardown),
		cmocka_unit_test_setup_teardown(test_filter_holders, setup, teardown),
		cmocka_unit_test_setup_teardown(test_happy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_function_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unbind_reset_bind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unbound_reset_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resume_after_unbind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lost_gpu, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill, setup, teardown),
		cmocka_unit_test_setup_teardown(test_daemon_refuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nvpd_one_gpu, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nvpd_gpu_disabled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nvpd_refuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nvpd_acquire_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_daemon_kind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_reload_blocks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dry_run, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
