/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The node's inventory: NVIDIA PCI functions, the driver, its module graph, device nodes, and the
 * problems seen while reading them. A pure snapshot: reading it changes nothing on the node. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "node/devnodes.h"
#include "node/modgraph.h"
#include "node/nvproc.h"
#include "node/pcidev.h"

struct gk_gpu {
	struct gk_pcidev pci;
	bool has_info; /* /proc/driver/nvidia/gpus/<bdf>/information was read */
	struct gk_nvinfo info;
};

struct gk_problem {
	char *object;  /* what it is about: a PCI address, a file, a module, a device node */
	char *message; /* what is wrong and what to do */
};

struct gk_inventory {
	bool driver_loaded;   /* the nvidia module is loaded (or /proc/driver/nvidia exists) */
	char *driver_version; /* from /proc/driver/nvidia/version, NULL when unknown */
	bool modules_known;   /* /proc/modules was read */
	struct gk_gpu *gpus;  /* sorted by PCI address; the index is the position */
	size_t n_gpus;
	struct gk_pcidev *switches;
	size_t n_switches;
	struct gk_modlist modules; /* every loaded module */
	char **nvidia_modules; /* nvidia and all that depend on it, breadth-first; may be NULL */
	struct gk_devnode_list nodes;
	struct gk_problem *problems;
	size_t n_problems;
};

/*
 * Reads the node under @rootfd. Missing or malformed files become problems naming the file, not
 * failures. Fails only when the PCI device list itself cannot be read (-errno) or on -ENOMEM.
 * Free with inventory_done().
 */
int inventory_scan(int rootfd, struct gk_inventory *ret);
void inventory_done(struct gk_inventory *inv);

size_t inventory_bound_gpus(const struct gk_inventory *inv);
