/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The NVML part of a baseline (optional; older baselines have none): the active NVLinks, link
 * by link, and the GPUs with pages pending retirement or rows pending remapping. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "baseline/validate.h"
#include "node/pci.h"
#include "nvml/nvml-node.h"

struct gk_baseline_nvlink {
	char gpu[GK_PCI_ADDR_STRLEN];
	unsigned link;
	char remote[GK_PCI_ADDR_STRLEN];
};

struct gk_baseline_nvml {
	bool available; /* NVML could be read; false only for a node as it is now */
	char *error;	/* why not (NULL when available) */
	struct gk_baseline_nvlink *links; /* active links, by GPU then link number */
	size_t n_links;
	char **retired_pending; /* PCI addresses */
	char **remap_pending;
	/* The GPUs take part in an NVLink fabric (an NVSwitch node): what the fabric manager must
	 * have trained before the node is usable. Baselines saved before it have false. */
	bool fabric;
	/* The node now: each GPU's fabric as read (not saved; NULL for a loaded baseline). */
	struct gk_fabric_gpu *fabric_gpus;
	size_t n_fabric_gpus;
};

/* Takes what a baseline keeps from @node (unavailable nodes included, with their error).
 * Returns a new object (free with nvml_baseline_free()) or NULL on -ENOMEM. */
struct gk_baseline_nvml *nvml_baseline_from_node(const struct gk_nvml_node *node);
struct gk_baseline_nvml *nvml_baseline_free(struct gk_baseline_nvml *b);

/* Opens NVML (nvml_open(@path, @timeout_ms)), reads the node and closes NVML: *ret is always set
 * (unavailable, with the reason, when NVML cannot be read). Returns 0 or -ENOMEM. */
int nvml_baseline_scan(const char *path, unsigned timeout_ms, struct gk_baseline_nvml **ret);

/* {"nvlinks": [{"gpu", "link", "remote"}], "retired_pages_pending": [...],
 * "remapped_rows_pending": [...], "fabric": bool}; NULL on -ENOMEM. Only for an available one. */
struct json_object *nvml_baseline_to_json(const struct gk_baseline_nvml *b);

/* Reads that back, every field checked. 0, -EBADMSG with *ret_error (malloc()ed), -ENOMEM. */
int nvml_baseline_from_json(struct json_object *o, struct gk_baseline_nvml **ret, char **ret_error);

/*
 * Appends to @d what differs between @want (the baseline's, NULL when it has none) and @got (the
 * node now, NULL when NVML was not consulted): each NVLink that is down, goes elsewhere or is new
 * (GK_DIFF_NVLINK), NVML unreadable where the baseline has NVLinks (GK_DIFF_NVML), and any GPU
 * with pages pending retirement or rows pending remapping (GK_DIFF_PAGES_PENDING), which a
 * reload must have cleared; every GPU whose fabric is not completed with success, and a fabric
 * the baseline has and the node has not (GK_DIFF_FABRIC). Returns 0 or -ENOMEM.
 */
int nvml_baseline_compare(const struct gk_baseline_nvml *want, const struct gk_baseline_nvml *got,
			  struct gk_differences *d);
