// SPDX-License-Identifier: GPL-2.0-or-later
/* The reload as a table of steps, and its record in the journal. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/gk-exit.h"
#include "core/json-check.h"
#include "core/json-util.h"
#include "macro.h"
#include "procedure/record-util.h"
#include "procedure/reload-steps.h"
#include "procedure/reload.h"
#include "string-util.h"

static const struct gk_step steps[] = {
	{.name = "lock",
	 .help = "lock: one reset or reload per node; write the journal (node, modules, NVML "
		 "settings) before any change",
	 .check = step_lock_check,
	 .apply = step_lock},
	{.name = "preflight",
	 .help = "preflight: find the GPU holders; refuse (exit 3) on a D-state holder, or on "
		 "holders without --kill",
	 .check = step_preflight_check,
	 .apply = step_preflight},
	{.name = "stop",
	 .help = "stop: gpukeepd releases its devices; services are stopped with systemctl, "
		 "containers through their runtime, other processes get SIGTERM, the grace "
		 "period, SIGKILL",
	 .changes_node = true,
	 .check = step_stop_check,
	 .apply = step_stop,
	 .undo = step_stop_undo},
	{.name = "fabric-stop",
	 .help = "fabric-stop: on an NVSwitch node, the fabric manager stops after every GPU "
		 "process (its unit, else its process)",
	 .changes_node = true,
	 .check = step_fabric_stop_check,
	 .apply = step_fabric_stop,
	 .undo = step_fabric_stop_undo},
	{.name = "unload",
	 .help = "unload: leaves first through libkmod, never forced; retried while in use",
	 .changes_node = true,
	 .check = step_unload_check,
	 .apply = step_unload,
	 .undo = step_unload_undo},
	{.name = "load",
	 .help = "load: the same modules, through modprobe.d; missing device nodes created",
	 .changes_node = true,
	 .check = step_load_check,
	 .apply = step_load},
	{.name = "restore",
	 .help = "restore: gpukeepd re-acquires the GPUs; NVML settings restored",
	 .changes_node = true,
	 .apply = step_restore},
	{.name = "fabric-start",
	 .help = "fabric-start: the fabric manager starts again, once the driver and gpukeepd are "
		 "back",
	 .changes_node = true,
	 .check = step_fabric_start_check,
	 .apply = step_fabric_start},
	{.name = "fabric-wait",
	 .help = "fabric-wait: until every GPU's NVLink fabric state is completed with success, "
		 "with a deadline (--fabric-timeout); a fabric that does not complete is exit 4",
	 .final = true,
	 .check = step_fabric_wait_check,
	 .apply = step_fabric_wait},
	/* after the fabric: a CUDA service started on GPUs whose fabric is not trained fails
	 * ("system not yet initialized"); an older journal without this step resumes with it
	 * pending (starting a unit that runs already changes nothing) */
	{.name = "start-units",
	 .help = "start-units: the services stopped start again, once the driver, gpukeepd and "
		 "the NVLink fabric are back (on a fabric that does not complete they stay "
		 "stopped, named)",
	 .changes_node = true,
	 .check = step_units_start_check,
	 .apply = step_units_start},
	{.name = "validate",
	 .help = "validate: against --baseline, or against the node as it was before",
	 .final = true,
	 .check = step_validate_check,
	 .apply = step_validate},
	{.name = "report",
	 .help = "report: the verdict, with the next rung when the node is not as expected",
	 .apply = step_report},
};

static const struct gk_journal_ref others[] = {
	{.kind = "reset", .file = "reset.journal"},
	{},
};

struct reload_ctx *reload_ctx(struct gk_engine *e)
{
	return engine_ctx(e);
}

void reload_record_done(struct reload_record *r)
{
	baseline_done(&r->before);
	strv_free(r->unload_order);
	strv_free(r->module_params);
	strv_free(r->units);
	strv_free(r->containers);
	free(r->daemon_socket);
	strv_free(r->daemon_gpus);
	free(r->settings_file);
	fabric_record_done(&r->fabric);
	*r = (struct reload_record){};
}

