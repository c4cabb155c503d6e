// SPDX-License-Identifier: GPL-2.0-or-later
/* nvidia-persistenced's procedures on the GPU table. A set goes through gpus_set_persistence(),
 * exactly as the JSON socket's set-persistence does: the mode is remembered in the state file and
 * the hold follows it. The order of checks and the statuses are nvpd_rule_*()'s. */
#include "rpc-procs.h"
#include "gpus.h"
#include "log.h"
#include "loop.h"
#include "nvpd/nvpd-rules.h"
#include "time-util.h"

static struct gpu *find(struct gkd *d, const struct nvpd_device *dev)
{
	for (size_t i = 0; i < d->gpus.n; i++)
		if (nvpd_device_match(dev, &d->gpus.gpus[i]->addr))
			return d->gpus.gpus[i];
	return NULL;
}

static enum nvpd_hold_view view(const struct hold *h)
{
	switch (h->state) {
	case HOLD_HELD:
		return NVPD_HOLD_OPEN;
	case HOLD_OPENING:
		return NVPD_HOLD_OPENING;
	case HOLD_RETRYING:
	case HOLD_STUCK:
		return NVPD_HOLD_FAILED;
	default:
		return h->error < 0 ? NVPD_HOLD_FAILED : NVPD_HOLD_CLOSED;
	}
}

void rpc_proc_get(struct gkd *d, const nvpd_get_mode_args *a, nvpd_get_mode_res *ret)
{
	struct gpu *g = find(d, &a->device);

	if (!g) {
		ret->status = NVPD_ERR_DEVICE_NOT_FOUND;
		return;
	}
	ret->status = NVPD_OK;
	ret->nvpd_get_mode_res_u.mode = nvpd_rule_mode(view(&g->hold));
}

/* A set to enabled tries again now: a device file that appeared since the last failure is held
 * without waiting out the backoff. */
static void retry_now(struct hold *h)
{
	uint64_t now = now_us();

	if (h->state != HOLD_RETRYING || !h->want)
		return;
	h->deadline = now;
	hold_tick(h, now);
}

int rpc_proc_set_mode(struct gkd *d, bool may_change, uid_t uid, const nvpd_set_mode_args *a,
		      struct rpc_wait *ret_wait)
{
	bool enabled = a->mode == NVPD_MODE_ENABLED;
	struct gpu *g = find(d, &a->device);
	struct gk_gpusel sel = {.kind = GK_GPUSEL_PCI};
	nvpd_status s;
	int r;

	s = nvpd_rule_set_check(may_change, g,
				a->mode == NVPD_MODE_ENABLED || a->mode == NVPD_MODE_DISABLED);
	if (s != NVPD_OK)
		return s;
	if (nvpd_rule_noop(g->persistence, enabled, view(&g->hold)))
		return NVPD_OK;
	sel.pci = g->addr;
	r = gpus_set_persistence(&d->gpus, &sel, enabled);
	if (r < 0) {
		log_error_errno(r, "RPC: cannot save the persistence state in %s: %m; %s unchanged",
				d->cfg->state_dir, g->pci);
		return NVPD_ERR_IO;
	}
	log_info("RPC: persistence %s for %s (uid %u)", enabled ? "on" : "off", g->pci,
		 (unsigned)uid);
	if (enabled) {
		retry_now(&d->gpus.ctl);
		retry_now(&g->hold);
	}
	*ret_wait = (struct rpc_wait){.addr = g->addr, .enabled = enabled};
	return rpc_proc_settled(d, ret_wait);
}

nvpd_status rpc_proc_set_numa(struct gkd *d, bool may_change, const nvpd_set_numa_args *a)
{
	return nvpd_rule_set_check(may_change, find(d, &a->device),
				   a->numa == NVPD_NUMA_OFFLINE || a->numa == NVPD_NUMA_ONLINE);
}

int rpc_proc_settled(struct gkd *d, const struct rpc_wait *w)
{
	struct nvpd_device dev = {
		.domain = (int)w->addr.domain, .bus = (int)w->addr.bus, .slot = (int)w->addr.dev};
	struct gpu *g = find(d, &dev);

	/* Gone in a re-enumeration while the set waited. */
	if (!g)
		return NVPD_ERR_DEVICE_NOT_FOUND;
	return nvpd_rule_settled(w->enabled, view(&g->hold));
}
