/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Who holds the GPUs: processes with an open fd or a mapping of an NVIDIA device node. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "macro.h"
#include "node/nodeset.h"

enum {
	GK_HELD_FD = 1 << 0,   /* an open file descriptor */
	GK_HELD_MMAP = 1 << 1, /* a mapping (CUDA maps /dev/nvidia* and may close the fd) */
};

struct gk_held_device {
	char *path;   /* "/dev/nvidia0" */
	unsigned how; /* GK_HELD_FD | GK_HELD_MMAP */
};

struct gk_holder {
	pid_t pid;
	char *comm;	 /* as the kernel shows it; may contain spaces */
	char *cmdline;	 /* argv joined by spaces, control characters as '?'; may be "" */
	uid_t uid;	 /* effective uid */
	char *user;	 /* its name, NULL when it has none */
	char state;	 /* from /proc/<pid>/stat */
	bool unkillable; /* state 'D': no signal ends it; the driver stays in use while it lives */
	char *cgroup;	 /* the owning cgroup path, NULL when unknown */
	char *unit;	 /* the systemd unit, NULL when none */
	const char *container_runtime;	/* static string, NULL when not in a container */
	char *container_id;		/* full id, NULL when not in a container */
	struct gk_held_device *devices; /* sorted by path */
	size_t n_devices;
};

struct gk_holders {
	struct gk_holder *holders; /* sorted by pid */
	size_t n;
	unsigned inaccessible; /* processes that could not be inspected (permission) */
};

/*
 * Scans <root>/proc/<pid>/fd and <root>/proc/<pid>/maps of every process except @exclude (pass
 * getpid() to leave the caller out, 0 to include everyone) for the nodes in @nodes. Processes that
 * exit during the scan are skipped; processes that may not be inspected are counted in
 * ->inaccessible. Returns 0 and a list to free with holders_free(), or -errno when <root>/proc
 * cannot be read (-ENOMEM on allocation failure).
 */
int holders_scan(int rootfd, const struct gk_nodeset *nodes, pid_t exclude,
		 struct gk_holders **ret);

/* Frees what one entry owns (not the entry itself). */
void holders_entry_clear(struct gk_holder *h);

/* Frees @h and everything in it; accepts NULL; returns NULL. */
struct gk_holders *holders_free(struct gk_holders *h);

static inline void holders_freep(struct gk_holders **h)
{
	holders_free(*h);
}
#define _cleanup_holders_free_ _cleanup_(holders_freep)
