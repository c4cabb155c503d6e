// SPDX-License-Identifier: GPL-2.0-or-later
/* The reload's changes to the node: stop the holders, unload, load, restore, validate. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "baseline/nvml-baseline.h"
#include "core/gk-exit.h"
#include "macro.h"
#include "node/holders.h"
#include "node/inventory.h"
#include "node/terminate.h"
#include "procedure/reload-effects.h"
#include "procedure/reload-nvml.h"
#include "procedure/reload-steps.h"
#include "string-util.h"

#define KILL_WAIT_MS 5000

static void countdown(unsigned left, size_t alive, void *userdata)
{
	reload_say(userdata, "  waiting for %zu process(es) to exit: SIGKILL in %u s", alive, left);
}

static int stop_units(struct reload_ctx *c, char *const *units)
{
	for (char *const *u = units; *u; u++) {
		int r;

		if (!strv_contains(c->j->units, *u) && strv_extend(&c->j->units, *u) < 0)
			return -ENOMEM;
		/* recorded before the stop, so a crash after it still starts the unit again */
		r = reload_journal_sync(c);
		if (r != 0)
			return r;
		r = unit_stop_start(c->o->systemctl, *u, false);
		if (r != 0)
			return reload_roll_back(c, false, "systemctl stop failed");
	}
	return 0;
}

static int stop_processes(struct reload_ctx *c, const struct gk_reload_plan *p)
{
	struct gk_victims v;
	int r;

	r = victims_open(p->pids, p->n_pids, &v);
	if (r < 0)
		return reload_verdict(c, GK_EXIT_FAILED, "cannot open the holders' pidfds: %s",
				      strerror(-r));
	r = victims_terminate(&v, c->o->grace_ms, KILL_WAIT_MS, countdown, c);
	victims_done(&v);
	if (r < 0)
		return reload_roll_back(c, false, "cannot signal the GPU holders");
	return 0;
}

/* Processes can appear while others are stopped (a killed shell's child inherits its
 * descriptors), so stopping goes in rounds until nothing holds the GPUs. */
#define STOP_ROUNDS 3

static int stop_round(struct reload_ctx *c, unsigned round, size_t *units, size_t *procs)
{
	_cleanup_holders_free_ struct gk_holders *h = NULL;
	struct gk_reload_plan p = {};
	int r;

	/* a resumed run stops whatever holds the GPUs now: the first run was allowed to */
	r = reload_make_plan(c, c->o->kill || c->res->resumed, &p, &h);
	if (r == 0 && p.daemon_pid && round == 0) {
		c->j->daemon_released = true;
		r = reload_journal_sync(c);
		if (r == 0 && daemon_release_all(c->j->daemon_socket, false) < 0)
			r = reload_roll_back(c, false, "gpukeepd did not release its devices");
	}
	if (r == 0 && round > 0 && p.refusal == GK_REFUSE_UNKILLABLE)
		r = reload_roll_back(c, false, "a GPU holder went into uninterruptible sleep");
	if (r == 0)
		r = stop_units(c, p.units);
	if (r == 0)
		r = stop_processes(c, &p);
	*units += strv_length(p.units);
	*procs += p.n_pids;
	reload_plan_done(&p);
	return r;
}

int step_stop(struct reload_ctx *c, char **ret_detail)
{
	_cleanup_holders_free_ struct gk_holders *left = NULL;
	size_t units = 0, procs = 0;
	int r = 0;

	for (unsigned round = 0; r == 0 && round < STOP_ROUNDS; round++) {
		r = stop_round(c, round, &units, &procs);
		holders_free(left);
		left = NULL;
		if (r == 0)
			r = reload_scan_holders(c, &left);
		if (r == 0 && left->n == 0)
			break;
	}
	if (r == 0 && left->n > 0) {
		_cleanup_free_ char *who = reload_describe_holders(left, 0), *why = NULL;

		why = strdup_printf("the GPUs are still held after %d rounds of stopping their "
				    "users: %s",
				    STOP_ROUNDS, strna(who));
		return reload_roll_back(c, false, why ? why : "the GPUs are still held");
	}
	/* round 0 asked the daemon to release, and recorded it in the journal */
	if (r == 0)
		*ret_detail = strdup_printf("%s, %zu unit(s) stopped, %zu process(es) stopped",
					    c->j->daemon_released ? "gpukeepd released its devices"
								  : "no gpukeepd",
					    units, procs);
	return r;
}

