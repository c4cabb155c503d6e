/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Validation of a node against its baseline: the check before a node goes back into the pool. */
#pragma once

#include <json-c/json.h>
#include <stddef.h>

#include "baseline/baseline.h"

enum gk_diff_kind {
	GK_DIFF_GPU_COUNT,   /* fewer or more GPUs bound than the baseline */
	GK_DIFF_GPU_MISSING, /* a baseline GPU is gone from the PCI bus */
	GK_DIFF_GPU_UNBOUND, /* on the bus, not bound to nvidia */
	GK_DIFF_GPU_EXTRA,   /* a GPU the baseline does not have */
	GK_DIFF_UUID,
	GK_DIFF_MINOR,
	GK_DIFF_LINK, /* PCIe width or maximum speed */
	GK_DIFF_NVSWITCH,
	GK_DIFF_MODULE,
	GK_DIFF_NODE,
	GK_DIFF_DRIVER,
	GK_DIFF_NVLINK,	       /* an NVLink down, to another peer, or not in the baseline */
	GK_DIFF_PAGES_PENDING, /* retired pages or remapped rows still pending */
	GK_DIFF_NVML,	       /* NVML hung or unreadable where the baseline needs it */
	GK_DIFF_FABRIC,	       /* a GPU's NVLink fabric registration not completed with success */
};

struct gk_difference {
	enum gk_diff_kind kind;
	char *object;  /* a PCI address, a module, a device node, "driver", "gpus" */
	char *message; /* what was expected and what was found */
};

struct gk_differences {
	struct gk_difference *items;
	size_t n;
};

/*
 * Compares the node as it is (@now, from baseline_from_inventory()) with @expected: GPU count,
 * PCI addresses, binding, UUIDs, PCIe link width and maximum speed, NVSwitches, modules, device
 * nodes and driver version. Returns 0 and the differences (n == 0: the node matches), or -ENOMEM.
 * Free with differences_done().
 */
int validate_compare(const struct gk_baseline *expected, const struct gk_baseline *now,
		     struct gk_differences *ret);
void differences_done(struct gk_differences *d);

/* The difference to name first in one line (a GPU's own before the count of GPUs, which only
 * says that one is gone): "OBJECT: MESSAGE", with "; N more" when there are others, in @buf
 * (cut to @size). "" when there is none. */
void differences_headline(const struct gk_differences *d, char *buf, size_t size);

/* [{"object": ..., "message": ...}, ...]; NULL on -ENOMEM. */
struct json_object *differences_to_json(const struct gk_differences *d);
