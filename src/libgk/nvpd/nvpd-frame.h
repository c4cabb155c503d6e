/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ONC RPC record marking on a stream (RFC 5531, section 11), input side: a record is fragments,
 * each behind a 4-byte big-endian word (top bit: last fragment; the rest: its length). libtirpc's
 * own non-blocking reader drops records of more than one fragment, so gpukeepd frames here and
 * hands whole records to libtirpc's XDR. Pure: bytes in, state out. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NVPD_FRAG_LAST 0x80000000u

/* A record being assembled: its bytes so far, up to @cap. */
struct nvpd_record {
	uint8_t *buf;
	size_t cap;
	size_t len;
	bool done; /* the last fragment is in */
};

/*
 * Moves every whole fragment at the start of @in (@in_len bytes) into @rec, stopping after the
 * record's last fragment. *ret_used gets the bytes of @in consumed (headers included). Returns 1
 * when @rec is done, 0 when more input is needed, -EMSGSIZE when the record would exceed rec->cap,
 * -EPROTO for an empty fragment that is not the last (nothing is consumed then).
 */
int nvpd_frame(struct nvpd_record *rec, const uint8_t *in, size_t in_len, size_t *ret_used);

/* Writes the single-fragment header for a @len-byte record into @out[4]. */
void nvpd_frame_header(uint8_t out[4], size_t len);