/* What keeps @name loaded: its module holders, its refcnt and the processes on the devices. */
static char *what_holds(struct reload_ctx *c, const char *name)
{
	_cleanup_holders_free_ struct gk_holders *h = NULL;
	_cleanup_free_ char *mods = NULL, *procs = NULL;
	struct gk_module m = {.refcnt = -1};
	char *s;

	m.name = (char *)name;
	if (module_read_sysfs(c->rootfd, &m) >= 0)
		mods = reload_join(m.holders);
	strv_free(m.holders);
	if (reload_scan_holders(c, &h) == 0)
		procs = reload_describe_holders(h, 0);
	s = strdup_printf("refcnt %d, held by modules: %s; processes: %s", m.refcnt,
			  mods && *mods ? mods : "none", strna(procs));
	return s;
}

int step_unload(struct reload_ctx *c, char **ret_detail)
{
	unsigned retries = 0;
	size_t gone = 0;

	for (char **m = c->j->unload_order; *m; m++) {
		struct gk_unload_result u = {};
		_cleanup_free_ char *why = NULL, *holds = NULL;
		int r;

		r = modops_unload(c->o->modops, *m, c->o->unload_budget_ms, &u);
		retries += u.attempts > 0 ? u.attempts - 1 : 0;
		gone += u.was_loaded;
		if (r >= 0)
			continue;
		if (r == -EBUSY) {
			holds = what_holds(c, *m);
			why = strdup_printf("%s is still in use after %u ms (%s)", *m, u.waited_ms,
					    strna(holds));
		} else
			why = strdup_printf("cannot unload %s: %s%s", *m, strerror(-r),
					    r == -EPERM ? " (needs CAP_SYS_MODULE: run as root)"
							: "");
		return reload_roll_back(c, true, why ? why : "cannot unload");
	}
	*ret_detail = strdup_printf("%zu module(s) unloaded, leaves first (%u retr%s while in use)",
				    gone, retries, retries == 1 ? "y" : "ies");
	return 0;
}

int step_load(struct reload_ctx *c, char **ret_detail)
{
	_cleanup_(inventory_done) struct gk_inventory inv = {};
	size_t n = strv_length(c->j->unload_order);
	int r, created;

	for (size_t i = n; i > 0; i--) {
		const char *m = c->j->unload_order[i - 1];

		r = c->o->modops->load(c->o->modops->userdata, m);
		if (r < 0) {
			c->res->next_rung = GK_RUNG_REBOOT;
			return reload_verdict(c, GK_EXIT_NEEDS_PERSON,
					      "cannot load %s: %s; the driver is not back: next "
					      "rung: drain and reboot the node (a rerun of gpukeep "
					      "reload retries the load)",
					      m, strerror(-r));
		}
	}
	r = inventory_scan(c->rootfd, &inv);
	if (r < 0)
		return reload_verdict(c, GK_EXIT_NEEDS_PERSON, "cannot read the node: %s",
				      strerror(-r));
	created = devnodes_create_missing(c->rootfd, &inv.nodes);
	if (created < 0)
		return reload_verdict(c, GK_EXIT_NEEDS_PERSON, "cannot create device nodes: %s",
				      strerror(-created));
	*ret_detail = strdup_printf("%zu module(s) loaded, %zu/%zu GPU(s) bound, %d device "
				    "node(s) created",
				    n, inventory_bound_gpus(&inv), inv.n_gpus, created);
	return 0;
}

#define DAEMON_SETTLE_MS 60000

