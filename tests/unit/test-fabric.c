// SPDX-License-Identifier: GPL-2.0-or-later
/* The fabric decisions: when a node's NVLink fabric is ready, still training, failed or absent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "baseline/nvml-baseline.h"
#include "nvml/fabric.h"
#include "nvml/nvml-api.h"

#define GPU(p, st, code)                                                                           \
	{                                                                                          \
		.pci = p, .fabric = {.state = (st), .status = (code) }                             \
	}

static void test_verdicts(void **state)
{
	struct gk_fabric_gpu ready[] = {GPU("0000:18:00.0", 3, 0), GPU("0000:2a:00.0", 3, 0)};
	struct gk_fabric_gpu training[] = {GPU("0000:18:00.0", 3, 0), GPU("0000:2a:00.0", 2, 0),
					   GPU("0000:3a:00.0", 1, 0)};
	struct gk_fabric_gpu failed[] = {GPU("0000:18:00.0", 2, 0), GPU("0000:2a:00.0", 3, 15)};
	struct gk_fabric_gpu none[] = {
		GPU("0000:18:00.0", 0, 0),
		{.pci = "0000:2a:00.0", .read = NVML_ERROR_NOT_SUPPORTED},
		{.pci = "0000:3a:00.0", .read = NVML_ERROR_FUNCTION_NOT_FOUND}};
	struct gk_fabric_gpu lost[] = {GPU("0000:18:00.0", 2, 0),
				       {.pci = "0000:2a:00.0", .read = NVML_ERROR_GPU_IS_LOST}};
	/* a GPU without fabric support beside trained ones does not hold the node back */
	struct gk_fabric_gpu mixed[] = {GPU("0000:18:00.0", 3, 0), GPU("0000:2a:00.0", 0, 0)};
	size_t r, t;

	assert_int_equal(fabric_verdict(ready, 2, &r, &t), GK_FABRIC_READY);
	assert_int_equal(r, 2);
	assert_int_equal(t, 2);
	assert_int_equal(fabric_verdict(training, 3, &r, &t), GK_FABRIC_TRAINING);
	assert_int_equal(r, 1);
	assert_int_equal(t, 3);
	assert_int_equal(fabric_verdict(failed, 2, NULL, NULL), GK_FABRIC_FAILED);
	assert_int_equal(fabric_verdict(none, 3, &r, &t), GK_FABRIC_NONE);
	assert_int_equal(t, 0);
	assert_int_equal(fabric_verdict(lost, 2, NULL, NULL), GK_FABRIC_UNKNOWN);
	assert_int_equal(fabric_verdict(mixed, 2, &r, &t), GK_FABRIC_READY);
	assert_int_equal(t, 1);
	assert_int_equal(fabric_verdict(NULL, 0, NULL, NULL), GK_FABRIC_NONE);
	/* the status means nothing before COMPLETED */
	assert_false(fabric_gpu_ready(&failed[1]));
	assert_false(fabric_gpu_ready(&training[1]));
	assert_true(fabric_gpu_ready(&ready[0]));
}

static void test_describe(void **state)
{
	struct gk_fabric_gpu g[] = {GPU("0000:18:00.0", 3, 0),
				    GPU("0000:2a:00.0", 2, 0),
				    GPU("0000:3a:00.0", 3, 15),
				    GPU("0000:5d:00.0", 1, 0),
				    {.pci = "0000:9a:00.0", .read = NVML_ERROR_GPU_IS_LOST}};
	char *s;

	s = fabric_describe_pending(g, 5, 8);
	assert_string_equal(s, "0000:2a:00.0 (in-progress), 0000:3a:00.0 (completed with error: "
			       "GPU is lost (fallen off the bus?)), 0000:5d:00.0 (not-started), "
			       "0000:9a:00.0 (unreadable: GPU is lost (fallen off the bus?))");
	free(s);
	s = fabric_describe_pending(g, 5, 1);
	assert_string_equal(s, "0000:2a:00.0 (in-progress) and 3 more");
	free(s);
	s = fabric_describe_pending(g, 1, 8);
	assert_string_equal(s, "");
	free(s);
	assert_string_equal(fabric_state_to_string(0), "not-supported");
	assert_string_equal(fabric_state_to_string(3), "completed");
	assert_string_equal(fabric_state_to_string(7), "unknown");
}

