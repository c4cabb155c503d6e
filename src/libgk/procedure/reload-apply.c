// SPDX-License-Identifier: GPL-2.0-or-later
/* The reload's module steps, the restore, the validation and the report. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "baseline/nvml-baseline.h"
#include "core/gk-exit.h"
#include "macro.h"
#include "procedure/reload-steps.h"
#include "procedure/stop.h"
#include "string-util.h"

#define DAEMON_SETTLE_MS 60000
#define DIAG_TIMEOUT_MS	 600000 /* dcgmi diag -r 1 takes about a minute per node */

int step_unload_check(struct gk_engine *e, char **ret_plan)
{
	struct reload_ctx *c = reload_ctx(e);
	_cleanup_strv_free_ char **order = NULL;
	_cleanup_free_ char *s = NULL;
	int r;

	r = reload_observe(e, false);
	if (r != 0)
		return r;
	if (modgraph_unload_order(&c->inv.modules, "nvidia", &order) < 0)
		return engine_verdict(e, GK_EXIT_FAILED, "cannot plan the unload");
	s = strv_join(order, ", ");
	*ret_plan = strdup_printf("unload, leaves first: %s", strna(s));
	return 0;
}

/* What keeps @name loaded: its module holders, its refcnt and the processes on the devices. */
static char *what_holds(struct gk_engine *e, const char *name)
{
	struct reload_ctx *c = reload_ctx(e);
	_cleanup_free_ char *mods = NULL, *procs = NULL;
	struct gk_module m = {.refcnt = -1};

	m.name = (char *)name;
	if (module_read_sysfs(c->rootfd, &m) >= 0)
		mods = strv_join(m.holders, ", ");
	strv_free(m.holders);
	c->holders = holders_free(c->holders);
	if (reload_observe(e, true) == 0)
		procs = stop_describe(c->holders, 0);
	return strdup_printf("refcnt %d, held by modules: %s; processes: %s", m.refcnt,
			     mods && *mods ? mods : "none", strna(procs));
}

int step_unload(struct gk_engine *e, char **ret_detail)
{
	struct reload_ctx *c = reload_ctx(e);
	unsigned retries = 0;
	size_t gone = 0;

	reload_forget(c);
	for (char **m = c->rec.unload_order; *m; m++) {
		struct gk_unload_result u = {};
		_cleanup_free_ char *holds = NULL;
		int r;

		r = modops_unload(c->ops->modops, *m, c->o->unload_budget_ms, &u);
		retries += u.attempts > 0 ? u.attempts - 1 : 0;
		gone += u.was_loaded;
		if (r >= 0)
			continue;
		if (r == -EBUSY) {
			holds = what_holds(e, *m);
			return engine_verdict(e, GK_EXIT_FAILED,
					      "%s is still in use after %u ms (%s)", *m,
					      u.waited_ms, strna(holds));
		}
		return engine_verdict(e, GK_EXIT_FAILED, "cannot unload %s: %s%s", *m, strerror(-r),
				      r == -EPERM ? " (needs CAP_SYS_MODULE: run as root)" : "");
	}
	*ret_detail = strdup_printf("%zu module(s) unloaded, leaves first (%u retr%s while in use)",
				    gone, retries, retries == 1 ? "y" : "ies");
	return 0;
}

/* Loads the recorded modules in dependency order (the one place that reverses the unload).
 * 0, or the first -errno with *ret_failed naming the module. */
static int load_modules(struct reload_ctx *c, char **ret_failed)
{
	_cleanup_strv_free_ char **order = reload_load_order(c->rec.unload_order);

	if (!order)
		return -ENOMEM;
	for (char **m = order; *m; m++) {
		int r = c->ops->modops->load(c->ops->modops->userdata, *m);

		if (r < 0) {
			*ret_failed = strdup_printf("%s: %s", *m, strerror(-r));
			return r;
		}
	}
	return 0;
}

int step_unload_undo(struct gk_engine *e, char **ret_failed)
{
	_cleanup_free_ char *why = NULL;
	int r = load_modules(reload_ctx(e), &why);

	if (r < 0)
		*ret_failed = strdup_printf("modules not loaded again (%s)", strna(why));
	return r;
}

