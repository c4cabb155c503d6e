// SPDX-License-Identifier: GPL-2.0-or-later
/* gpukeepd: the persistence daemon. Placeholder until the daemon issue lands: it refuses to run. */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "gk-exit.h"

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("gpukeepd %s\n", GK_VERSION);
		return GK_EXIT_OK;
	}
	fprintf(stderr, "gpukeepd: not implemented yet in this build\n");
	return GK_EXIT_FAILED;
}
