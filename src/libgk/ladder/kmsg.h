/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One record of the kernel's /dev/kmsg interface ("prio,seq,ts_usec,flags[,...];message"),
 * parsed in place: no allocation, the message points into the caller's buffer. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct gk_kmsg_record {
	unsigned facility; /* 0 = the kernel itself; writes to /dev/kmsg are LOG_USER (1) */
	unsigned level;	   /* syslog level 0..7 */
	uint64_t seq;
	uint64_t ts_usec; /* CLOCK_MONOTONIC-like time since boot */
	const char *msg;  /* the first line of the message, not NUL-terminated */
	size_t msg_len;
	char flag; /* '-' or 'c' (continuation of a line in the kernel's buffer) */
};

/*
 * Parses one record of @len bytes at @buf: the header fields, then the message up to the first
 * newline (the " KEY=value" dictionary lines that may follow are skipped). Returns 0 and *ret,
 * or -EPROTO when @buf is not a record (the header is missing or malformed). Pure.
 */
int kmsg_parse_record(const char *buf, size_t len, struct gk_kmsg_record *ret);

/*
 * The end of the record that starts at @buf in a file of records (one per line, dictionary
 * lines starting with a space belong to the record before): the offset just past it, or @len.
 */
size_t kmsg_record_end(const char *buf, size_t len);
