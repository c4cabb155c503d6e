// SPDX-License-Identifier: GPL-2.0-or-later
/* bench/watch: the watcher's parsers over a file of /dev/kmsg records, on one core: every
 * record through kmsg_parse_record() and nvline_parse(), as the engine does. Prints
 * "records xids seconds". */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ladder/kmsg.h"
#include "ladder/nvline.h"

int main(int argc, char **argv)
{
	struct timespec t0, t1;
	unsigned long records = 0, xids = 0;
	struct stat st;
	const char *p;
	size_t off = 0;
	int fd;

	if (argc != 2 || (fd = open(argv[1], O_RDONLY)) < 0 || fstat(fd, &st) < 0)
		return fprintf(stderr, "usage: kmsg-parse FILE\n"), 2;
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	if (p == MAP_FAILED)
		return perror("mmap"), 1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (off < (size_t)st.st_size) {
		size_t end = kmsg_record_end(p + off, (size_t)st.st_size - off);
		struct gk_kmsg_record r;
		struct gk_nv_event e;

		if (kmsg_parse_record(p + off, end, &r) == 0) {
			records++;
			if (nvline_parse(r.msg, r.msg_len, &e) > 0 && e.kind == GK_NV_XID)
				xids++;
		}
		off += end;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%lu %lu %.6f\n", records, xids,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return 0;
}
