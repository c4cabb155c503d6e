// SPDX-License-Identifier: GPL-2.0-or-later
/* The deadline worker. A driver call can block in the kernel for minutes (a hung GPU), and no
 * signal gets a thread out of an uninterruptible ioctl, so the caller waits on a condition
 * variable with a deadline and, when it passes, walks away from the thread. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "macro.h"
#include "nvml/nvml-worker.h"
#include "time-util.h"

struct nvml_worker {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* CLOCK_MONOTONIC; both sides wait on it, so it is broadcast */
	pthread_t thread;
	void *const *syms;
	/* The call in flight. args is written by the caller only while !posted, and by the thread
	 * only while posted; after a timeout the caller never reads it again. */
	nvml_worker_fn fn;
	unsigned char args[NVML_WORKER_ARGS_MAX];
	int status;
	bool posted;
	bool done;
	bool quit;
	void *keep; /* the owner's memory, kept with an abandoned worker */
	struct nvml_worker *next_abandoned;
};

/* Abandoned workers: kept reachable from here for the rest of the process (their threads may
 * still be inside the library, and the leak checker must not call them leaks). */
static pthread_mutex_t abandoned_lock = PTHREAD_MUTEX_INITIALIZER;
static struct nvml_worker *abandoned;

static void *worker_main(void *p)
{
	struct nvml_worker *w = p;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->posted && !w->quit)
			pthread_cond_wait(&w->cond, &w->lock);
		if (w->quit)
			break;
		pthread_mutex_unlock(&w->lock);
		w->status = w->fn(w->syms, w->args);
		pthread_mutex_lock(&w->lock);
		w->posted = false;
		w->done = true;
		pthread_cond_broadcast(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static int worker_init_sync(struct nvml_worker *w)
{
	pthread_condattr_t attr;
	int r;

	r = pthread_condattr_init(&attr);
	if (r != 0)
		return -r;
	r = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (r == 0)
		r = pthread_cond_init(&w->cond, &attr);
	pthread_condattr_destroy(&attr);
	if (r != 0)
		return -r;
	r = pthread_mutex_init(&w->lock, NULL);
	if (r != 0) {
		pthread_cond_destroy(&w->cond);
		return -r;
	}
	return 0;
}

int nvml_worker_new(void *const *syms, struct nvml_worker **ret)
{
	_cleanup_free_ struct nvml_worker *w = NULL;
	sigset_t all, old;
	int r;

	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->syms = syms;
	r = worker_init_sync(w);
	if (r < 0)
		return r;
	/* the thread takes no signals: a daemon's signalfd must see them all */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&w->thread, NULL, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		pthread_mutex_destroy(&w->lock);
		pthread_cond_destroy(&w->cond);
		return -r;
	}
	*ret = TAKE_PTR(w);
	return 0;
}

int nvml_worker_call(struct nvml_worker *w, nvml_worker_fn fn, void *args, size_t size,
		     unsigned timeout_ms, int *ret_status)
{
	/* the condition variable waits on CLOCK_MONOTONIC, the clock of now_ms() */
	struct timespec deadline = timespec_from_ms(now_ms() + timeout_ms);
	int r = 0;

	if (size > sizeof(w->args))
		return -E2BIG;
	pthread_mutex_lock(&w->lock);
	memcpy(w->args, args, size);
	w->fn = fn;
	w->done = false;
	w->posted = true;
	pthread_cond_broadcast(&w->cond);
	while (!w->done && r != ETIMEDOUT)
		r = pthread_cond_timedwait(&w->cond, &w->lock, &deadline);
	if (!w->done) {
		pthread_mutex_unlock(&w->lock);
		return -ETIMEDOUT;
	}
	memcpy(args, w->args, size);
	*ret_status = w->status;
	pthread_mutex_unlock(&w->lock);
	return 0;
}

void nvml_worker_free(struct nvml_worker *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->quit = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	free(w);
}

void nvml_worker_abandon(struct nvml_worker *w, void *keep)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->quit = true;
	w->keep = keep;
	pthread_mutex_unlock(&w->lock);
	pthread_detach(w->thread);
	pthread_mutex_lock(&abandoned_lock);
	w->next_abandoned = abandoned;
	abandoned = w;
	pthread_mutex_unlock(&abandoned_lock);
}
