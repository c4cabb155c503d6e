/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Stopping the holders of GPU device files, shared by the procedures: each holder as
 * holder_stop_how() says, each command with a deadline, each stop recorded before it is done. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "node/holders.h"
#include "procedure/engine.h"
#include "procedure/keeper.h"
#include "procedure/node-ops.h"
#include "procedure/reload-plan.h"

#define STOP_COMMAND_TIMEOUT_MS 120000 /* systemctl stop waits TimeoutStopSec (90 s default) */
#define STOP_DAEMON_TIMEOUT_MS	30000  /* releasing is quick; re-acquiring opens every GPU */

struct gk_stopper {
	const struct gk_node_ops *ops;
	const char *systemctl;
	unsigned grace_ms;
	char ***units;	    /* the record's stopped units (started again by stop_start_units()) */
	char ***containers; /* the record's stopped containers ("RUNTIME ID") */
};

/* Runs @argv with @timeout_ms through the ops. 0, or -errno/-EIO with *ret_why naming the
 * command and, for a deadline passed, what to do. */
int stop_command(const struct gk_node_ops *ops, char *const argv[], unsigned timeout_ms,
		 char **ret_why);

/* What to stop, for messages: "pid 12 (python3), systemctl stop x.service, ... and N more";
 * @daemon is left out. malloc()ed, NULL on -ENOMEM. */
char *stop_describe(const struct gk_holders *h, pid_t daemon);

/* Stops the units and containers of @p (each recorded and journaled first), then signals its
 * processes. Returns 0 or the exit code (GK_EXIT_FAILED: roll back) after the verdict. */
int stop_plan(struct gk_engine *e, const struct gk_stopper *s, const struct gk_reload_plan *p);

/* Starts the recorded units again; what failed is appended to *failed. 0 or -ENOMEM. */
int stop_start_units(const struct gk_stopper *s, char ***failed);

/* A stopper for a procedure: its @ops, @systemctl and @grace_ms, and its record's lists of the
 * @units and @containers it stopped (filled as it stops them). */
struct gk_stopper stop_stopper(const struct gk_node_ops *ops, const char *systemctl,
			       unsigned grace_ms, char ***units, char ***containers);

/*
 * Starts the recorded units again (stop_start_units()); then, when the record's daemon is
 * nvidia-persistenced (@kind) that released (*@released) and has not taken the GPUs again (it
 * was stopped as a unit and runs again now), it re-acquires @gpus through @socket
 * (keeper_nvpd_reacquire()). What failed is appended to *failed. 0 or -ENOMEM.
 */
int stop_start_units_reacquire(const struct gk_stopper *s, enum gk_keeper_kind kind,
			       const char *socket, char *const *gpus, bool *released,
			       char ***failed);
