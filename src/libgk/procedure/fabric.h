/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The NVLink fabric around a procedure on an NVSwitch node, in the order NVIDIA documents for a
 * driver reload and a fabric manager restart: the fabric manager stops after every GPU process
 * and before the driver goes, starts after the driver (and persistence) is back, and the GPUs are
 * usable only once every one's fabric state is completed with success. Shared by the procedures;
 * the reload's steps are in reload-fabric.c.
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "core/json-check.h"
#include "node/holders.h"
#include "nvml/fabric.h"
#include "procedure/engine.h"
#include "procedure/node-ops.h"

#define FABRIC_DEFAULT_TIMEOUT_MS 180000 /* an HGX H100 trains in about a minute */
#define FABRIC_POLL_MS		  2000
#define FABRIC_COUNTDOWN_MS	  10000	 /* a progress line this often while waiting */
#define FABRIC_START_TIMEOUT_MS	  120000 /* systemctl start waits for the manager's start-up */

/* What a procedure keeps in its journal about the fabric manager and the fabric. */
struct gk_fabric_record {
	bool nvswitches; /* the node had NVSwitches when the procedure began */
	bool stopped;	 /* the procedure stopped the fabric manager: it starts it again */
	char *unit;	 /* its systemd unit; NULL when it ran as a plain process */
	char **argv;	 /* a plain process: its command line, the executable's path first */
	bool wait;	 /* wait for the fabric after the manager starts */
};

void fabric_record_done(struct gk_fabric_record *r);
/* {"nvswitches", "stopped", "unit", "argv", "wait"}; NULL on -ENOMEM. */
struct json_object *fabric_record_to_json(const struct gk_fabric_record *r);
/* Reads that back; @o NULL (a journal written before fabric support) gives an empty record.
 * 0, -EBADMSG with *ret_error (malloc()ed), -ENOMEM. */
int fabric_record_from_json(struct json_object *o, struct gk_fabric_record *ret, char **ret_error);
/* The same from the member "fabric" of a procedure's record @parent (optional: journals from
 * before have none), its failure noted in @c (nothing read once @c failed). */
void fabric_record_member(struct gk_jcheck *c, struct json_object *parent,
			  struct gk_fabric_record *ret);

/*
 * The command line to start a fabric manager again from /proc/<pid>/cmdline (@len bytes of
 * NUL-separated arguments) and its executable @exe (/proc/<pid>/exe; NULL when unreadable: then
 * argv[0] stays). 0 with a NULL-terminated strv, -EINVAL when @buf holds no argument, -ENOMEM.
 */
int fabric_argv_parse(const char *buf, size_t len, const char *exe, char ***ret);

/* The fabric manager among @h: the first holder holder_is_fabric_manager() names, or NULL. */
const struct gk_holder *fabric_find_manager(const struct gk_holders *h);

/* How the fabric manager is read through NVML, faked in tests. */
struct gk_fabric_ops {
	void *userdata;
	/* Every GPU's fabric (nvml_fabric()): 0 with *ret (malloc()ed) and *ret_n, or -errno with
	 * *ret_error (malloc()ed) saying why NVML could not be read. */
	int (*read)(void *userdata, struct gk_fabric_gpu **ret, size_t *ret_n, char **ret_error);
};

/* NVML opened for each read ($GPUKEEP_NVML, the per-call deadline of nvml_open()). */
extern const struct gk_fabric_ops fabric_ops_nvml;

/*
 * Stops the fabric manager @m (a holder of the NVSwitch device files) and records how to start
 * it again in @rec, journaled before it acts: a unit through `@systemctl stop`, a process by
 * SIGTERM, @grace_ms, SIGKILL. @rootfd reads its /proc entry. Returns 0 or the exit code
 * (GK_EXIT_FAILED: roll back) after the verdict.
 */
int fabric_manager_stop(struct gk_engine *e, const struct gk_node_ops *ops, int rootfd,
			const char *systemctl, unsigned grace_ms, const struct gk_holder *m,
			struct gk_fabric_record *rec);

/* Starts the fabric manager @rec stopped (no-op when it stopped none). 0, or -errno with
 * *ret_why (malloc()ed) naming the command that failed. */
int fabric_manager_start(const struct gk_node_ops *ops, const char *systemctl,
			 const struct gk_fabric_record *rec, char **ret_why);

/* What a procedure waits for. */
struct gk_fabric_wait {
	char *const *gpus; /* PCI addresses to wait for (a reset's GPUs); NULL: every GPU */
	unsigned timeout_ms;
	const char *next; /* the next rung, for the failure ("drain and reboot") */
};

/*
 * Waits until the fabric of every GPU @w names is completed with success, at most
 * @w->timeout_ms, polling with @ops->sleep_ms and saying the countdown through the engine. A
 * GPU named that NVML does not list counts as not ready. Returns 0 with *ret_detail ("8/8
 * GPU(s) completed with success after 12 s"), or the exit code after the verdict
 * (GK_EXIT_NEEDS_PERSON: a fabric that failed or did not complete in time, naming the GPUs and
 * @w->next).
 */
int fabric_wait(struct gk_engine *e, const struct gk_fabric_ops *f, const struct gk_node_ops *ops,
		const struct gk_fabric_wait *w, char **ret_detail);

/*
 * After a failed fabric step (@r, the exit code): the verdict also names @units (stopped by the
 * procedure), left stopped because a CUDA service started before the fabric completes fails
 * ("system not yet initialized"). Returns @r.
 */
int fabric_units_left(struct gk_engine *e, int r, char *const *units);

/*
 * A procedure's start-units step, after the fabric: @start(@ctx, &failed) starts its @n_units
 * units (appending what failed; 0 or -ENOMEM). Returns 0 with *ret_detail, or
 * GK_EXIT_NEEDS_PERSON after the verdict naming the units that did not start.
 */
int fabric_units_step(struct gk_engine *e, int (*start)(void *ctx, char ***failed), void *ctx,
		      size_t n_units, char **ret_detail);

/* How many of @h are not the fabric manager: what a procedure's own stop must have ended. */
size_t fabric_other_holders(const struct gk_holders *h);
