// SPDX-License-Identifier: GPL-2.0-or-later
/* The reset's first steps: which GPUs (the NVLink rule), their holders, and their release. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "baseline/nvml-baseline.h"
#include "core/gk-exit.h"
#include "fileio.h"
#include "macro.h"
#include "procedure/reload-plan.h"
#include "procedure/reset-plan.h"
#include "procedure/reset-steps.h"
#include "procedure/stop.h"
#include "string-util.h"

#define STOP_ROUNDS   3
#define SETTINGS_FILE "reset.settings.json"
#define NVLINKS_FILE  "reset.nvml-before.json"

/* Holders other than gpukeepd (released through its socket, never stopped). */
static size_t holders_other_than(const struct gk_holders *h, pid_t daemon)
{
	size_t n = 0;

	for (size_t i = 0; i < h->n; i++)
		n += h->holders[i].pid != daemon;
	return n;
}

void reset_forget(struct reset_ctx *c)
{
	inventory_done(&c->inv);
	c->have_inv = false;
	c->holders = holders_free(c->holders);
	c->daemon_pid = 0;
	c->other_holders = 0;
}

int reset_observe(struct gk_engine *e, bool holders)
{
	struct reset_ctx *c = reset_ctx(e);
	size_t all;
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
	reset_fabric_manager_keep(c);
	pid = keeper_detect(c->ops, c->o->socket, keeper_nvpd_socket(c->o->nvpd_socket),
			    STOP_DAEMON_TIMEOUT_MS, &c->daemon_kind);
	c->daemon_pid = pid > 0 ? pid : 0;
	all = holders_other_than(c->holders, c->daemon_pid);
	reset_filter_holders(c->holders, c->rec.nodes);
	c->other_holders = all - holders_other_than(c->holders, c->daemon_pid);
	return 0;
}

struct gk_baseline_nvml *reset_read_nvlinks(struct reset_ctx *c, bool *ret_absent)
{
	_cleanup_free_ char *error = NULL, *error2 = NULL;
	struct gk_baseline_nvml *b = NULL;
	struct json_object *o = NULL;
	int r;

	*ret_absent = !c->o->nvml;
	if (!c->o->nvml)
		return NULL;
	r = c->ops->nvml(c->ops->userdata, GK_NVML_NVLINKS, NVLINKS_FILE, NULL);
	*ret_absent = r == GK_EXIT_PRECONDITION;
	if (r != 0)
		return NULL;
	if (json_parse_file_at(c->o->engine.state_dirfd, NVLINKS_FILE, GK_BASELINE_MAX_SIZE, &o,
			       &error) >= 0)
		(void)nvml_baseline_from_json(o, &b, &error2);
	json_object_put(o);
	(void)unlinkat(c->o->engine.state_dirfd, NVLINKS_FILE, 0);
	return b;
}

/* Which GPUs, and the NVLink rule as applied. 0 or the exit code. */
static int choose(struct gk_engine *e, struct reset_record *rec)
{
	struct reset_ctx *c = reset_ctx(e);
	_cleanup_strv_free_ char **before = NULL;
	_cleanup_free_ char *added = NULL;
	struct gk_baseline_nvml *links;
	size_t bad = 0;
	int r;

	if (!c->inv.driver_loaded)
		return engine_verdict(e, GK_EXIT_PRECONDITION,
				      "the nvidia driver is not loaded: a GPU reset needs it (load "
				      "it with 'modprobe nvidia', or run 'gpukeep reload')");
	r = reset_select(&c->inv, c->o->gpus, c->o->n_gpus, &rec->targets, &bad);
	if (r == -ENODEV)
		return engine_verdict(e, GK_EXIT_PRECONDITION,
				      "no GPU matches \"%s\"; 'gpukeep inventory' lists them",
				      c->o->gpu_texts ? c->o->gpu_texts[bad] : "?");
	if (r < 0 || !(before = calloc(1, sizeof(char *))))
		return engine_verdict(e, GK_EXIT_FAILED, "out of memory");
	if (!*rec->targets)
		return engine_verdict(e, GK_EXIT_PRECONDITION, "the node has no GPU to reset");
	for (char **t = rec->targets; *t; t++)
		if (strv_extend(&before, *t) < 0)
			return engine_verdict(e, GK_EXIT_FAILED, "out of memory");
	links = reset_read_nvlinks(c, &c->nvml_absent);
	r = reset_nvlink_group(&c->inv, links, &rec->targets);
	/* the targets' active NVLinks: up again once the fabric retrained them */
	strv_free(rec->nvlinks);
	rec->nvlinks = links && r >= 0 ? reset_nvlinks_of(links, rec->targets) : NULL;
	nvml_baseline_free(links);
	if (r < 0 || (links && !rec->nvlinks))
		return engine_verdict(e, GK_EXIT_FAILED, "out of memory");
	for (char **t = rec->targets; r > 0 && *t; t++)
		if (!strv_contains(before, *t)) {
			char *s = strdup_printf("%s%s%s", strempty(added), added ? ", " : "", *t);

			free(added);
			added = s;
		}
	if (!links)
		rec->nvlink_note = strdup("NVLink topology not known (NVML not available): only "
					  "the GPUs named are reset");
	else if (r > 0)
		rec->nvlink_note =
			strdup_printf("NVLink: %s added, connected by NVLink to the GPUs "
				      "named: before Hopper the driver resets NVLink "
				      "peers together",
				      strna(added));
	else
		rec->nvlink_note = strdup("NVLink: no peer must be reset with these GPUs");
	return rec->nvlink_note ? 0 : engine_verdict(e, GK_EXIT_FAILED, "out of memory");
}

