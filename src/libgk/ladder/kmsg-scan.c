// SPDX-License-Identifier: GPL-2.0-or-later
/* Kernel log records and the NVIDIA driver's Xid lines (see kmsg-scan.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "ladder/kmsg-scan.h"
#include "ladder/nvline.h"
#include "macro.h"

#define KMSG_MAX_BYTES	(16u << 20) /* the largest kernel log buffer is a few MiB */
#define KMSG_RECORD_MAX 8192	    /* a /dev/kmsg read returns one record, at most this much */

bool xid_match(const char *msg, size_t len, struct gk_xid *ret)
{
	struct gk_nv_event ev;

	if (nvline_parse(msg, len, &ev) <= 0)
		return false;
	if (ev.kind != GK_NV_XID && ev.kind != GK_NV_FALLEN_OFF)
		return false;
	*ret = (struct gk_xid){.xid = ev.code};
	snprintf(ret->pci, sizeof(ret->pci), "%s", ev.pci);
	return true;
}

/* The whole log as text, one record per line: a file as it is, /dev/kmsg one read per record. */
static int read_log(const char *path, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	struct stat st;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISCHR(st.st_mode))
		return read_full_file_at(AT_FDCWD, path, KMSG_MAX_BYTES, ret, ret_len);
	buf = malloc(KMSG_MAX_BYTES + 1);
	if (!buf)
		return -ENOMEM;
	while (len + KMSG_RECORD_MAX < KMSG_MAX_BYTES) {
		ssize_t n = read(fd, buf + len, KMSG_RECORD_MAX);

		if (n < 0 && errno == EPIPE) /* overrun: records were lost; go on with the next */
			continue;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += (size_t)n;
		if (buf[len - 1] != '\n')
			buf[len++] = '\n';
	}
	buf[len] = '\0';
	*ret = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

/* Highest sequence number in the log. */
static uint64_t max_seq(const char *text, size_t len)
{
	struct gk_kmsg_record rec;
	uint64_t max = 0;

	for (const char *p = text, *end = text + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (kmsg_parse_record(p, l, &rec) == 0 && rec.seq > max)
			max = rec.seq;
		p += l + 1;
	}
	return max;
}

int kmsg_scan_xids(const char *path, uint64_t after_seq, gk_xid_fn fn, void *userdata,
		   uint64_t *ret_last_seq, bool *ret_restarted)
{
	_cleanup_free_ char *text = NULL;
	uint64_t last;
	bool restarted;
	size_t len;
	int r, n = 0;

	r = read_log(path, &text, &len);
	if (r < 0)
		return r;
	last = max_seq(text, len);
	restarted = last < after_seq;
	for (const char *p = text, *end = text + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
		struct gk_kmsg_record rec;
		struct gk_xid x;

		if (kmsg_parse_record(p, l, &rec) == 0 && (restarted || rec.seq > after_seq) &&
		    xid_match(rec.msg, rec.msg_len, &x)) {
			r = fn(userdata, &rec, &x);
			if (r < 0)
				return r;
			n++;
		}
		p += l + 1;
	}
	*ret_last_seq = restarted || last > after_seq ? last : after_seq;
	*ret_restarted = restarted;
	return n;
}
