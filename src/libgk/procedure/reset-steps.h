/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The reset's steps and its record, for its table in reset.c. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "node/holders.h"
#include "node/inventory.h"
#include "procedure/fabric.h"
#include "procedure/keeper.h"
#include "procedure/reset.h"

/* Per GPU, where the reset is: a killed run resumes from here. */
#define RESET_PHASE_NONE    ""
#define RESET_PHASE_REMOVED "removed" /* remove written; rescan next */
#define RESET_PHASE_UNBOUND "unbound" /* unbound from nvidia; reset and bind next */
#define RESET_PHASE_DONE    "done"    /* the reset ran (it may still have failed: validate) */
#define RESET_PHASE_FAILED  "failed"  /* the reset itself failed: reason in outcomes */

struct reset_record {
	char **targets;		   /* PCI addresses, in PCI order */
	char **nodes;		   /* their device nodes ("" when unknown: an unbound GPU) */
	char **methods;		   /* "nvidia-smi", "function", "remove-rescan", "" until chosen */
	char **phases;		   /* RESET_PHASE_* */
	char **outcomes;	   /* what the reset did, or why it failed ("" until then) */
	struct gk_baseline before; /* the targets as they were */
	char **units;
	char **containers;
	bool daemon_released;
	/* targets the daemon held before the release (gpukeepd: open in /proc; nvidia-persistenced:
	 * its get said enabled): they opened fine, and are the ones it re-acquires */
	char **daemon_held;
	char *daemon_socket;
	/* an old journal has none: gpukeepd */
	enum gk_keeper_kind daemon_kind;
	char *settings_file;
	char *nvlink_note;
	/* An NVSwitch node: whether to wait for the GPUs' fabric (the manager is never stopped:
	 * stopped stays false); absent in journals written before. */
	struct gk_fabric_record fabric;
	char **nvlinks; /* "PCI/LINK" active before the reset, checked after the fabric; or NULL */
};

struct reset_ctx {
	const struct gk_reset_opts *o;
	const struct gk_node_ops *ops;
	struct gk_reset_result *res;
	int rootfd;
	struct reset_record rec;
	struct gk_inventory inv;
	bool have_inv;
	struct gk_holders *holders; /* of the targets only */
	size_t other_holders;	    /* processes on the other GPUs, left alone */
	pid_t daemon_pid;
	bool nvml_absent;     /* the NVML helper found no NVML */
	pid_t fabric_manager; /* the fabric manager's pid (never stopped by a reset), or 0 */
	enum gk_keeper_kind daemon_kind;
};

void reset_record_done(struct reset_record *r);
struct json_object *reset_record_to_json(const struct reset_record *r);
int reset_record_from_json(struct json_object *o, struct reset_record *ret, char **ret_error);

struct reset_ctx *reset_ctx(struct gk_engine *e);
void reset_forget(struct reset_ctx *c);
int reset_observe(struct gk_engine *e, bool holders);

int reset_step_lock_check(struct gk_engine *e, char **ret_plan);
int reset_step_lock(struct gk_engine *e, char **ret_detail);
int reset_step_preflight_check(struct gk_engine *e, char **ret_plan);
int reset_step_preflight(struct gk_engine *e, char **ret_detail);
int reset_step_stop(struct gk_engine *e, char **ret_detail);
int reset_step_stop_undo(struct gk_engine *e, char **ret_failed);
int reset_step_reset_check(struct gk_engine *e, char **ret_plan);
int reset_step_reset(struct gk_engine *e, char **ret_detail);
int reset_step_restore(struct gk_engine *e, char **ret_detail);
int reset_step_validate(struct gk_engine *e, char **ret_detail);
int reset_step_report(struct gk_engine *e, char **ret_detail);

/* The NVLinks through the helper (a hung NVML is killed at its deadline), or NULL. */
struct gk_baseline_nvml *reset_read_nvlinks(struct reset_ctx *c, bool *ret_absent);

/* The fabric (reset-fabric.c). Takes the fabric manager out of @c->holders (a reset never stops
 * it) and notes its pid. */
void reset_fabric_manager_keep(struct reset_ctx *c);
/* The NVSwitch rule for the targets (reset_fabric_rule()): refuses (exit 3) where NVIDIA's reset
 * needs more, records in @c->rec.fabric whether to wait; *ret_note says which. 0 or the exit
 * code. */
int reset_fabric_preflight(struct gk_engine *e, char **ret_note);
int reset_step_fabric_wait_check(struct gk_engine *e, char **ret_plan);
int reset_step_fabric_wait(struct gk_engine *e, char **ret_detail);
int reset_step_units_check(struct gk_engine *e, char **ret_plan);
int reset_step_units(struct gk_engine *e, char **ret_detail);
/* Starts the units the release stopped; what failed is appended to *failed. 0 or -ENOMEM. */
int reset_start_units(void *ctx, char ***failed);
