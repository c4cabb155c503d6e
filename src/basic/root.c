// SPDX-License-Identifier: GPL-2.0-or-later
/* Root prefix handling, so that tests point every read at a fixture tree. */
#include <errno.h>
#include <fcntl.h>

#include "root.h"

int root_open(const char *dir)
{
	int fd = open(dir ? dir : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

const char *root_rel(const char *abs_path)
{
	while (*abs_path == '/')
		abs_path++;
	return *abs_path ? abs_path : ".";
}
