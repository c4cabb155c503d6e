// SPDX-License-Identifier: GPL-2.0-or-later
/* The reload's first steps: what it observes, its record of the node, the preflight and the stop
 * of the GPU holders (with its undo). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/gk-exit.h"
#include "fileio.h"
#include "macro.h"
#include "node/holders-stop.h"
#include "procedure/reload-steps.h"
#include "procedure/stop.h"
#include "spawn-util.h"
#include "string-util.h"

#define DAEMON_TIMEOUT_MS STOP_DAEMON_TIMEOUT_MS
#define STOP_ROUNDS	  3

void reload_forget(struct reload_ctx *c)
{
	inventory_done(&c->inv);
	c->have_inv = false;
	c->holders = holders_free(c->holders);
	c->daemon_pid = 0;
}

int reload_observe(struct gk_engine *e, bool holders)
{
	struct reload_ctx *c = reload_ctx(e);
	pid_t pid;
	int r;

	if (!c->have_inv) {
		r = c->ops->inventory(c->ops->userdata, c->rootfd, &c->inv);
		if (r < 0)
			return engine_verdict(e, GK_EXIT_FAILED, "cannot read the node: %s",
					      strerror(-r));
		c->have_inv = true;
	}
	if (!holders || c->holders)
		return 0;
	r = c->ops->holders(c->ops->userdata, c->rootfd, &c->holders);
	if (r < 0)
		return engine_verdict(e, GK_EXIT_FAILED, "cannot scan for GPU holders: %s",
				      strerror(-r));
	pid = keeper_detect(c->ops, c->o->socket, keeper_nvpd_socket(c->o->nvpd_socket),
			    DAEMON_TIMEOUT_MS, &c->daemon_kind);
	c->daemon_pid = pid > 0 ? pid : 0;
	return 0;
}

#define NO_DRIVER                                                                                  \
	"the nvidia module is not loaded: nothing to reload (load it with 'modprobe nvidia')"

static int refuse(struct gk_engine *e, const struct gk_reload_plan *p, const struct gk_holders *h)
{
	_cleanup_free_ char *who = NULL;

	if (p->refusal == GK_REFUSE_NONE)
		return 0;
	if (p->refusal == GK_REFUSE_NO_DRIVER)
		return engine_verdict(e, GK_EXIT_PRECONDITION, NO_DRIVER);
	who = stop_describe(h, p->daemon_pid);
	if (p->refusal == GK_REFUSE_UNKILLABLE)
		return engine_verdict(
			e, GK_EXIT_PRECONDITION,
			"a GPU holder is in uninterruptible sleep (D state) and "
			"cannot be stopped, so the driver cannot be unloaded: %s; the "
			"node needs a reboot",
			strna(who));
	return engine_verdict(e, GK_EXIT_PRECONDITION,
			      "the GPUs are in use: %s; stop them, or rerun with --kill to stop "
			      "them (units through systemctl, containers through their runtime, "
			      "processes by SIGTERM then SIGKILL)",
			      strna(who));
}

/* The plan from this step's observation. 0 or the exit code. */
static int plan(struct gk_engine *e, bool kill, struct gk_reload_plan *ret)
{
	struct reload_ctx *c = reload_ctx(e);
	int r;

	r = reload_observe(e, true);
	if (r != 0)
		return r;
	r = reload_plan_make(&c->inv.modules, c->holders, c->daemon_pid, kill, ret);
	if (r < 0)
		return engine_verdict(e, GK_EXIT_FAILED, "cannot plan the reload: %s",
				      strerror(-r));
	return 0;
}

