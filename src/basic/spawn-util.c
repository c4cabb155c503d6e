// SPDX-License-Identifier: GPL-2.0-or-later
/* posix_spawn wrapper: no fork() without exec, no shell, no inherited descriptors. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include "spawn-util.h"

extern char **environ;

int spawn_wait(char *const argv[], int quiet)
{
	posix_spawn_file_actions_t fa;
	int r, status;
	pid_t pid;

	r = posix_spawn_file_actions_init(&fa);
	if (r != 0)
		return -r;
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (quiet) {
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
		posix_spawn_file_actions_adddup2(&fa, 1, 2);
	}
	r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0)
		return -r;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}
