// SPDX-License-Identifier: GPL-2.0-or-later
/* The NVML part of baselines: taken from a node, its JSON round trip and checks, and the
 * comparison link by link, with pending retirements and an unreadable NVML. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "baseline/nvml-baseline.h"

/* Two GPUs, each with two links to the other, as a bridge joins them. */
static void make_node(struct gk_nvml_node *node)
{
	static struct gk_nvml_gpu gpus[2];

	memset(gpus, 0, sizeof(gpus));
	*node = (struct gk_nvml_node){.available = true, .gpus = gpus, .n_gpus = 2};
	for (unsigned i = 0; i < 2; i++) {
		gpus[i].index = i;
		snprintf(gpus[i].pci, sizeof(gpus[i].pci), i ? "0000:af:00.0" : "0000:3b:00.0");
		gpus[i].n_links = 2;
		for (unsigned l = 0; l < 2; l++) {
			gpus[i].links[l] = (struct gk_nvml_link){.link = l, .active = true};
			snprintf(gpus[i].links[l].remote_pci, sizeof(gpus[i].links[l].remote_pci),
				 i ? "0000:3b:00.0" : "0000:af:00.0");
		}
	}
}

static struct gk_baseline_nvml *from(const struct gk_nvml_node *node)
{
	struct gk_baseline_nvml *b = nvml_baseline_from_node(node);

	assert_non_null(b);
	return b;
}

static void expect_diffs(const struct gk_baseline_nvml *want, const struct gk_baseline_nvml *got,
			 const char *const *lines)
{
	struct gk_differences d = {};
	size_t n = 0;

	assert_int_equal(nvml_baseline_compare(want, got, &d), 0);
	for (; lines[n]; n++) {
		char buf[256];

		assert_true(n < d.n);
		snprintf(buf, sizeof(buf), "%s: %s", d.items[n].object, d.items[n].message);
		assert_string_equal(buf, lines[n]);
	}
	assert_int_equal(d.n, n);
	differences_done(&d);
}

static void test_same_node_matches(void **unused)
{
	struct gk_nvml_node node;
	struct gk_baseline_nvml *a, *b;
	const char *none[] = {NULL};

	make_node(&node);
	a = from(&node);
	b = from(&node);
	assert_int_equal(a->n_links, 4);
	expect_diffs(a, b, none);
	expect_diffs(NULL, b, none);
	expect_diffs(NULL, NULL, none);
	nvml_baseline_free(a);
	nvml_baseline_free(b);
}

static void test_link_differences(void **unused)
{
	struct gk_nvml_node node;
	struct gk_baseline_nvml *want, *got;
	const char *lines[] = {
		"0000:3b:00.0: NVLink 1 is down, baseline up to 0000:af:00.0",
		"0000:af:00.0: NVLink 0 goes to 0000:05:00.0, baseline 0000:3b:00.0",
		"0000:af:00.0: NVLink 2 is up to 0000:3b:00.0, not in the baseline",
		"0000:af:00.0: pages pending retirement: not cleared (a reload or GPU reset "
		"retires "
		"them)",
		"0000:3b:00.0: rows pending remapping: not cleared (a reload or GPU reset remaps "
		"them)",
		NULL,
	};

	make_node(&node);
	want = from(&node);
	node.gpus[0].links[1].active = false;
	snprintf(node.gpus[1].links[0].remote_pci, GK_PCI_ADDR_STRLEN, "0000:05:00.0");
	node.gpus[1].links[2] = (struct gk_nvml_link){.link = 2, .active = true};
	snprintf(node.gpus[1].links[2].remote_pci, GK_PCI_ADDR_STRLEN, "0000:3b:00.0");
	node.gpus[1].n_links = 3;
	node.gpus[1].values[GK_NVML_RETIRED_PENDING].value = 1;
	node.gpus[0].values[GK_NVML_REMAP_PENDING].value = 1;
	node.gpus[1].values[GK_NVML_REMAP_PENDING].status = NVML_ERROR_NOT_SUPPORTED;
	node.gpus[1].values[GK_NVML_REMAP_PENDING].value = 1; /* not read: not pending */
	got = from(&node);
	expect_diffs(want, got, lines);
	nvml_baseline_free(want);
	nvml_baseline_free(got);
}

static void test_unavailable(void **unused)
{
	struct gk_nvml_node node, down = {.error = (char *)"NVML disabled (\"none\" given)"};
	struct gk_nvml_node hung = {.error = (char *)"nvmlInit_v2 did not return within 5000 ms: "
						     "NVML hung (driver not responding)"};
	struct gk_baseline_nvml *want, *got;
	const char *not_checked[] = {
		"nvml: NVLink topology not checked: NVML disabled (\"none\" given)", NULL};
	const char *not_consulted[] = {"nvml: NVLink topology not checked: NVML not consulted",
				       NULL};
	const char *is_hung[] = {"nvml: nvmlInit_v2 did not return within 5000 ms: NVML hung "
				 "(driver not responding)",
				 NULL};
	const char *none[] = {NULL};

	make_node(&node);
	want = from(&node);
	got = from(&down);
	assert_false(got->available);
	expect_diffs(want, got, not_checked);
	expect_diffs(NULL, got, none); /* an old baseline asks nothing of NVML */
	expect_diffs(want, NULL, not_consulted);
	nvml_baseline_free(got);
	got = from(&hung);
	expect_diffs(NULL, got, is_hung); /* but a hung driver is never healthy */
	nvml_baseline_free(got);
	nvml_baseline_free(want);
}

static void test_json(void **unused)
{
	struct gk_nvml_node node;
	struct gk_baseline_nvml *b, *back = NULL;
	struct json_object *o;
	char *error = NULL;

	make_node(&node);
	node.gpus[1].values[GK_NVML_RETIRED_PENDING].value = 1;
	b = from(&node);
	o = nvml_baseline_to_json(b);
	assert_int_equal(nvml_baseline_from_json(o, &back, &error), 0);
	assert_int_equal(back->n_links, 4);
	assert_memory_equal(back->links, b->links, 4 * sizeof(*b->links));
	assert_string_equal(back->retired_pending[0], "0000:af:00.0");
	nvml_baseline_free(back);
	json_object_object_add(json_object_array_get_idx(json_object_object_get(o, "nvlinks"), 2),
			       "remote", json_object_new_string("3b:00"));
	assert_int_equal(nvml_baseline_from_json(o, &back, &error), -EBADMSG);
	assert_non_null(strstr(error, "nvlinks[2] needs"));
	free(error);
	json_object_object_del(o, "nvlinks");
	assert_int_equal(nvml_baseline_from_json(o, &back, &error), -EBADMSG);
	assert_string_equal(error, "nvml: missing field 'nvlinks'");
	free(error);
	json_object_put(o);
	nvml_baseline_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_node_matches),
		cmocka_unit_test(test_link_differences),
		cmocka_unit_test(test_unavailable),
		cmocka_unit_test(test_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
