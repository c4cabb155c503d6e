/* SPDX-License-Identifier: GPL-2.0-or-later */
/* NVSwitch nodes (HGX/DGX boards): the device files the driver's nvidia-nvswitch side needs, and
 * the fabric manager that holds them. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "node/devnodes.h"
#include "node/holders.h"
#include "node/pcidev.h"

#define GK_NVSWITCH_DRIVER	"nvidia-nvswitch" /* PCI driver and /proc/devices name */
#define GK_NVSWITCH_CTL_MINOR	255		  /* NVSWITCH_CTL_MINOR */
#define GK_NVSWITCH_NODE_PREFIX "/dev/nvidia-nvswitch"

/* Whether @d is bound to the driver's NVSwitch side. */
bool nvswitch_bound(const struct gk_pcidev *d);

/*
 * Appends the nodes a node with @n_bound NVSwitches bound needs, for the dynamic major @major
 * ("nvidia-nvswitch" in /proc/devices): /dev/nvidia-nvswitch0 .. N-1 (minors in probe order,
 * which is PCI order) and /dev/nvidia-nvswitchctl (minor 255). Nothing when @n_bound is 0.
 * Returns 0 or -ENOMEM.
 */
int nvswitch_expect_nodes(struct gk_devnode_list *l, unsigned major, size_t n_bound);

/* Whether @path is an NVSwitch device file ("/dev/nvidia-nvswitch3", "/dev/nvidia-nvswitchctl"). */
bool nvswitch_is_node(const char *path);

/* Whether @h is the fabric manager: NVIDIA's nv-fabricmanager by name, or a process holding an
 * NVSwitch device file and no GPU's node (a monitor such as DCGM holds both). */
bool holder_is_fabric_manager(const struct gk_holder *h);
