// SPDX-License-Identifier: GPL-2.0-or-later
/* RPC round-trip latency for bench/rpc: N clients (threads, one libtirpc connection each) make M
 * v1 get calls each through the rpcgen stub, all starting together. Prints
 * "p50_us p99_us mean_us max_us calls_per_s". usage: nvpd-client SOCKET N M DOMAIN BUS SLOT */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "nvpd/nvpd-xdr.h"

struct worker {
	pthread_t t;
	CLIENT *c;
	unsigned n;
	uint64_t *lat;
	int failed;
};

static pthread_barrier_t start;
static nvpd_get_mode_args args;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static CLIENT *client(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct netbuf nb = {.buf = &sa, .len = sizeof(sa), .maxlen = sizeof(sa)};
	struct timeval tv = {.tv_sec = 30};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CLIENT *c;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return NULL;
	c = clnt_vc_create(fd, &nb, NVPD_PROG, NVPD_V1, 0, 0);
	if (c) {
		clnt_control(c, CLSET_FD_CLOSE, NULL);
		clnt_control(c, CLSET_TIMEOUT, (char *)&tv);
	}
	return c;
}

static void *run(void *arg)
{
	struct worker *w = arg;

	pthread_barrier_wait(&start);
	for (unsigned i = 0; i < w->n; i++) {
		nvpd_get_mode_res res;
		uint64_t t0 = now_ns();

		if (nvpd_get_mode_1(&args, &res, w->c) != RPC_SUCCESS || res.status != NVPD_OK) {
			w->failed = 1;
			break;
		}
		w->lat[i] = now_ns() - t0;
	}
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	unsigned n, m;
	struct worker *w;
	uint64_t *all, t0, t1, sum = 0;
	size_t total;

	if (argc != 7)
		return 2;
	n = (unsigned)atoi(argv[2]);
	m = (unsigned)atoi(argv[3]);
	args.device = (nvpd_device){(int)strtol(argv[4], NULL, 16), (int)strtol(argv[5], NULL, 16),
				    (int)strtol(argv[6], NULL, 16), 0};
	w = calloc(n, sizeof(*w));
	all = calloc((size_t)n * m, sizeof(*all));
	if (!w || !all)
		return 1;
	pthread_barrier_init(&start, NULL, n + 1);
	for (unsigned i = 0; i < n; i++) {
		w[i].c = client(argv[1]);
		w[i].n = m;
		w[i].lat = all + (size_t)i * m;
		if (!w[i].c) {
			fprintf(stderr, "nvpd-client: cannot connect to %s\n", argv[1]);
			return 1;
		}
		pthread_create(&w[i].t, NULL, run, &w[i]);
	}
	pthread_barrier_wait(&start);
	t0 = now_ns();
	for (unsigned i = 0; i < n; i++) {
		pthread_join(w[i].t, NULL);
		if (w[i].failed) {
			fprintf(stderr, "nvpd-client: a call failed\n");
			return 1;
		}
	}
	t1 = now_ns();
	total = (size_t)n * m;
	qsort(all, total, sizeof(*all), cmp);
	for (size_t i = 0; i < total; i++)
		sum += all[i];
	printf("%.1f %.1f %.1f %.1f %.0f\n", all[total / 2] / 1e3, all[total * 99 / 100] / 1e3,
	       (double)sum / total / 1e3, all[total - 1] / 1e3, total / ((t1 - t0) / 1e9));
	for (unsigned i = 0; i < n; i++)
		clnt_destroy(w[i].c);
	free(w);
	free(all);
	return 0;
}
