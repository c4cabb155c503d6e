// SPDX-License-Identifier: GPL-2.0
/*
 * Simulated nvidia-uvm.ko: a holder of nvidia that owns the dynamic-major "nvidia-uvm" region,
 * minor 0 (/dev/nvidia-uvm) and 1 (/dev/nvidia-uvm-tools), as the real module does.
 */
#include <linux/cdev.h>
#include <linux/fs.h>
#include <linux/module.h>

#include "nv-exports.h"

#define UVM_NUM_MINORS 2

static dev_t uvm_base;
static struct cdev uvm_cdev;

static int uvm_open(struct inode *inode, struct file *file)
{
	return 0;
}

static const struct file_operations uvm_fops = {
	.owner = THIS_MODULE,
	.open = uvm_open,
	.llseek = noop_llseek,
};

static int __init uvm_init(void)
{
	int r, gpus;

	gpus = nvUvmInterfaceRegisterUvmCallbacks("nvidia-uvm");
	r = alloc_chrdev_region(&uvm_base, 0, UVM_NUM_MINORS, "nvidia-uvm");
	if (r)
		goto err;
	cdev_init(&uvm_cdev, &uvm_fops);
	uvm_cdev.owner = THIS_MODULE;
	r = cdev_add(&uvm_cdev, uvm_base, UVM_NUM_MINORS);
	if (r) {
		unregister_chrdev_region(uvm_base, UVM_NUM_MINORS);
		goto err;
	}
	pr_info("nvidia-uvm: Loaded the UVM driver, major device number %d (%d GPU(s)).\n",
		MAJOR(uvm_base), gpus);
	return 0;
err:
	nvUvmInterfaceDeRegisterUvmOps();
	return r;
}

static void __exit uvm_exit(void)
{
	cdev_del(&uvm_cdev);
	unregister_chrdev_region(uvm_base, UVM_NUM_MINORS);
	nvUvmInterfaceDeRegisterUvmOps();
}

module_init(uvm_init);
module_exit(uvm_exit);
MODULE_DESCRIPTION("gpukeep simulated nvidia-uvm (not the NVIDIA driver)");
MODULE_VERSION("535.261.03");
MODULE_LICENSE("GPL");
