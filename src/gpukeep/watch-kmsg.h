/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The kernel log as the watcher reads it: /dev/kmsg (one record per read, EPIPE when records
 * were overwritten before we read them), or a file of records in the same format (--kmsg). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kmsg_source {
	int fd;
	bool is_file;
	char *buf;
	size_t len;
	uint64_t epipe; /* times the kernel said records were lost */
};

/* Opens @path non-blocking. Returns 0 or -errno. */
int kmsg_source_open(const char *path, struct kmsg_source *ret);
void kmsg_source_close(struct kmsg_source *s);

/* Calls @fn for each record that can be read now (a file: each complete line with its
 * dictionary lines). Returns 0 when no more is there, or -errno. */
int kmsg_source_read(struct kmsg_source *s, void (*fn)(const char *rec, size_t len, void *ud),
		     void *ud);
