// SPDX-License-Identifier: GPL-2.0-or-later
/* Validation: every kind of difference a reload can leave behind is found and named. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "baseline/validate.h"
#include "string-util.h"

static void make(struct gk_baseline *b, size_t n)
{
	*b = (struct gk_baseline){};
	b->driver_version = strdup("535.261.03");
	b->gpus = calloc(n, sizeof(*b->gpus));
	b->n_gpus = n;
	for (size_t i = 0; i < n; i++) {
		b->gpus[i] = (struct gk_baseline_gpu){.bound = true,
						      .minor = (int)i,
						      .cur_width = 16,
						      .max_width = 16,
						      .max_gts = 32.0};
		snprintf(b->gpus[i].pci, sizeof(b->gpus[i].pci), "0000:%02zx:00.0", 0x18 + i);
		b->gpus[i].uuid = strdup_printf("GPU-0000000%zu-0000-0000-0000-000000000000", i);
	}
	b->nvswitches = calloc(1, sizeof(char *));
	b->modules = calloc(1, sizeof(char *));
	b->device_nodes = calloc(1, sizeof(char *));
	strv_extend(&b->nvswitches, "0000:05:00.0");
	strv_extend(&b->modules, "nvidia");
	strv_extend(&b->modules, "nvidia_uvm");
	strv_extend(&b->device_nodes, "/dev/nvidia0");
	strv_extend(&b->device_nodes, "/dev/nvidiactl");
}

/* Asserts that the differences are exactly @want ("object: message" prefixes), in order. */
static void expect(const struct gk_baseline *want, const struct gk_baseline *got,
		   const char *const *lines, size_t n)
{
	struct gk_differences d;

	assert_int_equal(validate_compare(want, got, &d), 0);
	for (size_t i = 0; i < d.n; i++)
		print_message("  %s: %s\n", d.items[i].object, d.items[i].message);
	assert_int_equal(d.n, n);
	for (size_t i = 0; i < n; i++) {
		char buf[512];

		snprintf(buf, sizeof(buf), "%s: %s", d.items[i].object, d.items[i].message);
		if (strncmp(buf, lines[i], strlen(lines[i])) != 0)
			fail_msg("difference %zu is '%s', expected '%s'", i, buf, lines[i]);
	}
	differences_done(&d);
}

static void test_same(void **state)
{
	struct gk_baseline a, b;

	make(&a, 4);
	make(&b, 4);
	expect(&a, &b, NULL, 0);
	baseline_done(&a);
	baseline_done(&b);
}

static void test_gpu_differences(void **state)
{
	static const char *const want[] = {
		"gpus: 2 GPU(s) bound to nvidia, baseline 4",
		"0000:18:00.0: UUID is GPU-x, baseline",
		"0000:19:00.0: PCIe link is x8, baseline x16",
		"0000:19:00.0: PCIe maximum link speed is 16.0 GT/s, baseline 32.0 GT/s",
		"0000:1a:00.0: GPU not bound to nvidia (the probe failed)",
		"0000:1b:00.0: GPU missing from the PCI bus",
		"0000:99:00.0: GPU not in the baseline",
	};
	struct gk_baseline a, b;

	make(&a, 4);
	make(&b, 4);
	free(b.gpus[0].uuid);
	b.gpus[0].uuid = strdup("GPU-x");
	b.gpus[1].cur_width = 8;
	b.gpus[1].max_gts = 16.0;
	b.gpus[2].bound = false;
	snprintf(b.gpus[3].pci, sizeof(b.gpus[3].pci), "0000:99:00.0");
	b.gpus[3].bound = false;
	expect(&a, &b, want, sizeof(want) / sizeof(want[0]));
	baseline_done(&a);
	baseline_done(&b);
}

/* The line a drained node's reason carries: a GPU's own difference before the GPU count. */
static void test_headline(void **state)
{
	struct gk_difference items[] = {
		{GK_DIFF_GPU_COUNT, "gpus", "1 GPU(s) bound to nvidia, baseline 2"},
		{GK_DIFF_GPU_UNBOUND, "0000:08:00.0", "GPU not bound to nvidia (the probe failed)"},
		{GK_DIFF_NODE, "/dev/nvidia1", "device node missing"},
	};
	struct gk_differences d = {.items = items, .n = 3};
	char buf[256], small[16];

	differences_headline(&d, buf, sizeof(buf));
	assert_string_equal(buf,
			    "0000:08:00.0: GPU not bound to nvidia (the probe failed); 2 more");
	d.n = 1; /* the count alone is named when it is all there is */
	differences_headline(&d, buf, sizeof(buf));
	assert_string_equal(buf, "gpus: 1 GPU(s) bound to nvidia, baseline 2");
	d.items = items + 2;
	differences_headline(&d, buf, sizeof(buf));
	assert_string_equal(buf, "/dev/nvidia1: device node missing");
	differences_headline(&d, small, sizeof(small));
	assert_string_equal(small, "/dev/nvidia1: d");
	d.n = 0;
	differences_headline(&d, buf, sizeof(buf));
	assert_string_equal(buf, "");
}

static void test_node_differences(void **state)
{
	static const char *const want[] = {
		"0000:05:00.0: NVSwitch missing",
		"nvidia_uvm: module not loaded",
		"/dev/nvidiactl: device node missing or wrong",
		"driver: version is 570.86.15, baseline 535.261.03",
	};
	struct gk_baseline a, b;

	make(&a, 1);
	make(&b, 1);
	strv_free(b.nvswitches);
	strv_free(b.modules);
	b.nvswitches = calloc(1, sizeof(char *));
	b.modules = calloc(1, sizeof(char *));
	strv_extend(&b.modules, "nvidia");
	strv_extend(&b.modules, "nvidia_peermem"); /* extra modules are fine */
	free(b.device_nodes[1]);
	b.device_nodes[1] = NULL;
	free(b.driver_version);
	b.driver_version = strdup("570.86.15");
	expect(&a, &b, want, sizeof(want) / sizeof(want[0]));
	baseline_done(&a);
	baseline_done(&b);
}

static void test_driver_unloaded(void **state)
{
	struct gk_baseline a, b;
	struct gk_differences d;

	make(&a, 2);
	make(&b, 2);
	b.gpus[0].bound = b.gpus[1].bound = false;
	strv_free(b.modules);
	b.modules = calloc(1, sizeof(char *));
	assert_int_equal(validate_compare(&a, &b, &d), 0);
	assert_true(d.n >= 3);
	assert_non_null(strstr(d.items[1].message, "the nvidia driver is not loaded"));
	differences_done(&d);
	baseline_done(&a);
	baseline_done(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same),
		cmocka_unit_test(test_gpu_differences),
		cmocka_unit_test(test_headline),
		cmocka_unit_test(test_node_differences),
		cmocka_unit_test(test_driver_unloaded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
