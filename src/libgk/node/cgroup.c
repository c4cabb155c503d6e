// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * /proc/<pid>/cgroup parsing. The answer to "the driver is in use" must name something an operator
 * can stop: a systemd service, a container, or else a pid.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "node/cgroup.h"
#include "string-util.h"

#define CONTAINER_ID_LEN 64

/* One line "hierarchy:controllers:path" of @len bytes; sets *@ret_path to the path part. */
static int split_line(const char *line, size_t len, const char **ret_ctrl, size_t *ret_ctrl_len,
		      const char **ret_path, size_t *ret_path_len)
{
	const char *c1, *c2, *end = line + len;

	c1 = memchr(line, ':', len);
	if (!c1)
		return -EINVAL;
	c2 = memchr(c1 + 1, ':', (size_t)(end - c1 - 1));
	if (!c2 || c2 + 1 >= end || c2[1] != '/')
		return -EINVAL;
	*ret_ctrl = c1 + 1;
	*ret_ctrl_len = (size_t)(c2 - c1 - 1);
	*ret_path = c2 + 1;
	*ret_path_len = (size_t)(end - c2 - 1);
	return 0;
}

/* Rank of a line: 3 for a v2 path, 2 for name=systemd, 1 for other v1 lines; 0 for "/". */
static int line_rank(const char *line, const char *ctrl, size_t ctrl_len, size_t path_len)
{
	if (path_len == 1)
		return 0;
	if (line[0] == '0' && line[1] == ':' && ctrl_len == 0)
		return 3;
	if (ctrl_len == strlen("name=systemd") && memcmp(ctrl, "name=systemd", ctrl_len) == 0)
		return 2;
	return 1;
}

int cgroup_pick_path(const char *content, char **ret)
{
	const char *best = NULL;
	size_t best_len = 0;
	int best_rank = 0;
	char *s;

	for (const char *line = content; *line;) {
		const char *nl = strchrnul(line, '\n'), *ctrl, *path;
		size_t ctrl_len, path_len;
		int rank;

		if (split_line(line, (size_t)(nl - line), &ctrl, &ctrl_len, &path, &path_len) ==
		    0) {
			rank = line_rank(line, ctrl, ctrl_len, path_len);
			if (rank > best_rank) {
				best = path;
				best_len = path_len;
				best_rank = rank;
			}
		}
		line = *nl ? nl + 1 : nl;
	}
	if (!best)
		return -ENOENT;
	s = strndup(best, best_len);
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

/* Length of the component of @path that starts at @start. */
static size_t component_len(const char *start)
{
	return strcspn(start, "/");
}

static bool component_endswith(const char *c, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len > n && memcmp(c + len - n, suffix, n) == 0;
}

int cgroup_unit(const char *path, char **ret)
{
	const char *found = NULL;
	size_t found_len = 0;
	char *s;

	for (const char *c = path; *c;) {
		size_t len = component_len(c);

		if (component_endswith(c, len, ".service") ||
		    component_endswith(c, len, ".scope")) {
			found = c;
			found_len = len;
		}
		c += len;
		if (*c == '/')
			c++;
	}
	if (!found)
		return -ENOENT;
	s = strndup(found, found_len);
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

static bool is_container_id(const char *s, size_t len)
{
	if (len != CONTAINER_ID_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* Systemd cgroup driver: "<prefix><id>.scope" as the whole component. */
static const char *match_scope(const char *c, size_t len, const char **ret_id)
{
	static const struct {
		const char *prefix;
		const char *runtime;
	} scopes[] = {
		{"docker-", "docker"},
		{"cri-containerd-", "containerd"},
		{"crio-", "cri-o"},
		{"libpod-", "podman"},
	};

	if (!component_endswith(c, len, ".scope"))
		return NULL;
	for (size_t i = 0; i < ELEMENTSOF(scopes); i++) {
		size_t plen = strlen(scopes[i].prefix);

		if (len <= plen || memcmp(c, scopes[i].prefix, plen) != 0)
			continue;
		/* "crio-conmon-<id>.scope" is the monitor, not the container: not hex, no match */
		if (!is_container_id(c + plen, len - plen - strlen(".scope")))
			continue;
		*ret_id = c + plen;
		return scopes[i].runtime;
	}
	return NULL;
}

/* Cgroupfs driver: "/docker/<id>", "/kubepods/<qos>/pod<uid>/<id>". @top is the first component. */
static const char *match_plain(const char *top, size_t top_len, const char *c, size_t len)
{
	if (c == top || !is_container_id(c, len))
		return NULL;
	if (top_len == strlen("docker") && memcmp(top, "docker", top_len) == 0)
		return "docker";
	if (top_len == strlen("kubepods") && memcmp(top, "kubepods", top_len) == 0)
		return "kubernetes";
	return NULL;
}

int cgroup_container(const char *path, struct cgroup_container *ret)
{
	const char *runtime = NULL, *id = NULL, *top;
	size_t top_len;
	char *s;

	top = path + strspn(path, "/");
	top_len = component_len(top);
	for (const char *c = top; *c;) {
		size_t len = component_len(c);
		const char *r, *cid = c;

		r = match_scope(c, len, &cid);
		if (!r)
			r = match_plain(top, top_len, c, len);
		if (r) {
			runtime = r;
			id = cid;
		}
		c += len;
		c += strspn(c, "/");
	}
	if (!runtime)
		return -ENOENT;
	s = strndup(id, CONTAINER_ID_LEN);
	if (!s)
		return -ENOMEM;
	ret->runtime = runtime;
	ret->id = s;
	return 0;
}
