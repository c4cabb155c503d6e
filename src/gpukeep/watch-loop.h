/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The watcher's run: the kernel log from where it left off, then --once or the event loop
 * (epoll over the log, a timer for the next decision, the probe timer, signals). */
#pragma once

#include <stdbool.h>

#include "ladder/catalog.h"
#include "ladder/config.h"
#include "ladder/guards.h"
#include "watch-ops.h"

struct watch_args {
	bool act, once, from_start, json, print, reset_guard, config_given;
	const char *kmsg, *config, *catalog, *state_dir, *textfile_dir, *boot_id;
};

/* Runs the watcher; @state is the guards' state as loaded. Returns a gk_exit code. */
int watch_loop(const struct watch_args *a, struct watch_ctx *c, const struct gk_watch_config *cfg,
	       const struct gk_catalog *cat, const struct gk_guard_state *state,
	       const char *boot_id);