int step_load_check(struct gk_engine *e, char **ret_plan)
{
	struct reload_ctx *c = reload_ctx(e);
	_cleanup_strv_free_ char **order = NULL, **load = NULL;
	_cleanup_free_ char *s = NULL;
	int r;

	r = reload_observe(e, false);
	if (r != 0)
		return r;
	if (modgraph_unload_order(&c->inv.modules, "nvidia", &order) < 0)
		return engine_verdict(e, GK_EXIT_FAILED, "cannot plan the load");
	load = reload_load_order(order);
	s = load ? strv_join(load, ", ") : NULL;
	*ret_plan = strdup_printf("load, in dependency order: %s", strna(s));
	return 0;
}

int step_load(struct gk_engine *e, char **ret_detail)
{
	struct reload_ctx *c = reload_ctx(e);
	_cleanup_free_ char *why = NULL;
	int r, created;

	reload_forget(c);
	r = load_modules(c, &why);
	if (r < 0) {
		c->res->next_rung = GK_RUNG_REBOOT;
		return engine_verdict(
			e, GK_EXIT_NEEDS_PERSON,
			"cannot load %s; the driver is not back: next rung: drain and "
			"reboot the node (a rerun of gpukeep reload retries the load)",
			strna(why));
	}
	r = reload_observe(e, false);
	if (r != 0)
		return engine_verdict(e, GK_EXIT_NEEDS_PERSON, "%s", strna(engine_error(e)));
	created = c->ops->mknod_missing(c->ops->userdata, c->rootfd, &c->inv.nodes);
	if (created < 0)
		return engine_verdict(e, GK_EXIT_NEEDS_PERSON, "cannot create device nodes: %s",
				      strerror(-created));
	*ret_detail = strdup_printf("%zu module(s) loaded, %zu/%zu GPU(s) bound, %d device "
				    "node(s) created",
				    strv_length(c->rec.unload_order), inventory_bound_gpus(&c->inv),
				    c->inv.n_gpus, created);
	return 0;
}

int step_restore(struct gk_engine *e, char **ret_detail)
{
	struct reload_ctx *c = reload_ctx(e);
	_cleanup_free_ char *failed = NULL, *kept = NULL, *settings = NULL;
	bool daemon = c->rec.daemon_released;
	const char *name = keeper_kind_to_string(c->rec.daemon_kind);
	unsigned held = 0, wanted = 0;
	char missing[64] = "";
	int r;

	/* the driver numbers the GPUs as it probes them: after a load (a GPU that failed to
	 * probe, a rescanned function) the minors may differ, and gpukeepd must open the right
	 * files. A daemon that does not answer is caught by the wait below. */
	if (daemon)
		(void)keeper_reenumerate(c->ops, c->rec.daemon_kind, c->rec.daemon_socket,
					 STOP_DAEMON_TIMEOUT_MS);
	r = step_stop_undo(e, &failed);
	if (r == -ENOMEM)
		return engine_verdict(e, GK_EXIT_NEEDS_PERSON, "out of memory");
	if (r < 0)
		return engine_verdict(e, GK_EXIT_NEEDS_PERSON,
				      "the driver is back but could not restore: %s",
				      strna(failed));
	if (daemon && c->rec.daemon_released) {
		/* nvidia-persistenced, stopped as a unit, takes the GPUs in start-units */
		kept = strdup_printf("%s re-acquires once its unit has started (start-units)",
				     name);
	} else if (daemon) {
		/* persistence is back only once the daemon holds the GPUs again */
		r = keeper_settled(c->ops, c->rec.daemon_kind, c->rec.daemon_socket, NULL,
				   c->rec.daemon_gpus, DAEMON_SETTLE_MS, &held, &wanted, missing,
				   sizeof(missing));
		if (r < 0 || held < wanted)
			return engine_verdict(e, GK_EXIT_NEEDS_PERSON,
					      "the driver is back but %s holds %u of %u GPU(s)"
					      "%s%s%s; see 'gpukeep status'",
					      name, held, wanted,
					      r == -ETIMEDOUT ? " after its deadline of 60 s" : "",
					      missing[0] ? ", not " : "", missing);
		kept = strdup_printf("%s holds %u/%u GPU(s) again", name, held, wanted);
	}
	r = reload_nvml_restore(e, &settings);
	if (r != 0)
		return r;
	*ret_detail = strdup_printf("%s, %s", kept ? kept : "no gpukeepd", strna(settings));
	return 0;
}

