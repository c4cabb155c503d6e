/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Symbols the simulated nvidia.ko and nvidia-modeset.ko export to their dependents. The names
 * are the real driver's, so modules.dep, /proc/modules and /sys/module/<m>/holders have the
 * real shape; the signatures are simplified, since no real client links against them.
 */
#ifndef NV_EXPORTS_H
#define NV_EXPORTS_H

#include <linux/fs.h>
#include <linux/types.h>

/* A module that serves one minor of major 195 through nvidia's frontend (nvidia-modeset: 254). */
struct nvidia_module {
	struct module *owner;
	const char *name;
	unsigned int instance;
	int (*open)(struct inode *inode, struct file *file);
	int (*close)(struct inode *inode, struct file *file);
};

int nvidia_register_module(struct nvidia_module *mod);
int nvidia_unregister_module(struct nvidia_module *mod);

/* nvidia-uvm's hook into the resource manager; returns the number of GPUs RM knows. */
int nvUvmInterfaceRegisterUvmCallbacks(const char *client);
void nvUvmInterfaceDeRegisterUvmOps(void);

/* GPUDirect RDMA entry points used by nvidia-peermem; the simulation has no device memory. */
int nvidia_p2p_get_pages(u64 p2p_token, u32 va_space, u64 virtual_address, u64 length,
			 void **page_table, void (*free_callback)(void *data), void *data);
int nvidia_p2p_put_pages(u64 p2p_token, u32 va_space, u64 virtual_address, void *page_table);

/* nvidia-modeset's kernel API table, used by nvidia-drm. */
struct nvkms_kapi_functions {
	const char *version_string;
};

bool nvKmsKapiGetFunctionsTable(struct nvkms_kapi_functions *table);

#endif
