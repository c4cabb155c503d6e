// SPDX-License-Identifier: GPL-2.0
/*
 * Simulated nvidia.ko: the PCI driver "nvidia", per-GPU state, the first-open initialization
 * that persistence avoids, and the fault switches (probe failure, wedged open, failed reset,
 * lost GPU, Xid lines).
 */
#include <linux/delay.h>
#include <linux/jhash.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "nv-sim.h"

unsigned int nv_init_ms = 300;
module_param_named(init_ms, nv_init_ms, uint, 0);
MODULE_PARM_DESC(init_ms, "simulated GPU initialization time on first open, in ms");

static char *fail_probe = "";
module_param(fail_probe, charp, 0);
MODULE_PARM_DESC(fail_probe, "comma-separated GPU indexes (PCI order) or BDFs whose probe fails");

static struct nv_gpu *nv_gpus[NV_MAX_GPUS];
static DEFINE_MUTEX(nv_gpus_lock);
static unsigned int nv_probe_failed;
static bool nv_registering;

static const struct {
	unsigned int xid;
	const char *text;
} nv_xid_text[] = {
	{13, "Graphics SM Warp Exception on (GPC 0, TPC 0, SM 0): Out Of Range Address"},
	{31, "Ch 00000008, intr 10000000. MMU Fault: ENGINE GRAPHICS GPCCLIENT_T1_0 faulted @ "
	     "0x0_00000000. Fault is of type FAULT_PDE ACCESS_TYPE_READ"},
	{43, "Ch 00000008, Reset Channel Verif Error"},
	{48, "An uncorrectable double bit error (DBE) has been detected on GPU in the framebuffer "
	     "at physical address 0x000000000000."},
	{63, "Row Remapper: New row marked for remapping, reset gpu to activate."},
	{64, "Row Remapper: Failed to remap a row."},
	{74, "NVLink: fatal error detected on link 0(0x10000, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0)"},
	{79, "GPU has fallen off the bus."},
	{92, "High single-bit ECC error rate"},
	{94, "Contained: SM (0x1). RST: No, D-RST: No"},
	{95, "Uncontained: FBHUB. RST: Yes, D-RST: No"},
	{119, "Timeout after 6s of waiting for RPC response from GPU0 GSP! Expected function 76 "
	      "(GSP_RM_CONTROL)."},
};

static const char *nv_xid_default_text(unsigned int xid)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(nv_xid_text); i++)
		if (nv_xid_text[i].xid == xid)
			return nv_xid_text[i].text;
	return "simulated error";
}

/* The real Xid format has no function number and a 4-digit domain. */
void nv_gpu_xid(struct nv_gpu *g, unsigned int xid, const char *text)
{
	struct pci_dev *pdev = g->pdev;

	pr_err("NVRM: Xid (PCI:%04x:%02x:%02x): %u, pid='<unknown>', name=<unknown>, %s\n",
	       pci_domain_nr(pdev->bus), pdev->bus->number, PCI_SLOT(pdev->devfn), xid,
	       text && *text ? text : nv_xid_default_text(xid));
}

void nv_gpu_mark_lost(struct nv_gpu *g)
{
	mutex_lock(&g->lock);
	g->lost = true;
	mutex_unlock(&g->lock);
	pr_err("NVRM: GPU at PCI:%s: %s\n", g->bdf, g->uuid);
	nv_gpu_xid(g, 79, NULL);
	pr_err("NVRM: GPU %s: GPU has fallen off the bus.\n", g->bdf);
}

static void nv_gpu_release(struct kref *ref)
{
	struct nv_gpu *g = container_of(ref, struct nv_gpu, ref);

	__free_page(g->page);
	pci_dev_put(g->pdev);
	kfree(g);
}

struct nv_gpu *nv_gpu_get(unsigned int minor)
{
	struct nv_gpu *g = NULL;

	if (minor >= NV_MAX_GPUS)
		return NULL;
	mutex_lock(&nv_gpus_lock);
	if (nv_gpus[minor]) {
		g = nv_gpus[minor];
		kref_get(&g->ref);
	}
	mutex_unlock(&nv_gpus_lock);
	return g;
}

void nv_gpu_put(struct nv_gpu *g)
{
	if (g)
		kref_put(&g->ref, nv_gpu_release);
}

unsigned int nv_gpu_count(void)
{
	unsigned int i, n = 0;

	mutex_lock(&nv_gpus_lock);
	for (i = 0; i < NV_MAX_GPUS; i++)
		n += !!nv_gpus[i];
	mutex_unlock(&nv_gpus_lock);
	return n;
}

