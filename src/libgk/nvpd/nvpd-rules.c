// SPDX-License-Identifier: GPL-2.0-or-later
/* nvidia-persistenced's rules (docs/protocol.md, "The RPC socket"), as pure functions. */
#include "nvpd/nvpd-rules.h"

bool nvpd_device_match(const struct nvpd_device *dev, const struct gk_pci_addr *addr)
{
	/* Negative numbers on the wire name no GPU: compared as unsigned they cannot match a
	 * sysfs address (domain up to 0xffff, bus 0xff, slot 0x1f). */
	return (unsigned)dev->domain == addr->domain && (unsigned)dev->bus == addr->bus &&
	       (unsigned)dev->slot == addr->dev;
}

nvpd_status nvpd_rule_set_check(bool may_change, bool found, bool value_ok)
{
	if (!may_change)
		return NVPD_ERR_PERMISSIONS;
	if (!found)
		return NVPD_ERR_DEVICE_NOT_FOUND;
	if (!value_ok)
		return NVPD_ERR_INVALID_ARGUMENT;
	return NVPD_OK;
}

bool nvpd_rule_noop(bool desired, bool enabled, enum nvpd_hold_view hold)
{
	if (desired != enabled)
		return false;
	/* A wanted GPU whose open failed is retried by a set: not a no-op. */
	return enabled ? hold == NVPD_HOLD_OPEN
		       : hold != NVPD_HOLD_OPEN && hold != NVPD_HOLD_OPENING;
}

int nvpd_rule_settled(bool enabled, enum nvpd_hold_view hold)
{
	if (hold == NVPD_HOLD_OPENING)
		return -1;
	if (enabled)
		return hold == NVPD_HOLD_OPEN ? NVPD_OK : NVPD_ERR_DRIVER;
	return hold == NVPD_HOLD_OPEN ? NVPD_ERR_UNKNOWN : NVPD_OK;
}

nvpd_mode nvpd_rule_mode(enum nvpd_hold_view hold)
{
	return hold == NVPD_HOLD_OPEN ? NVPD_MODE_ENABLED : NVPD_MODE_DISABLED;
}
