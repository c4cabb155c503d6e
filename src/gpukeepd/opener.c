// SPDX-License-Identifier: GPL-2.0-or-later
/* Opens run in one small detached thread each and report back through a pipe, so that an open
 * that hangs in the driver costs a thread, never the event loop. Everything except the worker's
 * open()/fstat() runs on the loop thread; a job's ->hold is touched only there. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "log.h"
#include "macro.h"
#include "opener.h"
#include "root.h"

#define BACKOFF_MIN_USEC   (1000 * 1000ULL)
#define BACKOFF_MAX_USEC   (60 * 1000 * 1000ULL)
#define WORKER_STACK_BYTES (64 * 1024)

struct open_job {
	struct hold *hold; /* NULL once abandoned: the result is then closed */
	char path[64];
	int fd;	   /* result */
	int error; /* result, -errno */
};

static int opener_rootfd = -EBADF;
static int opener_pipe[2] = {-EBADF, -EBADF};
static uint64_t opener_timeout;
static bool opener_strict;
static uint64_t opener_generation;

static const char *const state_names[_HOLD_STATE_MAX] = {
	[HOLD_RELEASED] = "released", [HOLD_OPENING] = "opening", [HOLD_HELD] = "held",
	[HOLD_RETRYING] = "retrying", [HOLD_STUCK] = "stuck",
};

const char *hold_state_to_string(enum hold_state s)
{
	return s < _HOLD_STATE_MAX ? state_names[s] : "?";
}

static bool acceptable(const struct stat *st)
{
	if (opener_strict)
		return S_ISCHR(st->st_mode);
	/* Fixture roots: regular files stand in for device nodes, FIFOs for hanging ones. */
	return S_ISCHR(st->st_mode) || S_ISREG(st->st_mode) || S_ISFIFO(st->st_mode);
}

int opener_init(int rootfd, uint64_t open_timeout_usec, bool strict)
{
	if (pipe2(opener_pipe, O_CLOEXEC) < 0)
		return -errno;
	/* Only the read end is non-blocking: a worker may wait for room, the loop never. */
	if (fcntl(opener_pipe[0], F_SETFL, O_NONBLOCK) < 0)
		return -errno;
	opener_rootfd = rootfd;
	opener_timeout = open_timeout_usec;
	opener_strict = strict;
	return opener_pipe[0];
}

void opener_done(void)
{
	opener_pipe[0] = safe_close(opener_pipe[0]);
	opener_pipe[1] = safe_close(opener_pipe[1]);
}

static void *worker(void *arg)
{
	struct open_job *job = arg;
	struct stat st;
	ssize_t k;

	/* O_RDONLY: the driver initializes the GPU on any open; the daemon never ioctls. O_RDWR
	 * would also make a FIFO open return at once, hiding the hang that tests simulate. */
	job->fd = openat(opener_rootfd, root_rel(job->path), O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (job->fd < 0)
		job->error = -errno;
	else if (fstat(job->fd, &st) < 0 || !acceptable(&st)) {
		job->error = -ENODEV;
		job->fd = safe_close(job->fd);
	}
	do
		k = write(opener_pipe[1], &job, sizeof(job));
	while (k < 0 && errno == EINTR);
	/* A pointer is far below PIPE_BUF, so the write is atomic; if the pipe is gone the process
	 * is exiting and the job dies with it. */
	return NULL;
}

static int start_worker(struct open_job *job)
{
	pthread_attr_t attr;
	pthread_t t;
	int r;

	r = -pthread_attr_init(&attr);
	if (r < 0)
		return r;
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, WORKER_STACK_BYTES);
	r = -pthread_create(&t, &attr, worker, job);
	pthread_attr_destroy(&attr);
	return r;
}

static uint64_t wall_msec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t hold_generation(void)
{
	return opener_generation;
}

/* Every change of a hold goes through here, so that cached replies can tell they are stale. */
static void set_state(struct hold *h, enum hold_state s, uint64_t now)
{
	if (h->state != s)
		log_debug("%s: %s -> %s", h->path, state_names[h->state], state_names[s]);
	h->state = s;
	h->since = now;
	h->since_wall = wall_msec();
	opener_generation++;
}

