// SPDX-License-Identifier: GPL-2.0-or-later
/* PCI class classification, link-speed parsing, and reading a sysfs function directory. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "node/pcidev.h"

static void test_class(void **state)
{
	assert_int_equal(pci_class_kind(0x030000), GK_PCI_GPU);
	assert_int_equal(pci_class_kind(0x030200), GK_PCI_GPU);
	assert_int_equal(pci_class_kind(0x068000), GK_PCI_NVSWITCH);
	assert_int_equal(pci_class_kind(0x040300), GK_PCI_OTHER); /* HDMI audio function */
	assert_int_equal(pci_class_kind(0x0c0330), GK_PCI_OTHER); /* USB-C controller */
}

static void test_speed(void **state)
{
	double v = -1;

	assert_int_equal(pcilink_parse_speed("16.0 GT/s PCIe", &v), 0);
	assert_true(v == 16.0);
	assert_int_equal(pcilink_parse_speed("2.5 GT/s PCIe", &v), 0);
	assert_true(v == 2.5);
	assert_int_equal(pcilink_parse_speed("8 GT/s", &v), 0); /* kernels before 4.17 */
	assert_true(v == 8.0);
	assert_int_equal(pcilink_parse_speed("Unknown", &v), 0);
	assert_true(v == 0);
	v = 3;
	assert_int_equal(pcilink_parse_speed("fast", &v), -EINVAL);
	assert_int_equal(pcilink_parse_speed("16.0 GB/s", &v), -EINVAL);
	assert_int_equal(pcilink_parse_speed("-16.0 GT/s", &v), -EINVAL);
	assert_int_equal(pcilink_parse_speed("", &v), -EINVAL);
	assert_true(v == 3);
}

static void put(int dfd, const char *name, const char *value)
{
	int fd = openat(dfd, name, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, value, strlen(value)), (ssize_t)strlen(value));
	close(fd);
}

static void test_read(void **state)
{
	char dir[] = "/tmp/gk-pcidev-XXXXXX", cmd[128];
	const char *attr = NULL;
	struct gk_pcidev d;
	int rootfd, dfd;

	assert_non_null(mkdtemp(dir));
	rootfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	snprintf(cmd, sizeof(cmd), "mkdir -p %s/sys/bus/pci/devices/0000:3b:00.0", dir);
	assert_int_equal(system(cmd), 0);
	dfd = openat(rootfd, "sys/bus/pci/devices/0000:3b:00.0", O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	put(dfd, "vendor", "0x10de\n");
	put(dfd, "device", "0x2330\n");

	/* class missing: the function cannot be classified, and the error names the attribute */
	assert_int_equal(pcidev_read(rootfd, "0000:3b:00.0", &d, &attr), -EBADMSG);
	assert_string_equal(attr, "class");
	put(dfd, "class", "0x030200\n");
	put(dfd, "numa_node", "-1\n");
	put(dfd, "current_link_width", "8\n");
	put(dfd, "max_link_width", "16\n");
	put(dfd, "current_link_speed", "Unknown\n");
	assert_int_equal(pcidev_read(rootfd, "0000:3b:00.0", &d, &attr), 0);
	assert_int_equal(d.kind, GK_PCI_GPU);
	assert_int_equal(d.device, 0x2330);
	assert_int_equal(d.numa_node, -1);
	assert_int_equal(d.link.cur_width, 8);
	assert_int_equal(d.link.max_width, 16);
	assert_string_equal(d.link.cur_speed, "Unknown");
	assert_null(d.link.max_speed); /* absent */
	assert_null(d.driver);
	pcidev_done(&d);

	/* a width of 255 (link down or unreadable) or one that is no number is unknown, not an
	 * error: the function is still read */
	put(dfd, "current_link_width", "255\n");
	put(dfd, "max_link_width", "x16\n");
	assert_int_equal(pcidev_read(rootfd, "0000:3b:00.0", &d, &attr), 0);
	assert_int_equal(d.link.cur_width, -1);
	assert_int_equal(d.link.max_width, -1);
	pcidev_done(&d);
	assert_int_equal(unlinkat(dfd, "current_link_width", 0), 0);
	put(dfd, "max_link_width", "0\n");
	assert_int_equal(pcidev_read(rootfd, "0000:3b:00.0", &d, &attr), 0);
	assert_int_equal(d.link.cur_width, -1); /* absent: conventional PCI */
	assert_int_equal(d.link.max_width, -1);
	pcidev_done(&d);

	put(dfd, "vendor", "nvidia\n");
	assert_int_equal(pcidev_read(rootfd, "0000:3b:00.0", &d, &attr), -EBADMSG);
	assert_string_equal(attr, "vendor");
	assert_int_equal(pcidev_read(rootfd, "0000:3c:00.0", &d, &attr), -ENOENT);

	close(dfd);
	close(rootfd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_class),
		cmocka_unit_test(test_speed),
		cmocka_unit_test(test_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
