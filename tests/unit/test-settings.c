// SPDX-License-Identifier: GPL-2.0-or-later
/* Settings snapshot and restore through the NVML test double: the JSON round trip, malformed
 * snapshots, and a restore that reports each outcome (restored, already right, failed with the
 * reason, not supported, read back wrong) and leaves the values in the double's state file. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fakenvml-state.h"
#include "nvml/nvml-api.h"
#include "nvml/settings.h"

static int teardown(void **state)
{
	unlink(fake_state_path);
	return 0;
}

static struct gk_nvml *open_fake(unsigned timeout_ms)
{
	struct gk_nvml *n = NULL;

	assert_int_equal(nvml_open(fake_library(), timeout_ms, &n, NULL), 0);
	return n;
}

static void take_snapshot(struct gk_settings *snap)
{
	struct gk_nvml *n;

	assert_int_equal(fake_state_write(fake_state_load("nvlink-pair.json")), 0);
	n = open_fake(1000);
	assert_int_equal(settings_snapshot(n, snap), 0);
	nvml_close(n);
}

static void test_snapshot_and_json(void **unused)
{
	struct gk_settings snap, back;
	struct json_object *o;
	char *error = NULL;

	take_snapshot(&snap);
	assert_null(snap.error);
	assert_int_equal(snap.n_gpus, 3);
	assert_string_equal(snap.gpus[0].pci, "0000:3b:00.0");
	assert_int_equal(snap.gpus[0].values[GK_SETTING_COMPUTE_MODE].value, 3);
	assert_int_equal(snap.gpus[0].values[GK_SETTING_POWER_LIMIT].value, 250000);
	assert_int_equal(snap.gpus[0].values[GK_SETTING_APP_CLOCKS].value2, 2619);
	assert_false(snap.gpus[2].values[GK_SETTING_ACCOUNTING].known);
	assert_int_equal(snap.gpus[2].values[GK_SETTING_ACCOUNTING].status,
			 NVML_ERROR_NOT_SUPPORTED);
	o = settings_to_json(&snap);
	assert_non_null(o);
	assert_int_equal(settings_from_json(o, &back, &error), 0);
	assert_int_equal(back.n_gpus, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_string_equal(back.gpus[i].pci, snap.gpus[i].pci);
		assert_string_equal(back.gpus[i].uuid, snap.gpus[i].uuid);
		assert_memory_equal(back.gpus[i].values, snap.gpus[i].values,
				    sizeof(snap.gpus[i].values));
	}
	json_object_put(o);
	settings_done(&back);
	settings_done(&snap);
}

static void expect_malformed(const char *text, const char *why)
{
	struct json_object *o = json_tokener_parse(text);
	struct gk_settings s;
	char *error = NULL;

	assert_non_null(o);
	assert_int_equal(settings_from_json(o, &s, &error), -EBADMSG);
	if (!error || !strstr(error, why))
		fail_msg("error '%s' does not mention '%s'", error, why);
	free(error);
	json_object_put(o);
}

static void test_malformed(void **unused)
{
	expect_malformed("[]", "not a JSON object");
	expect_malformed("{\"schema\": \"gpukeep.baseline\", \"version\": 1}", "schema");
	expect_malformed("{\"schema\": \"gpukeep.settings\", \"version\": 7, \"gpus\": []}",
			 "version");
	expect_malformed("{\"schema\": \"gpukeep.settings\", \"version\": 1, \"gpus\": "
			 "[{\"pci\": \"3a:00\"}]}",
			 "gpus[0]: 'pci'");
	expect_malformed("{\"schema\": \"gpukeep.settings\", \"version\": 1, \"gpus\": "
			 "[{\"pci\": \"0000:3b:00.0\", \"persistence_mode\": 1}]}",
			 "gpus[0]: field 'persistence_mode' has the wrong type");
	expect_malformed("{\"schema\": \"gpukeep.settings\", \"version\": 1, \"gpus\": "
			 "[{\"pci\": \"0000:3b:00.0\", \"persistence_mode\": true}]}",
			 "missing field 'compute_mode'");
}

static const struct gk_restore_item *item(const struct gk_restore_report *r, const char *pci,
					  enum gk_setting s)
{
	for (size_t i = 0; i < r->n; i++)
		if (streq(r->items[i].pci, pci) && r->items[i].setting == s)
			return &r->items[i];
	fail_msg("no report item for %s %s", pci, setting_to_string(s));
	return NULL;
}

static void test_restore(void **unused)
{
	struct gk_restore_report rep;
	struct json_object *s, *fail;
	struct gk_settings snap;
	struct gk_nvml *n;

	take_snapshot(&snap);
	/* the reload reset everything; GPU 1 refuses its power limit; GPU 2 ignores its clocks */
	s = fake_state_load("nvlink-pair.json");
	for (size_t i = 0; i < 3; i++) {
		json_object_object_add(fake_gpu(s, i), "persistence_mode", json_object_new_int(0));
		json_object_object_add(fake_gpu(s, i), "compute_mode", json_object_new_int(0));
		json_object_object_add(fake_gpu(s, i), "app_clock_graphics",
				       json_object_new_int(1000));
	}
	json_object_object_add(fake_gpu(s, 1), "power_limit", json_object_new_int(280000));
	fail = json_object_new_object();
	json_object_object_add(fail, "nvmlDeviceSetPowerManagementLimit", json_object_new_int(4));
	json_object_object_add(fake_gpu(s, 1), "fail", fail);
	json_object_object_add(fake_gpu(s, 2), "ignore",
			       json_object_new_string("nvmlDeviceSetApplicationsClocks"));
	assert_int_equal(fake_state_write(s), 0);

	n = open_fake(1000);
	assert_int_equal(settings_restore(n, &snap, &rep), 0);
	nvml_close(n);
	assert_int_equal(rep.n, 3 * _GK_SETTING_MAX);
	assert_int_equal(item(&rep, "0000:3b:00.0", GK_SETTING_COMPUTE_MODE)->outcome,
			 GK_RESTORE_RESTORED);
	assert_int_equal(item(&rep, "0000:3b:00.0", GK_SETTING_ACCOUNTING)->outcome,
			 GK_RESTORE_ALREADY_RIGHT);
	assert_int_equal(item(&rep, "0000:af:00.0", GK_SETTING_POWER_LIMIT)->outcome,
			 GK_RESTORE_FAILED);
	assert_non_null(strstr(item(&rep, "0000:af:00.0", GK_SETTING_POWER_LIMIT)->message,
			       "cannot set 300000 mW: nvmlDeviceSetPowerManagementLimit: "
			       "insufficient permissions"));
	assert_int_equal(item(&rep, "0000:d8:00.0", GK_SETTING_APP_CLOCKS)->outcome,
			 GK_RESTORE_FAILED);
	assert_non_null(strstr(item(&rep, "0000:d8:00.0", GK_SETTING_APP_CLOCKS)->message,
			       "reads back 1000/2619"));
	assert_int_equal(item(&rep, "0000:d8:00.0", GK_SETTING_ACCOUNTING)->outcome,
			 GK_RESTORE_NOT_SUPPORTED);
	assert_int_equal(rep.n_failed, 2);
	/* the double's file holds what was restored */
	assert_int_equal(fake_gpu_int(0, "persistence_mode"), 1);
	assert_int_equal(fake_gpu_int(0, "compute_mode"), 3);
	assert_int_equal(fake_gpu_int(0, "app_clock_graphics"), 1755);
	assert_int_equal(fake_gpu_int(1, "power_limit"), 280000);
	restore_report_done(&rep);
	settings_done(&snap);
}

