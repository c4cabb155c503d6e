// SPDX-License-Identifier: GPL-2.0-or-later
/* Reload decisions. Units are stopped through the service manager because a killed service
 * with Restart= comes back at once and holds the GPUs again; gpukeepd releases on request. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "procedure/reload-plan.h"
#include "string-util.h"

void reload_plan_done(struct gk_reload_plan *p)
{
	strv_free(p->units);
	free(p->pids);
	strv_free(p->unload);
	strv_free(p->load);
	*p = (struct gk_reload_plan){};
}

/* A system service, not a session scope and not a unit inside a container. */
static bool is_system_service(const struct gk_holder *h)
{
	return h->unit && endswith(h->unit, ".service") && !h->container_id && h->cgroup &&
	       startswith(h->cgroup, "/system.slice/");
}

static enum gk_refusal refusal_of(const struct gk_modlist *modules,
				  const struct gk_holders *holders, pid_t daemon_pid, bool kill)
{
	bool others = false;

	if (!modlist_find(modules, "nvidia"))
		return GK_REFUSE_NO_DRIVER;
	for (size_t i = 0; i < holders->n; i++)
		if (holders->holders[i].unkillable)
			return GK_REFUSE_UNKILLABLE;
	for (size_t i = 0; i < holders->n; i++)
		others |= holders->holders[i].pid != daemon_pid;
	return others && !kill ? GK_REFUSE_HOLDERS : GK_REFUSE_NONE;
}

static int plan_stops(const struct gk_holders *holders, pid_t daemon_pid, struct gk_reload_plan *p)
{
	p->units = calloc(1, sizeof(char *));
	p->pids = calloc(holders->n + 1, sizeof(pid_t));
	if (!p->units || !p->pids)
		return -ENOMEM;
	for (size_t i = 0; i < holders->n; i++) {
		const struct gk_holder *h = &holders->holders[i];

		if (h->pid == daemon_pid)
			continue;
		if (is_system_service(h) && !startswith(h->unit, "gpukeepd")) {
			if (!strv_contains(p->units, h->unit) &&
			    strv_extend(&p->units, h->unit) < 0)
				return -ENOMEM;
			continue;
		}
		p->pids[p->n_pids++] = h->pid;
	}
	return 0;
}

int reload_plan_make(const struct gk_modlist *modules, const struct gk_holders *holders,
		     pid_t daemon_pid, bool kill, struct gk_reload_plan *ret)
{
	struct gk_reload_plan p = {.daemon_pid = daemon_pid};
	int r, n;

	p.refusal = refusal_of(modules, holders, daemon_pid, kill);
	r = plan_stops(holders, daemon_pid, &p);
	if (r < 0)
		goto fail;
	n = modgraph_unload_order(modules, "nvidia", &p.unload);
	if (n < 0) {
		r = n;
		goto fail;
	}
	p.load = calloc(n + 1, sizeof(char *));
	if (!p.load) {
		r = -ENOMEM;
		goto fail;
	}
	for (int i = 0; i < n; i++)
		if (!(p.load[i] = strdup(p.unload[n - 1 - i]))) {
			r = -ENOMEM;
			goto fail;
		}
	*ret = p;
	return 0;
fail:
	reload_plan_done(&p);
	return r;
}

/* /dev/nvidiaN: a node that belongs to one GPU */
static bool is_gpu_node(const char *path)
{
	const char *p = startswith(path, "/dev/nvidia");

	if (!p || !*p)
		return false;
	for (; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	return true;
}

enum gk_rung reload_next_rung(const struct gk_differences *d, bool load_failed)
{
	enum gk_rung rung = GK_RUNG_NONE;

	if (load_failed)
		return GK_RUNG_REBOOT;
	for (size_t i = 0; i < d->n; i++) {
		const struct gk_difference *x = &d->items[i];
		/* A GPU on the bus but unbound or on a narrow link may come back with a reset; so
		 * may the consequences of one GPU missing (the others' minors shift, its node
		 * goes). Anything else (gone from the bus, modules or shared nodes missing) needs a
		 * reboot. */
		bool per_gpu = x->kind == GK_DIFF_GPU_UNBOUND || x->kind == GK_DIFF_LINK ||
			       x->kind == GK_DIFF_GPU_COUNT || x->kind == GK_DIFF_MINOR ||
			       x->kind == GK_DIFF_NVLINK || x->kind == GK_DIFF_PAGES_PENDING ||
			       (x->kind == GK_DIFF_NODE && is_gpu_node(x->object));

		if (per_gpu)
			rung = rung == GK_RUNG_NONE ? GK_RUNG_RESET : rung;
		else
			rung = GK_RUNG_REBOOT;
	}
	return rung;
}

const char *rung_to_string(enum gk_rung r)
{
	switch (r) {
	case GK_RUNG_NONE:
		return "none";
	case GK_RUNG_RESET:
		return "gpu-reset";
	default:
		return "reboot";
	}
}
