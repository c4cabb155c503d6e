// SPDX-License-Identifier: GPL-2.0-or-later
/* NVSwitch device files and the fabric manager. The driver registers the "nvidia-nvswitch" region
 * with a dynamic major and, like the GPU side, creates no nodes: nvidia-modprobe -s or the fabric
 * manager's libraries mknod them, so they can be missing or stale after a reload. */
#include <stdio.h>
#include <string.h>

#include "node/nvswitch.h"
#include "string-util.h"

bool nvswitch_bound(const struct gk_pcidev *d)
{
	return d->kind == GK_PCI_NVSWITCH && streq_ptr(d->driver, GK_NVSWITCH_DRIVER);
}

int nvswitch_expect_nodes(struct gk_devnode_list *l, unsigned major, size_t n_bound)
{
	char path[64];
	int r = 0;

	if (n_bound == 0)
		return 0;
	for (size_t i = 0; i < n_bound && r >= 0; i++) {
		snprintf(path, sizeof(path), GK_NVSWITCH_NODE_PREFIX "%zu", i);
		r = devnode_list_add(l, path, major, (unsigned)i);
	}
	if (r >= 0)
		r = devnode_list_add(l, GK_NVSWITCH_NODE_PREFIX "ctl", major,
				     GK_NVSWITCH_CTL_MINOR);
	return r;
}

bool nvswitch_is_node(const char *path)
{
	const char *p = startswith(path, GK_NVSWITCH_NODE_PREFIX);

	if (!p || !*p)
		return false;
	if (streq(p, "ctl"))
		return true;
	return strspn(p, "0123456789") == strlen(p);
}

/* /dev/nvidiaN: one GPU's node */
static bool is_gpu_node(const char *path)
{
	const char *p = startswith(path, "/dev/nvidia");

	return p && *p && strspn(p, "0123456789") == strlen(p);
}

bool holder_is_fabric_manager(const struct gk_holder *h)
{
	bool nvswitch = false;

	/* comm is cut at 15 characters: "nv-fabricmanage" */
	if (h->comm && startswith(h->comm, "nv-fabricmanag"))
		return true;
	/* a monitor (DCGM's nv-hostengine through NSCQ) opens the NVSwitches and the GPUs too;
	 * the fabric manager talks to the GPUs through nvidiactl only */
	for (size_t i = 0; i < h->n_devices; i++) {
		if (is_gpu_node(h->devices[i].path))
			return false;
		nvswitch |= nvswitch_is_node(h->devices[i].path);
	}
	return nvswitch;
}
