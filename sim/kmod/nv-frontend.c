// SPDX-License-Identifier: GPL-2.0
/*
 * Simulated nvidia.ko: module entry, character major 195 ("nvidia-frontend") with a minor per
 * GPU, 255 for nvidiactl and 254 dispatched to nvidia-modeset, and the symbols that make
 * nvidia-modeset, nvidia-uvm and nvidia-peermem its holders. The NVSwitch side is in
 * nv-nvswitch.c.
 */
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/module.h>

#include "nv-exports.h"
#include "nv-sim.h"

static struct nvidia_module *nv_modules[NV_CTL_DEVICE_NUM];
static DEFINE_MUTEX(nv_modules_lock);
static const char *nv_uvm_client;

int nvidia_register_module(struct nvidia_module *mod)
{
	int r = 0;

	if (mod->instance < NV_MAX_GPUS || mod->instance >= NV_CTL_DEVICE_NUM)
		return -EINVAL;
	mutex_lock(&nv_modules_lock);
	if (nv_modules[mod->instance])
		r = -EBUSY;
	else
		nv_modules[mod->instance] = mod;
	mutex_unlock(&nv_modules_lock);
	return r;
}
EXPORT_SYMBOL(nvidia_register_module);

int nvidia_unregister_module(struct nvidia_module *mod)
{
	mutex_lock(&nv_modules_lock);
	if (nv_modules[mod->instance] == mod)
		nv_modules[mod->instance] = NULL;
	mutex_unlock(&nv_modules_lock);
	return 0;
}
EXPORT_SYMBOL(nvidia_unregister_module);

int nvUvmInterfaceRegisterUvmCallbacks(const char *client)
{
	nv_uvm_client = client;
	return nv_gpu_count();
}
EXPORT_SYMBOL(nvUvmInterfaceRegisterUvmCallbacks);

void nvUvmInterfaceDeRegisterUvmOps(void)
{
	nv_uvm_client = NULL;
}
EXPORT_SYMBOL(nvUvmInterfaceDeRegisterUvmOps);

int nvidia_p2p_get_pages(u64 p2p_token, u32 va_space, u64 virtual_address, u64 length,
			 void **page_table, void (*free_callback)(void *data), void *data)
{
	return -EINVAL;
}
EXPORT_SYMBOL(nvidia_p2p_get_pages);

int nvidia_p2p_put_pages(u64 p2p_token, u32 va_space, u64 virtual_address, void *page_table)
{
	return -EINVAL;
}
EXPORT_SYMBOL(nvidia_p2p_put_pages);

/* Minor 254 belongs to nvidia-modeset: pin that module while its device is open. */
static int nv_open_module(struct inode *inode, struct file *file)
{
	struct nvidia_module *mod;
	int r;

	mutex_lock(&nv_modules_lock);
	mod = nv_modules[iminor(inode)];
	if (!mod || !try_module_get(mod->owner)) {
		mutex_unlock(&nv_modules_lock);
		return -ENODEV;
	}
	mutex_unlock(&nv_modules_lock);
	r = mod->open ? mod->open(inode, file) : 0;
	if (r) {
		module_put(mod->owner);
		return r;
	}
	file->private_data = mod;
	return 0;
}

static int nv_open(struct inode *inode, struct file *file)
{
	unsigned int minor = iminor(inode);
	struct nv_gpu *g;
	int r;

	if (minor == NV_CTL_DEVICE_NUM)
		return 0;
	if (minor >= NV_MAX_GPUS)
		return nv_open_module(inode, file);
	g = nv_gpu_get(minor);
	if (!g)
		return -ENODEV;
	r = nv_gpu_open(g);
	if (r) {
		nv_gpu_put(g);
		return r;
	}
	file->private_data = g;
	return 0;
}

static int nv_release(struct inode *inode, struct file *file)
{
	unsigned int minor = iminor(inode);
	struct nvidia_module *mod;

	if (minor == NV_CTL_DEVICE_NUM)
		return 0;
	if (minor >= NV_MAX_GPUS) {
		mod = file->private_data;
		if (mod->close)
			mod->close(inode, file);
		module_put(mod->owner);
		return 0;
	}
	nv_gpu_close(file->private_data);
	nv_gpu_put(file->private_data);
	return 0;
}

/* Every offset maps the GPU's one zero page: enough for /proc/<pid>/maps to show the device. */
static vm_fault_t nv_vm_fault(struct vm_fault *vmf)
{
	struct nv_gpu *g = vmf->vma->vm_file->private_data;

	get_page(g->page);
	vmf->page = g->page;
	return 0;
}

static const struct vm_operations_struct nv_vm_ops = {
	.fault = nv_vm_fault,
};

static int nv_mmap(struct file *file, struct vm_area_struct *vma)
{
	if (iminor(file_inode(file)) >= NV_MAX_GPUS)
		return -ENODEV;
	vma->vm_ops = &nv_vm_ops;
	return 0;
}

static long nv_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	return -ENOTTY;
}

static const struct file_operations nv_fops = {
	.owner = THIS_MODULE,
	.open = nv_open,
	.release = nv_release,
	.mmap = nv_mmap,
	.unlocked_ioctl = nv_ioctl,
	.llseek = noop_llseek,
};

static int __init nv_init(void)
{
	unsigned int bound, failed;
	int r;

	pr_info("NVRM: loading NVIDIA UNIX Open Kernel Module for x86_64  " NV_VERSION_STRING
		"  Release Build  (gpukeep-nvsim)\n");
	r = nv_procfs_init();
	if (r)
		return r;
	r = register_chrdev(NV_MAJOR_DEVICE_NUMBER, "nvidia-frontend", &nv_fops);
	if (r < 0)
		goto err_procfs;
	nv_debugfs_init();
	r = nv_nvswitch_init(nv_debugfs_root());
	if (r)
		goto err_debugfs;
	r = nv_gpu_register_driver(&bound, &failed);
	if (r)
		goto err_nvswitch;
	if (failed)
		pr_err("NVRM: The NVIDIA probe routine failed for %u device(s).\n", failed);
	/* Like the real driver, refuse to stay loaded with no usable GPU. */
	if (!bound) {
		pr_err("NVRM: None of the NVIDIA devices were initialized.\n");
		nv_gpu_unregister_driver();
		r = -ENODEV;
		goto err_nvswitch;
	}
	return 0;

err_nvswitch:
	nv_nvswitch_exit();
err_debugfs:
	nv_debugfs_exit();
	unregister_chrdev(NV_MAJOR_DEVICE_NUMBER, "nvidia-frontend");
err_procfs:
	nv_procfs_exit();
	return r;
}

static void __exit nv_exit(void)
{
	nv_gpu_unregister_driver();
	nv_nvswitch_exit();
	nv_debugfs_exit();
	unregister_chrdev(NV_MAJOR_DEVICE_NUMBER, "nvidia-frontend");
	nv_procfs_exit();
}

module_init(nv_init);
module_exit(nv_exit);
MODULE_DESCRIPTION("gpukeep simulated NVIDIA driver core (not the NVIDIA driver)");
MODULE_VERSION(NV_VERSION_STRING);
MODULE_LICENSE("GPL");
MODULE_ALIAS_CHARDEV_MAJOR(NV_MAJOR_DEVICE_NUMBER);
