/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The RPC procedures on gpukeepd's GPU table: get, set (the reply may wait for the device file
 * to open or close), and the NUMA calls. The transport is rpc-server.c. */
#pragma once

#include <stdbool.h>

#include "node/pci.h"
#include "nvpd/nvpd.h"

struct gkd;

/* A set waiting for its GPU's hold to settle. */
struct rpc_wait {
	struct gk_pci_addr addr;
	bool enabled;
};

/* The reply to a get. */
void rpc_proc_get(struct gkd *d, const nvpd_get_mode_args *a, nvpd_get_mode_res *ret);

/*
 * A set of the mode (v1 and v2 alike: no GPU here has coherent NUMA memory, so v1's NUMA half
 * has nothing to do). Returns the status to answer now, or -1 with *ret_wait filled when the
 * answer must wait for the device file (rpc_proc_settled()).
 */
int rpc_proc_set_mode(struct gkd *d, bool may_change, uid_t uid, const nvpd_set_mode_args *a,
		      struct rpc_wait *ret_wait);

/* v2's NUMA call: checked as a setter, then nothing to do. Returns the status. */
nvpd_status rpc_proc_set_numa(struct gkd *d, bool may_change, const nvpd_set_numa_args *a);

/* The status for a waiting set, or -1 while its hold still moves. */
int rpc_proc_settled(struct gkd *d, const struct rpc_wait *w);
