/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Stopping processes by pidfd: SIGTERM, a bounded grace period, then SIGKILL. A pidfd names
 * one process for good, so a pid recycled meanwhile is never signalled. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct gk_victim {
	pid_t pid;
	int pidfd;     /* -EBADF when the process was already gone */
	bool exited;   /* set once its pidfd reported exit */
	bool killed;   /* needed SIGKILL */
	bool survived; /* still alive after SIGKILL and the kill wait (uninterruptible sleep) */
};

struct gk_victims {
	struct gk_victim *v;
	size_t n;
};

/*
 * Opens a pidfd for each pid. A pid that no longer exists is recorded as exited. Returns 0 or
 * -errno (-ENOSYS when the kernel has no pidfd_open, before 5.3). Free with victims_done().
 */
int victims_open(const pid_t *pids, size_t n, struct gk_victims *ret);
void victims_done(struct gk_victims *v);

/* Called about once a second while waiting: seconds left in the grace period, processes alive. */
typedef void (*gk_countdown_fn)(unsigned seconds_left, size_t alive, void *userdata);

/*
 * Sends SIGTERM to every victim, waits up to @grace_ms for them to exit (calling @countdown once
 * a second), sends SIGKILL to those left and waits up to @kill_wait_ms more. Returns the number of
 * victims still alive at the end (0: all gone), or -errno when signalling failed (-EPERM).
 */
int victims_terminate(struct gk_victims *v, unsigned grace_ms, unsigned kill_wait_ms,
		      gk_countdown_fn countdown, void *userdata);
