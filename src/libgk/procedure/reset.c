// SPDX-License-Identifier: GPL-2.0-or-later
/* The per-GPU reset as a table of steps, and its record in the journal. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/gk-exit.h"
#include "core/json-check.h"
#include "core/json-util.h"
#include "macro.h"
#include "node/pci.h"
#include "procedure/record-util.h"
#include "procedure/reset-steps.h"
#include "procedure/reset.h"
#include "string-util.h"

static const struct gk_step steps[] = {
	{.name = "lock",
	 .help = "lock: one reset or reload per node; the GPUs to reset (and their NVLink peers "
		 "where the driver needs them reset together), their state and NVML settings "
		 "journaled before any change",
	 .check = reset_step_lock_check,
	 .apply = reset_step_lock},
	{.name = "preflight",
	 .help = "preflight: the holders of those GPUs' device files; refuse (exit 3) on a "
		 "D-state holder (next rung: reboot) or on holders without --kill; on an NVSwitch "
		 "node, refuse a reset NVIDIA does not support GPU by GPU (before Ampere; Ampere "
		 "without the fabric manager): next rung reload",
	 .check = reset_step_preflight_check,
	 .apply = reset_step_preflight},
	{.name = "release",
	 .help = "release: gpukeepd releases just those GPUs; their holders are stopped (units "
		 "through systemctl, containers through their runtime, processes by SIGTERM then "
		 "SIGKILL)",
	 .changes_node = true,
	 .apply = reset_step_stop,
	 .undo = reset_step_stop_undo},
	{.name = "reset",
	 .help = "reset: nvidia-smi -r -i BDF where it exists, else the kernel's function reset "
		 "(sysfs reset; refused while bound: unbind, reset, bind); remove and rescan for "
		 "a GPU fallen off the bus; each with a deadline",
	 .changes_node = true,
	 .check = reset_step_reset_check,
	 .apply = reset_step_reset},
	{.name = "restore",
	 .help = "restore: bound to nvidia, device node, gpukeepd holds the GPUs again, NVML "
		 "settings restored",
	 .changes_node = true,
	 .apply = reset_step_restore},
	/* an NVSwitch node: the fabric manager keeps running and re-registers the reset GPUs;
	 * older journals without these steps resume with them pending */
	{.name = "fabric-wait",
	 .help = "fabric-wait: on an NVSwitch node, until the reset GPUs' NVLink fabric state is "
		 "completed with success (--fabric-timeout), then their NVLinks up as before; "
		 "one that does not complete is exit 4, next rung reload",
	 .final = true,
	 .check = reset_step_fabric_wait_check,
	 .apply = reset_step_fabric_wait},
	{.name = "start-units",
	 .help = "start-units: the services stopped start again, once the GPUs and their "
		 "fabric are back (on a fabric that does not complete they stay stopped, named)",
	 .changes_node = true,
	 .check = reset_step_units_check,
	 .apply = reset_step_units},
	{.name = "validate",
	 .help = "validate: each GPU bound, same UUID, PCIe link as before (or --baseline), "
		 "device node there and opening, held again",
	 .final = true,
	 .apply = reset_step_validate},
	{.name = "report",
	 .help = "report: the verdict; next rung 'reload' for a GPU that did not come back",
	 .apply = reset_step_report},
};

static const struct gk_journal_ref others[] = {
	{.kind = "reload", .file = "reload.journal"},
	{},
};

struct reset_ctx *reset_ctx(struct gk_engine *e)
{
	return engine_ctx(e);
}

void reset_record_done(struct reset_record *r)
{
	strv_free(r->targets);
	strv_free(r->nodes);
	strv_free(r->methods);
	strv_free(r->phases);
	strv_free(r->outcomes);
	baseline_done(&r->before);
	strv_free(r->units);
	strv_free(r->containers);
	strv_free(r->daemon_held);
	free(r->daemon_socket);
	free(r->settings_file);
	free(r->nvlink_note);
	fabric_record_done(&r->fabric);
	strv_free(r->nvlinks);
	*r = (struct reset_record){};
}

struct json_object *reset_record_to_json(const struct reset_record *r)
{
	struct json_object *o = json_object_new_object();
	bool ok = o != NULL;

