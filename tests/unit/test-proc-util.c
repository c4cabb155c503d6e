// SPDX-License-Identifier: GPL-2.0-or-later
/* /proc text parsers: stat lines with hostile comm values, maps lines, status, cmdline. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "node/proc-util.h"

static void test_stat_plain(void **state)
{
	struct proc_stat st;

	assert_int_equal(proc_stat_parse("1234 (python3) S 1 1234 1234 0 -1 4194560 100 0\n", &st),
			 0);
	assert_string_equal(st.comm, "python3");
	assert_int_equal(st.state, 'S');
	assert_int_equal(st.flags, 4194560);
	assert_false(st.flags & PROC_PF_KTHREAD);
}

static void test_stat_hostile_comm(void **state)
{
	struct proc_stat st;

	/* comm may contain spaces, ')' and '(': the fields start after the last ')' */
	assert_int_equal(proc_stat_parse("77 (a) b (c) D 1 77 77 0 -1 0 0 0", &st), 0);
	assert_string_equal(st.comm, "a) b (c");
	assert_int_equal(st.state, 'D');
	assert_int_equal(proc_stat_parse("78 (x ) R 7 1 2 3 4 0 0) Z 1 2 3 4 5 6", &st), 0);
	assert_string_equal(st.comm, "x ) R 7 1 2 3 4 0 0");
	assert_int_equal(st.state, 'Z');
	assert_int_equal(st.flags, 6);
	assert_int_equal(proc_stat_parse("79 () S 1 1 1 0 -1 0", &st), 0);
	assert_string_equal(st.comm, "");
}

static void test_stat_kthread_and_long_comm(void **state)
{
	struct proc_stat st;
	char line[256];

	assert_int_equal(proc_stat_parse("2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0", &st), 0);
	assert_true(st.flags & PROC_PF_KTHREAD);
	assert_int_equal(st.state, 'S');
	/* longer than PROC_COMM_MAX: truncated, not refused */
	snprintf(line, sizeof(line), "9 (%0100d) I 2 0 0 0 -1 69238880", 0);
	assert_int_equal(proc_stat_parse(line, &st), 0);
	assert_int_equal(strlen(st.comm), PROC_COMM_MAX - 1);
	assert_int_equal(st.state, 'I');
}

static void test_stat_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"1234",
		"1234 (x",
		"1234 x) S 1 2 3 4 5 6",
		"1234 (x)",
		"1234 (x) S",
		"1234 (x) S 1 2 3 4 5",
		"1234 (x)S 1 2 3 4 5 6",
		"1234 (x) SS 1 2 3 4 5 6",
		"1234 (x) S 1 2 3 4 5 x",
		"1234 (x) S 1 2 3 4 5 -1",
		"1234 (x) S 1 2 3 4 5 99999999999",
	};
	struct proc_stat st = {.state = '?'};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(proc_stat_parse(bad[i], &st), -EINVAL);
		assert_int_equal(st.state, '?');
	}
}

static int parse(const char *line, struct proc_maps_entry *e)
{
	return proc_maps_parse_line(line, strlen(line), e);
}

static void test_maps_device(void **state)
{
	struct proc_maps_entry e;

	assert_int_equal(parse("7f1c2a000000-7f1c2a200000 rw-s 00000000 00:05 1042"
			       "                       /dev/nvidiactl",
			       &e),
			 0);
	assert_int_equal(e.start, 0x7f1c2a000000ULL);
	assert_int_equal(e.end, 0x7f1c2a200000ULL);
	assert_int_equal(e.major, 0);
	assert_int_equal(e.minor, 5);
	assert_int_equal(e.inode, 1042);
	assert_int_equal(e.path_len, strlen("/dev/nvidiactl"));
	assert_memory_equal(e.path, "/dev/nvidiactl", e.path_len);
}

