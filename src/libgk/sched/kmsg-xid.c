// SPDX-License-Identifier: GPL-2.0-or-later
/* Kernel log records and the NVIDIA driver's Xid lines (see kmsg-xid.h). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"
#include "sched/kmsg-xid.h"

#define KMSG_MAX_BYTES	(16u << 20) /* the largest kernel log buffer is a few MiB */
#define KMSG_RECORD_MAX 8192	    /* a /dev/kmsg read returns one record, at most this much */

/* Parses a decimal number at *p up to @end, moving *p past it. */
static int parse_u64(const char **p, const char *end, uint64_t *ret)
{
	uint64_t v = 0;
	const char *s = *p;

	if (s >= end || !isdigit((unsigned char)*s))
		return -EINVAL;
	for (; s < end && isdigit((unsigned char)*s); s++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*p = s;
	*ret = v;
	return 0;
}

int kmsg_parse_record(const char *line, size_t len, struct gk_kmsg_record *ret)
{
	const char *end = line + len, *p = line, *semi = memchr(line, ';', len);
	uint64_t prio, seq, usec;

	if (!semi)
		return -EINVAL;
	if (parse_u64(&p, semi, &prio) < 0 || p >= semi || *p++ != ',')
		return -EINVAL;
	if (parse_u64(&p, semi, &seq) < 0 || p >= semi || *p++ != ',')
		return -EINVAL;
	if (parse_u64(&p, semi, &usec) < 0 || p >= semi || *p != ',')
		return -EINVAL;
	*ret = (struct gk_kmsg_record){
		.seq = seq, .usec = usec, .msg = semi + 1, .msg_len = (size_t)(end - semi - 1)};
	return 0;
}

/* memmem() for a NUL-terminated needle. */
static const char *find(const char *s, size_t len, const char *needle)
{
	return memmem(s, len, needle, strlen(needle));
}

bool xid_match(const char *msg, size_t len, struct gk_xid *ret)
{
	const char *end = msg + len, *p = find(msg, len, "NVRM: Xid ("), *close;
	struct gk_xid x = {};
	uint64_t xid;
	size_t plen;

	if (!p)
		return false;
	p += strlen("NVRM: Xid (");
	if ((size_t)(end - p) > 4 && memcmp(p, "PCI:", 4) == 0)
		p += 4;
	close = memchr(p, ')', (size_t)(end - p));
	if (!close || close == p)
		return false;
	for (const char *c = p; c < close; c++)
		if (!isxdigit((unsigned char)*c) && *c != ':' && *c != '.')
			return false;
	plen = (size_t)(close - p);
	if (plen >= sizeof(x.pci))
		plen = sizeof(x.pci) - 1;
	memcpy(x.pci, p, plen);
	p = close + 1;
	if (end - p < 3 || p[0] != ':' || p[1] != ' ')
		return false;
	p += 2;
	if (parse_u64(&p, end, &xid) < 0 || xid > 100000)
		return false;
	x.xid = (unsigned)xid;
	*ret = x;
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
