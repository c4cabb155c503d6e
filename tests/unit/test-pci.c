// SPDX-License-Identifier: GPL-2.0-or-later
/* PCI address parsing: every spelling gpukeep meets, and the malformed ones it must refuse. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "node/pci.h"

static void test_spellings(void **state)
{
	struct gk_pci_addr a;
	char buf[GK_PCI_ADDR_STRLEN];

	assert_int_equal(pci_addr_parse("0000:3b:00.0", false, &a), 0);
	assert_string_equal(pci_addr_format(&a, buf, sizeof(buf)), "0000:3b:00.0");
	/* NVML: 8-digit domain, upper case */
	assert_int_equal(pci_addr_parse("00000000:3B:00.0", false, &a), 0);
	assert_string_equal(pci_addr_format(&a, buf, sizeof(buf)), "0000:3b:00.0");
	/* short form, domain 0 */
	assert_int_equal(pci_addr_parse("c1:1f.7", false, &a), 0);
	assert_string_equal(pci_addr_format(&a, buf, sizeof(buf)), "0000:c1:1f.7");
	assert_int_equal(pci_addr_parse("0001:c1:00.3", false, &a), 0);
	assert_int_equal(a.domain, 1);
	assert_int_equal(a.fn, 3);
}

static void test_xid_form(void **state)
{
	struct gk_pci_addr a;

	/* Xid lines carry no function number. */
	assert_int_equal(pci_addr_parse("0000:05:00", false, &a), -EINVAL);
	assert_int_equal(pci_addr_parse("0000:05:00", true, &a), 0);
	assert_int_equal(a.bus, 5);
	assert_int_equal(a.fn, 0);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"3b",
		"0000:3b:00.8",
		"0000:3b:20.0",
		"0000:3bb:00.0",
		"0000:3b:00.0x",
		"000000000:3b:00.0",
		"0000:3b:00.",
		"g000:3b:00.0",
		"0000:3b::00.0",
		"0000-3b-00.0",
		"100:00.0",
		" 0000:3b:00.0",
		"0000:3b:00.0 ",
		"1:2:3:4.0",
	};
	struct gk_pci_addr a = {.domain = 99};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(pci_addr_parse(bad[i], false, &a), -EINVAL);
		/* out-parameter untouched on failure */
		assert_int_equal(a.domain, 99);
	}
	assert_int_equal(pci_addr_parse(NULL, false, &a), -EINVAL);
}

static void test_compare_normalize(void **state)
{
	struct gk_pci_addr a, b;
	char buf[GK_PCI_ADDR_STRLEN];

	assert_int_equal(pci_addr_parse("0000:3b:00.0", false, &a), 0);
	assert_int_equal(pci_addr_parse("00000000:3B:00.0", false, &b), 0);
	assert_true(pci_addr_equal(&a, &b));
	assert_int_equal(pci_addr_parse("0000:3b:00.1", false, &b), 0);
	assert_int_equal(pci_addr_compare(&a, &b), -1);
	assert_int_equal(pci_addr_compare(&b, &a), 1);
	assert_int_equal(pci_addr_normalize("00000000:B3:00.0", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "0000:b3:00.0");
	assert_int_equal(pci_addr_normalize("nonsense", buf, sizeof(buf)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spellings),
		cmocka_unit_test(test_xid_form),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_compare_normalize),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
