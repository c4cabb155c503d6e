/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The GPU reset's decisions, as pure functions of what was observed: which GPUs, the NVLink
 * rule for which must be reset together, whose holders block it, and what to compare after. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "baseline/baseline.h"
#include "baseline/nvml-baseline.h"
#include "daemon/protocol.h"
#include "node/holders.h"
#include "node/inventory.h"

/* The first PCI device id of Hopper: from it on, NVLink-connected GPUs are reset one by one. */
#define GK_RESET_HOPPER_DEVICE 0x2300
/* The first of Ampere's GA100 (A100): before it, an NVSwitch node (DGX-2, HGX-2) resets its GPUs
 * and NVSwitches together, with the fabric manager stopped. */
#define GK_RESET_AMPERE_DEVICE 0x2080

/* The reset on an NVSwitch node (nvidia-smi(1), -r: "Starting with the NVIDIA Ampere
 * architecture, GPUs with NVLink connections can be individually reset. On Ampere NVSwitch
 * systems, Fabric Manager is required to facilitate reset. On Hopper and later NVSwitch
 * systems, the dependency on Fabric Manager ... is removed"). The fabric manager is never
 * stopped for a reset: it re-registers the GPU with the fabric after it. */
enum gk_reset_fabric {
	GK_RESET_FABRIC_NONE,	    /* no NVSwitch: no fabric */
	GK_RESET_FABRIC_WAIT,	    /* the manager runs: wait for the GPUs' fabric, then links */
	GK_RESET_FABRIC_UNCHECKED,  /* the manager runs but NVML is not available */
	GK_RESET_FABRIC_NO_MANAGER, /* Hopper or later, no manager: nothing retrains the fabric */
	GK_RESET_FABRIC_PRE_AMPERE, /* refused: GPUs and NVSwitches reset together (a reload) */
	GK_RESET_FABRIC_NEEDS_MANAGER, /* refused: Ampere NVSwitch GPUs reset only through it */
};

/* The rule for @targets on the node @inv, with a fabric manager running (@manager) and NVML
 * readable (@nvml). */
enum gk_reset_fabric reset_fabric_rule(const struct gk_inventory *inv, char *const *targets,
				       bool manager, bool nvml);

/* "PCI/LINK" for each active link of @targets in @links (a strv, malloc()ed; empty when @links is
 * NULL), NULL on -ENOMEM. */
char **reset_nvlinks_of(const struct gk_baseline_nvml *links, char *const *targets);

/*
 * The GPUs @sels name (as `pm -i`: index, minor:N, PCI address, UUID), every GPU when @n is 0,
 * as a strv of PCI addresses in PCI order without repeats. Returns 0, -ENODEV with the index of
 * the first selector that matches no GPU in *ret_unmatched, -ENOMEM.
 */
int reset_select(const struct gk_inventory *inv, const struct gk_gpusel *sels, size_t n,
		 char ***ret, size_t *ret_unmatched);

/*
 * The driver's rule (nvidia-smi -r): before Hopper, and on Ampere without Fabric Manager, GPUs
 * connected by NVLink must be reset in the same command. Adds to *targets every GPU reachable
 * over @links from a target when one of those GPUs is older than Hopper (Ampere is treated the
 * same: whether Fabric Manager mediates is not known here). Returns how many were added, or
 * -ENOMEM. @links may be NULL (not known: nothing added).
 */
int reset_nvlink_group(const struct gk_inventory *inv, const struct gk_baseline_nvml *links,
		       char ***targets);

/* The device node of GPU @pci in @inv ("/dev/nvidia3"), malloc()ed; NULL when unknown. */
char *reset_gpu_node(const struct gk_inventory *inv, const char *pci);

/* Keeps in @h only the holders of the nodes @nodes (the others run on other GPUs and are left
 * alone). */
void reset_filter_holders(struct gk_holders *h, char *const *nodes);

/* Keeps in @b only GPUs @targets and their device nodes @nodes: what a reset can change. */
void reset_baseline_keep(struct gk_baseline *b, char *const *targets, char *const *nodes);