/* A reset waits for its GPUs only: the others' fabric does not count, a GPU NVML does not list
 * (not back yet, or lost) is not ready. */
static void test_select(void **state)
{
	struct gk_fabric_gpu g[] = {GPU("0000:18:00.0", 2, 0), GPU("0000:2a:00.0", 3, 0),
				    GPU("0000:3a:00.0", 3, 15)};
	char *one[] = {"0000:2a:00.0", NULL}, *two[] = {"0000:9a:00.0", "0000:2a:00.0", NULL};
	struct gk_fabric_gpu *l = NULL;
	size_t n = 0, ready, total;
	char *s;

	assert_int_equal(fabric_verdict(g, 3, NULL, NULL), GK_FABRIC_FAILED);
	assert_int_equal(fabric_select(g, 3, one, &l, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(l[0].pci, "0000:2a:00.0");
	assert_int_equal(fabric_verdict(l, n, &ready, &total), GK_FABRIC_READY);
	assert_int_equal(ready, 1);
	assert_int_equal(total, 1);
	free(l);
	assert_int_equal(fabric_select(g, 3, two, &l, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(l[0].read, NVML_ERROR_NOT_FOUND);
	assert_int_equal(fabric_verdict(l, n, &ready, &total), GK_FABRIC_UNKNOWN);
	assert_int_equal(ready, 1);
	assert_int_equal(total, 2);
	s = fabric_describe_pending(l, n, 4);
	assert_string_equal(s, "0000:9a:00.0 (unreadable: not found)");
	free(s);
	free(l);
	/* nothing named: nothing to wait for */
	assert_int_equal(fabric_select(g, 3, NULL, &l, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(fabric_verdict(l, n, NULL, NULL), GK_FABRIC_NONE);
	free(l);
}

static void test_json(void **state)
{
	struct gk_fabric_gpu g[] = {GPU("0000:18:00.0", 2, 5),
				    GPU("0000:2a:00.0", 0, 0),
				    {.pci = "0000:3a:00.0", .read = NVML_ERROR_GPU_IS_LOST}};
	struct json_object *a = fabric_to_json(g, 3);

	assert_non_null(a);
	assert_int_equal(json_object_array_length(a), 2);
	assert_string_equal(json_object_to_json_string(json_object_array_get_idx(a, 0)),
			    "{ \"gpu\": \"0000:18:00.0\", \"state\": \"in-progress\", \"status\": "
			    "null, \"ready\": false }");
	assert_string_equal(json_object_to_json_string(json_object_array_get_idx(a, 1)),
			    "{ \"gpu\": \"0000:3a:00.0\", \"error\": \"GPU is lost (fallen off the "
			    "bus?)\", \"ready\": false }");
	json_object_put(a);
	assert_null(fabric_to_json(&g[1], 1));
}

/* The baseline's fabric: a node that lost it, and GPUs that did not complete, are differences. */
static void test_compare(void **state)
{
	struct gk_fabric_gpu now[] = {GPU("0000:18:00.0", 3, 0), GPU("0000:2a:00.0", 2, 0)};
	struct gk_fabric_gpu gone[] = {GPU("0000:18:00.0", 0, 0)};
	struct gk_baseline_nvml want = {.available = true, .fabric = true};
	struct gk_baseline_nvml got = {.available = true, .fabric_gpus = now, .n_fabric_gpus = 2};
	struct gk_differences d = {};

	assert_int_equal(nvml_baseline_compare(&want, &got, &d), 0);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.items[0].kind, GK_DIFF_FABRIC);
	assert_string_equal(d.items[0].object, "0000:2a:00.0");
	differences_done(&d);

	got.fabric_gpus = gone;
	got.n_fabric_gpus = 1;
	assert_int_equal(nvml_baseline_compare(&want, &got, &d), 0);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.items[0].object, "fabric");
	differences_done(&d);

	want.fabric = false; /* a baseline saved before: nothing expected */
	assert_int_equal(nvml_baseline_compare(&want, &got, &d), 0);
	assert_int_equal(d.n, 0);
	differences_done(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verdicts), cmocka_unit_test(test_describe),
		cmocka_unit_test(test_select),	 cmocka_unit_test(test_json),
		cmocka_unit_test(test_compare),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