/*
 * First open initializes the GPU (the real driver's rm_init_adapter, ECC scrubbing and all);
 * the delay is paid with the GPU lock held, so concurrent first opens wait for it too.
 */
int nv_gpu_open(struct nv_gpu *g)
{
	int r = 0;

	if (g->excluded)
		return -EPERM;
	/* TASK_UNINTERRUPTIBLE on purpose: a wedged GPU leaves its openers in D state. */
	wait_event(g->wedge_wq, !READ_ONCE(g->wedged));
	mutex_lock(&g->lock);
	if (g->removed) {
		r = -ENODEV;
	} else if (g->lost) {
		r = -EIO;
	} else {
		if (!g->initialized) {
			msleep(READ_ONCE(nv_init_ms));
			g->initialized = true;
			g->init_count++;
		}
		g->users++;
	}
	mutex_unlock(&g->lock);
	return r;
}

static void nv_gpu_teardown_locked(struct nv_gpu *g)
{
	if (g->users || g->persistent || !g->initialized)
		return;
	g->initialized = false;
	g->deinit_count++;
}

void nv_gpu_close(struct nv_gpu *g)
{
	mutex_lock(&g->lock);
	g->users--;
	nv_gpu_teardown_locked(g);
	mutex_unlock(&g->lock);
}

void nv_gpu_set_persistent(struct nv_gpu *g, bool on)
{
	mutex_lock(&g->lock);
	g->persistent = on;
	nv_gpu_teardown_locked(g);
	mutex_unlock(&g->lock);
}

void nv_gpu_set_wedged(struct nv_gpu *g, bool on)
{
	WRITE_ONCE(g->wedged, on);
	if (!on)
		wake_up_all(&g->wedge_wq);
}

/* Index of pdev among the NVIDIA display-class functions, in PCI order. */
static unsigned int nv_gpu_ordinal(struct pci_dev *pdev)
{
	struct pci_dev *d = NULL;
	unsigned int n = 0;

	for_each_pci_dev(d)
	{
		if (d->vendor != PCI_VENDOR_ID_NVIDIA || (d->class >> 16) != PCI_BASE_CLASS_DISPLAY)
			continue;
		if (pci_domain_nr(d->bus) < pci_domain_nr(pdev->bus) ||
		    (pci_domain_nr(d->bus) == pci_domain_nr(pdev->bus) &&
		     PCI_DEVID(d->bus->number, d->devfn) <
			     PCI_DEVID(pdev->bus->number, pdev->devfn)))
			n++;
	}
	return n;
}

