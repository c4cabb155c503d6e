// SPDX-License-Identifier: GPL-2.0-or-later
/* /proc/<pid>/cgroup: the path that owns the process, its systemd unit and its container. */
#include "fuzz-util.h"
#include "node/cgroup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size), *path = NULL, *unit = NULL;
	struct cgroup_container c = {};

	if (cgroup_pick_path(text, &path) == 0) {
		if (cgroup_unit(path, &unit) == 0)
			free(unit);
		if (cgroup_container(path, &c) == 0) {
			if (!c.runtime || !c.id || strlen(c.id) != 64)
				abort();
			free(c.id);
		}
		free(path);
	}
	free(text);
	return 0;
}