static int fill(char ***l, size_t n, const char *v)
{
	*l = calloc(n + 1, sizeof(char *));
	for (size_t i = 0; *l && i < n; i++)
		if (!((*l)[i] = strdup(v)))
			return -ENOMEM;
	return *l ? 0 : -ENOMEM;
}

/* Records the GPUs, their nodes and their state now. 0 or -ENOMEM. */
static int record_gpus(struct reset_ctx *c, struct reset_record *rec)
{
	size_t n = strv_length(rec->targets);

	if (fill(&rec->nodes, n, "") < 0 || fill(&rec->methods, n, "") < 0 ||
	    fill(&rec->phases, n, RESET_PHASE_NONE) < 0 || fill(&rec->outcomes, n, "") < 0 ||
	    fill(&rec->units, 0, "") < 0 || fill(&rec->containers, 0, "") < 0 ||
	    fill(&rec->daemon_held, 0, "") < 0 || !(rec->daemon_socket = strdup(c->o->socket)))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		char *node = reset_gpu_node(&c->inv, rec->targets[i]);

		if (node) {
			free(rec->nodes[i]);
			rec->nodes[i] = node;
		}
	}
	if (baseline_from_inventory(&c->inv, &rec->before) < 0)
		return -ENOMEM;
	reset_baseline_keep(&rec->before, rec->targets, rec->nodes);
	return 0;
}

int reset_step_lock_check(struct gk_engine *e, char **ret_plan)
{
	struct reset_ctx *c = reset_ctx(e);
	_cleanup_free_ char *gpus = NULL;
	int r;

	r = reset_observe(e, false);
	if (r == 0)
		r = choose(e, &c->rec);
	if (r == 0)
		r = record_gpus(c, &c->rec) < 0 ? engine_verdict(e, GK_EXIT_FAILED, "out of memory")
						: 0;
	if (r != 0)
		return r;
	gpus = strv_join(c->rec.targets, ", ");
	*ret_plan = strdup_printf("lock: take the node lock; reset %zu GPU(s): %s; %s",
				  strv_length(c->rec.targets), strna(gpus), c->rec.nvlink_note);
	return 0;
}

int reset_step_lock(struct gk_engine *e, char **ret_detail)
{
	struct reset_ctx *c = reset_ctx(e);
	_cleanup_free_ char *gpus = NULL;
	const char *nvml = "NVML not used";
	int r;

	reset_forget(c);
	reset_record_done(&c->rec);
	r = reset_observe(e, false);
	if (r == 0)
		r = choose(e, &c->rec);
	if (r != 0)
		return r;
	if (record_gpus(c, &c->rec) < 0)
		return engine_verdict(e, GK_EXIT_FAILED, "cannot record the GPUs: out of memory");
	/* NVML not there for the NVLinks: not there for the settings either */
	if (c->o->nvml && c->nvml_absent)
		nvml = "NVML settings not saved (NVML not available)";
	else if (c->o->nvml) {
		r = c->ops->nvml(c->ops->userdata, GK_NVML_SAVE, SETTINGS_FILE, NULL);
		if (r == 0 && !(c->rec.settings_file = strdup(SETTINGS_FILE)))
			return engine_verdict(e, GK_EXIT_FAILED, "out of memory");
		nvml = r == 0		 ? "NVML settings saved"
		       : r == -ETIMEDOUT ? "NVML settings not saved (NVML hung: the helper was "
					   "killed at its deadline)"
					 : "NVML settings not saved (NVML not available)";
	}
	gpus = strv_join(c->rec.targets, ", ");
	*ret_detail =
		strdup_printf("journal written: %zu GPU(s) to reset: %s; %s; %s",
			      strv_length(c->rec.targets), strna(gpus), c->rec.nvlink_note, nvml);
	return 0;
}

