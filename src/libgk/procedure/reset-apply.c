// SPDX-License-Identifier: GPL-2.0-or-later
/* The reset itself, the restore of the GPUs, their validation and the report. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/gk-exit.h"
#include "macro.h"
#include "procedure/reset-plan.h"
#include "procedure/reset-steps.h"
#include "procedure/stop.h"
#include "string-util.h"

#define NVIDIA_SMI_TIMEOUT_MS 120000
#define RESCAN_WAIT_MS	      10000
#define RESCAN_POLL_MS	      100
#define SETTLE_MS	      60000

static int set(char **l, size_t i, const char *v)
{
	char *s = strdup(v);

	if (!s)
		return -ENOMEM;
	free(l[i]);
	l[i] = s;
	return 0;
}

static char *dev_path(const char *pci, const char *attr)
{
	return strdup_printf("/sys/bus/pci/devices/%s%s%s", pci, attr ? "/" : "", strempty(attr));
}

static bool exists(struct reset_ctx *c, const char *path)
{
	return faccessat(c->rootfd, path + 1, F_OK, 0) == 0;
}

/* Bound to a driver (the nvidia driver is the only one that takes these functions). */
static bool bound(struct reset_ctx *c, const char *pci)
{
	_cleanup_free_ char *p = dev_path(pci, "driver");

	return p && exists(c, p);
}

int reset_step_reset_check(struct gk_engine *e, char **ret_plan)
{
	struct reset_ctx *c = reset_ctx(e);

	*ret_plan = strdup_printf("reset: '%s -r -i BDF' for each GPU when installed, else the "
				  "kernel's function reset (sysfs reset); remove and rescan for a "
				  "GPU that fell off the bus",
				  c->o->nvidia_smi);
	return 0;
}

