/* SPDX-License-Identifier: GPL-2.0 */
/* Internal interfaces between the files of the simulated nvidia.ko. */
#ifndef NV_SIM_H
#define NV_SIM_H

#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/wait.h>

#define NV_MAJOR_DEVICE_NUMBER	    195
#define NV_CTL_DEVICE_NUM	    255
#define NV_MODESET_MINOR_DEVICE_NUM 254
#define NV_MAX_GPUS		    32
#define NV_VERSION_STRING	    "535.261.03"

struct nv_gpu {
	struct kref ref;
	struct pci_dev *pdev; /* referenced until the last kref goes */
	unsigned int minor;
	char bdf[16];
	char uuid[48];
	bool excluded;

	/* Serialises initialization and teardown, as the RM lock does in the real driver. */
	struct mutex lock;
	u32 users; /* open files (mmaps keep theirs open) */
	bool initialized;
	bool persistent; /* NV_FLAG_PERSISTENT_SW_STATE: last close keeps state */
	u32 init_count;
	u32 deinit_count;
	u32 reset_count;

	/* Fault switches. */
	bool wedged; /* opens sleep uninterruptibly until cleared */
	wait_queue_head_t wedge_wq;
	bool fail_reset; /* the next function reset leaves the GPU lost */
	/* The GPU's own fabric registration after a reset, written by the fabric manager: 0 follows
	 * the node's fabric state, 1 reset (not started: the reset dropped it), 2 in progress
	 * (the fabric manager retrains it); back to 0 once retrained. */
	u32 fabric_reset;
	bool lost; /* fallen off the bus: opens fail with -EIO */
	bool removed;

	struct page *page; /* what every mmap of the device maps */
	struct proc_dir_entry *proc_dir;
	struct dentry *debugfs_dir;
};

/* nv-gpu.c */
extern unsigned int nv_init_ms;
int nv_gpu_register_driver(unsigned int *ret_bound, unsigned int *ret_failed);
void nv_gpu_unregister_driver(void);
struct nv_gpu *nv_gpu_get(unsigned int minor); /* takes a reference, or NULL */
void nv_gpu_put(struct nv_gpu *g);
int nv_gpu_open(struct nv_gpu *g);
void nv_gpu_close(struct nv_gpu *g);
void nv_gpu_set_persistent(struct nv_gpu *g, bool on);
void nv_gpu_set_wedged(struct nv_gpu *g, bool on);
void nv_gpu_mark_lost(struct nv_gpu *g);
void nv_gpu_xid(struct nv_gpu *g, unsigned int xid, const char *text);
unsigned int nv_gpu_count(void);

/* nv-procfs.c */
int nv_procfs_init(void);
void nv_procfs_exit(void);
void nv_procfs_add_gpu(struct nv_gpu *g);
void nv_procfs_remove_gpu(struct nv_gpu *g);
extern char *NVreg_ExcludedGpus;

/* nv-debugfs.c */
void nv_debugfs_init(void);
void nv_debugfs_exit(void);
void nv_debugfs_add_gpu(struct nv_gpu *g);
void nv_debugfs_remove_gpu(struct nv_gpu *g);
struct dentry *nv_debugfs_root(void);

/* nv-nvswitch.c */
int nv_nvswitch_init(struct dentry *debugfs_root);
void nv_nvswitch_exit(void);

#endif
