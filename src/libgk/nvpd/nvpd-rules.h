/* SPDX-License-Identifier: GPL-2.0-or-later */
/* nvidia-persistenced's observable rules, as pure decisions: which GPU a call names, in which
 * order a setter's checks run, and when a set is done. gpukeepd's RPC server applies them. */
#pragma once

#include <stdbool.h>

#include "node/pci.h"
#include "nvpd/nvpd.h"

/* What a set can see of a GPU's device file. */
enum nvpd_hold_view {
	NVPD_HOLD_OPEN,	   /* held: persistence in effect */
	NVPD_HOLD_OPENING, /* an open is in flight */
	NVPD_HOLD_CLOSED,  /* not held, nothing failed */
	NVPD_HOLD_FAILED,  /* not held: the last open failed, or it is stuck in the driver */
};

/* Whether @dev names the GPU at @addr: domain, bus and slot; the function is not compared. */
bool nvpd_device_match(const struct nvpd_device *dev, const struct gk_pci_addr *addr);

/*
 * A setter's checks in the original's order: permission first, then the device, then the value
 * (@value_ok: the mode or NUMA status is one the interface defines). Returns NVPD_OK when the set
 * may go ahead, else the status to answer.
 */
nvpd_status nvpd_rule_set_check(bool may_change, bool found, bool value_ok);

/* Whether a set to @enabled changes nothing: the GPU already wants it and it is in effect. */
bool nvpd_rule_noop(bool desired, bool enabled, enum nvpd_hold_view hold);

/*
 * After a set to @enabled was applied: the status to answer, or -1 while the hold is still
 * moving (an open in flight). Enabling succeeds only once the file is open (a failed or stuck
 * open is NVPD_ERR_DRIVER); disabling once it is not.
 */
int nvpd_rule_settled(bool enabled, enum nvpd_hold_view hold);

/* The mode a get reports: enabled only while the file is open. */
nvpd_mode nvpd_rule_mode(enum nvpd_hold_view hold);
