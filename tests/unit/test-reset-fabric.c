// SPDX-License-Identifier: GPL-2.0-or-later
/* The GPU reset on a fake NVSwitch node: the fabric manager is never stopped, the wait for the
 * reset GPUs' fabric (and only theirs) with its deadline, their NVLinks after it, the units
 * started only then, NVIDIA's rule per generation, the dry run and an older journal. */
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
#include "fake-procedure.h"
#include "procedure/reset-plan.h"
#include "procedure/reset.h"

#define TARGET "0000:02:00.0"

static struct fake f;
static unsigned links_down; /* NVLinks of TARGET missing after the reset */
static unsigned nvlink_reads;

/* The NVML helper: NVLinks (2 per GPU, to the NVSwitches) written to the state directory. */
static int nvml(void *u, enum gk_nvml_job job, const char *file, const char *gpu)
{
	struct json_object *o, *a;
	const char *text;

	fake_log(&f, "nvml %d %s", (int)job, file);
	if (f.nvml_r != 0 || job != GK_NVML_NVLINKS)
		return f.nvml_r;
	o = json_object_new_object();
	a = json_object_new_array();
	for (unsigned g = 1; g <= f.n_gpus; g++)
		for (unsigned l = 0; l < 2; l++) {
			struct json_object *x;
			char pci[16];

			snprintf(pci, sizeof(pci), "0000:%02x:00.0", g);
			if (nvlink_reads > 0 && streq(pci, TARGET) && l < links_down)
				continue;
			x = json_object_new_object();
			json_object_object_add(x, "gpu", json_object_new_string(pci));
			json_object_object_add(x, "link", json_object_new_int((int)l));
			json_object_object_add(x, "remote", json_object_new_string("0000:09:00.0"));
			json_object_array_add(a, x);
		}
	json_object_object_add(o, "nvlinks", a);
	json_object_object_add(o, "retired_pages_pending", json_object_new_array());
	json_object_object_add(o, "remapped_rows_pending", json_object_new_array());
	text = json_object_to_json_string(o);
	fake_write_file(&f, file, text);
	json_object_put(o);
	nvlink_reads++;
	return 0;
}

static int setup(void **state)
{
	fake_init(&f);
	fake_gpus(&f, 8);
	fake_nvswitch(&f, false);
	f.fabric_base = 1; /* the fabric's GPUs are the inventory's */
	f.fabric_late = TARGET;
	f.holder_gpu = 1; /* /dev/nvidia1: TARGET */
	f.holder_unit = true;
	f.nvml_r = 0;
	f.ops.nvml = nvml;
	f.spawn_r = -ENOENT; /* no nvidia-smi: the kernel's function reset */
	links_down = nvlink_reads = 0;
	return 0;
}

static int teardown(void **state)
{
	fake_done(&f);
	return 0;
}

static int reset(const char *gpu, bool dry_run, struct gk_reset_result *ret)
{
	struct gk_reset_opts o = fake_reset_opts(&f, dry_run);

	o.nvml = true;
	o.kill = true;
	o.fabric_timeout_ms = 30000;
	o.fabric = &f.fabric;
	return fake_reset(&o, gpu, ret);
}

static void test_rule(void **state)
{
	struct gk_inventory inv;
	char *one[] = {TARGET, NULL};

	f.n_switches = 0;
	assert_int_equal(fake_inventory(&f, -1, &inv), 0);
	assert_int_equal(reset_fabric_rule(&inv, one, true, true), GK_RESET_FABRIC_NONE);
	inventory_done(&inv);
	f.n_switches = 4;
	assert_int_equal(fake_inventory(&f, -1, &inv), 0);
	/* Hopper (the fake's 0x2330): the manager retrains it when it runs */
	assert_int_equal(reset_fabric_rule(&inv, one, true, true), GK_RESET_FABRIC_WAIT);
	assert_int_equal(reset_fabric_rule(&inv, one, true, false), GK_RESET_FABRIC_UNCHECKED);
	assert_int_equal(reset_fabric_rule(&inv, one, false, true), GK_RESET_FABRIC_NO_MANAGER);
	/* Ampere (A100 SXM4 0x20b0): only through the manager */
	for (size_t i = 0; i < inv.n_gpus; i++)
		inv.gpus[i].pci.device = 0x20b0;
	assert_int_equal(reset_fabric_rule(&inv, one, true, true), GK_RESET_FABRIC_WAIT);
	assert_int_equal(reset_fabric_rule(&inv, one, false, true), GK_RESET_FABRIC_NEEDS_MANAGER);
	/* Volta (V100 SXM2 0x1db1, DGX-2): never one by one */
	inv.gpus[1].pci.device = 0x1db1;
	assert_int_equal(reset_fabric_rule(&inv, one, true, true), GK_RESET_FABRIC_PRE_AMPERE);
	inventory_done(&inv);
}