static void test_maps_forms(void **state)
{
	struct proc_maps_entry e;

	/* anonymous: no path */
	assert_int_equal(parse("7ffd1000-7ffd2000 rw-p 00000000 00:00 0 ", &e), 0);
	assert_int_equal(e.inode, 0);
	assert_null(e.path);
	assert_int_equal(parse("7ffd1000-7ffd2000 rw-p 00000000 00:00 0", &e), 0);
	assert_null(e.path);
	/* pseudo paths, paths with spaces, deleted files, large major:minor */
	assert_int_equal(parse("7ffd1000-7ffd2000 rw-p 00000000 00:00 0    [stack]", &e), 0);
	assert_memory_equal(e.path, "[stack]", e.path_len);
	assert_int_equal(parse("55d0-55d1 r--p 0001a000 fd:01 393219 /opt/my app/x (deleted)", &e),
			 0);
	assert_int_equal(e.major, 0xfd);
	assert_int_equal(e.minor, 1);
	assert_int_equal(e.path_len, strlen("/opt/my app/x (deleted)"));
	assert_int_equal(parse("ffffffffff600000-ffffffffff601000 --xp 00000000 103:fffff "
			       "18446744073709551615 /x",
			       &e),
			 0);
	assert_int_equal(e.start, 0xffffffffff600000ULL);
	assert_int_equal(e.major, 0x103);
	assert_int_equal(e.minor, 0xfffff);
	assert_true(e.inode == UINT64_MAX);
}

static void test_maps_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"7ffd1000",
		"7ffd1000-",
		"7ffd1000-7ffd2000",
		"7ffd1000-7ffd2000 rw-p",
		"7ffd1000-7ffd2000 rw-p 00000000 00:00",
		"7ffd1000-7ffd2000 rw-p 00000000 0000 1 /x",
		"7ffd1000-7ffd2000 rw-p 00000000 00:00 1x /x",
		"g-7ffd2000 rw-p 00000000 00:00 0",
		"7ffd1000-7ffd2000 rwp 00000000 00:00 0",
		"10000000000000000-1 rw-p 0 00:00 0",
		"1-2 rw-p 0 00:00 99999999999999999999 /x",
	};
	struct proc_maps_entry e = {.inode = 77};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(bad[i], &e), -EINVAL);
		assert_int_equal(e.inode, 77);
	}
	/* the length bounds the parse: the line need not be NUL-terminated */
	assert_int_equal(proc_maps_parse_line("1-2 rw-p 0 00:00 5 /dev/x\n1-2", 18, &e), 0);
	assert_int_equal(e.inode, 5);
	assert_null(e.path);
}

static void test_status_euid(void **state)
{
	uid_t uid = 42;

	assert_int_equal(proc_status_euid("Name:\tx\nUmask:\t0022\nUid:\t1000\t1001\t1000\t1000\n"
					  "Gid:\t0\t0\t0\t0\n",
					  &uid),
			 0);
	assert_int_equal(uid, 1001);
	assert_int_equal(proc_status_euid("Uid:\t0\t0\t0\t0", &uid), 0);
	assert_int_equal(uid, 0);
	uid = 42;
	assert_int_equal(proc_status_euid("Name:\tx\nGid:\t0\t0\t0\t0\n", &uid), -EINVAL);
	assert_int_equal(proc_status_euid("Uid:\t1000\n", &uid), -EINVAL);
	assert_int_equal(proc_status_euid("Uid:\t1000\tx\t0\t0\n", &uid), -EINVAL);
	assert_int_equal(uid, 42);
}

static void test_cmdline(void **state)
{
	char a[] = "python3\0train.py\0--lr\0"
		   "0.1\0\0";
	char b[] = "x\001y";
	char c[1] = "";

	proc_cmdline_to_string(a, sizeof(a) - 1);
	assert_string_equal(a, "python3 train.py --lr 0.1");
	proc_cmdline_to_string(b, sizeof(b) - 1);
	assert_string_equal(b, "x?y");
	proc_cmdline_to_string(c, 0);
	assert_string_equal(c, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stat_plain),
		cmocka_unit_test(test_stat_hostile_comm),
		cmocka_unit_test(test_stat_kthread_and_long_comm),
		cmocka_unit_test(test_stat_malformed),
		cmocka_unit_test(test_maps_device),
		cmocka_unit_test(test_maps_forms),
		cmocka_unit_test(test_maps_malformed),
		cmocka_unit_test(test_status_euid),
		cmocka_unit_test(test_cmdline),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