/* Refuses on a D-state holder or on holders without --kill. 0 or the exit code. */
static int refuse(struct gk_engine *e, const struct gk_reload_plan *p)
{
	struct reset_ctx *c = reset_ctx(e);
	_cleanup_free_ char *who = NULL, *gpus = NULL;

	if (p->refusal == GK_REFUSE_NONE)
		return 0;
	who = stop_describe(c->holders, p->daemon_pid);
	gpus = strv_join(c->rec.targets, ", ");
	if (p->refusal == GK_REFUSE_UNKILLABLE) {
		c->res->next_rung = GK_RESET_NEXT_REBOOT;
		return engine_verdict(e, GK_EXIT_PRECONDITION,
				      "a holder of %s is in uninterruptible sleep (D state) and "
				      "cannot be stopped, so the GPU cannot be released: %s; next "
				      "rung: drain and reboot the node",
				      strna(gpus), strna(who));
	}
	return engine_verdict(e, GK_EXIT_PRECONDITION,
			      "%s %s in use: %s; stop them, or rerun with --kill to stop them "
			      "(units through systemctl, containers through their runtime, "
			      "processes by SIGTERM then SIGKILL); processes on other GPUs are not "
			      "touched",
			      strna(gpus), strv_length(c->rec.targets) == 1 ? "is" : "are",
			      strna(who));
}

static int plan(struct gk_engine *e, bool kill, struct gk_reload_plan *ret)
{
	struct reset_ctx *c = reset_ctx(e);
	int r;

	r = reset_observe(e, true);
	if (r != 0)
		return r;
	r = reload_plan_stops(c->holders, c->daemon_pid, kill, ret);
	return r < 0 ? engine_verdict(e, GK_EXIT_FAILED, "out of memory") : 0;
}

int reset_step_preflight_check(struct gk_engine *e, char **ret_plan)
{
	struct reset_ctx *c = reset_ctx(e);
	_cleanup_free_ char *who = NULL, *fabric = NULL;
	struct gk_reload_plan p = {};
	int r;

	r = plan(e, c->o->kill, &p);
	if (r != 0)
		return r;
	who = stop_describe(c->holders, p.daemon_pid);
	r = reset_fabric_preflight(e, &fabric);
	*ret_plan = strdup_printf("preflight: holders of these GPUs to stop: %s; %s %s; "
				  "%zu process(es) on other GPUs left alone%s%s",
				  strna(who), keeper_kind_to_string(c->daemon_kind),
				  p.daemon_pid ? "releases just these GPUs" : "not running",
				  c->other_holders, fabric ? "; " : "", strempty(fabric));
	if (r == 0)
		r = refuse(e, &p);
	reload_plan_done(&p);
	return r;
}

int reset_step_preflight(struct gk_engine *e, char **ret_detail)
{
	struct reset_ctx *c = reset_ctx(e);
	_cleanup_free_ char *fabric = NULL;
	struct gk_reload_plan p = {};
	int r;

	/* the lock's inventory of this run is still the node's: only holders are read */
	r = plan(e, c->o->kill, &p);
	if (r == 0)
		r = reset_fabric_preflight(e, &fabric);
	if (r == 0)
		r = refuse(e, &p);
	if (r == 0)
		*ret_detail = strdup_printf(
			"%zu holder(s) of these GPUs: %zu unit(s), %zu "
			"container(s), %zu process(es) to stop; %zu process(es) "
			"on other GPUs left alone; %s",
			holders_other_than(c->holders, p.daemon_pid), strv_length(p.units),
			strv_length(p.containers), p.n_pids, c->other_holders, strna(fabric));
	reload_plan_done(&p);
	return r;
}

