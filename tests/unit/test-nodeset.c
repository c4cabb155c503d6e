// SPDX-License-Identifier: GPL-2.0-or-later
/* The node matcher: character devices by rdev, fixture files by (dev, ino), and the /dev scan. */
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
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "node/nodeset.h"

#define DEVTMPFS makedev(0, 5)

static struct stat chr(dev_t rdev, dev_t dev, ino_t ino)
{
	return (struct stat){
		.st_mode = S_IFCHR | 0666, .st_rdev = rdev, .st_dev = dev, .st_ino = ino};
}

static struct stat reg(dev_t dev, ino_t ino)
{
	return (struct stat){.st_mode = S_IFREG | 0644, .st_dev = dev, .st_ino = ino};
}

static struct gk_nodeset *build(void)
{
	struct gk_nodeset *set = calloc(1, sizeof(*set));
	struct stat st;

	assert_non_null(set);
	/* added out of order: finish() sorts by path */
	st = chr(makedev(195, 255), DEVTMPFS, 12);
	assert_int_equal(nodeset_add(set, "/dev/nvidiactl", &st), 0);
	st = chr(makedev(195, 1), DEVTMPFS, 11);
	assert_int_equal(nodeset_add(set, "/dev/nvidia1", &st), 0);
	st = chr(makedev(195, 0), DEVTMPFS, 10);
	assert_int_equal(nodeset_add(set, "/dev/nvidia0", &st), 0);
	st = chr(makedev(237, 0), DEVTMPFS, 13);
	assert_int_equal(nodeset_add(set, "/dev/nvidia-uvm", &st), 0);
	/* a fixture node: a regular file on another filesystem */
	st = reg(makedev(254, 1), 4242);
	assert_int_equal(nodeset_add(set, "/dev/nvidia-caps/nvidia-cap1", &st), 0);
	/* directories, links and sockets are not nodes */
	st = (struct stat){.st_mode = S_IFDIR | 0755};
	assert_int_equal(nodeset_add(set, "/dev/nvidia-caps", &st), 1);
	assert_int_equal(nodeset_finish(set), 0);
	return set;
}

static int index_of(const struct gk_nodeset *set, const char *path)
{
	for (size_t i = 0; i < set->n; i++)
		if (strcmp(set->nodes[i].path, path) == 0)
			return (int)i;
	return -1;
}

static void test_sorted(void **state)
{
	struct gk_nodeset *set = build();

	assert_int_equal(set->n, 5);
	for (size_t i = 1; i < set->n; i++)
		assert_true(strcmp(set->nodes[i - 1].path, set->nodes[i].path) < 0);
	assert_int_equal(set->n_chr, 4);
	nodeset_free(set);
}

static void test_match_rdev(void **state)
{
	struct gk_nodeset *set = build();
	struct stat st;

	/* an fd on the host's node */
	st = chr(makedev(195, 0), DEVTMPFS, 10);
	assert_int_equal(nodeset_match_stat(set, &st), index_of(set, "/dev/nvidia0"));
	/* a container's own node for the same device: other fs, other inode, same rdev */
	st = chr(makedev(195, 255), makedev(0, 99), 7);
	assert_int_equal(nodeset_match_stat(set, &st), index_of(set, "/dev/nvidiactl"));
	st = chr(makedev(237, 0), makedev(0, 99), 8);
	assert_int_equal(nodeset_match_stat(set, &st), index_of(set, "/dev/nvidia-uvm"));
	/* a device we do not track, and one with a tracked node's dev+ino but another rdev */
	st = chr(makedev(195, 2), DEVTMPFS, 99);
	assert_int_equal(nodeset_match_stat(set, &st), -ENOENT);
	st = chr(makedev(1, 3), DEVTMPFS, 10);
	assert_int_equal(nodeset_match_stat(set, &st), -ENOENT);
	nodeset_free(set);
}