static void test_happy(void **state)
{
	struct gk_reset_result r;

	/* even when it holds the GPU's device file, a unit of its own */
	f.fm_holds_gpus = true;
	f.fm_unit = true;
	assert_int_equal(reset(TARGET, false, &r), GK_EXIT_OK);
	/* the fabric manager is never stopped: not signalled, not through systemctl */
	assert_null(strstr(f.log, "kill 777"));
	assert_null(strstr(f.log, "nvidia-fabricmanager"));
	assert_true(f.fm_running);
	/* the unit on the GPU stopped; started only after the fabric completed */
	fake_expect_order(&f, "systemctl stop dcgm.service",
			  "write /sys/bus/pci/devices/" TARGET "/reset");
	fake_expect_order(&f, "write /sys/bus/pci/devices/" TARGET "/reset", "fabric in-progress");
	fake_expect_order(&f, "acquire " TARGET, "fabric in-progress");
	fake_expect_order(&f, "fabric completed", "systemctl start dcgm.service");
	expect_in(f.said, "step 2/9: preflight: 1 holder(s) of these GPUs: 1 unit(s)");
	expect_in(f.said, "fabric manager (pid 777) left running: it re-registers the GPUs");
	expect_in(f.said, "step 6/9: fabric-wait: 1/1 GPU(s) completed with success after 6 s; "
			  "2/2 NVLink(s) up as before");
	expect_in(f.said, "  waiting for the NVLink fabric: 0/1 GPU(s) completed, 30 s left");
	expect_in(f.said, "step 7/9: start-units: 1 unit(s) started");
	assert_int_equal(r.next_rung, GK_RESET_NEXT_NONE);
	reset_result_done(&r);
}

/* Only the reset GPU's fabric is waited for: another GPU still training does not hold it. */
static void test_filter(void **state)
{
	f.fabric_late = "0000:05:00.0";
	f.fabric_ready_after = ~0u;
	assert_int_equal(reset(TARGET, false, NULL), GK_EXIT_OK);
	expect_in(f.said, "fabric-wait: 1/1 GPU(s) completed with success after 0 s");
	assert_int_equal(f.fabric_polls, 1);
}

static void test_timeout(void **state)
{
	struct gk_reset_result r;

	f.fabric_ready_after = ~0u;
	assert_int_equal(reset(TARGET, false, &r), GK_EXIT_NEEDS_PERSON);
	expect_in(r.run.error,
		  "the NVLink fabric did not complete within 30 s: 0/1 GPU(s) ready; "
		  "not ready: " TARGET " (in-progress); is the fabric manager running? "
		  "next rung: gpukeep reload");
	expect_in(r.run.error, "left stopped until the fabric completes: dcgm.service");
	assert_int_equal(r.next_rung, GK_RESET_NEXT_RELOAD);
	assert_null(strstr(f.log, "systemctl start dcgm.service"));
	assert_null(strstr(f.said, "step 8/9: validate: "));
	assert_true(f.fm_running);
	/* exit 4 in a final step: the journal is retired */
	assert_false(fake_has_file(&f, GK_RESET_JOURNAL));
	reset_result_done(&r);
}

static void test_failure_state(void **state)
{
	struct gk_reset_result r;

	f.fabric_status = NVML_ERROR_UNKNOWN;
	assert_int_equal(reset(TARGET, false, &r), GK_EXIT_NEEDS_PERSON);
	expect_in(r.run.error, "the NVLink fabric failed to train: " TARGET " (completed with "
			       "error: unknown NVML error)");
	expect_in(r.run.error, "next rung: gpukeep reload");
	assert_int_equal(r.next_rung, GK_RESET_NEXT_RELOAD);
	reset_result_done(&r);
}

/* NVML cannot be read during the wait: not ready until the deadline, the reason named. */
static void test_unreadable(void **state)
{
	struct gk_reset_result r;

	f.fabric_read_r = -ENOENT;
	assert_int_equal(reset(TARGET, false, &r), GK_EXIT_NEEDS_PERSON);
	expect_in(r.run.error, "did not complete within 30 s: 0/0 GPU(s) ready; not ready: NVML "
			       "cannot be read: NVML Shared Library Not Found");
	reset_result_done(&r);
}

/* No NVML at all: nothing to read the fabric with; the reset goes on and says so. */
static void test_no_nvml(void **state)
{
	f.nvml_r = GK_EXIT_PRECONDITION;
	assert_int_equal(reset(TARGET, false, NULL), GK_EXIT_OK);
	expect_in(f.said, "the NVLink fabric is not checked (NVML not available)");
	expect_in(f.said, "step 6/9: fabric-wait: the fabric is not waited for (see the "
			  "preflight)");
	assert_int_equal(f.fabric_polls, 0);
	assert_null(strstr(f.log, "kill 777"));
}