static int outcome(struct reset_ctx *c, size_t i, const char *phase, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int outcome(struct reset_ctx *c, size_t i, const char *phase, const char *fmt, ...)
{
	_cleanup_free_ char *s = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	if (set(c->rec.outcomes, i, s) < 0 || set(c->rec.phases, i, phase) < 0)
		return -ENOMEM;
	return 0;
}

static const char *why(int r)
{
	return r == -ETIMEDOUT ? "no answer within its deadline (killed)" : strerror(-r);
}

static int by_nvidia_smi(struct reset_ctx *c, size_t i, bool *ret_absent)
{
	const char *pci = c->rec.targets[i];
	_cleanup_free_ char *failed = NULL;
	char *argv[] = {(char *)c->o->nvidia_smi, "-r", "-i", (char *)pci, NULL};
	int r;

	/* a run that fails to exec costs a process start; the look-up a few access() calls */
	*ret_absent = !c->ops->installed(c->ops->userdata, c->o->nvidia_smi);
	if (*ret_absent)
		return 0;
	r = stop_command(c->ops, argv, NVIDIA_SMI_TIMEOUT_MS, &failed);
	*ret_absent = r == -ENOENT;
	if (r == -ENOENT)
		return 0;
	if (set(c->rec.methods, i, "nvidia-smi") < 0)
		return -ENOMEM;
	if (r == 0)
		return outcome(c, i, RESET_PHASE_DONE, "reset by nvidia-smi");
	return outcome(c, i, RESET_PHASE_FAILED, "%s", strna(failed));
}

/* The kernel's reset with the function detached from nvidia: for a driver that does not take a
 * reset while bound. The unbind is journaled before the reset, so a killed run resets and
 * binds, and never leaves the GPU unbound. */
static int by_unbind_reset_bind(struct gk_engine *e, size_t i)
{
	struct reset_ctx *c = reset_ctx(e);
	const char *pci = c->rec.targets[i];
	_cleanup_free_ char *p = dev_path(pci, "reset");
	int r;

	if (!p || set(c->rec.methods, i, "unbind-reset-bind") < 0)
		return -ENOMEM;
	if (!streq(c->rec.phases[i], RESET_PHASE_UNBOUND) && bound(c, pci)) {
		r = c->ops->sysfs_write(c->ops->userdata, c->rootfd,
					"/sys/bus/pci/drivers/nvidia/unbind", pci);
		if (r < 0)
			return outcome(c, i, RESET_PHASE_FAILED, "cannot unbind it from nvidia: %s",
				       why(r));
	}
	if (set(c->rec.phases, i, RESET_PHASE_UNBOUND) < 0)
		return -ENOMEM;
	if (engine_sync(e) != 0)
		return 1;
	r = c->ops->sysfs_write(c->ops->userdata, c->rootfd, p, "1");
	if (r < 0) {
		(void)c->ops->sysfs_write(c->ops->userdata, c->rootfd,
					  "/sys/bus/pci/drivers/nvidia/bind", pci);
		return outcome(c, i, RESET_PHASE_FAILED, "function reset (%s) failed: %s", p,
			       why(r));
	}
	r = c->ops->sysfs_write(c->ops->userdata, c->rootfd, "/sys/bus/pci/drivers/nvidia/bind",
				pci);
	if (r < 0)
		return outcome(c, i, RESET_PHASE_FAILED,
			       "reset, but cannot bind it to nvidia again: %s", why(r));
	return outcome(c, i, RESET_PHASE_DONE, "function reset (unbound, reset, bound again)");
}

static int by_function(struct gk_engine *e, size_t i)
{
	struct reset_ctx *c = reset_ctx(e);
	_cleanup_free_ char *p = dev_path(c->rec.targets[i], "reset");
	int r;

	if (!p || set(c->rec.methods, i, "function") < 0)
		return -ENOMEM;
	/* the kernel's pci_reset_function(): the bound driver is told (reset_prepare and
	 * reset_done) and the function's config space is saved and restored around it */
	r = c->ops->sysfs_write(c->ops->userdata, c->rootfd, p, "1");
	if (r == 0)
		return outcome(c, i, RESET_PHASE_DONE, "function reset");
	if (r == -ETIMEDOUT)
		return outcome(c, i, RESET_PHASE_FAILED, "function reset (%s) failed: %s", p,
			       why(r));
	/* refused while bound (the driver, or a reset method that needs the function idle):
	 * detach the driver first, as a careful operator would */
	return by_unbind_reset_bind(e, i);
}

/* Waits until the rescan has enumerated and bound @pci, within its deadline. */
static bool back_on_bus(struct reset_ctx *c, const char *pci)
{
	for (unsigned waited = 0; waited <= RESCAN_WAIT_MS; waited += RESCAN_POLL_MS) {
		if (bound(c, pci))
			return true;
		c->ops->sleep_ms(c->ops->userdata, RESCAN_POLL_MS);
	}
	return false;
}

static int by_remove_rescan(struct gk_engine *e, size_t i)
{
	struct reset_ctx *c = reset_ctx(e);
	const char *pci = c->rec.targets[i];
	_cleanup_free_ char *rm = dev_path(pci, "remove");
	int r;

	if (!rm || set(c->rec.methods, i, "remove-rescan") < 0)
		return -ENOMEM;
	if (streq(c->rec.phases[i], RESET_PHASE_NONE) && exists(c, rm)) {
		r = c->ops->sysfs_write(c->ops->userdata, c->rootfd, rm, "1");
		if (r < 0)
			return outcome(c, i, RESET_PHASE_FAILED, "cannot remove it (%s): %s", rm,
				       why(r));
	}
	/* removed: recorded before the rescan, so a killed run rescans, never removes twice */
	if (set(c->rec.phases, i, RESET_PHASE_REMOVED) < 0)
		return -ENOMEM;
	if (engine_sync(e) != 0)
		return 1;
	r = c->ops->sysfs_write(c->ops->userdata, c->rootfd, "/sys/bus/pci/rescan", "1");
	if (r < 0)
		return outcome(c, i, RESET_PHASE_FAILED, "cannot rescan the PCI bus: %s", why(r));
	if (!back_on_bus(c, pci))
		return outcome(c, i, RESET_PHASE_FAILED,
			       "not bound to nvidia %d s after the rescan", RESCAN_WAIT_MS / 1000);
	return outcome(c, i, RESET_PHASE_DONE, "removed and rescanned");
}

/* Fell off the bus: gone from the PCI devices, or its device node fails to open (EIO). A GPU
 * that gpukeepd held open before the release opened fine and is not probed (an open of an
 * idle GPU pays its initialization). */
static bool fell_off(struct reset_ctx *c, size_t i)
{
	_cleanup_free_ char *dir = dev_path(c->rec.targets[i], NULL);

	if (dir && !exists(c, dir))
		return true;
	if (!*c->rec.nodes[i] || strv_contains(c->rec.daemon_held, c->rec.targets[i]))
		return false;
	return c->ops->probe(c->ops->userdata, c->rootfd, c->rec.nodes[i]) == -EIO;
}

static int reset_one(struct gk_engine *e, size_t i)
{
	struct reset_ctx *c = reset_ctx(e);
	const char *phase = c->rec.phases[i];
	bool absent = true;
	int r;

	if (streq(phase, RESET_PHASE_DONE) || streq(phase, RESET_PHASE_FAILED))
		return 0;
	if (streq(phase, RESET_PHASE_REMOVED) || streq(c->rec.methods[i], "remove-rescan") ||
	    fell_off(c, i))
		r = by_remove_rescan(e, i);
	else if (streq(phase, RESET_PHASE_UNBOUND))
		r = by_unbind_reset_bind(e, i);
	else {
		r = by_nvidia_smi(c, i, &absent);
		if (r == 0 && absent)
			r = by_function(e, i);
	}
	if (r < 0)
		return engine_verdict(e, GK_EXIT_FAILED, "out of memory");
	return r > 0 ? r : engine_sync(e);
}

int reset_step_reset(struct gk_engine *e, char **ret_detail)
{
	struct reset_ctx *c = reset_ctx(e);
	_cleanup_strv_free_ char **l = calloc(1, sizeof(char *));
	_cleanup_free_ char *s = NULL;

	if (!l)
		return engine_verdict(e, GK_EXIT_FAILED, "out of memory");
	for (size_t i = 0; c->rec.targets[i]; i++) {
		_cleanup_free_ char *line = NULL;
		int r = reset_one(e, i);

		if (r != 0)
			return r;
		line = strdup_printf("%s: %s", c->rec.targets[i], c->rec.outcomes[i]);
		if (!line || strv_extend(&l, line) < 0)
			return engine_verdict(e, GK_EXIT_FAILED, "out of memory");
	}
	s = strv_join(l, "; ");
	*ret_detail = TAKE_PTR(s);
	return 0;
}

/* Each GPU bound again (a failed rescan or reset may leave it unbound): best effort. */
static void rebind(struct reset_ctx *c)
{
	for (size_t i = 0; c->rec.targets[i]; i++) {
		_cleanup_free_ char *dir = dev_path(c->rec.targets[i], NULL);

		if (dir && exists(c, dir) && !bound(c, c->rec.targets[i]))
			(void)c->ops->sysfs_write(c->ops->userdata, c->rootfd,
						  "/sys/bus/pci/drivers/nvidia/bind",
						  c->rec.targets[i]);
	}
}

static int restore_settings(struct reset_ctx *c, char ***failed)
{
	for (size_t i = 0; c->rec.settings_file && c->rec.targets[i]; i++) {
		int r;

		if (!streq(c->rec.phases[i], RESET_PHASE_DONE))
			continue;
		r = c->ops->nvml(c->ops->userdata, GK_NVML_RESTORE, c->rec.settings_file,
				 c->rec.targets[i]);
		if (r != 0) {
			_cleanup_free_ char *s =
				strdup_printf("NVML settings of %s (%s)", c->rec.targets[i],
					      r == -ETIMEDOUT ? "NVML hung"
							      : "see "
								"above");
			if (!s || strv_extend(failed, s) < 0)
				return -ENOMEM;
		}
	}
	return 0;
}

int reset_step_restore(struct gk_engine *e, char **ret_detail)
{
	struct reset_ctx *c = reset_ctx(e);
	_cleanup_strv_free_ char **failed = calloc(1, sizeof(char *));
	_cleanup_free_ char *undo = NULL, *list = NULL;
	bool daemon = c->rec.daemon_released;
	int created = 0, r;

	if (!failed)
		return engine_verdict(e, GK_EXIT_NEEDS_PERSON, "out of memory");
	rebind(c);
	reset_forget(c);
	r = reset_observe(e, false);
	if (r == 0)
		created = c->ops->mknod_missing(c->ops->userdata, c->rootfd, &c->inv.nodes);
	if (r != 0 || created < 0)
		return engine_verdict(e, GK_EXIT_NEEDS_PERSON,
				      "cannot restore the device nodes: %s",
				      r != 0 ? strna(engine_error(e)) : strerror(-created));
	/* a removed and rescanned function is a new device to the daemon */
	for (size_t i = 0; daemon && c->rec.targets[i]; i++)
		if (streq(c->rec.methods[i], "remove-rescan")) {
			(void)keeper_reenumerate(c->ops, c->rec.daemon_kind, c->rec.daemon_socket,
						 STOP_DAEMON_TIMEOUT_MS);
			break;
		}
	/* gpukeepd opens the GPUs again and units start: the release's undo */
	if (reset_step_stop_undo(e, &undo) == -ENOMEM || (undo && strv_extend(&failed, undo) < 0))
		return engine_verdict(e, GK_EXIT_NEEDS_PERSON, "out of memory");
	for (size_t i = 0; daemon && c->rec.targets[i]; i++) {
		unsigned held = 0, wanted = 0;

		/* settled: held, or given up on for now (validate says which) */
		(void)keeper_settled(c->ops, c->rec.daemon_kind, c->rec.daemon_socket,
				     c->rec.targets[i], NULL, SETTLE_MS, &held, &wanted, NULL, 0);
	}
	if (restore_settings(c, &failed) < 0)
		return engine_verdict(e, GK_EXIT_NEEDS_PERSON, "out of memory");
	if (*failed) {
		list = strv_join(failed, ", ");
		c->res->next_rung = GK_RESET_NEXT_RELOAD;
		return engine_verdict(e, GK_EXIT_NEEDS_PERSON,
				      "could not restore: %s; next rung: "
				      "gpukeep reload",
				      strna(list));
	}
	*ret_detail = strdup_printf("%d device node(s) created, %s%s", created,
				    !daemon ? "no gpukeepd"
				    : c->rec.daemon_released
					    ? "nvidia-persistenced takes these GPUs again once its "
					      "unit has started (start-units)"
				    : c->rec.daemon_kind == GK_KEEPER_NVPD
					    ? "nvidia-persistenced holds these GPUs again"
					    : "gpukeepd holds these GPUs again",
				    c->rec.settings_file ? ", NVML settings restored" : "");
	return 0;
}

static int add_difference(struct gk_differences *d, const char *object, const char *msg)
{
	struct gk_difference *items = realloc(d->items, (d->n + 1) * sizeof(*items));

	if (!items)
		return -ENOMEM;
	d->items = items;
	items[d->n] = (struct gk_difference){
		.kind = GK_DIFF_GPU_UNBOUND, .object = strdup(object), .message = strdup(msg)};
	if (!items[d->n].object || !items[d->n].message) {
		free(items[d->n].object);
		free(items[d->n].message);
		return -ENOMEM;
	}
	d->n++;
	return 0;
}

/* What validate_compare() cannot see: the reset's own failure, the device that does not open,
 * gpukeepd not holding it again. */
static int check_gpu(struct reset_ctx *c, size_t i, struct gk_differences *d)
{
	const char *pci = c->rec.targets[i];
	_cleanup_free_ char *node = reset_gpu_node(&c->inv, pci), *msg = NULL;
	unsigned held = 0, wanted = 0;
	int r;

	if (streq(c->rec.phases[i], RESET_PHASE_FAILED))
		return add_difference(d, pci, c->rec.outcomes[i]);
	if (!node)
		return 0; /* not bound: validate_compare() names it */
	/* held by gpukeepd again: it opened after the reset, no probe needed (a probe of an idle
	 * GPU pays its initialization) */
	if (strv_contains(c->rec.daemon_held, pci)) {
		r = keeper_settled(c->ops, c->rec.daemon_kind, c->rec.daemon_socket, pci, NULL,
				   SETTLE_MS, &held, &wanted, NULL, 0);
		if (r >= 0 && wanted > 0 && held >= wanted)
			return 0;
	}
	r = c->ops->probe(c->ops->userdata, c->rootfd, node);
	if (r < 0) {
		msg = strdup_printf("%s does not open after the reset: %s%s", node, why(r),
				    r == -EIO ? " (fell off the bus)" : "");
		return msg ? add_difference(d, pci, msg) : -ENOMEM;
	}
	if (!strv_contains(c->rec.daemon_held, pci))
		return 0;
	return add_difference(d, pci,
			      c->rec.daemon_kind == GK_KEEPER_NVPD
				      ? "nvidia-persistenced does not hold it again (see 'gpukeep "
					"status')"
				      : "gpukeepd does not hold it again (see 'gpukeep status')");
}

static int compare(struct gk_engine *e, struct gk_differences *d)
{
	struct reset_ctx *c = reset_ctx(e);
	struct gk_baseline file = {}, now = {};
	const struct gk_baseline *want = &c->rec.before;
	_cleanup_free_ char *error = NULL;
	int r;

	if (c->o->baseline_path) {
		r = baseline_load(AT_FDCWD, c->o->baseline_path, &file, &error);
		if (r < 0)
			return engine_verdict(e, GK_EXIT_NEEDS_PERSON,
					      "cannot read baseline %s: %s", c->o->baseline_path,
					      error ? error : strerror(-r));
		reset_baseline_keep(&file, c->rec.targets, c->rec.nodes);
		want = &file;
	}
	r = baseline_from_inventory(&c->inv, &now);
	if (r >= 0) {
		reset_baseline_keep(&now, c->rec.targets, c->rec.nodes);
		r = validate_compare(want, &now, d);
	}
	for (size_t i = 0; r >= 0 && c->rec.targets[i]; i++)
		r = check_gpu(c, i, d);
	baseline_done(&file);
	baseline_done(&now);
	return r < 0 ? engine_verdict(e, GK_EXIT_NEEDS_PERSON, "cannot validate: %s", strerror(-r))
		     : 0;
}

static void fill_results(struct reset_ctx *c)
{
	size_t n = strv_length(c->rec.targets);
	struct gk_reset_result *res = c->res;

	free(res->gpus);
	res->gpus = calloc(n + 1, sizeof(*res->gpus));
	res->n_gpus = res->gpus ? n : 0;
	for (size_t i = 0; i < res->n_gpus; i++) {
		struct gk_reset_gpu_result *g = &res->gpus[i];

		snprintf(g->pci, sizeof(g->pci), "%s", c->rec.targets[i]);
		snprintf(g->method, sizeof(g->method), "%s", c->rec.methods[i]);
		g->back = true;
		for (size_t k = 0; k < res->differences.n; k++)
			if (strstr(res->differences.items[k].object, g->pci))
				g->back = false;
	}
}

int reset_step_validate(struct gk_engine *e, char **ret_detail)
{
	struct reset_ctx *c = reset_ctx(e);
	struct gk_differences *d = &c->res->differences;
	int r;

	reset_forget(c);
	r = reset_observe(e, false);
	if (r == 0)
		r = compare(e, d);
	if (r != 0)
		return engine_verdict(e, GK_EXIT_NEEDS_PERSON, "%s", strna(engine_error(e)));
	fill_results(c);
	for (size_t i = 0; i < d->n; i++)
		engine_say(e, "  %s: %s", d->items[i].object, d->items[i].message);
	if (d->n > 0) {
		char first[256];

		differences_headline(d, first, sizeof(first));
		c->res->next_rung = GK_RESET_NEXT_RELOAD;
		return engine_verdict(e, GK_EXIT_NEEDS_PERSON,
				      "the reset did not bring the GPU(s) back (%zu difference(s) "
				      "from the state before: %s): next rung: gpukeep reload",
				      d->n, first);
	}
	*ret_detail = strdup_printf("%zu GPU(s) bound, same UUID, link and device node as "
				    "before, opening%s%s",
				    strv_length(c->rec.targets),
				    c->rec.daemon_held && *c->rec.daemon_held ? ", held by " : "",
				    c->rec.daemon_held && *c->rec.daemon_held
					    ? keeper_kind_to_string(c->rec.daemon_kind)
					    : "");
	return 0;
}

int reset_step_report(struct gk_engine *e, char **ret_detail)
{
	struct reset_ctx *c = reset_ctx(e);
	_cleanup_free_ char *gpus = strv_join(c->rec.targets, ", ");

	if (!c->res->gpus)
		fill_results(c);
	*ret_detail = strdup_printf("%s reset and back", strna(gpus));
	return 0;
}
