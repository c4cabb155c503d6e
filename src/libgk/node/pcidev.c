// SPDX-License-Identifier: GPL-2.0-or-later
/* sysfs PCI attributes. Link attributes exist only on PCIe functions; current speed drops at
 * idle on GPUs (ASPM and power saving), so only width is a sign of a bad link. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "macro.h"
#include "node/pcidev.h"
#include "parse-util.h"
#include "string-util.h"

enum gk_pci_kind pci_class_kind(unsigned class)
{
	switch (class >> 8) {
	case 0x0300:
	case 0x0302:
		return GK_PCI_GPU;
	case 0x0680:
		return GK_PCI_NVSWITCH;
	default:
		return GK_PCI_OTHER;
	}
}

int pcilink_parse_speed(const char *s, double *ret)
{
	char *end;
	double v;

	if (streq(s, "Unknown")) {
		*ret = 0;
		return 0;
	}
	v = strtod(s, &end);
	if (end == s || v <= 0 || v > 1000)
		return -EINVAL;
	if (!streq(end, " GT/s") && !streq(end, " GT/s PCIe"))
		return -EINVAL;
	*ret = v;
	return 0;
}

void pcidev_done(struct gk_pcidev *d)
{
	free(d->driver);
	free(d->link.cur_speed);
	free(d->link.max_speed);
	*d = (struct gk_pcidev){};
}

static int read_hex_attr(int dfd, const char *attr, unsigned *ret)
{
	char buf[64];
	int r;

	r = read_attr_at(dfd, attr, buf, sizeof(buf));
	if (r < 0)
		return r;
	return safe_atou_base(buf, 16, ret) < 0 ? -EBADMSG : 0;
}

static void read_speed(int dfd, const char *attr, char **ret_str, double *ret_gts)
{
	char buf[64];
	double v;

	if (read_attr_at(dfd, attr, buf, sizeof(buf)) < 0 || pcilink_parse_speed(buf, &v) < 0)
		return;
	*ret_str = strdup(buf);
	if (*ret_str)
		*ret_gts = v;
}

/* A link width in lanes (1..32): -ENOLINK for 0 or 255 (the link is down or unreadable),
 * -EBADMSG for text that is not a number, or read_attr_at()'s -errno. */
static int read_width(int dfd, const char *attr, int *ret_width)
{
	char buf[32];
	unsigned v;
	int r;

	r = read_attr_at(dfd, attr, buf, sizeof(buf));
	if (r < 0)
		return r;
	if (safe_atou_base(buf, 10, &v) < 0)
		return -EBADMSG;
	if (v == 0 || v > 32)
		return -ENOLINK;
	*ret_width = (int)v;
	return 0;
}

static void read_optional(int dfd, struct gk_pcidev *d)
{
	char buf[32];
	int numa;

	d->numa_node = -1;
	if (read_attr_at(dfd, "numa_node", buf, sizeof(buf)) >= 0 && safe_atoi(buf, &numa) >= 0 &&
	    numa >= 0)
		d->numa_node = numa;
	if (read_hex_attr(dfd, "subsystem_vendor", &d->subsys_vendor) < 0)
		d->subsys_vendor = 0;
	if (read_hex_attr(dfd, "subsystem_device", &d->subsys_device) < 0)
		d->subsys_device = 0;
	if (readlink_basename_at(dfd, "driver", &d->driver) < 0)
		d->driver = NULL;
	read_speed(dfd, "current_link_speed", &d->link.cur_speed, &d->link.cur_gts);
	read_speed(dfd, "max_link_speed", &d->link.max_speed, &d->link.max_gts);
	/* optional: a width that cannot be read stays -1, unknown */
	d->link.cur_width = d->link.max_width = -1;
	(void)read_width(dfd, "current_link_width", &d->link.cur_width);
	(void)read_width(dfd, "max_link_width", &d->link.max_width);
}

int pcidev_read(int rootfd, const char *name, struct gk_pcidev *ret, const char **ret_attr)
{
	_cleanup_free_ char *path = strdup_printf("sys/bus/pci/devices/%s", name);
	_cleanup_close_ int dfd = -EBADF;
	static const char *const ids[] = {"vendor", "device", "class"};
	struct gk_pcidev d = {};
	unsigned *fields[] = {&d.vendor, &d.device, &d.class};
	int r;

	if (!path)
		return -ENOMEM;
	if (pci_addr_parse(name, false, &d.addr) < 0) {
		if (ret_attr)
			*ret_attr = "name";
		return -EBADMSG;
	}
	dfd = open_dir_at(rootfd, path);
	if (dfd < 0)
		return dfd;
	for (size_t i = 0; i < ELEMENTSOF(ids); i++) {
		r = read_hex_attr(dfd, ids[i], fields[i]);
		if (r < 0) {
			if (ret_attr)
				*ret_attr = ids[i];
			return r == -ENOENT ? -EBADMSG : r;
		}
	}
	pci_addr_format(&d.addr, d.name, sizeof(d.name));
	d.kind = d.vendor == GK_PCI_VENDOR_NVIDIA ? pci_class_kind(d.class) : GK_PCI_OTHER;
	if (d.kind != GK_PCI_OTHER)
		read_optional(dfd, &d);
	*ret = d;
	return 0;
}