/* Appends "m.p=value" for each readable parameter of module @m. */
static int record_params(struct reload_ctx *c, const char *m, char ***l)
{
	_cleanup_free_ char *dir = strdup_printf("sys/module/%s/parameters", m);
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;

	if (!dir)
		return -ENOMEM;
	if (opendir_at(c->rootfd, dir, (void **)&d) < 0)
		return 0; /* a module without parameters has no such directory */
	while ((de = readdir(d))) {
		_cleanup_free_ char *path = NULL, *entry = NULL;
		char value[256];

		if (de->d_name[0] == '.')
			continue;
		path = strdup_printf("%s/%s", dir, de->d_name);
		if (!path)
			return -ENOMEM;
		if (read_attr_at(c->rootfd, path, value, sizeof(value)) < 0)
			continue; /* write-only or unreadable: not known */
		entry = strdup_printf("%s.%s=%s", m, de->d_name, value);
		if (!entry || strv_extend(l, entry) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int record_node(struct reload_ctx *c)
{
	struct reload_record *rec = &c->rec;

	reload_record_done(rec);
	if (baseline_from_inventory(&c->inv, &rec->before) < 0 ||
	    modgraph_unload_order(&c->inv.modules, "nvidia", &rec->unload_order) < 0 ||
	    !(rec->units = calloc(1, sizeof(char *))) ||
	    !(rec->containers = calloc(1, sizeof(char *))) ||
	    !(rec->module_params = calloc(1, sizeof(char *))) ||
	    !(rec->daemon_gpus = calloc(1, sizeof(char *))) ||
	    !(rec->daemon_socket = strdup(c->o->socket)))
		return -ENOMEM;
	for (char **m = rec->unload_order; *m; m++)
		if (record_params(c, *m, &rec->module_params) < 0)
			return -ENOMEM;
	return 0;
}

int step_lock_check(struct gk_engine *e, char **ret_plan)
{
	struct reload_ctx *c = reload_ctx(e);
	_cleanup_strv_free_ char **order = NULL;
	int r;

	r = reload_observe(e, false);
	if (r != 0)
		return r;
	r = modgraph_unload_order(&c->inv.modules, "nvidia", &order);
	*ret_plan = strdup_printf("lock: take the node lock; journal %zu GPU(s), %d module(s)%s",
				  c->inv.n_gpus, MAX(r, 0),
				  c->o->nvml ? ", NVML settings and NVLinks" : "");
	return 0;
}

int step_lock(struct gk_engine *e, char **ret_detail)
{
	struct reload_ctx *c = reload_ctx(e);
	_cleanup_free_ char *nvml = NULL;
	int r;

	reload_forget(c);
	r = reload_observe(e, false);
	if (r != 0)
		return r;
	if (!modlist_find(&c->inv.modules, "nvidia"))
		return engine_verdict(e, GK_EXIT_PRECONDITION, NO_DRIVER);
	if (record_node(c) < 0)
		return engine_verdict(e, GK_EXIT_FAILED, "cannot record the node: out of memory");
	r = reload_nvml_snapshot(e, &nvml);
	if (r < 0)
		return engine_verdict(e, GK_EXIT_FAILED, "cannot record the node: out of memory");
	*ret_detail =
		strdup_printf("journal written: %zu GPU(s), %zu module(s); %s",
			      c->rec.before.n_gpus, strv_length(c->rec.unload_order), strna(nvml));
	return 0;
}

int step_preflight_check(struct gk_engine *e, char **ret_plan)
{
	struct reload_ctx *c = reload_ctx(e);
	struct gk_reload_plan p = {};
	int r;

	r = plan(e, c->o->kill, &p);
	if (r != 0)
		return r;
	*ret_plan = strdup_printf("preflight: %zu holder(s) of the NVIDIA device files, %s %s",
				  c->holders->n, keeper_kind_to_string(c->daemon_kind),
				  p.daemon_pid ? "running" : "not running");
	r = refuse(e, &p, c->holders);
	reload_plan_done(&p);
	return r;
}

int step_preflight(struct gk_engine *e, char **ret_detail)
{
	struct reload_ctx *c = reload_ctx(e);
	struct gk_reload_plan p = {};
	int r;

	r = plan(e, c->o->kill, &p);
	if (r != 0)
		return r;
	r = refuse(e, &p, c->holders);
	if (r == 0)
		*ret_detail = strdup_printf("%zu holder(s): %zu unit(s) to stop, %zu container(s) "
					    "to stop, %zu process(es) to stop, %s %s",
					    c->holders->n, strv_length(p.units),
					    strv_length(p.containers), p.n_pids,
					    keeper_kind_to_string(c->daemon_kind),
					    p.daemon_pid ? "running" : "not running");
	reload_plan_done(&p);
	return r;
}

int step_stop_check(struct gk_engine *e, char **ret_plan)
{
	struct reload_ctx *c = reload_ctx(e);
	_cleanup_free_ char *units = NULL, *containers = NULL, *procs = NULL;
	struct gk_reload_plan p = {};
	int r;

	r = plan(e, c->o->kill, &p);
	if (r != 0)
		return r;
	units = strv_join(p.units, ", ");
	containers = strv_join(p.containers, ", ");
	procs = stop_describe(c->holders, p.daemon_pid);
	*ret_plan = strdup_printf(
		"stop: %s %s; units to stop and start again: %s; containers to stop: %s; "
		"processes to stop (SIGTERM, %u s grace, SIGKILL): %zu%s%s",
		keeper_kind_to_string(c->daemon_kind),
		!p.daemon_pid ? "not running"
		: c->daemon_kind == GK_KEEPER_NVPD
			? "sets each GPU it keeps disabled through its RPC, "
			  "then enabled again"
			: "asked to release its devices, then to re-acquire them",
		units && *units ? units : "none", containers && *containers ? containers : "none",
		c->o->grace_ms / 1000, p.n_pids, p.n_pids ? ": " : "",
		p.n_pids ? strna(procs) : "");
	reload_plan_done(&p);
	return 0;
}

/* nvidia-persistenced: each GPU it keeps (its get says enabled) is set disabled. */
static int release_nvpd(struct gk_engine *e)
{
	struct reload_ctx *c = reload_ctx(e);
	_cleanup_strv_free_ char **gpus = calloc(1, sizeof(char *));
	int r = gpus ? 0 : -ENOMEM;

	for (size_t i = 0; r == 0 && i < c->inv.n_gpus; i++)
		r = strv_extend(&gpus, c->inv.gpus[i].pci.name);
	if (r < 0)
		return engine_verdict(e, GK_EXIT_FAILED, "out of memory");
	return keeper_nvpd_release(e, c->ops, c->rec.daemon_socket, gpus, &c->rec.daemon_gpus,
				   &c->rec.daemon_released);
}

static int release_daemon(struct gk_engine *e)
{
	struct reload_ctx *c = reload_ctx(e);
	bool nvpd = c->daemon_kind == GK_KEEPER_NVPD;
	const char *socket = nvpd ? keeper_nvpd_socket(c->o->nvpd_socket) : c->o->socket;
	int r;

	/* the daemon that answers now is the one to re-acquire through, after a kill too */
	r = keeper_adopt_step(e, c->daemon_kind, socket, c->rec.daemon_released,
			      &c->rec.daemon_kind, &c->rec.daemon_socket);
	if (r != 0)
		return r;
	c->res->daemon = keeper_kind_to_string(c->daemon_kind);
	if (nvpd)
		return release_nvpd(e);
	c->rec.daemon_released = true;
	r = engine_sync(e);
	if (r != 0)
		return r;
	r = c->ops->daemon_release(c->ops->userdata, c->rec.daemon_socket, NULL, false,
				   DAEMON_TIMEOUT_MS);
	if (r == -ETIMEDOUT)
		return engine_verdict(e, GK_EXIT_FAILED,
				      "gpukeepd did not answer the release within %d s (see "
				      "'gpukeep status' and its log)",
				      DAEMON_TIMEOUT_MS / 1000);
	if (r < 0)
		return engine_verdict(e, GK_EXIT_FAILED, "gpukeepd did not release its devices: %s",
				      strerror(-r));
	return 0;
}

static struct gk_stopper stopper(struct reload_ctx *c)
{
	return stop_stopper(c->ops, c->o->systemctl, c->o->grace_ms, &c->rec.units,
			    &c->rec.containers);
}

static int stop_round(struct gk_engine *e, unsigned round, size_t counts[3])
{
	struct reload_ctx *c = reload_ctx(e);
	struct gk_stopper s = stopper(c);
	struct gk_reload_plan p = {};
	int r;

	/* a resumed run stops whatever holds the GPUs now: the first run was allowed to. The
	 * daemon is released, not stopped; but nvidia-persistenced still holding device files once
	 * its GPUs are disabled (its closed libnvidia-cfg may keep some) is stopped as any holder
	 */
	r = reload_plan_stops(c->holders,
			      c->daemon_kind == GK_KEEPER_NVPD && round > 0 ? 0 : c->daemon_pid,
			      c->o->kill || engine_resumed(e), &p);
	if (r < 0)
		return engine_verdict(e, GK_EXIT_FAILED, "out of memory");
	if (round == 0 && p.daemon_pid)
		r = release_daemon(e);
	if (r == 0 && round > 0 && p.refusal == GK_REFUSE_UNKILLABLE)
		r = engine_verdict(e, GK_EXIT_FAILED,
				   "a GPU holder went into uninterruptible sleep");
	if (r == 0)
		r = stop_plan(e, &s, &p);
	counts[0] += strv_length(p.units);
	counts[1] += p.n_pids;
	counts[2] += strv_length(p.containers);
	reload_plan_done(&p);
	return r;
}

int step_stop(struct gk_engine *e, char **ret_detail)
{
	struct reload_ctx *c = reload_ctx(e);
	_cleanup_free_ char *who = NULL;
	size_t counts[3] = {};
	int r;

	/* the preflight's scan of this run is the first round's: a holder that came since is
	 * found by the scan after it */
	r = reload_observe(e, true);
	for (unsigned round = 0; r == 0 && round < STOP_ROUNDS; round++) {
		r = stop_round(e, round, counts);
		/* processes can appear while others are stopped (a killed shell's child inherits
		 * its descriptors): the next round stops what holds the GPUs now */
		c->holders = holders_free(c->holders);
		if (r == 0)
			r = reload_observe(e, true);
		if (r == 0 && fabric_other_holders(c->holders) == 0)
			break;
	}
	if (r != 0)
		return r;
	if (fabric_other_holders(c->holders) > 0) {
		who = stop_describe(c->holders, 0);
		return engine_verdict(e, GK_EXIT_FAILED,
				      "the GPUs are still held after %d rounds of stopping their "
				      "users: %s",
				      STOP_ROUNDS, strna(who));
	}
	*ret_detail = strdup_printf(
		"%s, %zu unit(s) stopped, %zu process(es) stopped, %zu container(s) stopped",
		!c->rec.daemon_released ? "no gpukeepd"
		: c->rec.daemon_kind == GK_KEEPER_NVPD
			? "nvidia-persistenced set its GPU(s) disabled"
			: "gpukeepd released its devices",
		counts[0], counts[1], counts[2]);
	return 0;
}

/* nvidia-persistenced sets enabled again exactly the GPUs it had disabled. 0 or -ENOMEM; a
 * failure is named in *failed. */
static int acquire_nvpd(struct reload_ctx *c, char ***failed)
{
	return keeper_nvpd_reacquire(c->ops, c->rec.daemon_socket, c->rec.daemon_gpus,
				     &c->rec.daemon_released, failed);
}

/* The daemon re-acquires; stopped units start only before the load (a roll back): after it,
 * start-units starts them, after the fabric. A nvidia-persistenced that runs re-acquires here;
 * one that had to be stopped as a unit does in start-units, once started. The undo of the stop,
 * and the restore's first half. 0, or -EIO with *ret_failed naming what did not come back. */
int step_stop_undo(struct gk_engine *e, char **ret_failed)
{
	struct reload_ctx *c = reload_ctx(e);
	_cleanup_strv_free_ char **failed = calloc(1, sizeof(char *));
	bool nvpd = c->rec.daemon_kind == GK_KEEPER_NVPD;
	bool loaded = engine_step_status(e, "load") == GK_STEP_DONE;

	if (!failed)
		return -ENOMEM;
	if (c->rec.daemon_released)
		c->res->daemon = keeper_kind_to_string(c->rec.daemon_kind);
	if (c->rec.daemon_released && !nvpd) {
		int r = c->ops->daemon_release(c->ops->userdata, c->rec.daemon_socket, NULL, true,
					       DAEMON_TIMEOUT_MS);

		if (r < 0 && strv_extend(&failed, r == -ETIMEDOUT ? "gpukeepd (re-acquire: no "
								    "answer within 30 s)"
								  : "gpukeepd (re-acquire)") < 0)
			return -ENOMEM;
		if (r >= 0)
			c->rec.daemon_released = false;
	}
	if (!loaded && reload_start_units(c, &failed) < 0)
		return -ENOMEM;
	if (loaded && nvpd && c->rec.daemon_released &&
	    c->ops->nvpd_pid(c->ops->userdata, c->rec.daemon_socket, DAEMON_TIMEOUT_MS) > 0 &&
	    acquire_nvpd(c, &failed) < 0)
		return -ENOMEM;
	if (!*failed)
		return 0;
	*ret_failed = strv_join(failed, ", ");
	return -EIO;
}

/* The stopped units start; then a nvidia-persistenced that released and has not taken the GPUs
 * again (it was stopped as a unit, and runs again now) re-acquires them. */
int reload_start_units(void *ctx, char ***failed)
{
	struct reload_ctx *c = ctx;
	struct gk_stopper s = stopper(c);

	return stop_start_units_reacquire(&s, c->rec.daemon_kind, c->rec.daemon_socket,
					  c->rec.daemon_gpus, &c->rec.daemon_released, failed);
}