int step_restore(struct reload_ctx *c, char **ret_detail)
{
	_cleanup_free_ char *failed = NULL, *kept = NULL, *settings = NULL;
	bool daemon = c->j->daemon_released;
	unsigned held = 0, wanted = 0;
	int r;

	r = reload_restore_services(c, &failed);
	if (r == -ENOMEM)
		return reload_verdict(c, GK_EXIT_NEEDS_PERSON, "out of memory");
	if (r < 0)
		return reload_verdict(c, GK_EXIT_NEEDS_PERSON,
				      "the driver is back but could not restore: %s",
				      strna(failed));
	if (daemon) {
		/* persistence is back only once the daemon holds the GPUs again */
		r = daemon_wait_held(c->j->daemon_socket, DAEMON_SETTLE_MS, &held, &wanted);
		if (r < 0 || held < wanted)
			return reload_verdict(
				c, GK_EXIT_NEEDS_PERSON,
				"the driver is back but gpukeepd holds %u of %u GPU(s)"
				"%s; see 'gpukeep status'",
				held, wanted, r == -ETIMEDOUT ? " after 60 s" : "");
		kept = strdup_printf("gpukeepd holds %u/%u GPU(s) again", held, wanted);
	}
	r = reload_nvml_restore(c, &settings);
	if (r != 0)
		return r;
	*ret_detail = strdup_printf("%s, %zu unit(s) started, %s", kept ? kept : "no gpukeepd",
				    strv_length(c->j->units), strna(settings));
	return 0;
}

static int run_diag(struct reload_ctx *c)
{
	c->res->diag = dcgm_diag_quick();
	if (c->res->diag == -ENOENT) {
		c->res->diag = -2;
		reload_say(c, "  dcgmi is not installed: diagnostic skipped");
		return 0;
	}
	reload_say(c, "  dcgmi diag -r 1: %s", c->res->diag == 0 ? "passed" : "FAILED");
	return c->res->diag != 0;
}

int step_validate(struct reload_ctx *c, char **ret_detail)
{
	_cleanup_(inventory_done) struct gk_inventory inv = {};
	struct gk_baseline file = {}, now = {};
	const struct gk_baseline *want = &c->j->before;
	_cleanup_free_ char *error = NULL, *detail = NULL;
	int r;

	if (c->o->baseline_path) {
		r = baseline_load(AT_FDCWD, c->o->baseline_path, &file, &error);
		if (r < 0)
			return reload_verdict(c, GK_EXIT_NEEDS_PERSON,
					      "cannot read baseline %s: %s", c->o->baseline_path,
					      error ? error : strerror(-r));
		want = &file;
	}
	r = inventory_scan(c->rootfd, &inv);
	if (r >= 0)
		r = baseline_from_inventory(&inv, &now);
	/* after the load NVML may run here: nothing is unloaded after this step */
	if (r >= 0 && want->nvml && c->o->self_exe)
		r = nvml_baseline_scan(NULL, 0, &now.nvml);
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
		return reload_verdict(c, GK_EXIT_NEEDS_PERSON, "cannot validate: %s", strerror(-r));
	for (size_t i = 0; i < c->res->differences.n; i++)
		reload_say(c, "  %s: %s", c->res->differences.items[i].object,
			   c->res->differences.items[i].message);
	c->res->next_rung = reload_next_rung(&c->res->differences, false);
	if (c->res->differences.n > 0)
		return reload_verdict(c, GK_EXIT_NEEDS_PERSON,
				      "the node differs from its %s in %zu way(s): next rung: %s",
				      c->o->baseline_path ? "baseline" : "state before the reload",
				      c->res->differences.n,
				      c->res->next_rung == GK_RUNG_RESET ? "reset the GPUs named"
									 : "drain and reboot");
	if (c->o->diag && run_diag(c) != 0) {
		c->res->next_rung = GK_RUNG_RESET;
		return reload_verdict(c, GK_EXIT_NEEDS_PERSON, "dcgmi diag -r 1 failed (exit %d)",
				      c->res->diag);
	}
	*ret_detail = TAKE_PTR(detail);
	return 0;
}
