// SPDX-License-Identifier: GPL-2.0
/*
 * Simulated nvidia.ko: /proc/driver/nvidia/{version,params,gpus/<bdf>/information}, byte for
 * byte in the 535 driver's format (TAB separators included), since gpukeep parses them.
 */
#include <linux/module.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>

#include "nv-sim.h"

char *NVreg_ExcludedGpus = "";
module_param(NVreg_ExcludedGpus, charp, 0);
MODULE_PARM_DESC(NVreg_ExcludedGpus, "comma-separated UUIDs or BDFs of GPUs to exclude");

static char *model = "NVIDIA H100 80GB HBM3";
module_param(model, charp, 0);
MODULE_PARM_DESC(model, "model name shown in the information files");

static struct proc_dir_entry *nv_proc_root, *nv_proc_gpus;

static int version_show(struct seq_file *s, void *v)
{
	seq_puts(s, "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  " NV_VERSION_STRING
		    "  Release Build  (gpukeep-nvsim)  Sat Nov 22 00:00:00 UTC 2026\n");
	seq_puts(s, "GCC version:  gcc version 12.2.0 (Debian 12.2.0-14)\n");
	return 0;
}
DEFINE_PROC_SHOW_ATTRIBUTE(version);

/* Registry keys nvidia-modprobe reads to decide how to create device files. */
static int params_show(struct seq_file *s, void *v)
{
	seq_puts(s, "ResmanDebugLevel: 4294967295\nRmLogonRC: 1\nModifyDeviceFiles: 1\n"
		    "DeviceFileUID: 0\nDeviceFileGID: 0\nDeviceFileMode: 438\n"
		    "InitializeSystemMemoryAllocations: 1\nEnableGpuFirmware: 18\n"
		    "RegistryDwords: \"\"\nRegistryDwordsPerDevice: \"\"\nRmMsg: \"\"\n"
		    "GpuBlacklist: \"\"\nTemporaryFilePath: \"\"\n");
	seq_printf(s, "ExcludedGpus: \"%s\"\n", NVreg_ExcludedGpus);
	return 0;
}
DEFINE_PROC_SHOW_ATTRIBUTE(params);

static int information_show(struct seq_file *s, void *v)
{
	struct nv_gpu *g = s->private;

	seq_printf(s, "Model: \t\t %s\n", model);
	seq_printf(s, "IRQ:   \t\t %d\n", g->pdev->irq);
	seq_printf(s, "GPU UUID: \t %s\n", g->uuid);
	seq_puts(s, "Video BIOS: \t 96.00.99.00.01\n");
	seq_printf(s, "Bus Type: \t %s\n", pci_is_pcie(g->pdev) ? "PCIe" : "PCI");
	seq_puts(s, "DMA Size: \t 52 bits\n");
	seq_puts(s, "DMA Mask: \t 0xfffffffffffff\n");
	seq_printf(s, "Bus Location: \t %s\n", g->bdf);
	seq_printf(s, "Device Minor: \t %u\n", g->minor);
	seq_puts(s, "GPU Firmware: \t " NV_VERSION_STRING "\n");
	seq_printf(s, "GPU Excluded:\t %s\n", g->excluded ? "Yes" : "No");
	return 0;
}
DEFINE_PROC_SHOW_ATTRIBUTE(information);

void nv_procfs_add_gpu(struct nv_gpu *g)
{
	g->proc_dir = proc_mkdir(g->bdf, nv_proc_gpus);
	if (g->proc_dir)
		proc_create_data("information", 0444, g->proc_dir, &information_proc_ops, g);
}

/* proc_remove() waits for readers, so the GPU outlives every information_show(). */
void nv_procfs_remove_gpu(struct nv_gpu *g)
{
	proc_remove(g->proc_dir);
	g->proc_dir = NULL;
}

int nv_procfs_init(void)
{
	nv_proc_root = proc_mkdir("driver/nvidia", NULL);
	if (!nv_proc_root)
		return -ENOMEM;
	nv_proc_gpus = proc_mkdir("gpus", nv_proc_root);
	if (!nv_proc_gpus || !proc_create("version", 0444, nv_proc_root, &version_proc_ops) ||
	    !proc_create("params", 0444, nv_proc_root, &params_proc_ops)) {
		proc_remove(nv_proc_root);
		return -ENOMEM;
	}
	return 0;
}

void nv_procfs_exit(void)
{
	proc_remove(nv_proc_root);
}
