/* SPDX-License-Identifier: GPL-2.0-or-later */
/* gpukeep reset: the per-GPU reset, rung 1 of the remediation ladder, a procedure on the engine:
 * only the GPUs named are released, reset and brought back; the others keep running. */
#pragma once

#include <stdbool.h>

#include "baseline/validate.h"
#include "daemon/protocol.h"
#include "procedure/engine.h"
#include "procedure/fabric.h"
#include "procedure/node-ops.h"

#define GK_RESET_JOURNAL      "reset.journal"
#define GK_RESET_JOURNAL_LAST "reset.journal.last"

struct gk_reset_opts {
	const char *root;	      /* node root for /sys, /proc, /dev ("/") */
	const struct gk_gpusel *gpus; /* the GPUs to reset; none: every GPU */
	const char *const *gpu_texts; /* the same, as given, for messages */
	size_t n_gpus;
	const char *baseline_path; /* NULL: validate against the GPUs as they were */
	const char *socket;	   /* gpukeepd's socket */
	const char *nvpd_socket;   /* nvidia-persistenced's RPC socket (NULL: NVPD_SOCKET_PATH) */
	const char *systemctl;
	const char *nvidia_smi; /* its command ("nvidia-smi"); when absent, the kernel's reset */
	bool nvml;		/* save and restore the GPUs' settings, read NVLinks (helper) */
	bool kill;		/* stop the holders of those GPUs (else they refuse the reset) */
	unsigned grace_ms;
	unsigned fabric_timeout_ms;	    /* the reset GPUs' NVLink fabric wait; 0: the default */
	const struct gk_fabric_ops *fabric; /* NULL: NVML (fabric_ops_nvml) */
	const struct gk_node_ops *ops;
	struct gk_engine_opts engine;
};

enum gk_reset_rung {
	GK_RESET_NEXT_NONE,   /* the GPUs are back and valid */
	GK_RESET_NEXT_RELOAD, /* a GPU did not come back: `gpukeep reload` */
	GK_RESET_NEXT_REBOOT, /* a holder in D state: nothing but a reboot frees the GPU */
};

struct gk_reset_gpu_result {
	char pci[32];
	char method[24]; /* "nvidia-smi", "function", "unbind-reset-bind", "remove-rescan", "" */
	bool back;	 /* bound, same UUID, link as before, node there, held/opened again */
};

struct gk_reset_result {
	struct gk_engine_result run;
	enum gk_reset_rung next_rung;
	struct gk_reset_gpu_result *gpus;
	size_t n_gpus;
	struct gk_differences differences;
	/* the persistence daemon that released and re-acquired the GPUs, NULL when none ran */
	const char *daemon;
};

/* Runs (or resumes) a reset. Returns 0 with *ret (ret->run.exit is the verdict), or -ENOMEM.
 * Free with reset_result_done(). */
int reset_run(const struct gk_reset_opts *o, struct gk_reset_result *ret);
void reset_result_done(struct gk_reset_result *r);
const char *reset_rung_to_string(enum gk_reset_rung r);

extern const struct gk_procedure reset_procedure;