static struct gk_stopper stopper(struct reset_ctx *c)
{
	return stop_stopper(c->ops, c->o->systemctl, c->o->grace_ms, &c->rec.units,
			    &c->rec.containers);
}

/* Which targets gpukeepd holds open now: they opened fine, so they are on the bus. */
static int note_daemon_held(struct reset_ctx *c)
{
	for (size_t i = 0; i < c->holders->n; i++) {
		const struct gk_holder *h = &c->holders->holders[i];

		for (size_t d = 0; h->pid == c->daemon_pid && d < h->n_devices; d++)
			for (size_t t = 0; c->rec.targets[t]; t++)
				if (streq(c->rec.nodes[t], h->devices[d].path) &&
				    !strv_contains(c->rec.daemon_held, c->rec.targets[t]) &&
				    strv_extend(&c->rec.daemon_held, c->rec.targets[t]) < 0)
					return -ENOMEM;
	}
	return 0;
}

static int release_daemon(struct gk_engine *e)
{
	struct reset_ctx *c = reset_ctx(e);
	bool nvpd = c->daemon_kind == GK_KEEPER_NVPD;
	const char *socket = nvpd ? keeper_nvpd_socket(c->o->nvpd_socket) : c->o->socket;
	int r;

	/* the daemon that answers now is the one to re-acquire through, after a kill too */
	r = keeper_adopt_step(e, c->daemon_kind, socket, c->rec.daemon_released,
			      &c->rec.daemon_kind, &c->rec.daemon_socket);
	if (r != 0)
		return r;
	c->res->daemon = keeper_kind_to_string(c->daemon_kind);
	/* nvidia-persistenced: the targets it keeps (its get says enabled) are set disabled */
	if (nvpd)
		return keeper_nvpd_release(e, c->ops, c->rec.daemon_socket, c->rec.targets,
					   &c->rec.daemon_held, &c->rec.daemon_released);
	if (note_daemon_held(c) < 0)
		return engine_verdict(e, GK_EXIT_FAILED, "out of memory");
	c->rec.daemon_released = true;
	r = engine_sync(e);
	for (char **t = c->rec.targets; r == 0 && *t; t++) {
		int k = c->ops->daemon_release(c->ops->userdata, c->rec.daemon_socket, *t, false,
					       STOP_DAEMON_TIMEOUT_MS);
		if (k == -ETIMEDOUT)
			r = engine_verdict(e, GK_EXIT_FAILED,
					   "gpukeepd did not answer the release of %s within %d s "
					   "(see 'gpukeep status' and its log)",
					   *t, STOP_DAEMON_TIMEOUT_MS / 1000);
		else if (k < 0)
			r = engine_verdict(e, GK_EXIT_FAILED, "gpukeepd did not release %s: %s", *t,
					   strerror(-k));
	}
	return r;
}

int reset_step_stop(struct gk_engine *e, char **ret_detail)
{
	struct reset_ctx *c = reset_ctx(e);
	struct gk_stopper s = stopper(c);
	_cleanup_free_ char *who = NULL;
	size_t stopped = 0;
	int r;

	/* the preflight's scan of this run is the first round's: a holder that came since is
	 * found by the scan after it */
	r = reset_observe(e, true);
	for (unsigned round = 0; r == 0 && round < STOP_ROUNDS; round++) {
		struct gk_reload_plan p = {};

		/* a resumed run stops what holds the GPUs now: the first run was allowed to;
		 * nvidia-persistenced still holding them once set disabled is stopped too */
		if (reload_plan_stops(c->holders,
				      c->daemon_kind == GK_KEEPER_NVPD && round > 0 ? 0
										    : c->daemon_pid,
				      c->o->kill || engine_resumed(e), &p) < 0)
			return engine_verdict(e, GK_EXIT_FAILED, "out of memory");
		if (round == 0 && p.daemon_pid)
			r = release_daemon(e);
		if (r == 0 && p.refusal == GK_REFUSE_UNKILLABLE)
			r = engine_verdict(
				e, GK_EXIT_FAILED,
				"a holder of these GPUs went into uninterruptible sleep");
		if (r == 0)
			r = stop_plan(e, &s, &p);
		stopped += p.n_pids + strv_length(p.units) + strv_length(p.containers);
		reload_plan_done(&p);
		c->holders = holders_free(c->holders);
		if (r == 0)
			r = reset_observe(e, true);
		if (r == 0 && c->holders->n == 0)
			break;
	}
	if (r != 0)
		return r;
	if (c->holders->n > 0) {
		who = stop_describe(c->holders, 0);
		return engine_verdict(e, GK_EXIT_FAILED,
				      "these GPUs are still held after %d rounds of stopping their "
				      "users: %s",
				      STOP_ROUNDS, strna(who));
	}
	*ret_detail = strdup_printf("%s, %zu holder(s) stopped, %zu process(es) on other GPUs "
				    "left alone",
				    !c->rec.daemon_released ? "no gpukeepd"
				    : c->rec.daemon_kind == GK_KEEPER_NVPD
					    ? "nvidia-persistenced set these GPUs disabled"
					    : "gpukeepd released these GPUs",
				    stopped, c->other_holders);
	return 0;
}

