/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The NVIDIA device nodes present under a root prefix, and matching open files and mappings. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "macro.h"

struct gk_nvnode {
	char *path;  /* "/dev/nvidia0": as seen inside the root prefix */
	bool is_chr; /* a character device, matched by rdev; else a file, matched by (dev, ino) */
	dev_t rdev;  /* device number, when is_chr */
	dev_t dev;   /* filesystem that holds the node: what /proc/<pid>/maps shows */
	ino_t ino;
};

struct gk_nodeset {
	struct gk_nvnode *nodes; /* sorted by path once nodeset_finish() ran */
	size_t n;
	size_t *by_rdev; /* indices of the character devices, sorted by rdev */
	size_t n_chr;
	size_t *by_inode; /* indices of all nodes, sorted by (dev, ino) */
	dev_t *fs_devs;	  /* distinct values of dev: a cheap first test for maps lines */
	size_t n_fs_devs;
};

/*
 * Adds the node @path with stat @st to @set (zero-initialised to start). Only character devices
 * and regular files (fixtures) are taken; a node whose identity is already in the set is skipped.
 * Call nodeset_finish() after the last add. Returns 0, 1 when skipped, -ENOMEM.
 */
int nodeset_add(struct gk_nodeset *set, const char *path, const struct stat *st);

/* Sorts and indexes @set; call it before matching. Returns 0 or -ENOMEM. */
int nodeset_finish(struct gk_nodeset *set);

/*
 * Collects the nodes under @rootfd: dev/nvidia* (nvidiaN, nvidiactl, nvidia-uvm*, nvidia-modeset,
 * nvidia-nvswitch*, nvidia-nvlink, ...) and the entries of dev/nvidia-caps/ and
 * dev/nvidia-caps-imex-channels/. Symlinks are skipped; a missing dev/ gives an empty set.
 * Returns 0 and a finished set to free with nodeset_free(), or -errno.
 */
int nodeset_scan(int rootfd, struct gk_nodeset **ret);

/* Frees @set and everything in it; accepts NULL; returns NULL. */
struct gk_nodeset *nodeset_free(struct gk_nodeset *set);

static inline void nodeset_freep(struct gk_nodeset **set)
{
	nodeset_free(*set);
}
#define _cleanup_nodeset_free_ _cleanup_(nodeset_freep)

/*
 * Matches the stat of an open file (fstatat() of /proc/<pid>/fd/N, or of a map_files entry):
 * a character device by rdev, anything else by (dev, ino). Returns the node's index, or -ENOENT.
 */
int nodeset_match_stat(const struct gk_nodeset *set, const struct stat *st);

/* Matches a maps line's "major:minor inode". Returns the node's index, or -ENOENT. */
int nodeset_match_inode(const struct gk_nodeset *set, dev_t dev, uint64_t ino);

/* Whether any node lives on filesystem @dev: maps lines on other filesystems cannot match. */
bool nodeset_has_fs(const struct gk_nodeset *set, dev_t dev);
