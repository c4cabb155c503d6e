// SPDX-License-Identifier: GPL-2.0
/*
 * Simulated nvidia-modeset.ko: serves /dev/nvidia-modeset (195:254) through nvidia's frontend,
 * which makes it a holder of nvidia, and exports the KAPI table that nvidia-drm uses.
 */
#include <linux/module.h>

#include "nv-exports.h"

static atomic_t nvkms_open_count = ATOMIC_INIT(0);

static int nvkms_open(struct inode *inode, struct file *file)
{
	atomic_inc(&nvkms_open_count);
	return 0;
}

static int nvkms_close(struct inode *inode, struct file *file)
{
	atomic_dec(&nvkms_open_count);
	return 0;
}

static struct nvidia_module nvkms_module = {
	.owner = THIS_MODULE,
	.name = "nvidia-modeset",
	.instance = 254,
	.open = nvkms_open,
	.close = nvkms_close,
};

bool nvKmsKapiGetFunctionsTable(struct nvkms_kapi_functions *table)
{
	table->version_string = "535.261.03";
	return true;
}
EXPORT_SYMBOL(nvKmsKapiGetFunctionsTable);

static int __init nvkms_init(void)
{
	return nvidia_register_module(&nvkms_module);
}

static void __exit nvkms_exit(void)
{
	nvidia_unregister_module(&nvkms_module);
}

module_init(nvkms_init);
module_exit(nvkms_exit);
MODULE_DESCRIPTION("gpukeep simulated nvidia-modeset (not the NVIDIA driver)");
MODULE_VERSION("535.261.03");
MODULE_LICENSE("GPL");
