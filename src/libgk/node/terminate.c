// SPDX-License-Identifier: GPL-2.0-or-later
/* pidfd-based termination. poll() on a pidfd reports POLLIN when the process exits, so the
 * waits need no polling of /proc and no SIGCHLD (the victims are not our children). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "node/terminate.h"
#include "time-util.h"

static int pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int pidfd_send_signal_(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

int victims_open(const pid_t *pids, size_t n, struct gk_victims *ret)
{
	struct gk_victims v = {.v = calloc(n + 1, sizeof(struct gk_victim)), .n = n};

	if (!v.v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		int fd = pidfd_open_(pids[i]);

		v.v[i] = (struct gk_victim){.pid = pids[i], .pidfd = fd < 0 ? -EBADF : fd};
		if (fd >= 0)
			continue;
		if (errno == ESRCH) {
			v.v[i].exited = true;
			continue;
		}
		int r = -errno;

		victims_done(&v);
		return r;
	}
	*ret = v;
	return 0;
}

void victims_done(struct gk_victims *v)
{
	for (size_t i = 0; i < v->n; i++)
		safe_close(v->v[i].pidfd);
	free(v->v);
	*v = (struct gk_victims){};
}

static int signal_alive(struct gk_victims *v, int sig)
{
	for (size_t i = 0; i < v->n; i++) {
		if (v->v[i].exited)
			continue;
		if (pidfd_send_signal_(v->v[i].pidfd, sig) < 0) {
			if (errno == ESRCH) { /* exited, not reaped yet by its parent */
				v->v[i].exited = true;
				continue;
			}
			return -errno;
		}
		v->v[i].killed |= sig == SIGKILL;
	}
	return 0;
}

/* One poll over the live pidfds; marks those that exited. Returns how many are alive. */
static size_t wait_some(struct gk_victims *v, int timeout_ms)
{
	_cleanup_free_ struct pollfd *p = calloc(v->n + 1, sizeof(*p));
	_cleanup_free_ size_t *idx = calloc(v->n + 1, sizeof(*idx));
	size_t n = 0, alive = 0;

	if (!p || !idx)
		return v->n; /* treated as "still alive": the caller's deadline ends the wait */
	for (size_t i = 0; i < v->n; i++)
		if (!v->v[i].exited) {
			p[n] = (struct pollfd){.fd = v->v[i].pidfd, .events = POLLIN};
			idx[n++] = i;
		}
	if (n == 0)
		return 0;
	if (poll(p, n, timeout_ms) > 0)
		for (size_t j = 0; j < n; j++)
			if (p[j].revents & (POLLIN | POLLHUP))
				v->v[idx[j]].exited = true;
	for (size_t i = 0; i < v->n; i++)
		alive += !v->v[i].exited;
	return alive;
}

/* Waits until all exited or @budget_ms passed, calling @countdown at each whole second. */
static size_t wait_all(struct gk_victims *v, unsigned budget_ms, gk_countdown_fn countdown,
		       void *userdata)
{
	unsigned long long start = now_ms(), next_tick = start;
	size_t alive = wait_some(v, 0);

	while (alive > 0) {
		unsigned long long now = now_ms();
		unsigned long long end = start + budget_ms;

		if (now >= end)
			break;
		if (countdown && now >= next_tick) {
			countdown((unsigned)((end - now + 999) / 1000), alive, userdata);
			next_tick += 1000;
		}
		alive = wait_some(v, (int)((next_tick < end ? next_tick : end) - now));
	}
	return alive;
}

int victims_terminate(struct gk_victims *v, unsigned grace_ms, unsigned kill_wait_ms,
		      gk_countdown_fn countdown, void *userdata)
{
	size_t alive;
	int r;

	r = signal_alive(v, SIGTERM);
	if (r < 0)
		return r;
	alive = wait_all(v, grace_ms, countdown, userdata);
	if (alive == 0)
		return 0;
	r = signal_alive(v, SIGKILL);
	if (r < 0)
		return r;
	alive = wait_all(v, kill_wait_ms, NULL, NULL);
	for (size_t i = 0; i < v->n; i++)
		v->v[i].survived = !v->v[i].exited;
	return (int)alive;
}
