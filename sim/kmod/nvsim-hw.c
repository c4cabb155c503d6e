// SPDX-License-Identifier: GPL-2.0
/*
 * Simulated "hardware" for the gpukeep test node: gives QEMU stand-in PCIe functions the
 * config-space identity of NVIDIA GPUs and NVSwitches, the way netdevsim gives a fake bus
 * real netdevs. The fake nvidia.ko then binds them by vendor and class like the real driver.
 *
 * How: a pci_ops shim on each stand-in's bus (the aer_inject technique) patches bytes of
 * config reads for those functions only; the functions are then removed and rescanned so the
 * PCI core enumerates them afresh with the patched identity. Loaded once at boot, before
 * any driver; unloading restores the original identity.
 */
#include <linux/kernel.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/slab.h>

#define HW_MAX_FNS     64
#define HW_MAX_PATCH   24
#define NV_VENDOR      0x10de
#define HW_LNKCAP2_SLS GENMASK(7, 1) /* Supported Link Speeds vector, bit n = gen n */

static char *gpu_standin = "1b36:0010"; /* QEMU "nvme": PCIe v2 capability, FLR */
module_param(gpu_standin, charp, 0444);
MODULE_PARM_DESC(gpu_standin, "vendor:device of the QEMU functions that become GPUs");

static char *nvswitch_standin = "1b36:000d"; /* QEMU "qemu-xhci" */
module_param(nvswitch_standin, charp, 0444);
MODULE_PARM_DESC(nvswitch_standin, "vendor:device of the QEMU functions that become NVSwitches");

static ushort gpu_device = 0x2330; /* H100 SXM5 80GB */
module_param(gpu_device, ushort, 0444);
MODULE_PARM_DESC(gpu_device, "PCI device id presented by simulated GPUs");

static ushort gpu_subsystem = 0x16c1;
module_param(gpu_subsystem, ushort, 0444);
MODULE_PARM_DESC(gpu_subsystem, "PCI subsystem device id presented by simulated GPUs");

static ushort nvswitch_device = 0x22a3;
module_param(nvswitch_device, ushort, 0444);
MODULE_PARM_DESC(nvswitch_device, "PCI device id presented by simulated NVSwitches");

static uint max_gen = 5;
module_param(max_gen, uint, 0444);
MODULE_PARM_DESC(max_gen, "GPU maximum PCIe generation (1=2.5 2=5 3=8 4=16 5=32 GT/s)");

static uint max_width = 16;
module_param(max_width, uint, 0444);
MODULE_PARM_DESC(max_width, "GPU maximum PCIe link width");

static uint link_gen[HW_MAX_FNS];
static int n_link_gen;
module_param_array(link_gen, uint, &n_link_gen, 0444);
MODULE_PARM_DESC(link_gen, "current PCIe generation per GPU in PCI order (0 = max_gen)");

static uint link_width[HW_MAX_FNS];
static int n_link_width;
module_param_array(link_width, uint, &n_link_width, 0444);
MODULE_PARM_DESC(link_width, "current PCIe link width per GPU in PCI order (0 = max_width)");

struct hw_patch {
	u16 off;
	u8 val;
};

struct hw_fn {
	struct list_head node;
	unsigned int devfn;
	unsigned int npatch;
	struct hw_patch patch[HW_MAX_PATCH];
};

/* One per shimmed bus; bus->ops points at .ops, so the read path finds it by container_of. */
struct hw_bus {
	struct list_head node;
	struct pci_bus *bus;
	struct pci_ops *orig;
	struct pci_ops ops;
	struct list_head fns;
};

static LIST_HEAD(hw_buses);
static unsigned int hw_ngpus, hw_nswitches;

/*
 * Runs under the PCI core's raw config spinlock: no sleeping, no allocation. The lists are
 * only changed while no bus points at our ops.
 */
static int hw_read(struct pci_bus *bus, unsigned int devfn, int where, int size, u32 *val)
{
	struct hw_bus *hb = container_of(bus->ops, struct hw_bus, ops);
	struct hw_fn *fn;
	unsigned int i;
	int r;

	r = hb->orig->read(bus, devfn, where, size, val);
	if (r)
		return r;
	list_for_each_entry(fn, &hb->fns, node)
	{
		if (fn->devfn != devfn)
			continue;
		for (i = 0; i < fn->npatch; i++) {
			const struct hw_patch *p = &fn->patch[i];
			unsigned int shift;

			if (p->off < where || p->off >= where + size)
				continue;
			shift = (p->off - where) * 8;
			*val = (*val & ~(0xffu << shift)) | ((u32)p->val << shift);
		}
	}
	return 0;
}

