// SPDX-License-Identifier: GPL-2.0-or-later
/* posix_spawn wrapper: no fork() without exec, no shell, no inherited descriptors. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spawn-util.h"
#include "time-util.h"

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

/* Waits for @pid until @deadline_ms without a pidfd (kernels before 5.3, or out of fds): polls
 * waitpid with a short sleep, so the deadline still holds. */
static int wait_polling(pid_t pid, uint64_t deadline_ms, int *ret_status)
{
	for (;;) {
		pid_t k = waitpid(pid, ret_status, WNOHANG);

		if (k == pid)
			return 0;
		if (k < 0 && errno != EINTR)
			return -errno;
		if (deadline_left_ms(deadline_ms) == 0)
			return -ETIMEDOUT;
		(void)poll(NULL, 0, 10);
	}
}

/* Waits for the pidfd to become readable until @deadline_ms; an EINTR keeps the deadline. */
static int wait_pidfd(int pidfd, uint64_t deadline_ms)
{
	struct pollfd p = {.fd = pidfd, .events = POLLIN};

	for (;;) {
		int r = poll(&p, 1, deadline_left_ms(deadline_ms));

		if (r > 0)
			return 0;
		if (r == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

int spawn_wait_timeout(char *const argv[], unsigned flags, unsigned timeout_ms)
{
	uint64_t deadline = now_ms() + timeout_ms;
	int r, fd, status = 0;
	pid_t pid;

	r = spawn_start(argv, flags, &pid);
	if (r < 0)
		return r;
	/* a pidfd becomes readable when the child exits: one poll is the deadline */
	fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd >= 0) {
		r = wait_pidfd(fd, deadline);
		close(fd);
		while (r == 0 && waitpid(pid, &status, 0) < 0)
			if (errno != EINTR)
				r = -errno;
	} else
		r = wait_polling(pid, deadline, &status);
	if (r == -ETIMEDOUT) {
		kill(pid, SIGKILL);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	return r < 0 ? r : exit_status(status);
}
