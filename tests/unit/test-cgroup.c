// SPDX-License-Identifier: GPL-2.0-or-later
/* /proc/<pid>/cgroup: choosing the line, the systemd unit, and every container form we name. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/cgroup.h"

#define ID  "3f2a1b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708"
#define ID2 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void assert_path(const char *content, const char *want)
{
	char *p = NULL;

	if (!want) {
		assert_int_equal(cgroup_pick_path(content, &p), -ENOENT);
		assert_null(p);
		return;
	}
	assert_int_equal(cgroup_pick_path(content, &p), 0);
	assert_string_equal(p, want);
	free(p);
}

static void test_pick_path(void **state)
{
	/* cgroup v2 */
	assert_path("0::/system.slice/nvidia-dcgm.service\n", "/system.slice/nvidia-dcgm.service");
	assert_path("0::/system.slice/nvidia-dcgm.service", "/system.slice/nvidia-dcgm.service");
	/* v1: name=systemd beats the controllers; hybrid: an empty v2 line loses */
	assert_path("12:pids:/user.slice/user-1000.slice\n"
		    "11:cpu,cpuacct:/user.slice\n"
		    "1:name=systemd:/user.slice/user-1000.slice/session-3.scope\n"
		    "0::/\n",
		    "/user.slice/user-1000.slice/session-3.scope");
	/* v1 without name=systemd: the first line that is not the root */
	assert_path("5:memory:/\n4:devices:/docker/" ID "\n3:cpu:/docker/" ID2 "\n", "/docker/" ID);
	/* v2 wins over v1 */
	assert_path("1:name=systemd:/system.slice/a.service\n0::/system.slice/b.service\n",
		    "/system.slice/b.service");
	/* only roots, empty, or garbage */
	assert_path("0::/\n", NULL);
	assert_path("", NULL);
	assert_path("garbage\n1:x\n2:y:z\n", NULL);
}

static void assert_unit(const char *path, const char *want)
{
	char *u = NULL;

	if (!want) {
		assert_int_equal(cgroup_unit(path, &u), -ENOENT);
		assert_null(u);
		return;
	}
	assert_int_equal(cgroup_unit(path, &u), 0);
	assert_string_equal(u, want);
	free(u);
}

static void test_unit(void **state)
{
	assert_unit("/system.slice/nvidia-dcgm.service", "nvidia-dcgm.service");
	assert_unit("/system.slice/nvidia-persistenced.service/", "nvidia-persistenced.service");
	assert_unit("/user.slice/user-1000.slice/user@1000.service/app.slice/jupyter.service",
		    "jupyter.service");
	assert_unit("/user.slice/user-1000.slice/session-3.scope", "session-3.scope");
	assert_unit("/init.scope", "init.scope");
	assert_unit("/system.slice/docker-" ID ".scope", "docker-" ID ".scope");
	/* the last one wins, even when a .scope sits inside a .service */
	assert_unit("/system.slice/foo.service/payload.scope", "payload.scope");
	assert_unit("/", NULL);
	assert_unit("/user.slice/user-1000.slice", NULL);
	assert_unit("/docker/" ID, NULL);
	assert_unit("/system.slice/.service", NULL);
	assert_unit("/x.services", NULL);
}

static void assert_container(const char *path, const char *runtime, const char *id)
{
	struct cgroup_container c = {.runtime = "untouched"};

	if (!runtime) {
		assert_int_equal(cgroup_container(path, &c), -ENOENT);
		assert_string_equal(c.runtime, "untouched");
		return;
	}
	assert_int_equal(cgroup_container(path, &c), 0);
	assert_string_equal(c.runtime, runtime);
	assert_string_equal(c.id, id);
	free(c.id);
}

static void test_container_systemd_driver(void **state)
{
	assert_container("/system.slice/docker-" ID ".scope", "docker", ID);
	assert_container("/kubepods.slice/kubepods-besteffort.slice/"
			 "kubepods-besteffort-pod1c1a7c6e_3c1f_4a1b_9b8e_0f4f1e2d3c4b.slice/"
			 "cri-containerd-" ID ".scope",
			 "containerd", ID);
	assert_container("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podx.slice/"
			 "crio-" ID ".scope",
			 "cri-o", ID);
	assert_container("/machine.slice/libpod-" ID ".scope", "podman", ID);
	/* a process inside the container's own sub-cgroup */
	assert_container("/machine.slice/libpod-" ID ".scope/container", "podman", ID);
	/* the runtimes' monitor processes are not containers */
	assert_container("/machine.slice/libpod-conmon-" ID ".scope", NULL, NULL);
	assert_container("/system.slice/crio-conmon-" ID ".scope", NULL, NULL);
}

static void test_container_cgroupfs_driver(void **state)
{
	assert_container("/docker/" ID, "docker", ID);
	assert_container("/kubepods/besteffort/pod1c1a7c6e-3c1f-4a1b-9b8e-0f4f1e2d3c4b/" ID,
			 "kubernetes", ID);
	assert_container("/kubepods/pod1c1a7c6e-3c1f-4a1b-9b8e-0f4f1e2d3c4b/" ID2, "kubernetes",
			 ID2);
	/* nested: the innermost container is the one to stop */
	assert_container("/docker/" ID "/docker/" ID2, "docker", ID2);
}

static void test_container_none(void **state)
{
	assert_container("/system.slice/nvidia-dcgm.service", NULL, NULL);
	assert_container("/", NULL, NULL);
	assert_container("", NULL, NULL);
	/* ids must be 64 lower-case hex digits */
	assert_container("/docker/3f2a1b4c5d6e", NULL, NULL);
	assert_container("/system.slice/docker-" ID "0.scope", NULL, NULL);
	assert_container(
		"/system.slice/docker-3F2A1B4C5D6E7F8091A2B3C4D5E6F708192A3B4C5D6E7F8091A2B3C"
		"4D5E6F708.scope",
		NULL, NULL);
	assert_container("/system.slice/docker-" ID ".service", NULL, NULL);
	/* a bare id only counts under /docker or /kubepods */
	assert_container("/" ID, NULL, NULL);
	assert_container("/system.slice/" ID, NULL, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pick_path),
		cmocka_unit_test(test_unit),
		cmocka_unit_test(test_container_systemd_driver),
		cmocka_unit_test(test_container_cgroupfs_driver),
		cmocka_unit_test(test_container_none),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
