// SPDX-License-Identifier: GPL-2.0-or-later
/* /dev/kmsg records: header fields, dictionary lines, and what is not a record. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ladder/kmsg.h"

static int parse(const char *s, struct gk_kmsg_record *r)
{
	return kmsg_parse_record(s, strlen(s), r);
}

static void test_record(void **state)
{
	struct gk_kmsg_record r;

	assert_int_equal(parse("6,159,423091,-;ACPI: bus type PCI registered\n", &r), 0);
	assert_int_equal(r.facility, 0);
	assert_int_equal(r.level, 6);
	assert_int_equal(r.seq, 159);
	assert_int_equal(r.ts_usec, 423091);
	assert_int_equal(r.flag, '-');
	assert_int_equal(r.msg_len, strlen("ACPI: bus type PCI registered"));
	assert_memory_equal(r.msg, "ACPI: bus type PCI registered", r.msg_len);
}

static void test_user_facility_and_extra_fields(void **state)
{
	struct gk_kmsg_record r;

	/* LOG_USER|LOG_NOTICE = 13, a continuation flag and a field a later kernel added */
	assert_int_equal(parse("13,7,100,c,caller=T1;hello", &r), 0);
	assert_int_equal(r.facility, 1);
	assert_int_equal(r.level, 5);
	assert_int_equal(r.flag, 'c');
	assert_int_equal(r.msg_len, 5);
}

static void test_no_flags(void **state)
{
	struct gk_kmsg_record r;

	/* the oldest /dev/kmsg had no flags field */
	assert_int_equal(parse("3,1,2;NVRM: x", &r), 0);
	assert_int_equal(r.seq, 1);
	assert_int_equal(r.flag, '-');
	assert_memory_equal(r.msg, "NVRM: x", 7);
}

static void test_dictionary(void **state)
{
	const char *s =
		"3,9,10,-;nvidia 0000:01:00.0: probe\n SUBSYSTEM=pci\n DEVICE=+pci:0000:01:00.0\n"
		"6,10,11,-;next\n";
	struct gk_kmsg_record r;
	size_t end = kmsg_record_end(s, strlen(s));

	assert_int_equal(parse(s, &r), 0);
	assert_memory_equal(r.msg, "nvidia 0000:01:00.0: probe", r.msg_len);
	assert_string_equal(s + end, "6,10,11,-;next\n");
	assert_int_equal(kmsg_record_end(s + end, strlen(s + end)), strlen(s + end));
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"",	      "no header",     "6,159;x",
		"6;x",	      "a,1,2,-;x",     "6,,2,-;x",
		"6,1,2x,-;x", "99999,1,2,-;x", "6,99999999999999999999999,2,-;x",
		"6,1,2,-", /* no ';' */
	};
	struct gk_kmsg_record r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse(bad[i], &r), -EPROTO);
}

static void test_empty_message(void **state)
{
	struct gk_kmsg_record r;

	assert_int_equal(parse("6,1,2,-;\n", &r), 0);
	assert_int_equal(r.msg_len, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record),
		cmocka_unit_test(test_user_facility_and_extra_fields),
		cmocka_unit_test(test_no_flags),
		cmocka_unit_test(test_dictionary),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_empty_message),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
