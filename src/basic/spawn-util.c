// SPDX-License-Identifier: GPL-2.0-or-later
/* posix_spawn wrapper: no fork() without exec, no shell, no inherited descriptors. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spawn-util.h"

extern char **environ;

static int spawn_start(char *const argv[], unsigned flags, pid_t *ret)
{
	posix_spawn_file_actions_t fa;
	int r;

	r = posix_spawn_file_actions_init(&fa);
	if (r != 0)
		return -r;
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (flags & SPAWN_QUIET) {
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
		posix_spawn_file_actions_adddup2(&fa, 1, 2);
	} else if (flags & SPAWN_STDOUT_TO_STDERR)
		posix_spawn_file_actions_adddup2(&fa, 2, 1);
	r = posix_spawnp(ret, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	return -r;
}

static int exit_status(int status)
{
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int spawn_wait_timeout(char *const argv[], unsigned flags, unsigned timeout_ms)
{
	struct pollfd p;
	int r, status;
	pid_t pid;

	r = spawn_start(argv, flags, &pid);
	if (r < 0)
		return r;
	/* a pidfd becomes readable when the child exits: one poll is the deadline */
	p = (struct pollfd){.fd = (int)syscall(SYS_pidfd_open, pid, 0), .events = POLLIN};
	if (p.fd >= 0) {
		while ((r = poll(&p, 1, (int)timeout_ms)) < 0 && errno == EINTR)
			;
		close(p.fd);
		if (r == 0) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -ETIMEDOUT;
		}
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return exit_status(status);
}

int spawn_wait(char *const argv[], int quiet)
{
	int r, status;
	pid_t pid;

	r = spawn_start(argv, quiet ? SPAWN_QUIET : 0, &pid);
	if (r < 0)
		return r;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return exit_status(status);
}
