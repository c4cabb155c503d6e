// SPDX-License-Identifier: GPL-2.0-or-later
/* Small-file reads under a directory fd; procfs and sysfs files report size 0, so read to EOF. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"
#include "string-util.h"

static int read_fd_full(int fd, size_t max, char **ret, size_t *ret_size)
{
	_cleanup_free_ char *buf = NULL;
	size_t size = 0, alloc = 0;

	for (;;) {
		ssize_t k;

		if (alloc - size < 1024) {
			size_t nalloc = alloc ? alloc * 2 : 4096;
			char *p;

			if (alloc > max + 1)
				return -EFBIG;
			p = realloc(buf, nalloc);
			if (!p)
				return -ENOMEM;
			buf = p;
			alloc = nalloc;
		}
		k = read(fd, buf + size, alloc - size - 1);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			break;
		size += (size_t)k;
		if (size > max)
			return -EFBIG;
	}
	buf[size] = 0;
	*ret = TAKE_PTR(buf);
	if (ret_size)
		*ret_size = size;
	return 0;
}

int read_full_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_size)
{
	_cleanup_close_ int fd = -EBADF;

	fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	return read_fd_full(fd, max, ret, ret_size);
}

int read_regular_file_at(int dirfd, const char *path, size_t max, int flags, char **ret,
			 size_t *ret_size)
{
	_cleanup_close_ int fd = -EBADF;
	struct stat st;

	/* O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused just below. */
	fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | flags);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (!S_ISREG(st.st_mode))
		return -EBADFD;
	return read_fd_full(fd, max, ret, ret_size);
}

int read_attr_at(int dirfd, const char *path, char *buf, size_t n)
{
	_cleanup_free_ char *s = NULL;
	size_t len;
	char *nl;
	int r;

	r = read_full_file_at(dirfd, path, 64 * 1024, &s, NULL);
	if (r < 0)
		return r;
	nl = strchr(s, '\n');
	if (nl)
		*nl = 0;
	strstrip_right(s);
	len = strlen(s);
	if (len >= n)
		return -ENOBUFS;
	memcpy(buf, s, len + 1);
	return 0;
}

int readlink_basename_at(int dirfd, const char *path, char **ret)
{
	char target[PATH_MAX];
	const char *base;
	ssize_t k;
	char *s;

	k = readlinkat(dirfd, path, target, sizeof(target) - 1);
	if (k < 0)
		return -errno;
	target[k] = 0;
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (!*base)
		return -EINVAL;
	s = strdup(base);
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

int open_dir_at(int dirfd, const char *path)
{
	int fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int opendir_at(int dirfd, const char *path, void **ret)
{
	_cleanup_close_ int fd = -EBADF;
	DIR *d;

	fd = open_dir_at(dirfd, path);
	if (fd < 0)
		return fd;
	d = fdopendir(fd);
	if (!d)
		return -errno;
	TAKE_FD(fd);
	*ret = d;
	return 0;
}

static int write_all(int fd, const void *data, size_t size)
{
	const char *p = data;

	while (size > 0) {
		ssize_t k = write(fd, p, size);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += k;
		size -= (size_t)k;
	}
	return 0;
}

int write_file_atomic_at(int dirfd, const char *path, const void *data, size_t size, unsigned mode)
{
	_cleanup_free_ char *copy = strdup(path), *tmp = NULL;
	_cleanup_close_ int fd = -EBADF, parent = -EBADF;
	const char *dir;
	int r;

	if (!copy)
		return -ENOMEM;
	dir = dirname(copy);
	tmp = strdup_printf("%s.tmp.%d", path, (int)getpid());
	if (!tmp)
		return -ENOMEM;
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -errno;
	r = write_all(fd, data, size);
	if (r >= 0 && fsync(fd) < 0)
		r = -errno;
	if (r >= 0 && renameat(dirfd, tmp, dirfd, path) < 0)
		r = -errno;
	if (r < 0) {
		unlinkat(dirfd, tmp, 0);
		return r;
	}
	/* the rename itself must reach the disk before we report success */
	parent = openat(dirfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (parent < 0 || fsync(parent) < 0)
		return -errno;
	return 0;
}

int mkdir_p(const char *dir)
{
	_cleanup_free_ char *copy = strdup(dir);

	if (!copy)
		return -ENOMEM;
	for (char *p = copy + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(copy, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(copy, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int mkdir_p_open(const char *dir)
{
	int fd, r;

	r = mkdir_p(dir);
	if (r < 0)
		return r;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}