/* nvidia-persistenced sets enabled again exactly the targets it had disabled. 0, or -ENOMEM;
 * a failure is named in *failed. */
static int nvpd_acquire(struct reset_ctx *c, char ***failed)
{
	return keeper_nvpd_reacquire(c->ops, c->rec.daemon_socket, c->rec.daemon_held,
				     &c->rec.daemon_released, failed);
}

/* After the reset nvidia-persistenced takes the GPUs again at once when it runs; one that had
 * to be stopped as a unit (its libnvidia-cfg kept a device file) is started by start-units,
 * after the fabric, and re-acquires there. Before the reset (a roll back) units start now. */
static int nvpd_undo(struct reset_ctx *c, bool reset_done, char ***failed)
{
	if (!reset_done)
		return reset_start_units(c, failed);
	if (c->rec.daemon_released &&
	    c->ops->nvpd_pid(c->ops->userdata, c->rec.daemon_socket, STOP_DAEMON_TIMEOUT_MS) > 0)
		return nvpd_acquire(c, failed);
	return 0;
}

/* gpukeepd takes the GPUs again, stopped units start. 0, or -EIO with *ret_failed. */
int reset_step_stop_undo(struct gk_engine *e, char **ret_failed)
{
	struct reset_ctx *c = reset_ctx(e);
	_cleanup_strv_free_ char **failed = calloc(1, sizeof(char *));
	bool all = true;

	if (!failed)
		return -ENOMEM;
	if (c->rec.daemon_released)
		c->res->daemon = keeper_kind_to_string(c->rec.daemon_kind);
	if (c->rec.daemon_kind == GK_KEEPER_NVPD) {
		if (nvpd_undo(c, engine_step_status(e, "reset") == GK_STEP_DONE, &failed) < 0)
			return -ENOMEM;
		goto done;
	}
	for (char **t = c->rec.targets; c->rec.daemon_released && *t; t++) {
		int k = c->ops->daemon_release(c->ops->userdata, c->rec.daemon_socket, *t, true,
					       STOP_DAEMON_TIMEOUT_MS);
		_cleanup_free_ char *what = NULL;

		if (k >= 0)
			continue;
		all = false;
		what = strdup_printf("gpukeepd (acquire %s: %s)", *t, strerror(-k));
		if (!what || strv_extend(&failed, what) < 0)
			return -ENOMEM;
	}
	if (all)
		c->rec.daemon_released = false;
	/* after the reset the units start in their own step, once the GPUs' fabric is back (a
	 * CUDA service started before it fails): here only for a roll back */
	if (engine_step_status(e, "reset") != GK_STEP_DONE && reset_start_units(c, &failed) < 0)
		return -ENOMEM;
done:
	if (!*failed)
		return 0;
	*ret_failed = strv_join(failed, ", ");
	return -EIO;
}

/* The stopped units start; then a nvidia-persistenced that released and has not taken the GPUs
 * again (it was stopped as a unit, and runs again now) re-acquires them. */
int reset_start_units(void *ctx, char ***failed)
{
	struct reset_ctx *c = ctx;
	struct gk_stopper s = stopper(c);

	return stop_start_units_reacquire(&s, c->rec.daemon_kind, c->rec.daemon_socket,
					  c->rec.daemon_held, &c->rec.daemon_released, failed);
}
