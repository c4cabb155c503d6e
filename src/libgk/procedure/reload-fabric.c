// SPDX-License-Identifier: GPL-2.0-or-later
/* The reload's fabric steps (procedure/fabric.h): fabric-stop after the stop of every GPU
 * process and before the unload, fabric-start after the restore (the driver and persistence are
 * back), fabric-wait until every GPU's fabric completed, then start-units (the services stopped
 * start only on usable GPUs), before the validation of the NVLinks. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baseline/nvml-baseline.h"
#include "core/gk-exit.h"
#include "macro.h"
#include "node/holders-stop.h"
#include "procedure/fabric.h"
#include "procedure/reload-steps.h"
#include "procedure/stop.h"
#include "string-util.h"

static unsigned timeout_ms(const struct reload_ctx *c)
{
	return c->o->fabric_timeout_ms ? c->o->fabric_timeout_ms : FABRIC_DEFAULT_TIMEOUT_MS;
}

/* "systemctl stop X" or "pid N (comm), SIGTERM": how @m is stopped. malloc()ed. */
static char *how_stopped(const struct gk_holder *m)
{
	if (holder_stop_how(m, 0) == GK_STOP_UNIT)
		return strdup_printf("systemctl stop %s", m->unit);
	return strdup_printf("pid %d (%s): SIGTERM, the grace period, SIGKILL", (int)m->pid,
			     m->comm);
}

int step_fabric_stop_check(struct gk_engine *e, char **ret_plan)
{
	struct reload_ctx *c = reload_ctx(e);
	const struct gk_holder *m;
	_cleanup_free_ char *how = NULL;
	int r;

	r = reload_observe(e, true);
	if (r != 0)
		return r;
	m = fabric_find_manager(c->holders);
	if (!m) {
		*ret_plan =
			strdup_printf("fabric-stop: %s",
				      c->inv.n_switches ? "no fabric manager runs: nothing to stop"
							: "no NVSwitch: nothing to stop");
		return 0;
	}
	how = how_stopped(m);
	*ret_plan =
		strdup_printf("fabric-stop: stop the fabric manager after every GPU process (%s); "
			      "it starts again after the load",
			      strna(how));
	return 0;
}

/* Whether to wait for the fabric after the load: NVSwitches, NVML, and a fabric manager that
 * will train it (or a fabric that was trained before, which nothing will train now). */
static void decide_wait(struct reload_ctx *c)
{
	struct gk_fabric_record *f = &c->rec.fabric;
	bool trained = c->rec.before.nvml && c->rec.before.nvml->fabric;

	f->wait = f->nvswitches && c->o->nvml && (f->stopped || trained);
}

int step_fabric_stop(struct gk_engine *e, char **ret_detail)
{
	struct reload_ctx *c = reload_ctx(e);
	_cleanup_free_ char *how = NULL, *who = NULL;
	const struct gk_holder *m;
	int r;

	/* the stop step's last look at the node is current (stopping processes changes no
	 * inventory; a resumed run starts with none): no second scan */
	r = reload_observe(e, true);
	if (r != 0)
		return r;
	c->rec.fabric.nvswitches = c->rec.fabric.nvswitches || c->inv.n_switches > 0;
	m = fabric_find_manager(c->holders);
	if (m) {
		how = how_stopped(m);
		r = fabric_manager_stop(e, c->ops, c->rootfd, c->o->systemctl, c->o->grace_ms, m,
					&c->rec.fabric);
		if (r != 0)
			return r;
		c->holders = holders_free(c->holders);
		r = reload_observe(e, true);
		if (r != 0)
			return r;
	}
	decide_wait(c);
	if (c->holders->n > 0) {
		who = stop_describe(c->holders, 0);
		return engine_verdict(
			e, GK_EXIT_FAILED,
			"the GPUs are still held after the fabric manager stopped: %s", strna(who));
	}
	*ret_detail = strdup_printf(
		"%s%s", how ? "fabric manager stopped: " : "",
		how			   ? how
		: c->rec.fabric.stopped	   ? "the fabric manager was stopped by the interrupted run"
		: c->rec.fabric.nvswitches ? "no fabric manager runs on this NVSwitch node"
					   : "no NVSwitch: no fabric manager");
	return 0;
}