static int hw_write(struct pci_bus *bus, unsigned int devfn, int where, int size, u32 val)
{
	struct hw_bus *hb = container_of(bus->ops, struct hw_bus, ops);

	return hb->orig->write(bus, devfn, where, size, val);
}

static void hw_patch_bytes(struct hw_fn *fn, u16 off, u32 val, unsigned int len)
{
	unsigned int i;

	for (i = 0; i < len && fn->npatch < HW_MAX_PATCH; i++) {
		fn->patch[fn->npatch].off = off + i;
		fn->patch[fn->npatch].val = (val >> (8 * i)) & 0xff;
		fn->npatch++;
	}
}

/* Link fields live in the function's own PCIe capability, so pcie_capability_read_*() and
 * the current_link_* / max_link_* sysfs attributes see them. */
static void hw_patch_link(struct hw_fn *fn, struct pci_dev *pdev, unsigned int mgen,
			  unsigned int mwidth, unsigned int cgen, unsigned int cwidth)
{
	u16 cap = pdev->pcie_cap, flags, lnksta;
	u32 lnkcap, lnkcap2;

	if (!cap)
		return;
	pci_read_config_word(pdev, cap + PCI_EXP_FLAGS, &flags);
	pci_read_config_dword(pdev, cap + PCI_EXP_LNKCAP, &lnkcap);
	pci_read_config_word(pdev, cap + PCI_EXP_LNKSTA, &lnksta);
	lnkcap = (lnkcap & ~(PCI_EXP_LNKCAP_SLS | PCI_EXP_LNKCAP_MLW)) | mgen | (mwidth << 4);
	lnksta = (lnksta & ~(PCI_EXP_LNKSTA_CLS | PCI_EXP_LNKSTA_NLW)) | cgen | (cwidth << 4);
	hw_patch_bytes(fn, cap + PCI_EXP_LNKCAP, lnkcap, 4);
	hw_patch_bytes(fn, cap + PCI_EXP_LNKSTA, lnksta, 2);
	/* Linux 6.1 takes speeds above 5 GT/s only from the v2 Supported Link Speeds vector. */
	if ((flags & PCI_EXP_FLAGS_VERS) >= 2) {
		pci_read_config_dword(pdev, cap + PCI_EXP_LNKCAP2, &lnkcap2);
		lnkcap2 = (lnkcap2 & ~HW_LNKCAP2_SLS) | (GENMASK(mgen, 1) & HW_LNKCAP2_SLS);
		hw_patch_bytes(fn, cap + PCI_EXP_LNKCAP2, lnkcap2, 4);
	}
}

static void hw_patch_identity(struct hw_fn *fn, u16 device, u32 class, u16 subsys)
{
	hw_patch_bytes(fn, PCI_VENDOR_ID, NV_VENDOR, 2);
	hw_patch_bytes(fn, PCI_DEVICE_ID, device, 2);
	hw_patch_bytes(fn, PCI_REVISION_ID, 0xa1, 1);
	hw_patch_bytes(fn, PCI_CLASS_PROG, class, 3);
	hw_patch_bytes(fn, PCI_SUBSYSTEM_VENDOR_ID, NV_VENDOR, 2);
	hw_patch_bytes(fn, PCI_SUBSYSTEM_ID, subsys, 2);
}

static struct hw_bus *hw_bus_get(struct pci_bus *bus)
{
	struct hw_bus *hb;

	list_for_each_entry(hb, &hw_buses, node) if (hb->bus == bus) return hb;
	hb = kzalloc(sizeof(*hb), GFP_KERNEL);
	if (!hb)
		return NULL;
	hb->bus = bus;
	hb->orig = bus->ops;
	hb->ops = *bus->ops;
	hb->ops.read = hw_read;
	hb->ops.write = hw_write;
	INIT_LIST_HEAD(&hb->fns);
	list_add_tail(&hb->node, &hw_buses);
	return hb;
}

static unsigned int hw_cur(const uint *arr, int n, unsigned int idx, unsigned int max)
{
	if (idx < (unsigned int)n && arr[idx] && arr[idx] <= max)
		return arr[idx];
	return max;
}

