// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The holders scan: the pids of /proc shared out to a few threads (pidscan.c looks at each one),
 * and their findings merged in pid order.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node/holders.h"
#include "node/pidscan.h"
#include "parse-util.h"

#define DENTS_SIZE	(32 * 1024)
#define MAX_THREADS	8
#define PIDS_PER_THREAD 256 /* below this a thread costs more than it saves */

void holders_entry_clear(struct gk_holder *h)
{
	for (size_t i = 0; i < h->n_devices; i++)
		free(h->devices[i].path);
	free(h->devices);
	free(h->comm);
	free(h->cmdline);
	free(h->user);
	free(h->cgroup);
	free(h->unit);
	free(h->container_id);
}

struct gk_holders *holders_free(struct gk_holders *h)
{
	if (!h)
		return NULL;
	for (size_t i = 0; i < h->n; i++)
		holders_entry_clear(&h->holders[i]);
	free(h->holders);
	free(h);
	return NULL;
}

/* The numeric entries of /proc, except @exclude. */
static int list_pids(int procfd, pid_t exclude, pid_t **ret, size_t *ret_n)
{
	_cleanup_free_ char *dents = malloc(DENTS_SIZE);
	_cleanup_free_ pid_t *pids = NULL;
	size_t n = 0, allocated = 0;

	if (!dents)
		return -ENOMEM;
	for (;;) {
		ssize_t k = getdents64(procfd, dents, DENTS_SIZE);

		if (k < 0)
			return -errno;
		if (k == 0)
			break;
		for (ssize_t off = 0; off < k;) {
			struct dirent64 *de = (struct dirent64 *)(void *)(dents + off);
			unsigned pid;

			off += de->d_reclen;
			if (de->d_name[0] < '1' || de->d_name[0] > '9' ||
			    safe_atou_base(de->d_name, 10, &pid) < 0 || (pid_t)pid == exclude)
				continue;
			if (n == allocated) {
				size_t a = allocated ? allocated * 2 : 1024;
				pid_t *p = realloc(pids, a * sizeof(*p));

				if (!p)
					return -ENOMEM;
				pids = p;
				allocated = a;
			}
			pids[n++] = (pid_t)pid;
		}
	}
	*ret = TAKE_PTR(pids);
	*ret_n = n;
	return 0;
}

/*
 * The processes are shared out one at a time to a few threads: on a node with many cores and
 * thousands of processes the scan is bound by procfs lookups, which run in parallel.
 */
struct pool {
	int procfd;
	const pid_t *pids;
	size_t n;
	atomic_size_t next;
	atomic_int error; /* the first -ENOMEM */
};

struct worker {
	struct pool *pool;
	struct pidscan scan;
	pthread_t thread;
	bool started;
};

static void *worker_run(void *userdata)
{
	struct worker *w = userdata;
	struct pool *p = w->pool;

	for (;;) {
		size_t i = atomic_fetch_add(&p->next, 1);
		int r;

		if (i >= p->n || atomic_load(&p->error) < 0)
			return NULL;
		r = pidscan_pid(&w->scan, p->procfd, p->pids[i]);
		if (r < 0) {
			atomic_store(&p->error, r);
			return NULL;
		}
	}
}

/* Moves the holders found by @from into @to. */
static int merge(struct gk_holders *to, struct gk_holders *from)
{
	struct gk_holder *p;

	to->inaccessible += from->inaccessible;
	if (from->n == 0)
		return 0;
	p = realloc(to->holders, (to->n + from->n) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	memcpy(p + to->n, from->holders, from->n * sizeof(*p));
	to->holders = p;
	to->n += from->n;
	from->n = 0;
	return 0;
}

static size_t thread_count(size_t n_pids)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t n = n_pids / PIDS_PER_THREAD + 1;

	if (cpus < 1)
		cpus = 1;
	if (n > (size_t)cpus)
		n = (size_t)cpus;
	return n < MAX_THREADS ? n : MAX_THREADS;
}

/* Runs the workers (the caller's thread is worker 0) and merges their results into @ret. */
static int run_pool(struct pool *p, const struct gk_nodeset *nodes, struct gk_holders *ret)
{
	struct worker w[MAX_THREADS] = {};
	size_t n = thread_count(p->n);
	int r = 0;

	for (size_t i = 0; i < n && r >= 0; i++) {
		w[i].pool = p;
		r = pidscan_init(&w[i].scan, nodes);
		/* a thread that cannot be started leaves its share to the others */
		if (r >= 0 && i > 0)
			w[i].started = pthread_create(&w[i].thread, NULL, worker_run, &w[i]) == 0;
	}
	if (r >= 0)
		worker_run(&w[0]);
	else
		atomic_store(&p->error, r); /* stops the threads already started */
	for (size_t i = 0; i < n; i++) {
		if (w[i].started)
			pthread_join(w[i].thread, NULL);
		if (r >= 0 && w[i].scan.result)
			r = merge(ret, w[i].scan.result);
		pidscan_done(&w[i].scan);
	}
	if (r >= 0 && atomic_load(&p->error) < 0)
		r = atomic_load(&p->error);
	return r;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = ((const struct gk_holder *)a)->pid, y = ((const struct gk_holder *)b)->pid;

	return x < y ? -1 : x > y;
}

int holders_scan(int rootfd, const struct gk_nodeset *nodes, pid_t exclude, struct gk_holders **ret)
{
	_cleanup_holders_free_ struct gk_holders *result = NULL;
	_cleanup_close_ int procfd = -EBADF;
	_cleanup_free_ pid_t *pids = NULL;
	struct pool pool = {};
	size_t n = 0;
	int r;

	procfd = openat(rootfd, "proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (procfd < 0)
		return -errno;
	r = list_pids(procfd, exclude, &pids, &n);
	if (r < 0)
		return r;
	result = calloc(1, sizeof(*result));
	if (!result)
		return -ENOMEM;
	/* with no node to hold, nobody holds one; /proc was still read, so errors are the same */
	if (nodes->n > 0 && n > 0) {
		pool = (struct pool){.procfd = procfd, .pids = pids, .n = n};
		r = run_pool(&pool, nodes, result);
		if (r < 0)
			return r;
	}
	qsort_safe(result->holders, result->n, sizeof(*result->holders), cmp_pid);
	*ret = TAKE_PTR(result);
	return 0;
}
