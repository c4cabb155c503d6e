// SPDX-License-Identifier: GPL-2.0-or-later
/* NVML through the test double: loading and its failures, every value and the NVLink topology,
 * a hung call caught within its deadline with later calls failing at once, a lost GPU, and the
 * legacy persistence calls. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "fakenvml-state.h"
#include "nvml/nvml-node.h"
#include "nvml/nvml.h"

static long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int teardown(void **state)
{
	unlink(fake_state_path);
	return 0;
}

static struct gk_nvml *open_ok(unsigned timeout_ms)
{
	struct gk_nvml *n = NULL;
	char *error = NULL;
	int r = nvml_open(fake_library(), timeout_ms, &n, &error);

	if (r < 0)
		fprintf(stderr, "nvml_open: %s\n", error);
	assert_int_equal(r, 0);
	free(error);
	return n;
}

static void expect_open_error(const char *lib, int want, const char *text)
{
	struct gk_nvml *n = NULL;
	char *error = NULL;

	assert_int_equal(nvml_open(lib, 500, &n, &error), want);
	assert_null(n);
	assert_non_null(error);
	if (!strstr(error, text))
		fail_msg("error '%s' does not mention '%s'", error, text);
	free(error);
}

static void test_open_failures(void **unused)
{
	struct json_object *s;

	expect_open_error("/nonexistent/libnvidia-ml.so.1", -ENOENT, "/nonexistent/libnvidia-ml");
	expect_open_error("none", -ENOENT, "disabled");
	expect_open_error("libc.so.6", -ENOSYS, "does not export nvmlInit_v2");
	unsetenv("FAKENVML_STATE");
	expect_open_error(fake_library(), -ENODEV, "driver not loaded");
	s = fake_state_load("hgx-8gpu.json");
	json_object_object_add(s, "init_error", json_object_new_int(18));
	assert_int_equal(fake_state_write(s), 0);
	expect_open_error(fake_library(), -EPROTO, "versions differ (NVML error 18");
	s = fake_state_load("hgx-8gpu.json");
	json_object_object_add(s, "hang", json_object_new_string("nvmlInit_v2"));
	assert_int_equal(fake_state_write(s), 0);
	expect_open_error(fake_library(), -ETIMEDOUT, "nvmlInit_v2 did not return within 500 ms");
}

static void test_hgx_values_and_topology(void **unused)
{
	struct gk_nvml_node node;
	size_t to_gpu, other;

	assert_int_equal(fake_state_write(fake_state_load("hgx-8gpu.json")), 0);
	setenv(GK_NVML_ENV, fake_library(), 1);
	assert_int_equal(nvml_node_scan(NULL, 1000, &node), 0);
	unsetenv(GK_NVML_ENV);
	assert_true(node.available);
	assert_null(node.error);
	assert_string_equal(node.driver_version, "535.261.03");
	assert_int_equal(node.n_gpus, 8);
	/* NVML's 00000000:18:00.0 in sysfs spelling */
	assert_string_equal(node.gpus[0].pci, "0000:18:00.0");
	assert_string_equal(node.gpus[7].pci, "0000:db:00.0");
	assert_int_equal(node.gpus[0].values[GK_NVML_POWER_LIMIT].value, 700000);
	assert_int_equal(node.gpus[0].values[GK_NVML_POWER_MIN].value, 200000);
	assert_int_equal(node.gpus[0].values[GK_NVML_APP_CLOCK_MEM].value, 2619);
	assert_int_equal(node.gpus[0].values[GK_NVML_ECC_CURRENT].value, 1);
	assert_int_equal(node.gpus[0].n_links, 8);
	assert_true(node.gpus[3].links[7].active);
	assert_string_equal(node.gpus[3].links[7].remote_pci, "0000:08:00.0");
	assert_int_equal(nvml_node_peer(&node, &node.gpus[3].links[7]), GK_NVML_PEER_NVSWITCH);
	nvml_node_link_counts(&node, &to_gpu, &other);
	assert_int_equal(to_gpu, 0);
	assert_int_equal(other, 64);
	nvml_node_done(&node);
}