static void test_links_down(void **state)
{
	struct gk_reset_result r;

	links_down = 1;
	assert_int_equal(reset(TARGET, false, &r), GK_EXIT_NEEDS_PERSON);
	expect_in(r.run.error, "the fabric completed but 1 of 2 NVLink(s) of the reset GPU(s) are "
			       "down (GPU/link): " TARGET "/0; next rung: gpukeep reload");
	assert_null(strstr(f.log, "systemctl start dcgm.service"));
	reset_result_done(&r);
}

static void test_refusals(void **state)
{
	struct gk_reset_result r;

	f.gpu_device = 0x20b0; /* A100 */
	f.fm_running = false;
	assert_int_equal(reset(TARGET, false, &r), GK_EXIT_PRECONDITION);
	expect_in(r.run.error, "an Ampere GPU on an NVSwitch node is reset only through the fabric "
			       "manager, and none runs");
	assert_int_equal(r.next_rung, GK_RESET_NEXT_RELOAD);
	assert_null(strstr(f.log, "systemctl stop"));
	reset_result_done(&r);

	f.gpu_device = 0x1db1; /* V100 */
	f.fm_running = true;
	assert_int_equal(reset(TARGET, false, &r), GK_EXIT_PRECONDITION);
	expect_in(r.run.error,
		  "GPUs older than Ampere on an NVSwitch node are reset only together");
	assert_null(strstr(f.log, "systemctl stop"));
	assert_false(fake_has_file(&f, GK_RESET_JOURNAL));
	reset_result_done(&r);

	/* Ampere with the manager running: reset, waited for */
	f.gpu_device = 0x20b0;
	assert_int_equal(reset(TARGET, false, NULL), GK_EXIT_OK);
	expect_in(f.said, "fabric-wait: 1/1 GPU(s) completed with success");
}

static void test_dry_run(void **state)
{
	assert_int_equal(reset(TARGET, true, NULL), GK_EXIT_OK);
	expect_in(f.said, "fabric manager (pid 777) left running");
	expect_in(f.said, "step 6/9: fabric-wait: wait up to 30 s until the reset GPUs' NVLink "
			  "fabric state is completed with success, then check their 2 NVLink(s)");
	expect_in(f.said, "step 7/9: start-units: the units stopped start again");
	assert_null(strstr(f.log, "systemctl"));
	assert_int_equal(f.fabric_polls, 0);
}

/* A journal of the version before the fabric steps (no fabric record, no NVLinks, no
 * fabric-wait or start-units), killed after its reset: it loads and finishes. */
static void test_old_journal_resumes(void **state)
{
	const char *const drop[] = {"fabric-wait", "start-units", NULL};
	struct json_object *j, *rec;
	struct gk_reset_result r;

	assert_int_equal(reset(TARGET, false, NULL), GK_EXIT_OK);
	j = fake_journal_older(&f, GK_RESET_JOURNAL_LAST, drop, 4);
	rec = json_object_object_get(j, "record");
	json_object_object_del(rec, "fabric");
	json_object_object_del(rec, "nvlinks");
	fake_journal_write(&f, GK_RESET_JOURNAL, j);

	f.log[0] = f.said[0] = 0;
	fake_expect_exit(reset(NULL, false, &r), GK_EXIT_OK, &r.run);
	assert_true(r.run.resumed);
	expect_in(f.said, "step 4/9: reset: done by an earlier run");
	/* an old record says nothing of the fabric: not waited for; the units start */
	expect_in(f.said,
		  "step 6/9: fabric-wait: no NVSwitch recorded: no NVLink fabric to wait for");
	expect_in(f.said, "step 7/9: start-units: 1 unit(s) started");
	reset_result_done(&r);
}

/* The record keeps the fabric and NVLinks; a record that says the reset stopped the fabric
 * manager was not written by a reset. */
static void test_record(void **state)
{
	struct json_object *j, *rec, *fabric;
	struct gk_reset_result r;

	assert_int_equal(reset(TARGET, false, NULL), GK_EXIT_OK);
	j = fake_journal_older(&f, GK_RESET_JOURNAL_LAST, NULL, 9);
	rec = json_object_object_get(j, "record");
	fabric = json_object_object_get(rec, "fabric");
	assert_true(json_object_get_boolean(json_object_object_get(fabric, "wait")));
	assert_int_equal(json_object_array_length(json_object_object_get(rec, "nvlinks")), 2);
	json_object_object_add(fabric, "stopped", json_object_new_boolean(true));
	json_object_object_add(fabric, "unit",
			       json_object_new_string("nvidia-fabricmanager.service"));
	fake_journal_write(&f, GK_RESET_JOURNAL, j);
	assert_int_equal(reset(NULL, false, &r), GK_EXIT_PRECONDITION);
	expect_in(r.run.error, "a reset never stops the fabric manager");
	reset_result_done(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rule, setup, teardown),
		cmocka_unit_test_setup_teardown(test_happy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_filter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failure_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreadable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_nvml, setup, teardown),
		cmocka_unit_test_setup_teardown(test_links_down, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dry_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_old_journal_resumes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
