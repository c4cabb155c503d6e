// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Bench helper: opens each FILE, plus N more fds on an unrelated file, appends one byte to READY
 * (so a caller can count live helpers) and waits for a signal.
 * usage: fd-hold -u N -U UNRELATED -r READY FILE...
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int open_or_die(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC, 0644);

	if (fd < 0) {
		perror(path);
		exit(1);
	}
	return fd;
}

int main(int argc, char **argv)
{
	const char *unrelated = "/dev/null", *ready = NULL;
	int n_unrelated = 0, c, fd;

	while ((c = getopt(argc, argv, "u:U:r:")) >= 0) {
		switch (c) {
		case 'u':
			n_unrelated = atoi(optarg);
			break;
		case 'U':
			unrelated = optarg;
			break;
		case 'r':
			ready = optarg;
			break;
		default:
			fprintf(stderr, "usage: fd-hold -u N -U UNRELATED -r READY FILE...\n");
			return 2;
		}
	}
	for (int i = optind; i < argc; i++)
		open_or_die(argv[i], O_RDONLY);
	for (int i = 0; i < n_unrelated; i++)
		open_or_die(unrelated, O_RDONLY);
	if (ready) {
		fd = open_or_die(ready, O_WRONLY | O_APPEND | O_CREAT);
		if (write(fd, "x", 1) != 1)
			return 1;
		close(fd);
	}
	for (;;)
		pause();
}
