/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The reload's steps, for its table in reload.c. Each returns 0 when done, or the run's exit
 * code after engine_verdict(); a step's *ret_detail says what it did. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "node/holders.h"
#include "node/inventory.h"
#include "procedure/fabric.h"
#include "procedure/keeper.h"
#include "procedure/reload.h"

/* What the reload keeps in its journal: everything it must know to finish or undo. */
struct reload_record {
	struct gk_baseline before; /* the node before the reload: the reference to validate */
	char **unload_order;	   /* leaves first */
	/* "module.param=value" for every readable /sys/module/<m>/parameters/<p> at the start;
	 * the real nvidia module hides its own (mode 0): /proc/driver/nvidia/params has them */
	char **module_params;
	char **units;	      /* systemd units stopped, to start again */
	char **containers;    /* "RUNTIME ID" stopped (not started again) */
	bool daemon_released; /* the daemon was asked to release its devices */
	char *daemon_socket;  /* its socket */
	/* which daemon (an old journal has none: gpukeepd) */
	enum gk_keeper_kind daemon_kind;
	/* nvidia-persistenced: the GPUs it kept (get said enabled) before the release, set
	 * enabled again after */
	char **daemon_gpus;
	char *settings_file; /* NVML settings saved before the unload (in the state dir), or NULL */
	struct gk_fabric_record fabric; /* the fabric manager stopped, the fabric to wait for */
};

struct reload_ctx {
	const struct gk_reload_opts *o;
	const struct gk_node_ops *ops;
	struct gk_reload_result *res;
	int rootfd;
	struct reload_record rec;
	/* observed once per step (reload_observe()), forgotten when a step changes the node */
	struct gk_inventory inv;
	bool have_inv;
	struct gk_holders *holders;
	pid_t daemon_pid;
	enum gk_keeper_kind daemon_kind;
};

void reload_record_done(struct reload_record *r);
struct json_object *reload_record_to_json(const struct reload_record *r);
int reload_record_from_json(struct json_object *o, struct reload_record *ret, char **ret_error);

struct reload_ctx *reload_ctx(struct gk_engine *e);
/* Reads the node (inventory, holders, the persistence daemon) unless this step did. 0 or the
 * exit code. */
int reload_observe(struct gk_engine *e, bool holders);
void reload_forget(struct reload_ctx *c);

int step_lock_check(struct gk_engine *e, char **ret_plan);
int step_lock(struct gk_engine *e, char **ret_detail);
int step_preflight_check(struct gk_engine *e, char **ret_plan);
int step_preflight(struct gk_engine *e, char **ret_detail);
int step_stop_check(struct gk_engine *e, char **ret_plan);
int step_stop(struct gk_engine *e, char **ret_detail);
int step_stop_undo(struct gk_engine *e, char **ret_failed);
int step_unload_check(struct gk_engine *e, char **ret_plan);
int step_unload(struct gk_engine *e, char **ret_detail);
int step_unload_undo(struct gk_engine *e, char **ret_failed);
int step_load_check(struct gk_engine *e, char **ret_plan);
int step_load(struct gk_engine *e, char **ret_detail);
int step_restore(struct gk_engine *e, char **ret_detail);
int step_validate_check(struct gk_engine *e, char **ret_plan);
int step_validate(struct gk_engine *e, char **ret_detail);
int step_report(struct gk_engine *e, char **ret_detail);

/* The fabric manager and the NVLink fabric (reload-fabric.c). */
int step_fabric_stop_check(struct gk_engine *e, char **ret_plan);
int step_fabric_stop(struct gk_engine *e, char **ret_detail);
int step_fabric_stop_undo(struct gk_engine *e, char **ret_failed);
int step_fabric_start_check(struct gk_engine *e, char **ret_plan);
int step_fabric_start(struct gk_engine *e, char **ret_detail);
int step_fabric_wait_check(struct gk_engine *e, char **ret_plan);
int step_fabric_wait(struct gk_engine *e, char **ret_detail);
int step_units_start_check(struct gk_engine *e, char **ret_plan);
int step_units_start(struct gk_engine *e, char **ret_detail);
/* Starts the units the stop step stopped; what failed is appended to *failed. 0 or -ENOMEM. */
int reload_start_units(void *ctx, char ***failed);

/* NVML around the reload, through the helper (reload-nvml.c). */
int reload_nvml_snapshot(struct gk_engine *e, char **ret_note);
int reload_nvml_restore(struct gk_engine *e, char **ret_note);
