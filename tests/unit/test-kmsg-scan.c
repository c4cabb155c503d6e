// SPDX-License-Identifier: GPL-2.0-or-later
/* Kernel log records and Xid lines: formats from the kernel's dev-kmsg ABI and NVIDIA's driver. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ladder/kmsg-scan.h"

static void test_record(void **state)
{
	const char *l = "6,159,423091,-;ACPI: x";
	struct gk_kmsg_record r;

	assert_int_equal(kmsg_parse_record(l, strlen(l), &r), 0);
	assert_int_equal(r.seq, 159);
	assert_int_equal(r.ts_usec, 423091);
	assert_int_equal(r.msg_len, 7);
	assert_memory_equal(r.msg, "ACPI: x", 7);
	l = "4,2,3,c,caller=T1;text";
	assert_int_equal(kmsg_parse_record(l, strlen(l), &r), 0);
	assert_int_equal(r.seq, 2);
	/* the ladder's parser reads the flags field when there is one (tests/unit/test-kmsg.c) */
	l = "6,1,2;x";
	assert_int_equal(kmsg_parse_record(l, strlen(l), &r), 0);
	assert_int_equal(r.flag, '-');
	for (const char *const *bad =
		     (const char *const[]){" SUBSYSTEM=pci", "6,159;x", "6,a,1,-;x", "",
					   "99999999999999999999,1,2,-;x", NULL};
	     *bad; bad++)
		assert_int_equal(kmsg_parse_record(*bad, strlen(*bad), &r), -EPROTO);
}

static bool match(const char *msg, struct gk_xid *x)
{
	return xid_match(msg, strlen(msg), x);
}

static void test_xid(void **state)
{
	struct gk_xid x;

	assert_true(match("NVRM: Xid (PCI:0000:05:00): 79, pid='<unknown>', name=<unknown>, GPU "
			  "has fallen off the bus.",
			  &x));
	assert_int_equal(x.xid, 79);
	assert_string_equal(x.pci, "0000:05:00");
	assert_true(match("NVRM: Xid (0000:03:00): 14, Channel 00000001", &x));
	assert_int_equal(x.xid, 14);
	assert_string_equal(x.pci, "0000:03:00");
	assert_false(match("NVRM: GPU at PCI:0000:03:00: GPU-455d8f70", &x));
	assert_false(match("NVRM: Xid (PCI:0000:05:00) 79", &x));
	assert_false(match("NVRM: Xid (PCI:zz): 79,", &x));
	assert_false(match("NVRM: Xid (): 79,", &x));
	assert_false(match("NVRM: Xid (PCI:0000:05:00): ,", &x));
	assert_false(match("NVRM: Xid (PCI:0000:05:00", &x));
}

struct seen {
	unsigned n;
	unsigned xids[8];
	uint64_t seqs[8];
};

static int collect(void *userdata, const struct gk_kmsg_record *rec, const struct gk_xid *x)
{
	struct seen *s = userdata;

	if (s->n < 8) {
		s->xids[s->n] = x->xid;
		s->seqs[s->n] = rec->seq;
	}
	s->n++;
	return 0;
}

static void write_log(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_scan(void **state)
{
	char path[] = "/tmp/test-kmsg-XXXXXX";
	int fd = mkstemp(path);
	struct seen s = {};
	uint64_t last;
	bool restarted;

	assert_true(fd >= 0);
	close(fd);
	write_log(path,
		  "6,1,10,-;boot\n"
		  " SUBSYSTEM=pci\n"
		  "4,2,20,-;NVRM: Xid (PCI:0000:07:00): 79, pid=1, GPU has fallen off the bus.\n"
		  "garbage line\n"
		  "4,3,30,-;NVRM: Xid (PCI:0000:08:00): 13, Graphics Exception\n");
	assert_int_equal(kmsg_scan_xids(path, 0, collect, &s, &last, &restarted), 2);
	assert_int_equal(last, 3);
	assert_false(restarted);
	assert_int_equal(s.xids[0], 79);
	assert_int_equal(s.xids[1], 13);
	/* since the last check: only later records */
	s = (struct seen){};
	assert_int_equal(kmsg_scan_xids(path, 2, collect, &s, &last, &restarted), 1);
	assert_int_equal(s.seqs[0], 3);
	s = (struct seen){};
	assert_int_equal(kmsg_scan_xids(path, 3, collect, &s, &last, &restarted), 0);
	assert_int_equal(last, 3);
	/* a log whose sequence is below the one remembered restarted: everything counts */
	s = (struct seen){};
	assert_int_equal(kmsg_scan_xids(path, 500, collect, &s, &last, &restarted), 2);
	assert_true(restarted);
	assert_int_equal(last, 3);
	unlink(path);
	assert_int_equal(kmsg_scan_xids(path, 0, collect, &s, &last, &restarted), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record),
		cmocka_unit_test(test_xid),
		cmocka_unit_test(test_scan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