static void schedule_retry(struct hold *h, int error, uint64_t now)
{
	uint64_t delay = BACKOFF_MIN_USEC;

	h->error = error;
	h->failures++;
	for (unsigned i = 1; i < h->failures && delay < BACKOFF_MAX_USEC; i++)
		delay *= 2;
	if (delay > BACKOFF_MAX_USEC)
		delay = BACKOFF_MAX_USEC;
	h->deadline = now + delay;
	set_state(h, HOLD_RETRYING, now);
}

static int start_open(struct hold *h, uint64_t now)
{
	struct open_job *job = calloc(1, sizeof(*job));
	int r;

	if (!job)
		r = -ENOMEM;
	else {
		job->hold = h;
		job->fd = -EBADF;
		snprintf(job->path, sizeof(job->path), "%s", h->path);
		r = start_worker(job);
	}
	if (r < 0) {
		free(job);
		log_warning_errno(r, "%s: cannot start an open: %m", h->path);
		schedule_retry(h, r, now);
		return r;
	}
	h->job = job;
	h->deadline = now + opener_timeout;
	set_state(h, HOLD_OPENING, now);
	return 0;
}

void hold_init(struct hold *h, const char *path)
{
	*h = (struct hold){.fd = -EBADF, .state = HOLD_RELEASED};
	snprintf(h->path, sizeof(h->path), "%s", path);
}

void hold_reset(struct hold *h)
{
	if (h->job)
		h->job->hold = NULL;
	h->job = NULL;
	h->fd = safe_close(h->fd);
	h->state = HOLD_RELEASED;
	h->failures = 0;
	h->error = 0;
	opener_generation++;
}

int hold_reconcile(struct hold *h, uint64_t now)
{
	switch (h->state) {
	case HOLD_RELEASED:
		return h->want ? start_open(h, now) : 0;
	case HOLD_HELD:
		if (!h->want) {
			h->fd = safe_close(h->fd);
			log_info("%s: released", h->path);
			set_state(h, HOLD_RELEASED, now);
		}
		return 0;
	case HOLD_RETRYING:
		if (!h->want) {
			h->failures = 0;
			set_state(h, HOLD_RELEASED, now);
		}
		return 0;
	default: /* OPENING, STUCK: the worker's answer decides */
		return 0;
	}
}

void hold_tick(struct hold *h, uint64_t now)
{
	if (h->state == HOLD_OPENING && now >= h->deadline) {
		log_error("%s: open has not returned after %llu ms: GPU stuck in the driver",
			  h->path, (unsigned long long)(opener_timeout / 1000));
		h->error = -ETIMEDOUT;
		set_state(h, HOLD_STUCK, now);
	} else if (h->state == HOLD_RETRYING && now >= h->deadline && h->want)
		start_open(h, now);
}

uint64_t hold_next_deadline(const struct hold *h)
{
	if (h->state == HOLD_OPENING || (h->state == HOLD_RETRYING && h->want))
		return h->deadline;
	return UINT64_MAX;
}

static void job_finished(struct hold *h, struct open_job *job, uint64_t now)
{
	bool was_stuck = h->state == HOLD_STUCK;

	h->job = NULL;
	if (job->error < 0) {
		if (h->failures == 0 || was_stuck)
			log_warning_errno(job->error, "%s: cannot open: %m; retrying with backoff",
					  h->path);
		if (!h->want) {
			h->failures = 0;
			h->error = job->error;
			set_state(h, HOLD_RELEASED, now);
			return;
		}
		schedule_retry(h, job->error, now);
		return;
	}
	if (!h->want) {
		safe_close(job->fd);
		set_state(h, HOLD_RELEASED, now);
		return;
	}
	h->fd = job->fd;
	h->failures = 0;
	h->error = 0;
	if (was_stuck)
		log_notice("%s: open returned after being stuck; held", h->path);
	else
		log_info("%s: held", h->path);
	set_state(h, HOLD_HELD, now);
}

int opener_dispatch(uint64_t now)
{
	struct open_job *jobs[64];
	int changed = 0;

	for (;;) {
		ssize_t k = read(opener_pipe[0], jobs, sizeof(jobs));

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return errno == EAGAIN ? changed : -errno;
		for (size_t i = 0; i < (size_t)k / sizeof(jobs[0]); i++) {
			if (jobs[i]->hold) {
				job_finished(jobs[i]->hold, jobs[i], now);
				changed++;
			} else
				safe_close(jobs[i]->fd);
			free(jobs[i]);
		}
	}
}
