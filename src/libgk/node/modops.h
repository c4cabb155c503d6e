/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Module load and unload: libkmod behind a small table of operations, so that the decisions
 * around them (retries, order, error reports) are unit-tested with a fake kernel. */
#pragma once

#include <stdbool.h>

struct gk_modops {
	void *userdata;
	/*
	 * Removes one module, never forced. Returns 0, -ENOENT when it is not loaded,
	 * -EAGAIN/-EBUSY when it is in use (holders or open files), -EPERM, -errno.
	 */
	int (*remove)(void *userdata, const char *name);
	/*
	 * Loads @name and what it depends on as modprobe would: modprobe.d options and install
	 * commands apply. Returns 0 (also when already loaded), -ENOENT when no such module exists
	 * for this kernel, -errno.
	 */
	int (*load)(void *userdata, const char *name);
	/* Waits @ms milliseconds between attempts (a fake clock in tests). */
	void (*sleep_ms)(void *userdata, unsigned ms);
};

/* The real operations through libkmod; *ret is freed with modops_kmod_free(). Returns 0 or
 * -errno (-ENOMEM, or libkmod could not read the module indexes). */
int modops_kmod_new(struct gk_modops **ret);
struct gk_modops *modops_kmod_free(struct gk_modops *ops);

struct gk_unload_result {
	unsigned attempts; /* calls to ->remove */
	unsigned waited_ms;
	bool was_loaded; /* false: the module was already gone (counts as unloaded) */
};

/*
 * Removes @name, retrying while it is in use (-EAGAIN, -EBUSY) with a backoff from 20 ms up to
 * 1 s, for at most @budget_ms. Returns 0 (removed, or not loaded), -EBUSY when it was still in use
 * at the end of the budget, or the first other error.
 */
int modops_unload(const struct gk_modops *ops, const char *name, unsigned budget_ms,
		  struct gk_unload_result *ret);
