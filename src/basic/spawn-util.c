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

#include "macro.h"
#include "spawn-util.h"
#include "time-util.h"

extern char **environ;

/* Starts @argv with stdin from /dev/null; stdout and stderr to @out_fd and @err_fd when >= 0,
 * else as @flags say. */
static int spawn_start_fds(char *const argv[], unsigned flags, int out_fd, int err_fd, pid_t *ret)
{
	posix_spawn_file_actions_t fa;
	int r;

	r = posix_spawn_file_actions_init(&fa);
	if (r != 0)
		return -r;
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (out_fd >= 0) {
		posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
		if (err_fd >= 0)
			posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
	} else if (flags & SPAWN_QUIET) {
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
		posix_spawn_file_actions_adddup2(&fa, 1, 2);
	} else if (flags & SPAWN_STDOUT_TO_STDERR)
		posix_spawn_file_actions_adddup2(&fa, 2, 1);
	r = posix_spawnp(ret, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	return -r;
}

static int spawn_start(char *const argv[], unsigned flags, pid_t *ret)
{
	return spawn_start_fds(argv, flags, -EBADF, -EBADF, ret);
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
	uint64_t deadline = now_ms() + timeout_ms;
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
	r = spawn_start_fds(argv, 0, pipefd[1], -EBADF, &pid);
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
		int left = deadline_left_ms(deadline);

		if (left == 0) {
			result = -ETIMEDOUT;
			break;
		}
		r = poll(p, p[1].fd >= 0 ? 2 : 1, left);
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

/* One captured stream: a pipe's read end and what was read from it. */
struct capture {
	int fd;
	char *buf;
	size_t len, max;
	bool truncated;
};

/* Reads what is there; returns 1 at end of file, 0 to go on, or -errno. */
static int capture_read(struct capture *c)
{
	char chunk[4096];
	ssize_t n = read(c->fd, chunk, sizeof(chunk));
	size_t take;

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -errno;
	if (n == 0)
		return 1;
	take = (size_t)n;
	if (take > c->max - c->len) {
		take = c->max - c->len;
		c->truncated = true;
	}
	memcpy(c->buf + c->len, chunk, take);
	c->len += take;
	return 0;
}

/* Polls both streams until both are at end of file or @deadline passes (-ETIMEDOUT). */
static int capture_loop(struct capture c[2], uint64_t deadline)
{
	int open_streams = 2;

	while (open_streams > 0) {
		struct pollfd p[2];
		int left = deadline_left_ms(deadline);
		int r;

		if (left == 0)
			return -ETIMEDOUT;
		for (int i = 0; i < 2; i++)
			p[i] = (struct pollfd){.fd = c[i].fd, .events = POLLIN};
		r = poll(p, 2, left);
		if (r < 0 && errno != EINTR)
			return -errno;
		for (int i = 0; i < 2 && r > 0; i++) {
			if (c[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			r = capture_read(&c[i]);
			if (r < 0)
				return r;
			if (r == 1) {
				c[i].fd = safe_close(c[i].fd);
				open_streams--;
			}
			r = 1;
		}
	}
	return 0;
}

int spawn_capture(char *const argv[], unsigned timeout_ms, size_t max, struct spawn_output *ret)
{
	uint64_t deadline = now_ms() + timeout_ms;
	int out[2] = {-EBADF, -EBADF}, err[2] = {-EBADF, -EBADF};
	struct capture c[2] = {};
	int r, status;
	pid_t pid;

	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
		r = -errno;
		goto close_pipes;
	}
	c[0] = (struct capture){.fd = out[0], .buf = malloc(max + 1), .max = max};
	c[1] = (struct capture){.fd = err[0], .buf = malloc(max + 1), .max = max};
	r = c[0].buf && c[1].buf ? spawn_start_fds(argv, 0, out[1], err[1], &pid) : -ENOMEM;
	out[1] = safe_close(out[1]);
	err[1] = safe_close(err[1]);
	if (r < 0)
		goto free_bufs;
	r = capture_loop(c, deadline);
	if (r < 0)
		kill(pid, SIGKILL);
	/* the pipes are at end of file (or the child is killed): it exits promptly */
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (r < 0)
		goto free_bufs;
	for (int i = 0; i < 2; i++)
		c[i].buf[c[i].len] = '\0';
	*ret = (struct spawn_output){.status = exit_status(status),
				     .out = c[0].buf,
				     .err = c[1].buf,
				     .truncated = c[0].truncated || c[1].truncated};
	for (int i = 0; i < 2; i++)
		safe_close(c[i].fd);
	return 0;
free_bufs:
	for (int i = 0; i < 2; i++) {
		free(c[i].buf);
		c[i].fd = safe_close(c[i].fd);
	}
	out[0] = err[0] = -EBADF; /* closed through c[] */
close_pipes:
	safe_close(out[0]);
	safe_close(out[1]);
	safe_close(err[0]);
	safe_close(err[1]);
	return r;
}

void spawn_output_done(struct spawn_output *o)
{
	free(o->out);
	free(o->err);
	*o = (struct spawn_output){};
}
