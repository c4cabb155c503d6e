// SPDX-License-Identifier: GPL-2.0-or-later
/* Reading kernel log records (see watch-kmsg.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ladder/kmsg.h"
#include "macro.h"
#include "watch-kmsg.h"

/* the kernel's records are at most 1 KiB of text plus the dictionary (CONSOLE_EXT_LOG_MAX) */
#define RECORD_MAX (8 * 1024)
#define FILE_CHUNK (256 * 1024)

int kmsg_source_open(const char *path, struct kmsg_source *ret)
{
	struct kmsg_source s = {.fd = -EBADF};
	struct stat st;

	s.fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (s.fd < 0)
		return -errno;
	if (fstat(s.fd, &st) < 0) {
		int r = -errno;

		close(s.fd);
		return r;
	}
	s.is_file = S_ISREG(st.st_mode);
	s.buf = malloc(s.is_file ? FILE_CHUNK + RECORD_MAX : RECORD_MAX);
	if (!s.buf) {
		close(s.fd);
		return -ENOMEM;
	}
	*ret = s;
	return 0;
}

void kmsg_source_close(struct kmsg_source *s)
{
	s->fd = safe_close(s->fd);
	free(s->buf);
	s->buf = NULL;
}

static int read_device(struct kmsg_source *s, void (*fn)(const char *, size_t, void *), void *ud)
{
	for (;;) {
		ssize_t n = read(s->fd, s->buf, RECORD_MAX - 1);

		if (n < 0 && errno == EPIPE) {
			/* overrun: the position moved to the oldest record left; the sequence
			 * numbers tell how many went */
			s->epipe++;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? 0 : -errno;
		if (n == 0)
			return 0;
		fn(s->buf, (size_t)n, ud);
	}
}

static int read_file(struct kmsg_source *s, void (*fn)(const char *, size_t, void *), void *ud)
{
	for (;;) {
		ssize_t n = read(s->fd, s->buf + s->len, FILE_CHUNK);
		size_t off = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? 0 : -errno;
		if (n == 0)
			return 0;
		s->len += (size_t)n;
		/* whole lines only: a writer may be in the middle of one */
		for (;;) {
			const char *nl = memchr(s->buf + off, '\n', s->len - off);
			size_t end;

			if (!nl)
				break;
			end = kmsg_record_end(s->buf + off, s->len - off);
			if (s->buf[off + end - 1] != '\n')
				end = (size_t)(nl - (s->buf + off)) + 1;
			fn(s->buf + off, end, ud);
			off += end;
		}
		memmove(s->buf, s->buf + off, s->len - off);
		s->len -= off;
		/* a "line" longer than any record: drop it */
		if (s->len >= RECORD_MAX)
			s->len = 0;
	}
}

int kmsg_source_read(struct kmsg_source *s, void (*fn)(const char *rec, size_t len, void *ud),
		     void *ud)
{
	return s->is_file ? read_file(s, fn, ud) : read_device(s, fn, ud);
}
