/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One process of the holders scan: its fds and mappings of NVIDIA nodes, and who it is. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "node/holders.h"
#include "node/nodeset.h"

/* The state of one scanning thread: buffers reused from process to process, and its findings. */
struct pidscan {
	const struct gk_nodeset *nodes;
	unsigned char *how; /* GK_HELD_* per node, for the process being scanned */
	char *fd_dents;
	char *maps;
	size_t maps_size;
	struct gk_holders *result;
	size_t allocated;
	uid_t last_uid; /* one-entry cache: the holders of a node usually share a user */
	char *last_user;
	bool have_last_user;
};

/* Sets up @s to look for @nodes. Returns 0 or -ENOMEM (then @s needs no pidscan_done()). */
int pidscan_init(struct pidscan *s, const struct gk_nodeset *nodes);

/* Frees what @s owns, its findings included; @s is then zeroed. */
void pidscan_done(struct pidscan *s);

/*
 * Looks at process @pid under @procfd and, when it holds a node, appends it to s->result.
 * A process that went away is skipped; one that may not be inspected is counted in
 * s->result->inaccessible (kernel threads excepted). Returns 0, or -ENOMEM.
 */
int pidscan_pid(struct pidscan *s, int procfd, pid_t pid);
