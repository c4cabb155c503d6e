/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A node's expected configuration (schema "gpukeep.baseline") and the check of an inventory
 * against it: what a node must look like before it goes back into the scheduling pool. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "node/inventory.h"

#define GK_BASELINE_SCHEMA   "gpukeep.baseline"
#define GK_BASELINE_VERSION  1
#define GK_BASELINE_MAX_SIZE (4 * 1024 * 1024)
#define GK_BASELINE_MAX_GTS  256 /* GT/s; PCIe 7.0 is 128 */

struct gk_baseline_gpu {
	char pci[GK_PCI_ADDR_STRLEN];
	bool bound;
	char *uuid;		  /* NULL when unknown */
	char *model;		  /* NULL when unknown */
	int minor;		  /* -1 when unknown */
	int cur_width, max_width; /* -1 when unknown */
	double max_gts;		  /* 0 when unknown */
};

struct gk_baseline_nvml; /* nvml-baseline.h */

struct gk_baseline {
	char *driver_version; /* NULL when unknown */
	struct gk_baseline_gpu *gpus;
	size_t n_gpus;
	char **nvswitches;   /* PCI addresses */
	char **modules;	     /* nvidia's closure */
	char **device_nodes; /* nodes that were ok */

	/* NVLinks and pending retirements (nvml-baseline.h); NULL when not recorded */
	struct gk_baseline_nvml *nvml;
};

/* Takes what a baseline keeps from @inv. Returns 0 or -ENOMEM. Free with baseline_done(). */
int baseline_from_inventory(const struct gk_inventory *inv, struct gk_baseline *ret);
void baseline_done(struct gk_baseline *b);

/* Returns a new JSON object, NULL on -ENOMEM. */
struct json_object *baseline_to_json(const struct gk_baseline *b);

/*
 * Reads a baseline saved by baseline_to_json(). Every field is checked: on -EBADMSG *ret_error
 * (malloc()ed, when given) says which field is wrong. Other errors: -ENOENT, -EFBIG, -errno.
 */
int baseline_load(int dirfd, const char *path, struct gk_baseline *ret, char **ret_error);

/* The same checks on an already parsed object (a baseline embedded in a reload journal). */
int baseline_from_json(struct json_object *o, struct gk_baseline *ret, char **ret_error);

/*
 * Reads and parses a JSON file of at most @max bytes, strictly (RFC 8259, UTF-8). Returns 0 and
 * the object (the caller puts it), -EBADMSG with *ret_error (malloc()ed) when it is not one JSON
 * value ("truncated at byte N (line L)", "not valid JSON at byte N ...") or not a regular file
 * (opened without blocking: a FIFO never stalls), or -errno (-EISDIR for a directory).
 */
int json_parse_file_at(int dirfd, const char *path, size_t max, struct json_object **ret,
		       char **ret_error);
