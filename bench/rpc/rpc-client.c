// SPDX-License-Identifier: GPL-2.0-or-later
/* Round-trip latency over a UNIX stream socket: N clients (threads, one connection each) send one
 * request line and read one reply line, M times each, all starting together. Prints
 * "p50_us p99_us mean_us max_us requests_per_s". The same client measures gpukeepd and the echo
 * floor, so their ratio is the daemon's own cost. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct worker {
	pthread_t t;
	int fd;
	unsigned n;
	uint64_t *lat; /* ns */
	int failed;
};

static const char *request;
static size_t request_len;
static pthread_barrier_t start;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int connect_to(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("connect");
		exit(1);
	}
	return fd;
}

/* One round trip: the reply is complete at its newline. */
static int round_trip(int fd, char *buf, size_t size)
{
	size_t got = 0;

	if (send(fd, request, request_len, MSG_NOSIGNAL) != (ssize_t)request_len)
		return -1;
	for (;;) {
		ssize_t k = recv(fd, buf, size, 0);

		if (k <= 0)
			return -1;
		got += (size_t)k;
		if (buf[k - 1] == '\n')
			return (int)got;
	}
}

static void *run(void *arg)
{
	struct worker *w = arg;
	static __thread char buf[1 << 20];

	pthread_barrier_wait(&start);
	for (unsigned i = 0; i < w->n; i++) {
		uint64_t t0 = now_ns();

		if (round_trip(w->fd, buf, sizeof(buf)) < 0) {
			w->failed = 1;
			return NULL;
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
	unsigned clients, n;
	struct worker *w;
	uint64_t *all, t0, t1, sum = 0;
	size_t total;

	if (argc != 5) {
		fprintf(stderr, "usage: rpc-client SOCKET CLIENTS ROUNDS REQUEST-LINE\n");
		return 2;
	}
	clients = (unsigned)atoi(argv[2]);
	n = (unsigned)atoi(argv[3]);
	if (asprintf((char **)&request, "%s\n", argv[4]) < 0)
		return 1;
	request_len = strlen(request);
	w = calloc(clients, sizeof(*w));
	all = calloc((size_t)clients * n, sizeof(*all));
	pthread_barrier_init(&start, NULL, clients + 1);
	for (unsigned i = 0; i < clients; i++) {
		w[i].fd = connect_to(argv[1]);
		w[i].n = n;
		w[i].lat = all + (size_t)i * n;
		pthread_create(&w[i].t, NULL, run, &w[i]);
	}
	pthread_barrier_wait(&start);
	t0 = now_ns();
	for (unsigned i = 0; i < clients; i++) {
		pthread_join(w[i].t, NULL);
		if (w[i].failed) {
			fprintf(stderr, "client %u: connection failed\n", i);
			return 1;
		}
	}
	t1 = now_ns();
	total = (size_t)clients * n;
	qsort(all, total, sizeof(*all), cmp);
	for (size_t i = 0; i < total; i++)
		sum += all[i];
	printf("%.1f %.1f %.1f %.1f %.0f\n", all[total / 2] / 1e3, all[total * 99 / 100] / 1e3,
	       (double)sum / (double)total / 1e3, all[total - 1] / 1e3,
	       (double)total / ((double)(t1 - t0) / 1e9));
	return 0;
}
