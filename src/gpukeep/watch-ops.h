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

/* The rung's argv with {gpu}, {uuid}, {state_dir}, {reason} (the fault @fault in words:
 * watcher_fault_text()) and {drain_timeout} replaced, and {requeue} replaced by "--requeue"
 * when scheduler.requeue is set, else dropped. NULL on -ENOMEM. */
char **watch_rung_argv(const struct watch_ctx *c, enum gk_ladder_rung rung, const char *gpu,
		       const char *uuid, const char *fault);

/* The deadline of the rung's command @argv: its timeout_s, plus scheduler.drain_timeout_s when
 * it waits for the node's jobs (an argument is "--drain"). */
unsigned watch_rung_timeout_s(const struct watch_ctx *c, enum gk_ladder_rung rung,
			      char *const *argv);
