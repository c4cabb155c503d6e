// SPDX-License-Identifier: GPL-2.0-or-later
/* The NVIDIA driver's log lines, one test per form in the notes (ladder-and-fleet.md 1.1,
 * remediation-anchors.md 3.1), and lines that must not be taken for them. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ladder/nvline.h"

static int parse(const char *s, struct gk_nv_event *e)
{
	memset(e, 0x5a, sizeof(*e));
	return nvline_parse(s, strlen(s), e);
}

static void assert_text(const struct gk_nv_event *e, const char *want)
{
	assert_int_equal(e->text_len, strlen(want));
	assert_memory_equal(e->text, want, e->text_len);
}

static void test_xid_new(void **state)
{
	struct gk_nv_event e;

	assert_int_equal(parse("NVRM: Xid (PCI:0000:07:00): 79, pid='<unknown>', name=<unknown>, "
			       "GPU has fallen off the bus.",
			       &e),
			 1);
	assert_int_equal(e.kind, GK_NV_XID);
	assert_string_equal(e.pci, "0000:07:00");
	assert_int_equal(e.code, 79);
	assert_int_equal(e.pid, -1);
	assert_int_equal(e.subcode, -1);
	assert_int_equal(e.gpu_instance, -1);
	assert_text(&e, "pid='<unknown>', name=<unknown>, GPU has fallen off the bus.");
}

static void test_xid_pid(void **state)
{
	struct gk_nv_event e;

	assert_int_equal(parse("NVRM: Xid (PCI:0000:00:16): 119, pid=36055, name=dcgm-exporter, "
			       "Timeout after 6s of waiting for RPC response from GPU0 GSP!",
			       &e),
			 1);
	assert_int_equal(e.code, 119);
	assert_int_equal(e.pid, 36055);
	assert_string_equal(e.pci, "0000:00:16");
}

static void test_xid_old(void **state)
{
	struct gk_nv_event e;

	/* older drivers: no "PCI:", no pid/name */
	assert_int_equal(parse("NVRM: Xid (0000:03:00): 14, Channel 00000001", &e), 1);
	assert_int_equal(e.kind, GK_NV_XID);
	assert_string_equal(e.pci, "0000:03:00");
	assert_int_equal(e.code, 14);
	assert_int_equal(e.pid, -1);
	assert_text(&e, "Channel 00000001");
}

static void test_xid_upper_case_and_no_text(void **state)
{
	struct gk_nv_event e;

	assert_int_equal(parse("NVRM: Xid (PCI:0000:B3:00): 13", &e), 1);
	assert_string_equal(e.pci, "0000:b3:00");
	assert_int_equal(e.code, 13);
	assert_int_equal(e.text_len, 0);
}

static void test_xid_mig(void **state)
{
	struct gk_nv_event e;

	assert_int_equal(
		parse("NVRM: Xid (PCI:0000:07:00 GPU-I:01): 13, pid=12, name=a, Graphics", &e), 1);
	assert_int_equal(e.gpu_instance, 1);
	assert_int_equal(e.compute_instance, -1);
	assert_int_equal(
		parse("NVRM: Xid (PCI:0000:07:00 GPU-I:02 GPU-CI:03): 43, pid=12, name=a, x", &e),
		1);
	assert_string_equal(e.pci, "0000:07:00");
	assert_int_equal(e.code, 43);
	assert_int_equal(e.gpu_instance, 2);
	assert_int_equal(e.compute_instance, 3);
}

static void test_xid_nvlink5(void **state)
{
	struct gk_nv_event e;

	assert_int_equal(
		parse("NVRM: Xid (PCI:0018:01:00): 149, NETIR_LINK_EVT Fatal XC0 i0 Link 08 "
		      "(0x004505c6 0x00000000 0x00000000 0x00000000 0x00000000 0x00000000)",
		      &e),
		1);
	assert_string_equal(e.pci, "0018:01:00");
	assert_int_equal(e.code, 149);
	/* (0x004505c6 >> 20) & 0x3f */
	assert_int_equal(e.subcode, 4);
	/* outside 144-150 the same text gives no subcode */
	assert_int_equal(parse("NVRM: Xid (PCI:0018:01:00): 74, (0x004505c6)", &e), 1);
	assert_int_equal(e.subcode, -1);
}

static void test_fallen_off(void **state)
{
	struct gk_nv_event e;

	assert_int_equal(parse("NVRM: GPU 0000:18:00.0: GPU has fallen off the bus.", &e), 1);
	assert_int_equal(e.kind, GK_NV_FALLEN_OFF);
	assert_int_equal(e.code, GK_XID_FALLEN_OFF);
	assert_string_equal(e.pci, "0000:18:00");
	assert_int_equal(
		parse("NVRM: The NVIDIA GPU 0000:b3:00.0 (PCI ID: 10de:20b0) installed in "
		      "this system has fallen off the bus and is not responding to commands.",
		      &e),
		1);
	assert_int_equal(e.kind, GK_NV_FALLEN_OFF);
	assert_string_equal(e.pci, "0000:b3:00");
	/* a GPU line about something else is not a fault */
	assert_int_equal(parse("NVRM: GPU 0000:18:00.0: RmInitAdapter failed!", &e), 0);
}

