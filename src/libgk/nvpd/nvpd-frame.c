// SPDX-License-Identifier: GPL-2.0-or-later
/* Record marking, input side (nvpd-frame.h). */
#include <errno.h>
#include <string.h>

#include "nvpd/nvpd-frame.h"

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int nvpd_frame(struct nvpd_record *rec, const uint8_t *in, size_t in_len, size_t *ret_used)
{
	size_t used = 0;

	while (!rec->done && in_len - used >= 4) {
		uint32_t h = be32(in + used);
		size_t len = h & ~NVPD_FRAG_LAST;

		if (len == 0 && !(h & NVPD_FRAG_LAST)) {
			*ret_used = used;
			return -EPROTO;
		}
		/* Refused as soon as the header says so: no need to wait for the bytes. */
		if (len > rec->cap - rec->len) {
			*ret_used = used;
			return -EMSGSIZE;
		}
		if (in_len - used - 4 < len)
			break;
		memcpy(rec->buf + rec->len, in + used + 4, len);
		rec->len += len;
		used += 4 + len;
		rec->done = h & NVPD_FRAG_LAST;
	}
	*ret_used = used;
	return rec->done;
}

void nvpd_frame_header(uint8_t out[4], size_t len)
{
	uint32_t h = (uint32_t)len | NVPD_FRAG_LAST;

	out[0] = (uint8_t)(h >> 24);
	out[1] = (uint8_t)(h >> 16);
	out[2] = (uint8_t)(h >> 8);
	out[3] = (uint8_t)h;
}
