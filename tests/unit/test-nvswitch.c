// SPDX-License-Identifier: GPL-2.0-or-later
/* NVSwitch device-node expectations and the fabric manager among the holders. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "node/nvswitch.h"

static void test_expect_nodes(void **state)
{
	struct gk_devnode_list l = {};

	assert_int_equal(nvswitch_expect_nodes(&l, 509, 0), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(nvswitch_expect_nodes(&l, 509, 4), 0);
	assert_int_equal(l.n, 5);
	assert_string_equal(l.nodes[0].path, "/dev/nvidia-nvswitch0");
	assert_int_equal(l.nodes[0].minor, 0);
	assert_string_equal(l.nodes[3].path, "/dev/nvidia-nvswitch3");
	assert_int_equal(l.nodes[3].minor, 3);
	assert_string_equal(l.nodes[4].path, "/dev/nvidia-nvswitchctl");
	assert_int_equal(l.nodes[4].major, 509);
	assert_int_equal(l.nodes[4].minor, GK_NVSWITCH_CTL_MINOR);
	assert_int_equal(l.nodes[4].status, GK_NODE_MISSING);
	devnode_list_done(&l);
}

static void test_is_node(void **state)
{
	assert_true(nvswitch_is_node("/dev/nvidia-nvswitch0"));
	assert_true(nvswitch_is_node("/dev/nvidia-nvswitch15"));
	assert_true(nvswitch_is_node("/dev/nvidia-nvswitchctl"));
	assert_false(nvswitch_is_node("/dev/nvidia-nvswitch"));
	assert_false(nvswitch_is_node("/dev/nvidia-nvswitch1a"));
	assert_false(nvswitch_is_node("/dev/nvidia0"));
	assert_false(nvswitch_is_node("/dev/nvidia-nvlink"));
}

static void test_bound(void **state)
{
	struct gk_pcidev sw = {.kind = GK_PCI_NVSWITCH, .driver = "nvidia-nvswitch"};
	struct gk_pcidev gpu = {.kind = GK_PCI_GPU, .driver = "nvidia-nvswitch"};
	struct gk_pcidev unbound = {.kind = GK_PCI_NVSWITCH};

	assert_true(nvswitch_bound(&sw));
	assert_false(nvswitch_bound(&gpu));
	assert_false(nvswitch_bound(&unbound));
}

static void test_fabric_manager(void **state)
{
	struct gk_held_device sw[] = {{.path = "/dev/nvidiactl"},
				      {.path = "/dev/nvidia-nvswitchctl"}};
	struct gk_held_device gpu[] = {{.path = "/dev/nvidia0"}, {.path = "/dev/nvidiactl"}};
	struct gk_holder by_name = {.comm = "nv-fabricmanage"};
	struct gk_holder by_device = {.comm = "fm-lookalike", .devices = sw, .n_devices = 2};
	struct gk_holder job = {.comm = "python3", .devices = gpu, .n_devices = 2};
	struct gk_holder nameless = {.devices = gpu, .n_devices = 2};
	struct gk_held_device both[] = {{.path = "/dev/nvidia-nvswitch0"},
					{.path = "/dev/nvidia3"}};
	struct gk_holder dcgm = {.comm = "nv-hostengine", .devices = both, .n_devices = 2};

	assert_true(holder_is_fabric_manager(&by_name));
	assert_true(holder_is_fabric_manager(&by_device));
	assert_false(holder_is_fabric_manager(&job));
	assert_false(holder_is_fabric_manager(&nameless));
	/* DCGM monitors the NVSwitches and holds the GPUs: a GPU process, stopped with them */
	assert_false(holder_is_fabric_manager(&dcgm));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expect_nodes),
		cmocka_unit_test(test_is_node),
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_fabric_manager),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
