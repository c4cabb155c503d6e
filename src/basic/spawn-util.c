// SPDX-License-Identifier: GPL-2.0-or-later
/* posix_spawn wrapper: no fork() without exec, no shell, no inherited descriptors. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
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
static int capture_loop(struct capture c[2], int64_t deadline)
{
	int open_streams = 2;

	while (open_streams > 0) {
		struct pollfd p[2];
		int64_t left = deadline - now_ms();
		int r;

		if (left <= 0)
			return -ETIMEDOUT;
		for (int i = 0; i < 2; i++)
			p[i] = (struct pollfd){.fd = c[i].fd, .events = POLLIN};
		r = poll(p, 2, (int)left);
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
	int64_t deadline = now_ms() + timeout_ms;
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
