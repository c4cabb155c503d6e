// SPDX-License-Identifier: GPL-2.0
/*
 * Simulated nvidia-peermem.ko: a third-party-style holder of nvidia (GPUDirect RDMA), loaded
 * only on request, so reload code meets a holder that is not one of the usual four.
 */
#include <linux/module.h>

#include "nv-exports.h"

static int __init peermem_init(void)
{
	void *table = NULL;

	/* A zero-length request only proves the link to nvidia; the sim has no device memory. */
	if (nvidia_p2p_get_pages(0, 0, 0, 0, &table, NULL, NULL) != -EINVAL)
		return -EIO;
	return 0;
}

static void __exit peermem_exit(void)
{
	nvidia_p2p_put_pages(0, 0, 0, NULL);
}

module_init(peermem_init);
module_exit(peermem_exit);
MODULE_DESCRIPTION("gpukeep simulated nvidia-peermem (not the NVIDIA driver)");
MODULE_VERSION("535.261.03");
MODULE_LICENSE("GPL");
