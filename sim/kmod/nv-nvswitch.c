// SPDX-License-Identifier: GPL-2.0
/*
 * Simulated nvidia.ko: the NVSwitch side, as the real module has it built in. A PCI driver
 * "nvidia-nvswitch" for the NVSwitch functions (class 0x068000), a dynamic character region
 * "nvidia-nvswitch" with minor N per switch in probe order and 255 for nvidia-nvswitchctl, and
 * the fabric state that a fabric manager trains: back to "not started" at every load.
 */
#include <linux/cdev.h>
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/module.h>

#include "nv-sim.h"

#define NVSWITCH_CTL_MINOR   255
#define NVSWITCH_MINOR_COUNT (NVSWITCH_CTL_MINOR + 1)
#define NV_MAX_NVSWITCHES    16

/* NVML's NVML_GPU_FABRIC_STATE_*: what the fake NVML reports for every GPU. */
enum { FABRIC_NOT_SUPPORTED, FABRIC_NOT_STARTED, FABRIC_IN_PROGRESS, FABRIC_COMPLETED };

static dev_t nvswitch_devt;
static struct cdev nvswitch_cdev;
static struct pci_dev *nvswitches[NV_MAX_NVSWITCHES];
static DEFINE_MUTEX(nvswitch_lock);
static u32 nvswitch_users;
/* Written by the fabric manager (through debugfs here; through ioctls on a real node). */
static u32 fabric_state, fabric_status;

static int nvswitch_open(struct inode *inode, struct file *file)
{
	unsigned int minor = iminor(inode);
	int r = 0;

	mutex_lock(&nvswitch_lock);
	if (minor != NVSWITCH_CTL_MINOR && (minor >= NV_MAX_NVSWITCHES || !nvswitches[minor]))
		r = -ENODEV;
	else
		nvswitch_users++;
	mutex_unlock(&nvswitch_lock);
	return r;
}

static int nvswitch_release(struct inode *inode, struct file *file)
{
	mutex_lock(&nvswitch_lock);
	nvswitch_users--;
	mutex_unlock(&nvswitch_lock);
	return 0;
}

static long nvswitch_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	return -ENOTTY;
}

static const struct file_operations nvswitch_fops = {
	.owner = THIS_MODULE,
	.open = nvswitch_open,
	.release = nvswitch_release,
	.unlocked_ioctl = nvswitch_ioctl,
	.llseek = noop_llseek,
};

static int nvswitch_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	unsigned int m;

	mutex_lock(&nvswitch_lock);
	for (m = 0; m < NV_MAX_NVSWITCHES && nvswitches[m]; m++)
		;
	if (m < NV_MAX_NVSWITCHES)
		nvswitches[m] = pci_dev_get(pdev);
	mutex_unlock(&nvswitch_lock);
	if (m == NV_MAX_NVSWITCHES)
		return -ENOSPC;
	pci_set_drvdata(pdev, (void *)(uintptr_t)(m + 1));
	dev_info(&pdev->dev, "nvidia-nvswitch%u: probe succeeded\n", m);
	return 0;
}

static void nvswitch_remove(struct pci_dev *pdev)
{
	unsigned int m = (unsigned int)(uintptr_t)pci_get_drvdata(pdev) - 1;

	mutex_lock(&nvswitch_lock);
	if (m < NV_MAX_NVSWITCHES && nvswitches[m] == pdev) {
		nvswitches[m] = NULL;
		pci_dev_put(pdev);
	}
	mutex_unlock(&nvswitch_lock);
	pci_set_drvdata(pdev, NULL);
}

static const struct pci_device_id nvswitch_pci_table[] = {
	{PCI_DEVICE(PCI_VENDOR_ID_NVIDIA, PCI_ANY_ID), .class = PCI_CLASS_BRIDGE_OTHER << 8,
	 .class_mask = ~0},
	{}};

static struct pci_driver nvswitch_pci_driver = {
	.name = "nvidia-nvswitch",
	.id_table = nvswitch_pci_table,
	.probe = nvswitch_probe,
	.remove = nvswitch_remove,
};

static unsigned int nvswitch_count(void)
{
	unsigned int i, n = 0;

	mutex_lock(&nvswitch_lock);
	for (i = 0; i < NV_MAX_NVSWITCHES; i++)
		n += !!nvswitches[i];
	mutex_unlock(&nvswitch_lock);
	return n;
}

int nv_nvswitch_init(struct dentry *debugfs_root)
{
	int r;

	r = alloc_chrdev_region(&nvswitch_devt, 0, NVSWITCH_MINOR_COUNT, "nvidia-nvswitch");
	if (r)
		return r;
	cdev_init(&nvswitch_cdev, &nvswitch_fops);
	nvswitch_cdev.owner = THIS_MODULE;
	r = cdev_add(&nvswitch_cdev, nvswitch_devt, NVSWITCH_MINOR_COUNT);
	if (r)
		goto err_region;
	r = pci_register_driver(&nvswitch_pci_driver);
	if (r)
		goto err_cdev;
	/* No NVSwitch: no fabric, as NVML says on a PCIe or NVLink-bridge node. */
	fabric_state = nvswitch_count() ? FABRIC_NOT_STARTED : FABRIC_NOT_SUPPORTED;
	fabric_status = 0;
	debugfs_create_u32("fabric_state", 0644, debugfs_root, &fabric_state);
	debugfs_create_u32("fabric_status", 0644, debugfs_root, &fabric_status);
	debugfs_create_u32("nvswitch_users", 0444, debugfs_root, &nvswitch_users);
	return 0;

err_cdev:
	cdev_del(&nvswitch_cdev);
err_region:
	unregister_chrdev_region(nvswitch_devt, NVSWITCH_MINOR_COUNT);
	return r;
}

void nv_nvswitch_exit(void)
{
	pci_unregister_driver(&nvswitch_pci_driver);
	cdev_del(&nvswitch_cdev);
	unregister_chrdev_region(nvswitch_devt, NVSWITCH_MINOR_COUNT);
}
