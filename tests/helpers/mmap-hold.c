// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Test helper: maps each FILE shared, closes its fd, says "ready" on stdout and waits for a
 * signal. It holds the files the way CUDA holds /dev/nvidia*: by mapping only, with no fd.
 * With -D it then vfork()s: the parent waits for the child in state D, as a process stuck in the
 * driver would show, while the child (sharing the mappings) waits for a signal.
 * usage: mmap-hold [-D] FILE...
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int first = 1, d_state = 0;

	if (argc > 1 && strcmp(argv[1], "-D") == 0) {
		d_state = 1;
		first = 2;
	}
	if (argc <= first) {
		fprintf(stderr, "usage: mmap-hold [-D] FILE...\n");
		return 2;
	}
	for (int i = first; i < argc; i++) {
		int fd = open(argv[i], O_RDONLY | O_CLOEXEC);
		void *p;

		if (fd < 0) {
			perror(argv[i]);
			return 1;
		}
		/* a page past the end of an empty file maps fine; it is never touched */
		p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED) {
			perror(argv[i]);
			return 1;
		}
		close(fd);
	}
	if (printf("ready\n") < 0 || fflush(stdout) != 0)
		return 1;
	/* the child only calls pause() and _exit(), which is what a vfork() child may do */
	if (d_state && vfork() == 0) {
		pause();
		_exit(0);
	}
	for (;;)
		pause();
}
