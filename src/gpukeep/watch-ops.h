/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The watcher's effects for the engine: rung commands as child processes with a deadline, the
 * state file, the event log and syslog, the clock. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ladder/eventlog.h"
#include "ladder/watcher.h"

struct watch_ctx {
	const struct gk_watch_config *cfg;
	int state_dirfd;
	struct gk_eventlog log;
	bool log_open;
	bool print;		/* events to stdout too (--once, or --print) */
	bool print_json;	/* ... as JSON lines */
	bool syslog;		/* each event to syslog */
	char self_exe[4096];	/* "gpukeep" in a rung's command means this binary */
	int notify_fd;		/* the service manager's socket, or -EBADF */
	uint64_t watchdog_usec; /* its watchdog interval (0: none) */
};

extern const struct gk_watcher_ops watch_ops;

/* The rung's argv with {gpu}, {uuid} and {state_dir} replaced. NULL on -ENOMEM. */
char **watch_rung_argv(const struct watch_ctx *c, enum gk_ladder_rung rung, const char *gpu,
		       const char *uuid);
