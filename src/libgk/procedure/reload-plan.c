// SPDX-License-Identifier: GPL-2.0-or-later
/* Reload decisions. Units are stopped through the service manager because a killed service
 * with Restart= comes back at once and holds the GPUs again; gpukeepd releases on request. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "node/holders-stop.h"
#include "node/nvswitch.h"
#include "procedure/reload-plan.h"
#include "string-util.h"

void reload_plan_done(struct gk_reload_plan *p)
{
	strv_free(p->units);
	strv_free(p->containers);
	free(p->pids);
	strv_free(p->unload);
	strv_free(p->load);
	*p = (struct gk_reload_plan){};
}

static enum gk_refusal refusal_of(const struct gk_holders *holders, pid_t daemon_pid, bool kill)
{
	bool others = false;

	for (size_t i = 0; i < holders->n; i++)
		if (holders->holders[i].unkillable)
			return GK_REFUSE_UNKILLABLE;
	/* the fabric manager is the procedures' to stop and start, in its place (fabric.h) */
	for (size_t i = 0; i < holders->n; i++)
		others |= holders->holders[i].pid != daemon_pid &&
			  !holder_is_fabric_manager(&holders->holders[i]);
	return others && !kill ? GK_REFUSE_HOLDERS : GK_REFUSE_NONE;
}

static int add_once(char ***l, const char *s)
{
	return strv_contains(*l, s) ? 0 : strv_extend(l, s);
}

static int plan_one(const struct gk_holder *h, pid_t daemon_pid, struct gk_reload_plan *p)
{
	_cleanup_free_ char *c = NULL;

	if (holder_is_fabric_manager(h))
		return 0;
	switch (holder_stop_how(h, daemon_pid)) {
	case GK_STOP_DAEMON:
		return 0;
	case GK_STOP_UNIT:
		return add_once(&p->units, h->unit);
	case GK_STOP_CONTAINER:
		c = strdup_printf("%s %s", holder_runtime_cli(h), h->container_id);
		return c ? add_once(&p->containers, c) : -ENOMEM;
	default:
		p->pids[p->n_pids++] = h->pid;
		return 0;
	}
}

int reload_plan_stops(const struct gk_holders *holders, pid_t daemon_pid, bool kill,
		      struct gk_reload_plan *ret)
{
	struct gk_reload_plan p = {.daemon_pid = daemon_pid};
	int r = 0;

	p.refusal = refusal_of(holders, daemon_pid, kill);
	p.units = calloc(1, sizeof(char *));
	p.containers = calloc(1, sizeof(char *));
	p.pids = calloc(holders->n + 1, sizeof(pid_t));
	if (!p.units || !p.containers || !p.pids)
		r = -ENOMEM;
	for (size_t i = 0; r >= 0 && i < holders->n; i++)
		r = plan_one(&holders->holders[i], daemon_pid, &p);
	if (r < 0) {
		reload_plan_done(&p);
		return r;
	}
	*ret = p;
	return 0;
}

char **reload_load_order(char *const *unload)
{
	size_t n = strv_length(unload);
	char **l = calloc(n + 1, sizeof(char *));

	for (size_t i = 0; l && i < n; i++)
		if (!(l[i] = strdup(unload[n - 1 - i])))
			return strv_free(l);
	return l;
}

int reload_plan_make(const struct gk_modlist *modules, const struct gk_holders *holders,
		     pid_t daemon_pid, bool kill, struct gk_reload_plan *ret)
{
	struct gk_reload_plan p;
	int r, n;

	r = reload_plan_stops(holders, daemon_pid, kill, &p);
	if (r < 0)
		return r;
	if (!modlist_find(modules, "nvidia"))
		p.refusal = GK_REFUSE_NO_DRIVER;
	n = modgraph_unload_order(modules, "nvidia", &p.unload);
	if (n < 0) {
		reload_plan_done(&p);
		return n;
	}
	if (n == 0)
		p.unload = calloc(1, sizeof(char *));
	p.load = p.unload ? reload_load_order(p.unload) : NULL;
	if (!p.load) {
		reload_plan_done(&p);
		return -ENOMEM;
	}
	*ret = p;
	return 0;
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