static void test_restore_missing_gpu_and_hang(void **unused)
{
	struct gk_restore_report rep;
	struct json_object *s;
	struct gk_settings snap;
	struct gk_nvml *n;

	take_snapshot(&snap);
	snprintf(snap.gpus[1].pci, sizeof(snap.gpus[1].pci), "0000:01:00.0");
	s = fake_state_load("nvlink-pair.json");
	json_object_object_add(fake_gpu(s, 2), "hang",
			       json_object_new_string("nvmlDeviceGetPersistenceMode"));
	assert_int_equal(fake_state_write(s), 0);
	n = open_fake(100);
	assert_int_equal(settings_restore(n, &snap, &rep), 0);
	nvml_close(n);
	assert_int_equal(item(&rep, "0000:3b:00.0", GK_SETTING_PERSISTENCE)->outcome,
			 GK_RESTORE_ALREADY_RIGHT);
	assert_string_equal(item(&rep, "0000:01:00.0", GK_SETTING_POWER_LIMIT)->message,
			    "GPU not found by NVML (not bound, or lost)");
	assert_int_equal(item(&rep, "0000:d8:00.0", GK_SETTING_ACCOUNTING)->outcome,
			 GK_RESTORE_NOT_SUPPORTED);
	assert_non_null(strstr(item(&rep, "0000:d8:00.0", GK_SETTING_PERSISTENCE)->message,
			       "NVML hung (driver not responding)"));
	assert_non_null(strstr(item(&rep, "0000:d8:00.0", GK_SETTING_POWER_LIMIT)->message,
			       "NVML hung (driver not responding)"));
	assert_int_equal(rep.n_failed, _GK_SETTING_MAX + 4);
	restore_report_done(&rep);
	settings_done(&snap);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_snapshot_and_json, teardown),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test_teardown(test_restore, teardown),
		cmocka_unit_test_teardown(test_restore_missing_gpu_and_hang, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
