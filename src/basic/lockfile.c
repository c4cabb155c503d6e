// SPDX-License-Identifier: GPL-2.0-or-later
/* flock()-based lock files with the holder's pid inside, for the "who holds it" message. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "lockfile.h"
#include "macro.h"
#include "parse-util.h"

int lockfile_take(int dirfd, const char *name, int *ret_fd, pid_t *ret_holder)
{
	_cleanup_close_ int fd = -EBADF;
	char buf[32];
	ssize_t k;
	int pid;

	fd = openat(dirfd, name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK)
			return -errno;
		k = pread(fd, buf, sizeof(buf) - 1, 0);
		buf[k > 0 ? k : 0] = 0;
		if (ret_holder)
			*ret_holder = safe_atoi(buf, &pid) >= 0 && pid > 0 ? pid : 0;
		return -EBUSY;
	}
	snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, strlen(buf), 0) < 0)
		return -errno;
	*ret_fd = TAKE_FD(fd);
	return 0;
}