	ok = ok && record_put(o, "targets", json_strv_new(r->targets));
	ok = ok && record_put(o, "nodes", json_strv_new(r->nodes));
	ok = ok && record_put(o, "methods", json_strv_new(r->methods));
	ok = ok && record_put(o, "phases", json_strv_new(r->phases));
	ok = ok && record_put(o, "outcomes", json_strv_new(r->outcomes));
	ok = ok && record_put(o, "before", baseline_to_json(&r->before));
	ok = ok && record_put_stopped(o, r->units, r->containers, r->daemon_released);
	ok = ok && record_put(o, "daemon_held", json_strv_new(r->daemon_held));
	ok = ok && record_put_daemon(o, r->daemon_socket, r->daemon_kind, NULL);
	ok = ok && record_put_string(o, "settings_file", r->settings_file);
	ok = ok && record_put_string(o, "nvlink_note", r->nvlink_note);
	ok = ok && record_put(o, "fabric", fabric_record_to_json(&r->fabric));
	ok = ok && (!r->nvlinks || record_put(o, "nvlinks", json_strv_new(r->nvlinks)));
	if (!ok) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static const char *const methods[] = {
	"", "nvidia-smi", "function", "unbind-reset-bind", "remove-rescan", NULL};
static const char *const phases[] = {RESET_PHASE_NONE, RESET_PHASE_REMOVED, RESET_PHASE_UNBOUND,
				     RESET_PHASE_DONE, RESET_PHASE_FAILED,  NULL};

static void check_list(struct gk_jcheck *c, char **l, size_t n, const char *what,
		       const char *const *allowed)
{
	if (c->error || !l)
		return;
	if (strv_length(l) != n) {
		jcheck_fail(c, "record: %s has %zu entries for %zu GPU(s)", what, strv_length(l),
			    n);
		return;
	}
	for (size_t i = 0; allowed && l[i]; i++)
		if (!strv_contains((char **)allowed, l[i]))
			jcheck_fail(c, "record: %s[%zu]: unknown '%s'", what, i, l[i]);
}

static void check_fields(struct gk_jcheck *c, struct reset_record *r)
{
	size_t n = strv_length(r->targets);

	for (size_t i = 0; !c->error && r->targets && r->targets[i]; i++) {
		struct gk_pci_addr a;

		if (pci_addr_parse(r->targets[i], false, &a) < 0)
			jcheck_fail(c, "record: targets[%zu]: '%s' is not a PCI address", i,
				    r->targets[i]);
	}
	if (!c->error && n == 0)
		jcheck_fail(c, "record: no GPU to reset");
	check_list(c, r->nodes, n, "nodes", NULL);
	check_list(c, r->methods, n, "methods", methods);
	check_list(c, r->phases, n, "phases", phases);
	check_list(c, r->outcomes, n, "outcomes", NULL);
	record_check_files(c, r->daemon_socket, r->settings_file);
}

int reset_record_from_json(struct json_object *o, struct reset_record *ret, char **ret_error)
{
	struct reset_record r = {};
	struct gk_jcheck c = {};
	int k;

	if (!json_object_is_type(o, json_type_object)) {
		jcheck_fail(&c, "record: missing (the journal has no record of the GPUs)");
		return jcheck_finish(&c, ret_error);
	}
	r.targets = jcheck_strv(&c, o, "record", "targets");
	r.nodes = jcheck_strv(&c, o, "record", "nodes");
	r.methods = jcheck_strv(&c, o, "record", "methods");
	r.phases = jcheck_strv(&c, o, "record", "phases");
	r.outcomes = jcheck_strv(&c, o, "record", "outcomes");
	record_read_before(&c, o, &r.before);
	record_read_stopped(&c, o, false, &r.units, &r.containers, &r.daemon_released);
	r.daemon_held = jcheck_strv(&c, o, "record", "daemon_held");
	record_read_daemon(&c, o, &r.daemon_socket, &r.daemon_kind, NULL);
	r.settings_file = jcheck_string(&c, o, "record", "settings_file", true);
	r.nvlink_note = jcheck_string(&c, o, "record", "nvlink_note", true);
	/* the fabric and the NVLinks came after the engine: older journals have neither */
	if (json_object_object_get_ex(o, "nvlinks", NULL))
		r.nvlinks = jcheck_strv(&c, o, "record", "nvlinks");
	fabric_record_member(&c, o, &r.fabric);
	if (!c.error && r.fabric.stopped)
		jcheck_fail(&c, "record: fabric: a reset never stops the fabric manager");
	check_fields(&c, &r);
	k = jcheck_finish(&c, ret_error);
	if (k < 0) {
		reset_record_done(&r);
		return k;
	}
	*ret = r;
	return 0;
}

static int load_record(struct gk_engine *e, struct json_object *record, char **ret_error)
{
	struct reset_ctx *c = reset_ctx(e);
	struct reset_record r;
	int k;

	/* killed in the lock step, before the GPUs were recorded: the lock step runs again */
	if (engine_step_status(e, "lock") != GK_STEP_DONE)
		return 0;
	k = reset_record_from_json(record, &r, ret_error);
	if (k < 0)
		return k;
	reset_record_done(&c->rec);
	c->rec = r;
	return 0;
}

static struct json_object *save_record(struct gk_engine *e)
{
	return reset_record_to_json(&reset_ctx(e)->rec);
}

static void resume(struct gk_engine *e)
{
	struct reset_ctx *c = reset_ctx(e);
	bool started = false;

	for (char **p = c->rec.phases; p && *p; p++)
		started |= !streq(*p, RESET_PHASE_NONE);
	/* until the reset touched a GPU, new holders of those GPUs may have come: stop them
	 * again (once one is unbound or removed, nothing can open it) */
	if (engine_step_status(e, "reset") != GK_STEP_DONE && !started)
		engine_set_step_status(e, "release", GK_STEP_PENDING);
}

const struct gk_procedure reset_procedure = {
	.kind = "reset",
	.journal = GK_RESET_JOURNAL,
	.journal_last = GK_RESET_JOURNAL_LAST,
	.steps = steps,
	.n_steps = ELEMENTSOF(steps),
	.rolled_back = "gpukeepd holds those GPUs again and the stopped units run again",
	.others = others,
	.load_record = load_record,
	.save_record = save_record,
	.resume = resume,
};

const char *reset_rung_to_string(enum gk_reset_rung r)
{
	switch (r) {
	case GK_RESET_NEXT_NONE:
		return "none";
	case GK_RESET_NEXT_RELOAD:
		return "reload";
	default:
		return "reboot";
	}
}

int reset_run(const struct gk_reset_opts *o, struct gk_reset_result *ret)
{
	struct reset_ctx c = {.o = o, .ops = o->ops, .res = ret};
	int r;

	*ret = (struct gk_reset_result){};
	r = engine_run_root(&reset_procedure, &o->engine, o->root, &c.rootfd, &c, &ret->run);
	reset_forget(&c);
	reset_record_done(&c.rec);
	return r;
}

void reset_result_done(struct gk_reset_result *r)
{
	engine_result_done(&r->run);
	free(r->gpus);
	differences_done(&r->differences);
	*r = (struct gk_reset_result){};
}
