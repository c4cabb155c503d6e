// SPDX-License-Identifier: GPL-2.0-or-later
/* /dev/kmsg records (kernel Documentation/ABI/testing/dev-kmsg), parsed by hand: the watcher
 * reads every record of a busy node's log, and a regular expression per record costs ten
 * times more. */
#include <errno.h>
#include <string.h>

#include "ladder/kmsg.h"

/* A decimal field ending at @end (',' or ';'): advances *p past the separator. */
static int field_u64(const char **p, const char *end, uint64_t *ret)
{
	const char *s = *p;
	uint64_t v = 0;

	if (s >= end || *s < '0' || *s > '9')
		return -EPROTO;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -EPROTO;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (s >= end || (*s != ',' && *s != ';'))
		return -EPROTO;
	*p = s;
	*ret = v;
	return 0;
}

int kmsg_parse_record(const char *buf, size_t len, struct gk_kmsg_record *ret)
{
	const char *p = buf, *end = buf + len, *semi, *nl;
	uint64_t prio, seq, ts;
	char flag = '-';

	semi = memchr(buf, ';', len);
	if (!semi)
		return -EPROTO;
	if (field_u64(&p, semi + 1, &prio) < 0 || *p++ != ',' || prio > 1023)
		return -EPROTO;
	if (field_u64(&p, semi + 1, &seq) < 0 || *p++ != ',')
		return -EPROTO;
	if (field_u64(&p, semi + 1, &ts) < 0)
		return -EPROTO;
	/* the flags field, then fields later kernels may add: ignored */
	if (*p == ',') {
		p++;
		if (p < semi && *p != ',')
			flag = *p;
	}
	p = semi + 1;
	nl = memchr(p, '\n', (size_t)(end - p));
	*ret = (struct gk_kmsg_record){
		.facility = (unsigned)(prio >> 3),
		.level = (unsigned)(prio & 7),
		.seq = seq,
		.ts_usec = ts,
		.msg = p,
		.msg_len = (size_t)((nl ? nl : end) - p),
		.flag = flag,
	};
	return 0;
}

size_t kmsg_record_end(const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len;

	for (;;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (!nl || nl + 1 >= end)
			return len;
		p = nl + 1;
		if (*p != ' ')
			return (size_t)(p - buf);
	}
}