static void test_pair_and_unsupported(void **unused)
{
	struct gk_nvml *n = NULL;
	struct gk_nvml_node node;
	size_t to_gpu, other;

	assert_int_equal(fake_state_write(fake_state_load("nvlink-pair.json")), 0);
	n = open_ok(1000);
	assert_int_equal(nvml_node_read(n, &node), 0);
	assert_int_equal(node.n_gpus, 3);
	assert_string_equal(node.gpus[0].links[0].remote_pci, "0000:af:00.0");
	assert_int_equal(nvml_node_peer(&node, &node.gpus[0].links[0]), GK_NVML_PEER_GPU);
	nvml_node_link_counts(&node, &to_gpu, &other);
	assert_int_equal(to_gpu, 8);
	assert_int_equal(other, 0);
	assert_int_equal(node.gpus[2].n_links, 0);
	assert_int_equal(node.gpus[2].links_status, NVML_ERROR_NOT_SUPPORTED);
	assert_int_equal(node.gpus[2].values[GK_NVML_REMAP_PENDING].status,
			 NVML_ERROR_NOT_SUPPORTED);
	assert_int_equal(node.gpus[2].values[GK_NVML_RETIRED_PENDING].value, 1);
	assert_int_equal(node.gpus[0].values[GK_NVML_COMPUTE_MODE].value,
			 NVML_COMPUTEMODE_EXCLUSIVE_PROCESS);
	nvml_node_done(&node);
	nvml_close(n);
}

static void test_recovery_action(void **unused)
{
	struct json_object *s = fake_state_load("hgx-8gpu.json");
	struct gk_nvml *n = NULL;
	unsigned v = 99;

	json_object_object_add(fake_gpu(s, 2), "recovery_action", json_object_new_int(2));
	assert_int_equal(fake_state_write(s), 0);
	n = open_ok(1000);
	/* field 230 through nvmlDeviceGetFieldValues */
	/* the first call on a GPU looks its handle up: the field id must survive that */
	assert_int_equal(nvml_gpu_recovery_action(n, 2, &v), 0);
	assert_int_equal(v, 2);
	/* a GPU whose driver does not report it: the field's own status, value untouched */
	v = 99;
	assert_int_equal(nvml_gpu_recovery_action(n, 0, &v), NVML_ERROR_NOT_SUPPORTED);
	assert_int_equal(v, 99);
	nvml_close(n);
}

static void test_hang_detected_within_deadline(void **unused)
{
	struct json_object *s = fake_state_load("hgx-8gpu.json");
	struct gk_nvml_node node;
	struct gk_nvml *n;
	long long t0;
	unsigned v;

	json_object_object_add(fake_gpu(s, 1), "hang",
			       json_object_new_string("nvmlDeviceGetPowerManagementLimit"));
	assert_int_equal(fake_state_write(s), 0);
	n = open_ok(200);
	t0 = now_ms();
	assert_int_equal(nvml_node_read(n, &node), 0);
	/* one deadline, not one per remaining call */
	assert_true(now_ms() - t0 < 1000);
	assert_true(node.hung);
	assert_non_null(strstr(node.error, "nvmlDeviceGetPowerManagementLimit did not return "
					   "within 200 ms: NVML hung (driver not responding)"));
	assert_int_equal(node.gpus[0].values[GK_NVML_POWER_LIMIT].status, 0);
	assert_int_equal(node.gpus[1].values[GK_NVML_POWER_LIMIT].status, GK_NVML_HUNG);
	assert_int_equal(node.gpus[7].status, GK_NVML_HUNG);
	/* a call that would not hang fails at once, and says why */
	t0 = now_ms();
	assert_int_equal(nvml_get(n, 0, GK_NVML_COMPUTE_MODE, &v), GK_NVML_HUNG);
	assert_true(now_ms() - t0 < 50);
	assert_non_null(strstr(nvml_last_error(n), "nvmlDeviceGetComputeMode not called"));
	assert_int_equal(nvml_set_persistence(n, 0, true), -ETIMEDOUT);
	assert_true(nvml_is_hung(n));
	nvml_node_done(&node);
	t0 = now_ms();
	nvml_close(n); /* abandons the stuck thread, does not wait for it */
	assert_true(now_ms() - t0 < 50);
}

