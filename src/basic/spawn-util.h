/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Running a helper program (systemctl, dcgmi) and waiting for it, without a shell. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

enum {
	SPAWN_QUIET = 1 << 0,		 /* stdout and stderr to /dev/null */
	SPAWN_STDOUT_TO_STDERR = 1 << 1, /* keep our stdout clean (a JSON report goes there) */
};

/*
 * Runs @argv (argv[0] looked up in PATH) with stdin from /dev/null and stdout/stderr inherited
 * (see @flags: SPAWN_*), and waits for it until @timeout_ms: a program still running then is
 * killed (SIGKILL) and -ETIMEDOUT returned, also when the kernel has no pidfd and across
 * signals. Otherwise returns its exit status (0..255), 128+N when killed by signal N, -ENOENT
 * when the program does not exist, or -errno. There is no wait without a deadline.
 */
int spawn_wait_timeout(char *const argv[], unsigned flags, unsigned timeout_ms);

/*
 * Like spawn_wait_timeout(), with the program's stdout captured (stderr inherited): *ret_out
 * gets at most @max bytes of it, NUL-terminated, malloc()ed (the rest is read and dropped), on
 * every return >= 0 and on -ETIMEDOUT. The child is killed by pidfd when the deadline passes.
 */
int spawn_capture_timeout(char *const argv[], unsigned timeout_ms, size_t max, char **ret_out);
/* What spawn_capture() collected: the exit status as spawn_wait() returns it, and the program's
 * stdout and stderr (NUL-terminated, malloc()ed, cut at the size limit). */
struct spawn_output {
	int status;
	char *out;
	char *err;
	bool truncated; /* more than the limit was written; the rest was read and dropped */
};

/*
 * Runs @argv (argv[0] looked up in PATH, stdin /dev/null) and collects up to @max bytes of each
 * of its stdout and stderr, within @timeout_ms in all: a program still running then is killed
 * (SIGKILL) and -ETIMEDOUT returned. Returns 0 and *ret (free with spawn_output_done(); written
 * only on success), -ENOENT when the program does not exist, -ETIMEDOUT, or -errno.
 */
int spawn_capture(char *const argv[], unsigned timeout_ms, size_t max, struct spawn_output *ret);
void spawn_output_done(struct spawn_output *o);