static void test_match_inode(void **state)
{
	struct gk_nodeset *set = build();
	struct stat st;

	/* a fixture file open by fd: (dev, ino) */
	st = reg(makedev(254, 1), 4242);
	assert_int_equal(nodeset_match_stat(set, &st),
			 index_of(set, "/dev/nvidia-caps/nvidia-cap1"));
	st = reg(makedev(254, 1), 4243);
	assert_int_equal(nodeset_match_stat(set, &st), -ENOENT);
	st = reg(makedev(254, 2), 4242);
	assert_int_equal(nodeset_match_stat(set, &st), -ENOENT);
	/* only files and character devices are held the way we look for */
	st = (struct stat){.st_mode = S_IFIFO, .st_dev = makedev(254, 1), .st_ino = 4242};
	assert_int_equal(nodeset_match_stat(set, &st), -ENOENT);

	/* maps lines give the node's own (dev, ino), for character devices and files alike */
	assert_int_equal(nodeset_match_inode(set, DEVTMPFS, 12), index_of(set, "/dev/nvidiactl"));
	assert_int_equal(nodeset_match_inode(set, makedev(254, 1), 4242),
			 index_of(set, "/dev/nvidia-caps/nvidia-cap1"));
	assert_int_equal(nodeset_match_inode(set, DEVTMPFS, 4242), -ENOENT);
	assert_true(nodeset_has_fs(set, DEVTMPFS));
	assert_true(nodeset_has_fs(set, makedev(254, 1)));
	assert_false(nodeset_has_fs(set, makedev(8, 1)));
	nodeset_free(set);
}

static void test_duplicates(void **state)
{
	struct gk_nodeset *set = calloc(1, sizeof(*set));
	struct stat st = chr(makedev(195, 0), DEVTMPFS, 10);

	assert_non_null(set);
	assert_int_equal(nodeset_add(set, "/dev/nvidia0", &st), 0);
	st.st_ino = 30; /* a second node for the same device keeps the first path in sorted order */
	assert_int_equal(nodeset_add(set, "/dev/nvidia-gpu0", &st), 0);
	assert_int_equal(nodeset_finish(set), 0);
	assert_int_equal(set->n, 1);
	assert_string_equal(set->nodes[0].path, "/dev/nvidia-gpu0");
	nodeset_free(set);

	set = calloc(1, sizeof(*set));
	assert_non_null(set);
	assert_int_equal(nodeset_finish(set), 0);
	st = chr(makedev(195, 0), DEVTMPFS, 10);
	assert_int_equal(nodeset_match_stat(set, &st), -ENOENT);
	assert_false(nodeset_has_fs(set, DEVTMPFS));
	nodeset_free(set);
}

static void touch(int dirfd, const char *path)
{
	int fd = openat(dirfd, path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	close(fd);
}

static void test_scan(void **state)
{
	char dir[] = "/tmp/gk-nodeset.XXXXXX";
	struct gk_nodeset *set = NULL;
	char cmd[64];
	int rootfd;

	assert_non_null(mkdtemp(dir));
	rootfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(rootfd >= 0);
	/* no dev/ at all: an empty set, not an error */
	assert_int_equal(nodeset_scan(rootfd, &set), 0);
	assert_int_equal(set->n, 0);
	set = nodeset_free(set);

	assert_int_equal(mkdirat(rootfd, "dev", 0755), 0);
	assert_int_equal(mkdirat(rootfd, "dev/nvidia-caps", 0755), 0);
	assert_int_equal(mkdirat(rootfd, "dev/nvidia-caps-imex-channels", 0755), 0);
	assert_int_equal(mkdirat(rootfd, "dev/other", 0755), 0);
	touch(rootfd, "dev/nvidia0");
	touch(rootfd, "dev/nvidiactl");
	touch(rootfd, "dev/nvidia-uvm");
	touch(rootfd, "dev/nvidia-caps/nvidia-cap1");
	touch(rootfd, "dev/nvidia-caps-imex-channels/channel0");
	touch(rootfd, "dev/other/nvidia9");
	touch(rootfd, "dev/null-ish");
	assert_int_equal(symlinkat("nvidia0", rootfd, "dev/nvidia-alias"), 0);
	assert_int_equal(symlinkat("missing", rootfd, "dev/nvidia-dangling"), 0);

	assert_int_equal(nodeset_scan(rootfd, &set), 0);
	/* symlinks are not nodes (the node they point to is found by its own name) */
	assert_int_equal(set->n, 5);
	assert_string_equal(set->nodes[0].path, "/dev/nvidia-caps-imex-channels/channel0");
	assert_string_equal(set->nodes[1].path, "/dev/nvidia-caps/nvidia-cap1");
	assert_string_equal(set->nodes[2].path, "/dev/nvidia-uvm");
	assert_string_equal(set->nodes[3].path, "/dev/nvidia0");
	assert_string_equal(set->nodes[4].path, "/dev/nvidiactl");
	assert_false(set->nodes[0].is_chr);
	nodeset_free(set);
	close(rootfd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sorted),	    cmocka_unit_test(test_match_rdev),
		cmocka_unit_test(test_match_inode), cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_scan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
