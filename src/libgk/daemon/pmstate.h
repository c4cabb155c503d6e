/* SPDX-License-Identifier: GPL-2.0-or-later */
/* gpukeepd's state file: the desired persistence mode per GPU (by PCI address), kept across
 * restarts so that a restart does not silently change the node. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "node/pci.h"

#define GK_PMSTATE_FILE	       "persistence.json"
#define GK_PMSTATE_MAX_ENTRIES 1024	   /* GPUs remembered */
#define GK_PMSTATE_MAX_SIZE    (64 * 1024) /* bytes in the file */

struct gk_pmstate_entry {
	char pci[GK_PCI_ADDR_STRLEN]; /* canonical sysfs spelling */
	bool enabled;
};

struct gk_pmstate {
	struct gk_pmstate_entry *entries; /* sorted by PCI address */
	size_t n;
};

/*
 * Parses the text of a state file. Returns 0 and fills *ret (free with pmstate_done()), or
 * -EBADMSG with a description of the first problem in @err (size @errlen), or -ENOMEM.
 */
int pmstate_parse(const char *text, struct gk_pmstate *ret, char *err, size_t errlen);

/* The file's text (JSON, trailing newline), malloc()ed; NULL on -ENOMEM. */
char *pmstate_format(const struct gk_pmstate *s);

/* Remembers @enabled for @pci (any spelling). Returns 0, -EINVAL (bad address), -E2BIG, -ENOMEM. */
int pmstate_set(struct gk_pmstate *s, const char *pci, bool enabled);

/* Looks up @pci (canonical spelling). Returns 0 and *ret, or -ENOENT. */
int pmstate_get(const struct gk_pmstate *s, const char *pci, bool *ret);

/*
 * Reads @name under the directory @dirfd. Returns 0, -ENOENT when there is no file yet,
 * -EBADMSG (why in @err) when it is corrupt, or another -errno when it cannot be read.
 */
int pmstate_load(int dirfd, const char *name, struct gk_pmstate *ret, char *err, size_t errlen);

/*
 * Writes @s as @name under @dirfd atomically: a temporary file, fsync, rename over the old one,
 * fsync of the directory. A crash leaves the old or the new file, never a mix. Returns 0 or -errno.
 */
int pmstate_save(int dirfd, const char *name, const struct gk_pmstate *s);

void pmstate_done(struct gk_pmstate *s);
