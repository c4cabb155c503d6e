/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The watcher's event log: one JSON object per line in the state directory, rotated by size
 * (events.log, events.log.1, ... events.log.KEEP), read back by 'gpukeep events'. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define GK_EVENTLOG_FILE     "events.log"
#define GK_EVENTLOG_MAX_LINE (64 * 1024)

struct gk_eventlog {
	int dirfd; /* borrowed */
	int fd;
	size_t size, max_bytes;
	unsigned keep;
};

/* Opens (creating, 0640) the log under @dirfd. Returns 0 or -errno; close with
 * eventlog_close(). */
int eventlog_open(int dirfd, size_t max_bytes, unsigned keep, struct gk_eventlog *ret);
void eventlog_close(struct gk_eventlog *l);

/* Appends @line (no newline; one write, so a reader never sees half a line), rotating first
 * when the file would grow past max_bytes. Returns 0 or -errno. */
int eventlog_append(struct gk_eventlog *l, const char *line);

/* Calls @fn for every line of the log under @dirfd, oldest first (the rotated files, then the
 * current one). Stops at the first negative return of @fn and returns it; -ENOENT when there is
 * no log at all. */
int eventlog_read(int dirfd, unsigned keep, int (*fn)(const char *line, void *userdata),
		  void *userdata);