static void test_uuid(void **state)
{
	struct gk_nv_event e;

	assert_int_equal(
		parse("NVRM: GPU at PCI:0000:03:00: GPU-455d8f70-1f34-8e49-35e2-1b8a0c2b1b7c", &e),
		1);
	assert_int_equal(e.kind, GK_NV_GPU_UUID);
	assert_string_equal(e.pci, "0000:03:00");
	assert_string_equal(e.uuid, "GPU-455d8f70-1f34-8e49-35e2-1b8a0c2b1b7c");
	assert_int_equal(parse("NVRM: GPU at PCI:0000:03:00: not-a-uuid", &e), 0);
}

static void test_sxid(void **state)
{
	struct gk_nv_event e;

	assert_int_equal(parse("nvidia-nvswitch3: SXid (PCI:0000:c3:00.0): 12028, Fatal, Link 44 "
			       "(0x00000000 0x00000000)",
			       &e),
			 1);
	assert_int_equal(e.kind, GK_NV_SXID);
	assert_int_equal(e.nvswitch, 3);
	assert_string_equal(e.pci, "0000:c3:00");
	assert_int_equal(e.code, 12028);
	assert_true(e.fatal);
	assert_int_equal(e.link, 44);
	assert_int_equal(
		parse("nvidia-nvswitch0: SXid (PCI:0000:c4:00.0): 20034, Non-fatal, Link 01 "
		      "LTSSM Fault Up",
		      &e),
		1);
	assert_false(e.fatal);
	assert_int_equal(e.link, 1);
	/* another nvswitch message */
	assert_int_equal(parse("nvidia-nvswitch0: probe of 0000:c4:00.0", &e), 0);
	assert_int_equal(parse("nvidia-nvswitch0: SXid (PCI:0000:c4:00.0): x", &e), -EPROTO);
}

static void test_not_nvidia(void **state)
{
	static const char *const other[] = {
		"",
		"ACPI: bus type PCI registered",
		"NVRM: loading NVIDIA UNIX x86_64 Kernel Module  535.154.05",
		"NVRM: The NVIDIA probe routine failed for 1 device(s).",
		"nvidia 0000:01:00.0: probe of 0000:01:00.0 failed with error -5",
		"xNVRM: Xid (PCI:0000:07:00): 79",
	};
	struct gk_nv_event e;

	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
		assert_int_equal(parse(other[i], &e), 0);
}

static void test_malformed_xid(void **state)
{
	static const char *const bad[] = {
		"NVRM: Xid (PCI:0000:07:00) 79, x",
		"NVRM: Xid (PCI:0000:07:00): , x",
		"NVRM: Xid (PCI:0000:07:00): 79x",
		"NVRM: Xid (PCI:zz:07:00): 79, x",
		"NVRM: Xid (PCI:0000:07:00: 79, x",
		"NVRM: Xid PCI:0000:07:00): 79, x",
		"NVRM: Xid (PCI:0000:07:00): 9999999999, x",
		"NVRM: Xid (PCI:0000:07:00 GPU-I:x): 13, x",
		"NVRM: Xid (",
	};
	struct gk_nv_event e;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse(bad[i], &e), -EPROTO);
}

static void test_normalize(void **state)
{
	char b[GK_NV_PCI_LEN];

	assert_int_equal(nvline_normalize_pci("0000:07:00.0", 12, b), 0);
	assert_string_equal(b, "0000:07:00");
	assert_int_equal(nvline_normalize_pci("PCI:0000:AB:1F", 14, b), 0);
	assert_string_equal(b, "0000:ab:1f");
	assert_int_equal(nvline_normalize_pci("07:00", 5, b), 0);
	assert_string_equal(b, "0000:07:00");
	assert_int_equal(nvline_normalize_pci("7:00", 4, b), -EINVAL);
	assert_int_equal(nvline_normalize_pci("0000:07:00.8", 12, b), -EINVAL);
	assert_int_equal(nvline_normalize_pci("0000:07:00x", 11, b), -EINVAL);
	assert_int_equal(nvline_normalize_pci("", 0, b), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xid_new),
		cmocka_unit_test(test_xid_pid),
		cmocka_unit_test(test_xid_old),
		cmocka_unit_test(test_xid_upper_case_and_no_text),
		cmocka_unit_test(test_xid_mig),
		cmocka_unit_test(test_xid_nvlink5),
		cmocka_unit_test(test_fallen_off),
		cmocka_unit_test(test_uuid),
		cmocka_unit_test(test_sxid),
		cmocka_unit_test(test_not_nvidia),
		cmocka_unit_test(test_malformed_xid),
		cmocka_unit_test(test_normalize),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
