// SPDX-License-Identifier: GPL-2.0-or-later
/* The event log: append-only JSON lines with size rotation. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fileio.h"
#include "ladder/eventlog.h"
#include "macro.h"

static int open_current(struct gk_eventlog *l)
{
	struct stat st;
	int fd;

	fd = openat(l->dirfd, GK_EVENTLOG_FILE,
		    O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	l->fd = fd;
	l->size = (size_t)st.st_size;
	return 0;
}

int eventlog_open(int dirfd, size_t max_bytes, unsigned keep, struct gk_eventlog *ret)
{
	struct gk_eventlog l = {
		.dirfd = dirfd, .fd = -EBADF, .max_bytes = max_bytes, .keep = keep ? keep : 1};
	int r = open_current(&l);

	if (r < 0)
		return r;
	*ret = l;
	return 0;
}

void eventlog_close(struct gk_eventlog *l)
{
	l->fd = safe_close(l->fd);
}

static int rotate(struct gk_eventlog *l)
{
	char from[64], to[64];

	for (unsigned i = l->keep; i > 1; i--) {
		snprintf(from, sizeof(from), GK_EVENTLOG_FILE ".%u", i - 1);
		snprintf(to, sizeof(to), GK_EVENTLOG_FILE ".%u", i);
		if (renameat(l->dirfd, from, l->dirfd, to) < 0 && errno != ENOENT)
			return -errno;
	}
	if (renameat(l->dirfd, GK_EVENTLOG_FILE, l->dirfd, GK_EVENTLOG_FILE ".1") < 0 &&
	    errno != ENOENT)
		return -errno;
	l->fd = safe_close(l->fd);
	return open_current(l);
}

int eventlog_append(struct gk_eventlog *l, const char *line)
{
	size_t n = strlen(line);
	struct iovec iov[2] = {{(void *)line, n}, {(void *)"\n", 1}};
	ssize_t w;

	if (n >= GK_EVENTLOG_MAX_LINE)
		return -EMSGSIZE;
	if (l->size > 0 && l->size + n + 1 > l->max_bytes) {
		int r = rotate(l);

		if (r < 0)
			return r;
	}
	w = writev(l->fd, iov, 2);
	if (w < 0)
		return -errno;
	l->size += (size_t)w;
	return (size_t)w == n + 1 ? 0 : -EIO;
}

static int read_one(int dirfd, const char *name, int (*fn)(const char *, void *), void *ud)
{
	_cleanup_free_ char *text = NULL;
	char *line, *save = NULL;
	int r;

	r = read_full_file_at(dirfd, name, 1024 * 1024 * 1024, &text, NULL);
	if (r < 0)
		return r;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		r = fn(line, ud);
		if (r < 0)
			return r;
	}
	return 0;
}

int eventlog_read(int dirfd, unsigned keep, int (*fn)(const char *line, void *userdata),
		  void *userdata)
{
	bool any = false;
	char name[64];
	int r;

	for (unsigned i = keep; i >= 1; i--) {
		snprintf(name, sizeof(name), GK_EVENTLOG_FILE ".%u", i);
		r = read_one(dirfd, name, fn, userdata);
		if (r == -ENOENT)
			continue;
		if (r < 0)
			return r;
		any = true;
	}
	r = read_one(dirfd, GK_EVENTLOG_FILE, fn, userdata);
	if (r == -ENOENT)
		return any ? 0 : -ENOENT;
	return r;
}
