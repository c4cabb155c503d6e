// SPDX-License-Identifier: GPL-2.0-or-later
/* /proc/devices lookup and device-node checks on a scratch directory. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "node/devnodes.h"

static const char proc_devices[] = "Character devices:\n"
				   "  1 mem\n"
				   "195 nvidia-frontend\n"
				   "246 nvidia-uvm\n"
				   "510 nvidia-nvlink\n"
				   "\n"
				   "Block devices:\n"
				   "246 nvidia-uvm-block-impostor\n"
				   "  8 sd\n";

static void test_procdevices(void **state)
{
	unsigned major = 0;

	assert_int_equal(procdevices_char_major(proc_devices, "nvidia-uvm", &major), 0);
	assert_int_equal(major, 246);
	assert_int_equal(procdevices_char_major(proc_devices, "nvidia-frontend", &major), 0);
	assert_int_equal(major, 195);
	/* block section entries are not character devices */
	assert_int_equal(procdevices_char_major(proc_devices, "sd", &major), -ENOENT);
	assert_int_equal(procdevices_char_major(proc_devices, "nvidia-uvm-block-impostor", &major),
			 -ENOENT);
	assert_int_equal(procdevices_char_major(proc_devices, "nvidia-caps", &major), -ENOENT);
	assert_int_equal(procdevices_char_major("Character devices:\nxyz nvidia-uvm\n",
						"nvidia-uvm", &major),
			 -EBADMSG);
	assert_int_equal(procdevices_char_major("", "nvidia-uvm", &major), -ENOENT);
}

static void test_check(void **state)
{
	char dir[] = "/tmp/gk-devnodes-XXXXXX";
	struct gk_devnode_list l = {};
	int rootfd, fd;

	assert_non_null(mkdtemp(dir));
	rootfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(rootfd >= 0);
	assert_int_equal(mkdirat(rootfd, "dev", 0755), 0);
	fd = openat(rootfd, "dev/nvidia0", O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	close(fd);

	assert_int_equal(devnode_list_add(&l, "/dev/nvidia0", 195, 0), 0);
	assert_int_equal(devnode_list_add(&l, "/dev/nvidia1", 195, 1), 0);
	assert_int_equal(devnode_list_add(&l, "/dev/nvidiactl", 195, 255), 0);
	devnode_list_check(rootfd, &l);
	assert_int_equal(l.nodes[0].status, GK_NODE_WRONG_TYPE);
	assert_int_equal(l.nodes[1].status, GK_NODE_MISSING);
	assert_string_equal(devnode_status_to_string(l.nodes[1].status), "missing");

	/* character devices need CAP_MKNOD; as root the numbers are checked too */
	if (mknodat(rootfd, "dev/nvidiactl", S_IFCHR | 0666, makedev(195, 254)) == 0) {
		devnode_list_check(rootfd, &l);
		assert_int_equal(l.nodes[2].status, GK_NODE_WRONG_NUMBERS);
		assert_int_equal(l.nodes[2].found_minor, 254);
		unlinkat(rootfd, "dev/nvidiactl", 0);
		assert_int_equal(
			mknodat(rootfd, "dev/nvidiactl", S_IFCHR | 0666, makedev(195, 255)), 0);
		devnode_list_check(rootfd, &l);
		assert_int_equal(l.nodes[2].status, GK_NODE_OK);
		unlinkat(rootfd, "dev/nvidiactl", 0);
	} else
		print_message("not root: character-device number checks not run here\n");

	devnode_list_done(&l);
	assert_int_equal(l.n, 0);
	unlinkat(rootfd, "dev/nvidia0", 0);
	unlinkat(rootfd, "dev", AT_REMOVEDIR);
	close(rootfd);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_procdevices),
		cmocka_unit_test(test_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