/* A call that comes back after its deadline writes only into the abandoned worker's memory. */
static void test_late_return_after_abandon(void **unused)
{
	struct json_object *s = fake_state_load("nvlink-pair.json");
	struct timespec wait = {.tv_nsec = 400 * 1000000L};
	struct gk_nvml *n;
	char uuid[96] = "untouched";

	json_object_object_add(s, "hang", json_object_new_string("nvmlDeviceGetUUID"));
	json_object_object_add(s, "hang_ms", json_object_new_int(150));
	assert_int_equal(fake_state_write(s), 0);
	n = open_ok(50);
	assert_int_equal(nvml_gpu_uuid(n, 0, uuid, sizeof(uuid)), GK_NVML_HUNG);
	assert_string_equal(uuid, "untouched");
	nvml_close(n);
	nanosleep(&wait, NULL);
	assert_string_equal(uuid, "untouched");
}

static void test_lost_gpu(void **unused)
{
	struct json_object *s = fake_state_load("hgx-8gpu.json");
	struct gk_nvml_node node;
	struct gk_nvml *n;

	json_object_object_add(fake_gpu(s, 2), "lost", json_object_new_boolean(1));
	assert_int_equal(fake_state_write(s), 0);
	n = open_ok(1000);
	assert_int_equal(nvml_node_read(n, &node), 0);
	assert_int_equal(node.gpus[2].status, NVML_ERROR_GPU_IS_LOST);
	assert_string_equal(node.gpus[2].pci, "");
	assert_int_equal(node.gpus[3].status, 0);
	assert_false(node.hung);
	assert_int_equal(nvml_status_to_errno(node.gpus[2].status), -ENODEV);
	assert_non_null(strstr(nvml_status_to_string(node.gpus[2].status), "GPU is lost"));
	nvml_node_done(&node);
	nvml_close(n);
}

static void test_legacy_persistence(void **unused)
{
	struct json_object *s = fake_state_load("nvlink-pair.json");
	struct gk_nvml *n;
	unsigned idx;
	bool on;

	json_object_object_add(fake_gpu(s, 2), "fail", json_object_new_object());
	json_object_object_add(json_object_object_get(fake_gpu(s, 2), "fail"),
			       "nvmlDeviceSetPersistenceMode", json_object_new_int(4));
	assert_int_equal(fake_state_write(s), 0);
	n = open_ok(1000);
	assert_int_equal(nvml_find_gpu(n, "00000000:AF:00.0", &idx), 0);
	assert_int_equal(idx, 1);
	assert_int_equal(nvml_find_gpu(n, "0000:01:00.0", &idx), -ENODEV);
	assert_int_equal(nvml_find_gpu(n, "nonsense", &idx), -EINVAL);
	assert_int_equal(nvml_get_persistence(n, 1, &on), 0);
	assert_true(on);
	assert_int_equal(nvml_set_persistence(n, 1, false), 0);
	assert_int_equal(nvml_get_persistence(n, 1, &on), 0);
	assert_false(on);
	assert_int_equal(fake_gpu_int(1, "persistence_mode"), 0);
	assert_int_equal(nvml_set_persistence(n, 2, false), -EPERM);
	assert_non_null(strstr(nvml_last_error(n), "insufficient permissions"));
	assert_int_equal(nvml_set_persistence(n, 9, true), -EINVAL);
	nvml_close(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_open_failures, teardown),
		cmocka_unit_test_teardown(test_hgx_values_and_topology, teardown),
		cmocka_unit_test_teardown(test_pair_and_unsupported, teardown),
		cmocka_unit_test_teardown(test_recovery_action, teardown),
		cmocka_unit_test_teardown(test_hang_detected_within_deadline, teardown),
		cmocka_unit_test_teardown(test_late_return_after_abandon, teardown),
		cmocka_unit_test_teardown(test_lost_gpu, teardown),
		cmocka_unit_test_teardown(test_legacy_persistence, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
