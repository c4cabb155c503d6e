/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Every effect a procedure has on the node, and every observation it makes, behind one table:
 * the real one (node_ops_real) acts through the kernel, libkmod, pidfds, gpukeepd's socket and
 * programs run with a deadline; tests pass fakes to drive each failure and roll-back path.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "node/devnodes.h"
#include "node/holders.h"
#include "node/inventory.h"
#include "node/modops.h"
#include "node/terminate.h"

enum gk_nvml_job {
	GK_NVML_NVLINKS, /* write the node's NVLinks and pending retirements (a baseline's part) */
	GK_NVML_SAVE,	 /* write every GPU's settings */
	GK_NVML_RESTORE, /* put the settings of a file back, each read back */
	_GK_NVML_JOB_MAX,
};

struct gk_node_ops {
	void *userdata;
	const struct gk_modops *modops;

	/* What is there: the inventory (inventory_scan()) and the holders of the NVIDIA nodes,
	 * the caller left out. 0 or -errno; the caller frees. */
	int (*inventory)(void *userdata, int rootfd, struct gk_inventory *ret);
	int (*holders)(void *userdata, int rootfd, struct gk_holders **ret);

	/* SIGTERM, @grace_ms, SIGKILL by pidfd (victims_terminate()). Returns how many are still
	 * alive, or -errno. */
	int (*terminate)(void *userdata, const pid_t *pids, size_t n, unsigned grace_ms,
			 gk_countdown_fn countdown, void *countdown_userdata);

	/* Runs a program with a deadline (spawn_wait_timeout()): its exit status, 128+signal,
	 * -ETIMEDOUT (killed at the deadline), -ENOENT (not installed), -errno. */
	int (*spawn)(void *userdata, char *const argv[], unsigned flags, unsigned timeout_ms);

	/* Whether program @cmd (a path, or a name looked up in $PATH) is installed. */
	bool (*installed)(void *userdata, const char *cmd);

	/* gpukeepd's pid at @socket: 0 when none listens there, or -errno. */
	pid_t (*daemon_pid)(void *userdata, const char *socket, unsigned timeout_ms);
	/* Asks gpukeepd to release (or re-acquire, @acquire) every device, or only GPU @gpu
	 * (a PCI address). 0, -EPERM refused, -ETIMEDOUT, -ECONNREFUSED/-ENOENT not running,
	 * -EPROTO, -errno. */
	int (*daemon_release)(void *userdata, const char *socket, const char *gpu, bool acquire,
			      unsigned timeout_ms);
	/* Asks gpukeepd to read the GPU list again (after a load or a rescan the minors may have
	 * changed). 0, or the errors of daemon_release. */
	int (*daemon_reenumerate)(void *userdata, const char *socket, unsigned timeout_ms);
	/* Waits until gpukeepd has settled the GPUs it should keep (all, or @gpu): *ret_held of
	 * *ret_wanted held, and the first not held in @ret_missing ("PCI (state)", "" when
	 * none; @missing_size bytes). 0, -ETIMEDOUT, -errno. */
	int (*daemon_settled)(void *userdata, const char *socket, const char *gpu,
			      unsigned timeout_ms, unsigned *ret_held, unsigned *ret_wanted,
			      char *ret_missing, size_t missing_size);

	/* nvidia-persistenced's RPC at @socket (NVIDIA's daemon, or gpukeepd in its compat mode):
	 * the pid serving it (SO_PEERCRED), 0 when none listens there, or -errno. */
	pid_t (*nvpd_pid)(void *userdata, const char *socket, unsigned timeout_ms);
	/* Its persistence mode for GPU @gpu (a PCI address): 1 enabled, 0 disabled, or -errno as
	 * nvpd_get_mode() (-ENODEV: it does not know the GPU). */
	int (*nvpd_get)(void *userdata, const char *socket, const char *gpu, unsigned timeout_ms);
	/* Sets it with the v1 call (which also offlines coherent memory before a release): 0 once
	 * the device file is closed or open, or -errno as nvpd_set_mode(). */
	int (*nvpd_set)(void *userdata, const char *socket, const char *gpu, bool enabled,
			unsigned timeout_ms);

	/* Writes @value to <root>/@path (a sysfs attribute: unbind, bind, reset, remove, rescan),
	 * with a deadline (a store can block in the kernel). 0, -ETIMEDOUT, -errno. */
	int (*sysfs_write)(void *userdata, int rootfd, const char *path, const char *value);
	/* Opens device node <root>/@path and closes it, with a deadline: 0, -EIO (the GPU fell off
	 * the bus), -ETIMEDOUT (the open hangs), -errno. */
	int (*probe)(void *userdata, int rootfd, const char *path);
	/* Creates the missing nodes of @l (devnodes_create_missing()). How many, or -errno. */
	int (*mknod_missing)(void *userdata, int rootfd, const struct gk_devnode_list *l);

	/* NVML work in a helper process with a deadline (a hung NVML call keeps device files
	 * open: in our own process it would block the unload). @file in the state directory,
	 * @gpu NULL for all. Returns the helper's exit (0 ok, 1 partly failed, 3 NVML not
	 * available), -ETIMEDOUT (NVML hung), -errno. */
	int (*nvml)(void *userdata, enum gk_nvml_job job, const char *file, const char *gpu);

	/* Waits @ms (between polls of a wait that has its own deadline). */
	void (*sleep_ms)(void *userdata, unsigned ms);
};

struct gk_node_ops_real {
	struct gk_node_ops ops;
	const char *helper;    /* the program hosting nvml_helper_main() */
	bool nvml;	       /* NVML jobs may run (else they answer "not available") */
	const char *state_dir; /* where the helper's files go */
	bool quiet_stdout;     /* our stdout carries a JSON report: helpers print to stderr */
};

/* Fills @r with the real operations around @modops (may be NULL for a dry run). */
void node_ops_real_init(struct gk_node_ops_real *r, const struct gk_modops *modops,
			const char *helper, bool nvml, const char *state_dir, bool quiet_stdout);
