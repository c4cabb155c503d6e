// SPDX-License-Identifier: GPL-2.0-or-later
/* /proc/driver/nvidia parsers: the real format with its tabs, older keys, and malformed files. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "node/nvproc.h"

/* As printed by the 535 driver: tabs everywhere, two after Model and IRQ. */
static const char info_535[] = "Model: \t\t NVIDIA H100 80GB HBM3\n"
			       "IRQ:   \t\t 147\n"
			       "GPU UUID: \t GPU-5f3c6a4e-1d2b-4c8a-9e7f-0a1b2c3d4e5f\n"
			       "Video BIOS: \t 96.00.99.00.01\n"
			       "Bus Type: \t PCIe\n"
			       "DMA Size: \t 52 bits\n"
			       "DMA Mask: \t 0xfffffffffffff\n"
			       "Bus Location: \t 0000:18:00.0\n"
			       "Device Minor: \t 3\n"
			       "GPU Firmware: \t 535.261.03\n"
			       "GPU Excluded:\t No\n";

static void test_info_real_format(void **state)
{
	struct gk_nvinfo i;

	assert_int_equal(nvinfo_parse(info_535, &i, NULL), 0);
	assert_string_equal(i.model, "NVIDIA H100 80GB HBM3");
	assert_string_equal(i.uuid, "GPU-5f3c6a4e-1d2b-4c8a-9e7f-0a1b2c3d4e5f");
	assert_string_equal(i.vbios, "96.00.99.00.01");
	assert_string_equal(i.bus_type, "PCIe");
	assert_string_equal(i.firmware, "535.261.03");
	assert_true(i.has_bus_location);
	assert_int_equal(i.bus_location.bus, 0x18);
	assert_int_equal(i.minor, 3);
	assert_int_equal(i.excluded, 0);
	nvinfo_done(&i);
}

static void test_info_old_driver(void **state)
{
	/* no UUID line (not known yet), old "Blacklisted" key, no firmware, unknown extra key */
	static const char text[] = "Model: \t\t Tesla V100-SXM2-32GB\n"
				   "IRQ:   \t\t 40\n"
				   "Video BIOS: \t ??.??.??.??.??\n"
				   "Bus Location: \t 0000:3b:00.0\n"
				   "Device Minor: \t 0\n"
				   "Some New Key: \t whatever: with colon\n"
				   "Blacklisted:\t Yes\n";
	struct gk_nvinfo i;

	assert_int_equal(nvinfo_parse(text, &i, NULL), 0);
	assert_null(i.uuid);
	assert_null(i.firmware);
	assert_int_equal(i.excluded, 1);
	assert_int_equal(i.minor, 0);
	nvinfo_done(&i);
}

static void test_info_malformed(void **state)
{
	static const struct {
		const char *text;
		const char *field;
	} cases[] = {
		{"Model: \t\t X\n", "Device Minor"},
		{"Model: \t\t X\nDevice Minor: \t many\n", "Device Minor"},
		{"Device Minor: \t 254\n", "Device Minor"}, /* 254 is nvidia-modeset */
		{"Device Minor: \t -1\n", "Device Minor"},
		{"Device Minor: \t 1\nGPU UUID: \t not-a-uuid\n", "GPU UUID"},
		{"Device Minor: \t 1\nBus Location: \t 0000:zz:00.0\n", "Bus Location"},
		{"Device Minor: \t 1\nGPU Excluded:\t Maybe\n", "GPU Excluded"},
		{"", "Device Minor"},
	};

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct gk_nvinfo i = {.minor = 77};
		const char *field = NULL;

		assert_int_equal(nvinfo_parse(cases[c].text, &i, &field), -EBADMSG);
		assert_string_equal(field, cases[c].field);
		assert_int_equal(i.minor, 77); /* untouched */
	}
}

static void test_version(void **state)
{
	static const char open_module[] = "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64 "
					  " 535.261.03  Release Build  "
					  "(buildd@debian)  Tue Sep 30 12:00:00 UTC 2025\n"
					  "GCC version:  gcc version 12.2.0 (Debian 12.2.0-14)\n";
	static const char proprietary[] =
		"NVRM version: NVIDIA UNIX x86_64 Kernel Module  570.86.15  Thu Jan 23 2025\n";
	char *v = NULL;

	assert_int_equal(nvversion_parse(open_module, &v), 0);
	assert_string_equal(v, "535.261.03");
	free(v);
	assert_int_equal(nvversion_parse(proprietary, &v), 0);
	assert_string_equal(v, "570.86.15");
	free(v);
	assert_int_equal(nvversion_parse("GCC version:  gcc version 12.2.0\n", &v), -EBADMSG);
	assert_int_equal(nvversion_parse("NVRM version: NVIDIA UNIX Kernel Module\n", &v),
			 -EBADMSG);
	/* the GCC line's version is not the driver's */
	assert_int_equal(nvversion_parse("NVRM version: none\nGCC version: 12.2.0\n", &v),
			 -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_info_real_format),
		cmocka_unit_test(test_info_old_driver),
		cmocka_unit_test(test_info_malformed),
		cmocka_unit_test(test_version),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