/* Whether a comma-separated list names this GPU by BDF or by PCI-order index. */
static bool nv_list_matches(const char *list, const char *bdf, const char *uuid, int index)
{
	const char *p = list;
	char item[64], num[12];
	size_t len;

	snprintf(num, sizeof(num), "%d", index);
	while (p && *p) {
		len = strcspn(p, ",");
		if (len < sizeof(item)) {
			memcpy(item, p, len);
			item[len] = '\0';
			if (!strcasecmp(item, bdf) || !strcasecmp(item, uuid) ||
			    (index >= 0 && !strcmp(item, num)))
				return true;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	return false;
}

/* Stable across reloads and boots: derived from the PCI address only. */
static void nv_gpu_make_uuid(struct nv_gpu *g)
{
	size_t len = strlen(g->bdf);
	u32 a = jhash(g->bdf, len, 0x4e56), b = jhash(g->bdf, len, 1);
	u32 c = jhash(g->bdf, len, 2), d = jhash(g->bdf, len, 3);

	snprintf(g->uuid, sizeof(g->uuid), "GPU-%08x-%04x-%04x-%04x-%04x%08x", a, b >> 16,
		 (b & 0x0fff) | 0x4000, (c & 0x3fff) | 0x8000, c >> 16, d);
}

static struct nv_gpu *nv_gpu_alloc(struct pci_dev *pdev)
{
	struct nv_gpu *g = kzalloc(sizeof(*g), GFP_KERNEL);

	if (!g)
		return NULL;
	g->page = alloc_page(GFP_KERNEL | __GFP_ZERO);
	if (!g->page) {
		kfree(g);
		return NULL;
	}
	kref_init(&g->ref);
	mutex_init(&g->lock);
	init_waitqueue_head(&g->wedge_wq);
	g->pdev = pci_dev_get(pdev);
	snprintf(g->bdf, sizeof(g->bdf), "%04x:%02x:%02x.%x", pci_domain_nr(pdev->bus),
		 pdev->bus->number, PCI_SLOT(pdev->devfn), PCI_FUNC(pdev->devfn));
	nv_gpu_make_uuid(g);
	g->excluded = nv_list_matches(NVreg_ExcludedGpus, g->bdf, g->uuid, -1);
	return g;
}

static int nv_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct nv_gpu *g;
	unsigned int m;

	g = nv_gpu_alloc(pdev);
	if (!g)
		return -ENOMEM;
	if (nv_list_matches(fail_probe, g->bdf, g->uuid, nv_gpu_ordinal(pdev))) {
		nv_gpu_put(g);
		nv_probe_failed++;
		/* At load the real driver prints the summary once, after pci_register_driver. */
		if (!nv_registering)
			pr_err("NVRM: The NVIDIA probe routine failed for 1 device(s).\n");
		return -EIO;
	}
	mutex_lock(&nv_gpus_lock);
	for (m = 0; m < NV_MAX_GPUS && nv_gpus[m]; m++)
		;
	if (m == NV_MAX_GPUS) {
		mutex_unlock(&nv_gpus_lock);
		nv_gpu_put(g);
		return -ENOSPC;
	}
	g->minor = m;
	nv_gpus[m] = g;
	mutex_unlock(&nv_gpus_lock);
	pci_set_drvdata(pdev, g);
	nv_procfs_add_gpu(g);
	nv_debugfs_add_gpu(g);
	return 0;
}

static void nv_remove(struct pci_dev *pdev)
{
	struct nv_gpu *g = pci_get_drvdata(pdev);

	nv_debugfs_remove_gpu(g);
	nv_procfs_remove_gpu(g);
	mutex_lock(&nv_gpus_lock);
	nv_gpus[g->minor] = NULL;
	mutex_unlock(&nv_gpus_lock);
	mutex_lock(&g->lock);
	g->removed = true;
	mutex_unlock(&g->lock);
	nv_gpu_set_wedged(g, false);
	pci_set_drvdata(pdev, NULL);
	nv_gpu_put(g);
}

static void nv_reset_prepare(struct pci_dev *pdev)
{
	struct nv_gpu *g = pci_get_drvdata(pdev);

	if (g)
		dev_info(&pdev->dev, "nvsim: function reset with %u open file(s)\n", g->users);
}

/* A reset wipes the GPU's software state; with fail_reset set it never comes back. */
static void nv_reset_done(struct pci_dev *pdev)
{
	struct nv_gpu *g = pci_get_drvdata(pdev);
	bool fail;

	if (!g)
		return;
	mutex_lock(&g->lock);
	g->reset_count++;
	/* a reset GPU leaves the NVLink fabric until the fabric manager retrains it */
	g->fabric_reset = 1;
	fail = g->fail_reset;
	if (!fail) {
		g->lost = false;
		if (g->initialized && !g->users) {
			g->initialized = false;
			g->deinit_count++;
		}
	}
	mutex_unlock(&g->lock);
	if (fail)
		nv_gpu_mark_lost(g);
}

static const struct pci_error_handlers nv_err_handlers = {
	.reset_prepare = nv_reset_prepare,
	.reset_done = nv_reset_done,
};

static const struct pci_device_id nv_pci_table[] = {
	{PCI_DEVICE(PCI_VENDOR_ID_NVIDIA, PCI_ANY_ID), .class = PCI_CLASS_DISPLAY_VGA << 8,
	 .class_mask = ~0},
	{PCI_DEVICE(PCI_VENDOR_ID_NVIDIA, PCI_ANY_ID), .class = PCI_CLASS_DISPLAY_3D << 8,
	 .class_mask = ~0},
	{}};
MODULE_DEVICE_TABLE(pci, nv_pci_table);

static struct pci_driver nv_pci_driver = {
	.name = "nvidia",
	.id_table = nv_pci_table,
	.probe = nv_probe,
	.remove = nv_remove,
	.err_handler = &nv_err_handlers,
};

int nv_gpu_register_driver(unsigned int *ret_bound, unsigned int *ret_failed)
{
	int r;

	nv_registering = true;
	r = pci_register_driver(&nv_pci_driver);
	nv_registering = false;
	if (r)
		return r;
	*ret_bound = nv_gpu_count();
	*ret_failed = nv_probe_failed;
	return 0;
}

void nv_gpu_unregister_driver(void)
{
	pci_unregister_driver(&nv_pci_driver);
}
