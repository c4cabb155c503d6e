/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The daemon's GPU table: which GPUs the node has (by PCI address), the desired persistence mode
 * of each, remembered in the state file, and the device files held to keep them initialized. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/pmstate.h"
#include "daemon/protocol.h"
#include "node/pci.h"
#include "opener.h"

struct gpu {
	struct gk_pci_addr addr;
	char pci[GK_PCI_ADDR_STRLEN];
	char *uuid;		 /* NULL when the driver does not print it */
	int minor;		 /* -1 when the driver does not list the GPU */
	const char *unavailable; /* why it cannot be held (static string), or NULL */
	bool persistence;	 /* desired mode */
	bool released;		 /* released on request (a GPU reset), whatever the mode */
	struct hold hold;	 /* /dev/nvidia<minor> */
};

struct gpu_table {
	struct gpu **gpus; /* sorted by PCI address: the position is the index */
	size_t n;
	struct hold ctl; /* /dev/nvidiactl, held while any GPU is wanted */
	struct hold uvm; /* /dev/nvidia-uvm, with --uvm-persistence-mode */
	bool uvm_mode;
	bool default_mode; /* for GPUs the state file does not mention */
	bool released;	   /* release-all in force: nothing is held */
	struct gk_pmstate pm;
	uint64_t generation; /* changes with the table's own fields (see hold_generation()) */
	int rootfd;
	int statefd;
};

/*
 * Sets up an empty table. @pm (taken over) holds the remembered modes. @statefd is the state
 * directory (kept open by the caller); -EBADF disables saving.
 */
void gpus_init(struct gpu_table *t, int rootfd, int statefd, struct gk_pmstate *pm,
	       bool default_mode, bool uvm_mode);
void gpus_done(struct gpu_table *t);

/*
 * Reads the node's GPUs and merges them into the table: new GPUs get their remembered or the
 * default mode, vanished ones are released and dropped, a changed minor reopens. *ret_added and
 * *ret_removed (may be NULL) get the PCI addresses, a strv to free. Then reconciles. Returns 0 or
 * -errno when the PCI devices cannot be read (the table is then unchanged).
 */
int gpus_enumerate(struct gpu_table *t, char ***ret_added, char ***ret_removed);

/* Recomputes what each hold wants and moves every hold towards it. */
void gpus_reconcile(struct gpu_table *t);

/*
 * Sets the desired mode of every GPU @sel matches, saves the state file, reconciles. Returns the
 * number of GPUs matched (>0), -ENODEV when none matches, or -errno when the state file could
 * not be saved (then nothing changed).
 */
int gpus_set_persistence(struct gpu_table *t, const struct gk_gpusel *sel, bool enabled);

/* Releases (or re-acquires) the GPUs @sel matches, whatever their mode, and reconciles. Not
 * remembered across restarts: a reset in progress ends with the daemon that served it. Returns
 * the number matched (>0) or -ENODEV. */
int gpus_set_gpu_released(struct gpu_table *t, const struct gk_gpusel *sel, bool released);

/* Starts or ends release-all, and reconciles. */
void gpus_set_released(struct gpu_table *t, bool released);

void gpus_tick(struct gpu_table *t, uint64_t now);
uint64_t gpus_next_deadline(const struct gpu_table *t);
/* Whether an open is in flight and not yet past its deadline (start-up is not settled). */
bool gpus_settling(const struct gpu_table *t);
/* Holds in a state, over GPUs only. */
size_t gpus_count(const struct gpu_table *t, enum hold_state s);
/* Opens in flight (OPENING or STUCK) over every hold: they may still take a device. */
size_t gpus_pending(const struct gpu_table *t);