struct json_object *reload_record_to_json(const struct reload_record *r)
{
	struct json_object *o = json_object_new_object();
	bool ok = o != NULL;

	ok = ok && record_put(o, "before", baseline_to_json(&r->before));
	ok = ok && record_put(o, "unload_order", json_strv_new(r->unload_order));
	ok = ok && record_put(o, "module_parameters", json_strv_new(r->module_params));
	ok = ok && record_put_stopped(o, r->units, r->containers, r->daemon_released);
	ok = ok && record_put_daemon(o, r->daemon_socket, r->daemon_kind, r->daemon_gpus);
	ok = ok && record_put_string(o, "settings_file", r->settings_file);
	ok = ok && record_put(o, "fabric", fabric_record_to_json(&r->fabric));
	if (!ok) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

int reload_record_from_json(struct json_object *o, struct reload_record *ret, char **ret_error)
{
	struct reload_record r = {};
	struct gk_jcheck c = {};
	int k;

	if (!json_object_is_type(o, json_type_object)) {
		/* a journal written before its first step finished records nothing yet */
		jcheck_fail(&c, "record: missing (the journal has no record of the node)");
		return jcheck_finish(&c, ret_error);
	}
	record_read_before(&c, o, &r.before);
	r.unload_order = jcheck_strv(&c, o, "record", "unload_order");
	r.module_params = jcheck_strv(&c, o, "record", "module_parameters");
	record_read_stopped(&c, o, true, &r.units, &r.containers, &r.daemon_released);
	r.settings_file = jcheck_string(&c, o, "record", "settings_file", true);
	record_read_daemon(&c, o, &r.daemon_socket, &r.daemon_kind, &r.daemon_gpus);
	/* the fabric came after the engine: older journals have none */
	fabric_record_member(&c, o, &r.fabric);
	record_check_files(&c, r.daemon_socket, r.settings_file);
	k = jcheck_finish(&c, ret_error);
	if (k < 0) {
		reload_record_done(&r);
		return k;
	}
	*ret = r;
	return 0;
}

static int load_record(struct gk_engine *e, struct json_object *record, char **ret_error)
{
	struct reload_ctx *c = reload_ctx(e);
	struct reload_record r;
	int k;

	/* killed in the lock step, before the node was recorded: the lock step runs again */
	if (engine_step_status(e, "lock") != GK_STEP_DONE)
		return 0;
	k = reload_record_from_json(record, &r, ret_error);
	if (k < 0)
		return k;
	reload_record_done(&c->rec);
	c->rec = r;
	return 0;
}

static struct json_object *save_record(struct gk_engine *e)
{
	struct reload_ctx *c = reload_ctx(e);

	return reload_record_to_json(&c->rec);
}

static void resume(struct gk_engine *e)
{
	/* until the driver is unloaded, new holders may have come (a service restarted, a job
	 * started): stop them again, as the first run was allowed to */
	if (engine_step_status(e, "unload") != GK_STEP_DONE) {
		engine_set_step_status(e, "stop", GK_STEP_PENDING);
		engine_set_step_status(e, "fabric-stop", GK_STEP_PENDING);
	}
}

const struct gk_procedure reload_procedure = {
	.kind = "reload",
	.journal = GK_RELOAD_JOURNAL,
	.journal_last = GK_RELOAD_JOURNAL_LAST,
	.steps = steps,
	.n_steps = ELEMENTSOF(steps),
	.rolled_back = "the driver, gpukeepd and the stopped units are as they were",
	.others = others,
	.load_record = load_record,
	.save_record = save_record,
	.resume = resume,
};

int reload_run(const struct gk_reload_opts *o, struct gk_reload_result *ret)
{
	struct reload_ctx c = {.o = o, .ops = o->ops, .res = ret};
	int r;

	*ret = (struct gk_reload_result){.diag = -1};
	r = engine_run_root(&reload_procedure, &o->engine, o->root, &c.rootfd, &c, &ret->run);
	reload_forget(&c);
	reload_record_done(&c.rec);
	return r;
}

void reload_result_done(struct gk_reload_result *r)
{
	engine_result_done(&r->run);
	differences_done(&r->differences);
	*r = (struct gk_reload_result){};
}
