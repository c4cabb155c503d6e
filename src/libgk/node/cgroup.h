/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What a process belongs to, from /proc/<pid>/cgroup: its cgroup, systemd unit and container. */
#pragma once

/* Length of the short container id that docker, podman and crictl print. */
#define CGROUP_SHORT_ID_LEN 12

struct cgroup_container {
	/* static string: "docker", "containerd", "cri-o", "podman" or "kubernetes" */
	const char *runtime;
	/* full id (64 hex digits), malloc()ed; the caller frees */
	char *id;
};

/*
 * Picks the cgroup path that says what owns the process from the text of /proc/<pid>/cgroup:
 * the cgroup v2 line ("0::/system.slice/x.service") when it is not "/", else the v1
 * "name=systemd" line, else the first v1 line whose path is not "/".
 * Returns 0 and a malloc()ed path, or -ENOENT when no line names a cgroup, -ENOMEM.
 */
int cgroup_pick_path(const char *content, char **ret);

/*
 * The systemd unit: the last component of @path that ends in ".service" or ".scope".
 * Returns 0 and a malloc()ed name, -ENOENT when there is none, -ENOMEM.
 */
int cgroup_unit(const char *path, char **ret);

/*
 * The container: docker-<id>.scope, cri-containerd-<id>.scope, crio-<id>.scope,
 * libpod-<id>.scope (systemd cgroup driver), /docker/<id> and /kubepods/.../<id> (cgroupfs
 * driver), where <id> is 64 lower-case hex digits. The innermost match wins.
 * Returns 0 and fills @ret (the caller frees ret->id), -ENOENT when @path is in no container,
 * -ENOMEM.
 */
int cgroup_container(const char *path, struct cgroup_container *ret);