int step_fabric_stop_undo(struct gk_engine *e, char **ret_failed)
{
	struct reload_ctx *c = reload_ctx(e);
	_cleanup_free_ char *why = NULL;
	int r;

	r = fabric_manager_start(c->ops, c->o->systemctl, &c->rec.fabric, &why);
	if (r < 0)
		*ret_failed = strdup_printf("the fabric manager (%s)", strna(why));
	return r;
}

int step_fabric_start_check(struct gk_engine *e, char **ret_plan)
{
	struct reload_ctx *c = reload_ctx(e);
	int r = reload_observe(e, true);

	if (r != 0)
		return r;
	*ret_plan =
		strdup(fabric_find_manager(c->holders)
			       ? "fabric-start: start the fabric manager again, once the driver "
				 "and gpukeepd are back"
			       : "fabric-start: no fabric manager to start");
	return 0;
}

int step_fabric_start(struct gk_engine *e, char **ret_detail)
{
	struct reload_ctx *c = reload_ctx(e);
	const struct gk_fabric_record *f = &c->rec.fabric;
	_cleanup_free_ char *why = NULL, *cmd = NULL;
	int r;

	if (!f->stopped) {
		*ret_detail = strdup("no fabric manager was stopped: none to start");
		return 0;
	}
	/* resumed after it started (or something else started it): it runs, leave it */
	reload_forget(c);
	r = reload_observe(e, true);
	if (r != 0)
		return engine_verdict(e, GK_EXIT_NEEDS_PERSON, "%s", strna(engine_error(e)));
	if (fabric_find_manager(c->holders)) {
		*ret_detail = strdup("the fabric manager runs already");
		return 0;
	}
	r = fabric_manager_start(c->ops, c->o->systemctl, f, &why);
	if (r < 0) {
		c->res->next_rung = GK_RUNG_REBOOT;
		r = engine_verdict(e, GK_EXIT_NEEDS_PERSON,
				   "the driver is back but the fabric manager did not start: "
				   "%s; the GPUs stay unusable until it runs (see its log)",
				   strna(why));
		return fabric_units_left(e, r, c->rec.units);
	}
	cmd = f->unit ? strdup_printf("systemctl start %s", f->unit) : strv_join(f->argv, " ");
	*ret_detail = strdup_printf("fabric manager started: %s", strna(cmd));
	return 0;
}

int step_fabric_wait_check(struct gk_engine *e, char **ret_plan)
{
	struct reload_ctx *c = reload_ctx(e);
	int r = reload_observe(e, false);

	if (r != 0)
		return r;
	if (!c->inv.n_switches)
		*ret_plan = strdup("fabric-wait: no NVSwitch: no NVLink fabric to wait for");
	else
		*ret_plan = strdup_printf("fabric-wait: wait up to %u s until every GPU's NVLink "
					  "fabric state is completed with success%s",
					  timeout_ms(c) / 1000,
					  c->o->nvml ? "" : " (not checked: no NVML)");
	return 0;
}

int step_fabric_wait(struct gk_engine *e, char **ret_detail)
{
	struct reload_ctx *c = reload_ctx(e);
	const struct gk_fabric_record *f = &c->rec.fabric;
	struct gk_fabric_wait w;
	int r;

	if (!f->wait) {
		*ret_detail = strdup(!f->nvswitches ? "no NVSwitch: no NVLink fabric to wait for"
				     : !c->o->nvml  ? "NVML not available: the NVLink fabric is "
						      "not checked"
						    : "no fabric manager and no trained fabric "
						      "before: nothing to wait for");
		return 0;
	}
	w = (struct gk_fabric_wait){.timeout_ms = timeout_ms(c), .next = "drain and reboot"};
	r = fabric_wait(e, c->o->fabric ? c->o->fabric : &fabric_ops_nvml, c->ops, &w, ret_detail);
	if (r != 0)
		c->res->next_rung = GK_RUNG_REBOOT;
	return fabric_units_left(e, r, c->rec.units);
}

int step_units_start_check(struct gk_engine *e, char **ret_plan)
{
	(void)e;
	*ret_plan = strdup("start-units: the units stopped start again, once gpukeepd and the "
			   "NVLink fabric are back");
	return 0;
}

int step_units_start(struct gk_engine *e, char **ret_detail)
{
	struct reload_ctx *c = reload_ctx(e);

	return fabric_units_step(e, reload_start_units, c, strv_length(c->rec.units), ret_detail);
}
