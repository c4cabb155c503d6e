// SPDX-License-Identifier: GPL-2.0-or-later
/* Node and baseline reading shared by inventory, baseline, validate and reload. */
#include <fcntl.h>
#include <string.h>

#include "core/gk-exit.h"
#include "log.h"
#include "node.h"
#include "nvml-cli.h"
#include "root.h"

int node_scan(const char *root, struct gk_inventory *ret)
{
	_cleanup_close_ int rootfd = -EBADF;
	int r;

	rootfd = root_open(root);
	if (rootfd < 0) {
		log_error_errno(rootfd, "cannot open root directory %s: %m", root);
		return GK_EXIT_FAILED;
	}
	r = inventory_scan(rootfd, ret);
	if (r < 0) {
		log_error_errno(r, "cannot read the PCI devices under %s: %m",
				strcmp(root, "/") ? root : "/sys/bus/pci/devices");
		return GK_EXIT_FAILED;
	}
	return 0;
}

int node_baseline(const char *root, struct gk_baseline *ret, size_t *ret_problems)
{
	struct gk_inventory inv;
	int r;

	r = node_scan(root, &inv);
	if (r != 0)
		return r;
	r = baseline_from_inventory(&inv, ret);
	if (r >= 0 && (r = nvml_cli_baseline(root, ret)) < 0)
		baseline_done(ret);
	if (ret_problems)
		*ret_problems = inv.n_problems;
	inventory_done(&inv);
	if (r < 0) {
		log_error_errno(r, "cannot build the baseline: %m");
		return GK_EXIT_FAILED;
	}
	return 0;
}

int node_load_baseline(const char *path, struct gk_baseline *ret)
{
	_cleanup_free_ char *error = NULL;
	int r;

	r = baseline_load(AT_FDCWD, path, ret, &error);
	if (r == -EBADMSG) {
		log_error("baseline %s is malformed: %s", path, error);
		return GK_EXIT_USAGE;
	}
	if (r < 0) {
		log_error_errno(r, "cannot read baseline %s: %m", path);
		return GK_EXIT_USAGE;
	}
	return 0;
}