static int run_diag(struct gk_engine *e)
{
	struct reload_ctx *c = reload_ctx(e);
	char *argv[] = {"dcgmi", "diag", "-r", "1", NULL};
	int r = c->ops->spawn(c->ops->userdata, argv, 0, DIAG_TIMEOUT_MS);

	if (r == -ENOENT) {
		c->res->diag = -2;
		engine_say(e, "  dcgmi is not installed: diagnostic skipped");
		return 0;
	}
	c->res->diag = r < 0 ? 255 : r;
	engine_say(e, "  dcgmi diag -r 1: %s",
		   r == 0	     ? "passed"
		   : r == -ETIMEDOUT ? "FAILED: no result within its deadline of 600 s (killed)"
				     : "FAILED");
	return r != 0;
}

int step_validate_check(struct gk_engine *e, char **ret_plan)
{
	struct reload_ctx *c = reload_ctx(e);

	*ret_plan =
		strdup_printf("validate against: %s%s",
			      c->o->baseline_path ? c->o->baseline_path : "the node as it is now",
			      c->o->diag ? "; then dcgmi diag -r 1" : "");
	return 0;
}

/* The node now, as a baseline. 0 or -errno. */
static int node_now(struct gk_engine *e, const struct gk_baseline *want, struct gk_baseline *now)
{
	struct reload_ctx *c = reload_ctx(e);
	int r;

	reload_forget(c);
	r = c->ops->inventory(c->ops->userdata, c->rootfd, &c->inv);
	if (r < 0)
		return r;
	c->have_inv = true;
	r = baseline_from_inventory(&c->inv, now);
	/* after the load NVML may run here: nothing is unloaded after this step */
	if (r >= 0 && want->nvml && c->o->nvml)
		r = nvml_baseline_scan(NULL, 0, &now->nvml);
	return r;
}

int step_validate(struct gk_engine *e, char **ret_detail)
{
	struct reload_ctx *c = reload_ctx(e);
	struct gk_baseline file = {}, now = {};
	const struct gk_baseline *want = &c->rec.before;
	_cleanup_free_ char *error = NULL, *detail = NULL;
	int r;

	if (c->o->baseline_path) {
		r = baseline_load(AT_FDCWD, c->o->baseline_path, &file, &error);
		if (r < 0)
			return engine_verdict(e, GK_EXIT_NEEDS_PERSON,
					      "cannot read baseline %s: %s", c->o->baseline_path,
					      error ? error : strerror(-r));
		want = &file;
	}
	r = node_now(e, want, &now);
	if (r >= 0)
		r = validate_compare(want, &now, &c->res->differences);
	if (r >= 0)
		/* described now: @want may point at @file, freed below */
		detail = strdup_printf("%zu GPU(s), %zu module(s), %zu device node(s) as expected",
				       want->n_gpus, strv_length(want->modules),
				       strv_length(want->device_nodes));
	baseline_done(&file);
	baseline_done(&now);
	if (r < 0)
		return engine_verdict(e, GK_EXIT_NEEDS_PERSON, "cannot validate: %s", strerror(-r));
	for (size_t i = 0; i < c->res->differences.n; i++)
		engine_say(e, "  %s: %s", c->res->differences.items[i].object,
			   c->res->differences.items[i].message);
	c->res->next_rung = reload_next_rung(&c->res->differences, false);
	if (c->res->differences.n > 0) {
		char first[256];

		/* the reason on a drained node says what is wrong, not only how much */
		differences_headline(&c->res->differences, first, sizeof(first));
		return engine_verdict(
			e, GK_EXIT_NEEDS_PERSON,
			"the node differs from its %s in %zu way(s) (%s): next rung: %s",
			c->o->baseline_path ? "baseline" : "state before the reload",
			c->res->differences.n, first,
			c->res->next_rung == GK_RUNG_RESET ? "reset the GPUs named"
							   : "drain and reboot");
	}
	if (c->o->diag && run_diag(e) != 0) {
		c->res->next_rung = GK_RUNG_RESET;
		return engine_verdict(e, GK_EXIT_NEEDS_PERSON, "dcgmi diag -r 1 failed (exit %d)",
				      c->res->diag);
	}
	*ret_detail = TAKE_PTR(detail);
	return 0;
}

int step_report(struct gk_engine *e, char **ret_detail)
{
	struct reload_ctx *c = reload_ctx(e);

	*ret_detail = strdup_printf("the node matches its %s",
				    c->o->baseline_path ? "baseline" : "state before the reload");
	return 0;
}
