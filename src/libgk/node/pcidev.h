/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One NVIDIA PCI function as sysfs shows it: identity, bound driver, NUMA node, PCIe link. */
#pragma once

#include <stdbool.h>

#include "node/pci.h"

#define GK_PCI_VENDOR_NVIDIA 0x10de

enum gk_pci_kind {
	GK_PCI_OTHER,
	GK_PCI_GPU,	 /* class 0x0300 (VGA) or 0x0302 (3D controller) */
	GK_PCI_NVSWITCH, /* class 0x0680 (bridge, other) */
};

struct gk_pcilink {
	char *cur_speed, *max_speed; /* as sysfs prints them: "16.0 GT/s PCIe"; NULL when absent */
	double cur_gts, max_gts;     /* parsed GT/s, 0 when absent or "Unknown" */
	int cur_width, max_width;    /* lanes, -1 when absent (conventional PCI) */
};

struct gk_pcidev {
	struct gk_pci_addr addr;
	char name[GK_PCI_ADDR_STRLEN]; /* sysfs directory name */
	enum gk_pci_kind kind;
	unsigned vendor, device, class; /* class is 24 bits: 0x030200 */
	unsigned subsys_vendor, subsys_device;
	char *driver;  /* bound driver's name, NULL when unbound */
	int numa_node; /* -1 when unknown */
	struct gk_pcilink link;
};

enum gk_pci_kind pci_class_kind(unsigned class);

/*
 * "16.0 GT/s PCIe", "8 GT/s" (kernels before 4.17), "Unknown" -> GT/s. Returns 0 and the value,
 * -EINVAL for anything else. "Unknown" gives 0.
 */
int pcilink_parse_speed(const char *s, double *ret);

/*
 * Reads <root>/sys/bus/pci/devices/<name>. Fails with -ENOENT when the function vanished, -EBADMSG
 * (and the attribute's name in *ret_attr) when vendor/device/class are unreadable or malformed.
 * Optional attributes (link, NUMA, driver) that are absent are left unknown. Free with
 * pcidev_done().
 */
int pcidev_read(int rootfd, const char *name, struct gk_pcidev *ret, const char **ret_attr);
void pcidev_done(struct gk_pcidev *d);