static int hw_claim(struct pci_dev *pdev, bool is_gpu)
{
	struct hw_bus *hb = hw_bus_get(pdev->bus);
	struct hw_fn *fn;

	if (!hb)
		return -ENOMEM;
	fn = kzalloc(sizeof(*fn), GFP_KERNEL);
	if (!fn)
		return -ENOMEM;
	fn->devfn = pdev->devfn;
	if (is_gpu) {
		hw_patch_identity(fn, gpu_device, PCI_CLASS_DISPLAY_3D << 8, gpu_subsystem);
		hw_patch_link(fn, pdev, max_gen, max_width,
			      hw_cur(link_gen, n_link_gen, hw_ngpus, max_gen),
			      hw_cur(link_width, n_link_width, hw_ngpus, max_width));
		hw_ngpus++;
	} else {
		hw_patch_identity(fn, nvswitch_device, PCI_CLASS_BRIDGE_OTHER << 8, 0x1769);
		hw_patch_link(fn, pdev, 4, 2, 4, 2);
		hw_nswitches++;
	}
	list_add_tail(&fn->node, &hb->fns);
	return 0;
}

static int hw_parse_id(const char *s, unsigned int *vendor, unsigned int *device)
{
	if (!s || sscanf(s, "%x:%x", vendor, device) != 2)
		return -EINVAL;
	return 0;
}

/* Stand-ins are claimed in PCI order, so "GPU i" in the link arrays is the i-th GPU by BDF. */
static int hw_claim_all(const char *standin, bool is_gpu)
{
	struct pci_dev *pdev = NULL, *todo[HW_MAX_FNS];
	unsigned int vendor, device, n = 0, i;
	int r;

	r = hw_parse_id(standin, &vendor, &device);
	if (r)
		return r;
	while ((pdev = pci_get_device(vendor, device, pdev)) != NULL && n < HW_MAX_FNS) {
		/* Only endpoints behind a port can carry a link of their own. */
		if (pci_is_root_bus(pdev->bus))
			continue;
		todo[n++] = pci_dev_get(pdev);
	}
	pci_dev_put(pdev);
	for (i = 0, r = 0; i < n; i++) {
		if (!r)
			r = hw_claim(todo[i], is_gpu);
		pci_stop_and_remove_bus_device(todo[i]);
		pci_dev_put(todo[i]);
	}
	return r;
}

static void hw_rescan(void)
{
	struct hw_bus *hb;

	list_for_each_entry(hb, &hw_buses, node) pci_rescan_bus(hb->bus);
}

static void hw_release(void)
{
	struct hw_bus *hb, *hbn;
	struct hw_fn *fn, *fnn;
	struct pci_dev *pdev;

	list_for_each_entry(hb, &hw_buses, node)
	{
		list_for_each_entry(fn, &hb->fns, node)
		{
			pdev = pci_get_slot(hb->bus, fn->devfn);
			if (!pdev)
				continue;
			pci_stop_and_remove_bus_device(pdev);
			pci_dev_put(pdev);
		}
		if (hb->bus->ops == &hb->ops)
			pci_bus_set_ops(hb->bus, hb->orig);
	}
	hw_rescan();
	list_for_each_entry_safe(hb, hbn, &hw_buses, node)
	{
		list_for_each_entry_safe(fn, fnn, &hb->fns, node) kfree(fn);
		list_del(&hb->node);
		kfree(hb);
	}
}

static int __init nvsim_hw_init(void)
{
	struct hw_bus *hb;
	int r;

	if (max_gen < 1 || max_gen > 5 || max_width < 1 || max_width > 32)
		return -EINVAL;
	pci_lock_rescan_remove();
	r = hw_claim_all(gpu_standin, true);
	if (!r)
		r = hw_claim_all(nvswitch_standin, false);
	/* Bus ops change only while the stand-ins are gone, so no pci_dev caches old IDs. */
	list_for_each_entry(hb, &hw_buses, node) pci_bus_set_ops(hb->bus, &hb->ops);
	if (r)
		hw_release();
	else
		hw_rescan();
	pci_unlock_rescan_remove();
	if (r)
		return r;
	pr_info("nvsim_hw: %u simulated GPU(s), %u simulated NVSwitch(es)\n", hw_ngpus,
		hw_nswitches);
	return 0;
}

static void __exit nvsim_hw_exit(void)
{
	pci_lock_rescan_remove();
	hw_release();
	pci_unlock_rescan_remove();
}

module_init(nvsim_hw_init);
module_exit(nvsim_hw_exit);
MODULE_DESCRIPTION("gpukeep simulated node: NVIDIA PCI identity for QEMU stand-in functions");
MODULE_LICENSE("GPL");
