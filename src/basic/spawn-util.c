// SPDX-License-Identifier: GPL-2.0-or-later
/* posix_spawn wrapper: no fork() without exec, no shell, no inherited descriptors. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "spawn-util.h"
#include "time-util.h"

extern char **environ;

static int spawn_start_fd(char *const argv[], unsigned flags, int out_fd, pid_t *ret)
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
	} else if (out_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
	else if (flags & SPAWN_STDOUT_TO_STDERR)
		posix_spawn_file_actions_adddup2(&fa, 2, 1);
	r = posix_spawnp(ret, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	return -r;
}

static int spawn_start(char *const argv[], unsigned flags, pid_t *ret)
{
	return spawn_start_fd(argv, flags, -1, ret);
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

static int safe_close_fd(int fd)
{
	if (fd >= 0)
		close(fd);
	return -1;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads what is there from @fd into @buf; returns 0 at end of file, 1 for more, -errno
 * (-EAGAIN: nothing more for now on a non-blocking @fd). */
static int drain(int fd, char *buf, size_t max, size_t *len)
{
	char tmp[4096];
	ssize_t n = read(fd, tmp, sizeof(tmp));

	if (n < 0)
		return errno == EINTR ? 1 : -errno;
	if (n == 0)
		return 0;
	if (*len < max) {
		size_t k = (size_t)n < max - *len ? (size_t)n : max - *len;

		memcpy(buf + *len, tmp, k);
		*len += k;
	}
	return 1;
}

int spawn_capture_timeout(char *const argv[], unsigned timeout_ms, size_t max, char **ret_out)
{
	long long deadline = now_ms() + timeout_ms;
	struct pollfd p[2] = {{.fd = -1, .events = POLLIN}, {.fd = -1, .events = POLLIN}};
	int pipefd[2], r, status, result = 0;
	char *buf = malloc(max + 1);
	size_t len = 0;
	pid_t pid;

	if (!buf)
		return -ENOMEM;
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		free(buf);
		return -errno;
	}
	r = spawn_start_fd(argv, 0, pipefd[1], &pid);
	close(pipefd[1]);
	if (r < 0) {
		close(pipefd[0]);
		free(buf);
		return r;
	}
	p[0].fd = pipefd[0];
	p[1].fd = (int)syscall(SYS_pidfd_open, pid, 0);
	/* until the pipe closes (a grandchild may keep it open: then until the child exits and
	 * the deadline passes) */
	while (p[0].fd >= 0) {
		long long left = deadline - now_ms();

		if (left <= 0) {
			result = -ETIMEDOUT;
			break;
		}
		r = poll(p, p[1].fd >= 0 ? 2 : 1, (int)left);
		if (r < 0 && errno != EINTR) {
			result = -errno;
			break;
		}
		if (r > 0 && (p[0].revents & (POLLIN | POLLHUP)) &&
		    drain(p[0].fd, buf, max, &len) <= 0)
			p[0].fd = safe_close_fd(p[0].fd);
		if (r > 0 && p[1].fd >= 0 && (p[1].revents & POLLIN) && p[0].fd >= 0) {
			/* exited: what it wrote is in the pipe; read it without waiting */
			fcntl(p[0].fd, F_SETFL, O_NONBLOCK);
			while (drain(p[0].fd, buf, max, &len) > 0)
				;
			p[0].fd = safe_close_fd(p[0].fd);
		}
	}
	safe_close_fd(p[0].fd);
	if (result == -ETIMEDOUT) {
		if (p[1].fd >= 0)
			syscall(SYS_pidfd_send_signal, p[1].fd, SIGKILL, NULL, 0);
		else
			kill(pid, SIGKILL);
	}
	safe_close_fd(p[1].fd);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			free(buf);
			return -errno;
		}
	buf[len] = 0;
	*ret_out = buf;
	return result < 0 ? result : exit_status(status);
}
