// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Guest helper for the simulated node: times open()+close() of a device file (the guest's
 * busybox has no sub-second clock), holds a device through an mmap alone, as CUDA
 * processes do, so holder scans must read /proc/<pid>/maps and not only fds, and prints the
 * monotonic clock in milliseconds for scripts that time whole commands (bench/reload).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static int usage(void)
{
	fprintf(stderr, "usage: nvsim-open time [-n COUNT] DEVICE\n"
			"       nvsim-open hold-mmap DEVICE SECONDS\n"
			"       nvsim-open now\n");
	return 2;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* One line per open: the milliseconds that open() plus close() took. */
static int cmd_time(int argc, char **argv)
{
	long count = 1, i;
	double t0;
	int fd;

	if (argc == 4 && !strcmp(argv[1], "-n")) {
		count = strtol(argv[2], NULL, 10);
		argv += 2;
		argc -= 2;
	}
	if (argc != 2 || count < 1)
		return usage();
	for (i = 0; i < count; i++) {
		t0 = now_ms();
		fd = open(argv[1], O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, "nvsim-open: %s: %s\n", argv[1], strerror(errno));
			return 1;
		}
		close(fd);
		printf("%.3f\n", now_ms() - t0);
	}
	return 0;
}

static int cmd_hold_mmap(int argc, char **argv)
{
	volatile char *p;
	int fd;

	if (argc != 3)
		return usage();
	fd = open(argv[1], O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "nvsim-open: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		fprintf(stderr, "nvsim-open: mmap %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	close(fd);
	p[0] = 1;
	sleep((unsigned int)strtoul(argv[2], NULL, 10));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(argv[1], "time"))
		return cmd_time(argc - 1, argv + 1);
	if (!strcmp(argv[1], "hold-mmap"))
		return cmd_hold_mmap(argc - 1, argv + 1);
	if (!strcmp(argv[1], "now") && argc == 2) {
		printf("%.3f\n", now_ms());
		return 0;
	}
	return usage();
}
