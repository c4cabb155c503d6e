// SPDX-License-Identifier: GPL-2.0
/*
 * Simulated nvidia-drm.ko: a holder of nvidia-modeset through its KAPI table. The real module
 * registers a DRM device; the simulation registers nothing, it only completes the module graph.
 */
#include <linux/module.h>

#include "nv-exports.h"

/* Same name and mode as the real parameter, which tools read to tell whether KMS is on. */
static bool modeset;
module_param(modeset, bool, 0400);
MODULE_PARM_DESC(modeset, "enable atomic kernel modesetting (simulated: no effect)");

static int __init nv_drm_init(void)
{
	struct nvkms_kapi_functions table;

	if (!nvKmsKapiGetFunctionsTable(&table))
		return -EINVAL;
	pr_info("[drm] [nvidia-drm] Loading driver (KAPI %s)\n", table.version_string);
	return 0;
}

static void __exit nv_drm_exit(void)
{
}

module_init(nv_drm_init);
module_exit(nv_drm_exit);
MODULE_DESCRIPTION("gpukeep simulated nvidia-drm (not the NVIDIA driver)");
MODULE_VERSION("535.261.03");
MODULE_LICENSE("GPL");
