// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The holders scan on this very process (an fd on one fixture node, a mapping of another whose fd
 * is closed), and the "what to stop" list built from a holder list.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "node/holders-stop.h"
#include "node/holders.h"
#include "node/nodeset.h"
#include "string-util.h"

#define ID "3f2a1b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708"

struct fixture {
	char dir[64];
	int rootfd;
};

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	if (f->rootfd >= 0)
		close(f->rootfd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	free(f);
	return system(cmd) == 0 ? 0 : -1;
}

static int make_root(struct fixture *f)
{
	static const char *const names[] = {"dev/nvidia0", "dev/nvidia1", "dev/nvidiactl"};

	f->rootfd = open(f->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (f->rootfd < 0 || mkdirat(f->rootfd, "dev", 0755) < 0 ||
	    symlinkat("/proc", f->rootfd, "proc") < 0)
		return -1;
	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		int fd = openat(f->rootfd, names[i], O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

		if (fd < 0)
			return -1;
		close(fd);
	}
	return 0;
}

/* cmocka skips the teardown when the setup fails: clean up here then */
static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->rootfd = -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/gk-holders.XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	*state = f;
	if (make_root(f) < 0) {
		teardown(state);
		return -1;
	}
	return 0;
}

static const struct gk_holder *find(const struct gk_holders *h, pid_t pid)
{
	for (size_t i = 0; i < h->n; i++)
		if (h->holders[i].pid == pid)
			return &h->holders[i];
	return NULL;
}

static void test_scan_self(void **state)
{
	struct fixture *f = *state;
	struct gk_nodeset *nodes = NULL;
	struct gk_holders *h = NULL;
	const struct gk_holder *me;
	int fd0, fdctl;
	void *map;

	assert_int_equal(nodeset_scan(f->rootfd, &nodes), 0);
	assert_int_equal(nodes->n, 3);
	fd0 = openat(f->rootfd, "dev/nvidia0", O_RDONLY | O_CLOEXEC);
	fdctl = openat(f->rootfd, "dev/nvidiactl", O_RDONLY | O_CLOEXEC);
	assert_true(fd0 >= 0 && fdctl >= 0);
	/* mapping past the end of an empty file is allowed; it is never touched */
	map = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fdctl, 0);
	assert_true(map != MAP_FAILED);
	close(fdctl);

	assert_int_equal(holders_scan(f->rootfd, nodes, 0, &h), 0);
	me = find(h, getpid());
	assert_non_null(me);
	assert_int_equal(me->n_devices, 2);
	assert_string_equal(me->devices[0].path, "/dev/nvidia0");
	assert_int_equal(me->devices[0].how, GK_HELD_FD);
	assert_string_equal(me->devices[1].path, "/dev/nvidiactl");
	assert_int_equal(me->devices[1].how, GK_HELD_MMAP);
	assert_string_equal(me->comm, "test-holders");
	assert_non_null(strstr(me->cmdline, "test-holders"));
	assert_int_equal(me->uid, geteuid());
	assert_int_equal(me->state, 'R');
	assert_false(me->unkillable);
	for (size_t i = 1; i < h->n; i++)
		assert_true(h->holders[i - 1].pid < h->holders[i].pid);
	h = holders_free(h);

	/* the caller leaves itself out */
	assert_int_equal(holders_scan(f->rootfd, nodes, getpid(), &h), 0);
	assert_null(find(h, getpid()));
	h = holders_free(h);

	munmap(map, 4096);
	close(fd0);
	assert_int_equal(holders_scan(f->rootfd, nodes, 0, &h), 0);
	assert_null(find(h, getpid()));
	holders_free(h);
	nodeset_free(nodes);
}

static void test_scan_no_proc(void **state)
{
	struct fixture *f = *state;
	struct gk_nodeset *nodes = NULL;
	struct gk_holders *h = (struct gk_holders *)(uintptr_t)1;
	int devfd;

	devfd = openat(f->rootfd, "dev", O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(devfd >= 0);
	assert_int_equal(nodeset_scan(f->rootfd, &nodes), 0);
	/* dev/ as the root: it has no proc/ */
	assert_int_equal(holders_scan(devfd, nodes, 0, &h), -ENOENT);
	assert_ptr_equal(h, (struct gk_holders *)(uintptr_t)1);
	nodeset_free(nodes);
	close(devfd);
}

static struct gk_holder holder(pid_t pid, const char *comm, const char *cgroup, const char *unit)
{
	return (struct gk_holder){
		.pid = pid,
		.comm = (char *)comm,
		.cgroup = (char *)cgroup,
		.unit = (char *)unit,
		.state = 'S',
	};
}

static void test_stop_list(void **state)
{
	struct gk_holder hs[7];
	struct gk_holders h = {.holders = hs, .n = ELEMENTSOF(hs)};
	char **l = NULL;

	hs[0] = holder(100, "nv-hostengine", "/system.slice/nvidia-dcgm.service",
		       "nvidia-dcgm.service");
	hs[1] = holder(101, "nv-hostengine", "/system.slice/nvidia-dcgm.service",
		       "nvidia-dcgm.service");
	hs[2] = holder(200, "python3", "/system.slice/docker-" ID ".scope", "docker-" ID ".scope");
	hs[2].container_runtime = "docker";
	hs[2].container_id = (char *)ID;
	hs[3] = holder(300, "python3", "/user.slice/user-1000.slice/session-3.scope",
		       "session-3.scope");
	hs[3].state = 'D';
	hs[3].unkillable = true;
	hs[4] = holder(400, "jupyter",
		       "/user.slice/user-1000.slice/user@1000.service/app.slice/"
		       "jupyter.service",
		       "jupyter.service");
	hs[5] = holder(500, "pause", "/kubepods/besteffort/podx/" ID, NULL);
	hs[5].container_runtime = "kubernetes";
	hs[5].container_id = (char *)ID;
	hs[6] = holder(600, "a b", NULL, NULL);

	assert_int_equal(holders_stop_list(&h, &l), 0);
	assert_int_equal(strv_length(l), 6);
	assert_string_equal(l[0], "systemctl stop nvidia-dcgm.service");
	assert_string_equal(l[1], "docker stop 3f2a1b4c5d6e");
	assert_string_equal(l[2], "pid 300 (python3, unkillable)");
	assert_string_equal(l[3], "pid 400 (jupyter)");
	assert_string_equal(l[4], "crictl stop 3f2a1b4c5d6e");
	assert_string_equal(l[5], "pid 600 (a b)");
	strv_free(l);

	h.n = 0;
	assert_int_equal(holders_stop_list(&h, &l), 0);
	assert_non_null(l);
	assert_null(l[0]);
	strv_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_scan_self, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_no_proc, setup, teardown),
		cmocka_unit_test(test_stop_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
