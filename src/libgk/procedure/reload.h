/* SPDX-License-Identifier: GPL-2.0-or-later */
/* gpukeep reload: the safe driver reload, a procedure on the engine (engine.h). */
#pragma once

#include <stdbool.h>

#include "baseline/validate.h"
#include "procedure/engine.h"
#include "procedure/node-ops.h"
#include "procedure/reload-plan.h"

#define GK_RELOAD_JOURNAL      "reload.journal"
#define GK_RELOAD_JOURNAL_LAST "reload.journal.last"

struct gk_reload_opts {
	const char *root;	    /* node root for /sys, /proc, /dev ("/") */
	const char *baseline_path;  /* NULL: validate against the node as it was before */
	const char *socket;	    /* gpukeepd's socket */
	const char *systemctl;	    /* the service manager's command */
	bool nvml;		    /* save and restore settings and NVLinks through the helper */
	bool kill;		    /* stop holders (without it, holders refuse the reload) */
	bool diag;		    /* run dcgmi diag -r 1 after validation */
	unsigned grace_ms;	    /* SIGTERM to SIGKILL */
	unsigned unload_budget_ms;  /* per module, while it is still in use */
	unsigned fabric_timeout_ms; /* the NVLink fabric's wait; 0: the default */
	const struct gk_fabric_ops *fabric; /* NULL: NVML (fabric_ops_nvml) */
	const struct gk_node_ops *ops;
	/* nvidia-persistenced's RPC socket, tried when gpukeepd does not answer at @socket (NULL:
	 * NVPD_SOCKET_PATH) */
	const char *nvpd_socket;
	struct gk_engine_opts engine; /* state directory, dry run, the runner's own effects */
};

struct gk_reload_result {
	struct gk_engine_result run; /* exit, resumed, error, the journal with the steps */
	enum gk_rung next_rung;
	struct gk_differences differences; /* validation */
	int diag;			   /* -1 not run, 0 passed, >0 failed, -2 not installed */
	/* the persistence daemon that released and re-acquired the GPUs (keeper_kind_to_string()),
	 * NULL when none ran */
	const char *daemon;
};

/* Runs (or resumes) a reload. Returns 0 with *ret filled (ret->run.exit is the verdict), or
 * -ENOMEM. Free with reload_result_done(). */
int reload_run(const struct gk_reload_opts *o, struct gk_reload_result *ret);
void reload_result_done(struct gk_reload_result *r);

/* The procedure: its steps are the help text's. */
extern const struct gk_procedure reload_procedure;
